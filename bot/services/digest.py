"""The companion's morning digest: counts first, then short lists, with buttons for the full ones.

Built at 06:45 WIB for each companion from their households: posyandu sessions today and
tomorrow (with the households expected), households that missed their last session, reports
waiting for verification, complaints waiting on the companion (overdue first), and households
the bot can no longer reach, and households whose linking was locked after too many wrong
attempts (only a link code from the companion links them now). When every list is empty nothing
is sent.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.domain.digest import ComplaintLine, DigestContent, SessionLine
from bot.domain.sessions import last_session_before, sessions_between
from bot.services.attendance import is_followed
from bot.services.linking import HOUSEHOLD_FAILURE_WINDOW, HOUSEHOLD_MAX_FAILURES
from storage.planning import HouseholdLine
from storage.store import Repositories


async def build_digest(
    repo: Repositories, companion_id: int, today: date, now: datetime
) -> DigestContent | None:
    """The digest's content, or None when there is nothing to say."""
    households = await repo.planning.caseload(companion_id)
    if not households:
        return None
    ids = [h.id for h in households]
    schedules = await repo.planning.posyandu_schedules()
    changes = await repo.planning.session_changes()
    members = await repo.planning.members_of(ids)
    label = {h.id: f"{h.program_number} {h.head_name}" for h in households}

    def expected_on(day: date, among: list[HouseholdLine]) -> list[int]:
        """Households with a member the posyandu follows on that day."""
        return [h.id for h in among if any(is_followed(m, day) for m in members.get(h.id, []))]

    sessions: list[SessionLine] = []
    missed: list[str] = []
    last_sessions: dict[date, list[int]] = {}
    for posyandu_id in sorted({h.posyandu_id for h in households}):
        place = schedules.get(posyandu_id)
        if place is None:
            continue
        rule = place.schedule
        local = [h for h in households if h.posyandu_id == posyandu_id]
        for session in sessions_between(
            rule, changes.get(posyandu_id, {}), today, today + timedelta(days=1)
        ):
            expected = [label[h] for h in expected_on(session.day, local)]
            if expected:
                sessions.append(
                    SessionLine(day=session.day, posyandu=place.name, households=expected)
                )
        last = last_session_before(rule, changes.get(posyandu_id, {}), today)
        if last is not None:
            last_sessions.setdefault(last.day, []).extend(expected_on(last.day, local))
    for day, household_ids in sorted(last_sessions.items()):
        visited = await repo.planning.households_with_visit(household_ids, day)
        missed += [label[h] for h in household_ids if h not in visited]

    reports = [
        f"{r.program_number}: {r.member}, {r.session_date.isoformat()}"
        for r in await repo.planning.reports_waiting(ids)
    ]
    waiting = await repo.planning.complaints_waiting(ids)  # earliest deadline first
    complaints = [
        ComplaintLine(
            ticket=c.ticket_code,
            program_number=c.program_number,
            deadline=c.deadline_at,
            overdue=c.deadline_at < now,
        )
        for c in waiting
    ]
    unreachable = [label[h] for h in sorted(await repo.planning.unreachable_households(ids))]
    locked_ids = await repo.links.locked_households(
        ids, now - HOUSEHOLD_FAILURE_WINDOW, HOUSEHOLD_MAX_FAILURES
    )
    locked = [label[h] for h in sorted(locked_ids)]
    if not (sessions or missed or reports or complaints or unreachable or locked):
        return None
    return DigestContent(
        day=today,
        sessions=sessions,
        missed=sorted(missed),
        reports=reports,
        complaints=complaints,
        unreachable=unreachable,
        locked=locked,
    )
