"""The companion's morning digest: counts first, then short lists, with buttons for the full ones.

Built at 06:45 WIB for each companion from their households: posyandu sessions today and
tomorrow (with the households expected), households that missed their last session, reports
waiting for verification, complaints waiting on the companion (then her households' complaints
handled above her, which she follows), households the bot can no longer reach, and households
whose linking was locked after too many wrong attempts (only a link code from the companion
links them now). When every list is empty nothing is sent.

`build_digests` builds the digests of many companions at once from a fixed number of queries,
each grouped by companion (the planner's 06:45 pass); `build_digest` is one companion's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.domain.digest import ComplaintLine, DigestContent, SessionLine
from bot.domain.models import AbsenceReason, EscalationLevel
from bot.domain.sessions import Session, last_session_before, sessions_between
from bot.services.attendance import PUERPERIUM
from bot.services.linking import HOUSEHOLD_FAILURE_WINDOW, HOUSEHOLD_MAX_FAILURES
from storage.planning import (
    CaseloadHousehold,
    FollowableMember,
    PosyanduSchedule,
    WaitingComplaint,
    WaitingReport,
)
from storage.store import Repositories


async def build_digest(
    repo: Repositories, companion_id: int, today: date, now: datetime
) -> DigestContent | None:
    """The digest's content, or None when there is nothing to say."""
    return (await build_digests(repo, [companion_id], today, now)).get(companion_id)


async def build_digests(
    repo: Repositories, companion_ids: Sequence[int], today: date, now: datetime
) -> dict[int, DigestContent]:
    """The digests of these companions, by companion; those with nothing to say are left out.

    About ten queries whatever the number of companions: their caseloads (each household with
    its members' dates, aggregated in SQL), the schedules, the visits, the waiting reports and
    complaints, the unreachable and the locked households, each read for all of them at once.
    What is shared (each posyandu's sessions, when each household is followed) is worked out
    once for all of them."""
    caseloads = await repo.planning.caseloads(companion_ids)
    if not caseloads:
        return {}
    companions = sorted(caseloads)
    schedules = await repo.planning.posyandu_schedules()
    changes = await repo.planning.session_changes()
    # Each posyandu's sessions today and tomorrow, and its last session before today: the day
    # whose visits the digest checks.
    upcoming: dict[int, list[Session]] = {}
    last_day: dict[int, date] = {}
    for posyandu_id in {h.posyandu_id for lines in caseloads.values() for h in lines}:
        place = schedules.get(posyandu_id)
        if place is None:
            continue
        moved = changes.get(posyandu_id, {})
        upcoming[posyandu_id] = sessions_between(
            place.schedule, moved, today, today + timedelta(days=1)
        )
        last = last_session_before(place.schedule, moved, today)
        if last is not None:
            last_day[posyandu_id] = last.day
    visits = await repo.planning.caseload_visits(companions, last_day.values())
    absences = await repo.planning.caseload_absences(companions, last_day.values())
    reports = await repo.planning.caseload_reports_waiting(companions)
    complaints = await repo.planning.caseload_complaints_waiting(companions)
    unreachable = await repo.planning.caseload_unreachable(companions)
    locked = await repo.planning.caseload_locked(
        companions, now - HOUSEHOLD_FAILURE_WINDOW, HOUSEHOLD_MAX_FAILURES
    )
    follow_ups = await repo.follow_ups.counts(companions, today)
    facts = _Facts(schedules, upcoming, last_day, visits, absences, unreachable, locked)
    found: dict[int, DigestContent] = {}
    for companion_id in companions:
        digest = _digest(
            caseloads[companion_id],
            facts,
            reports.get(companion_id, []),
            complaints.get(companion_id, []),
            today,
            now,
            follow_ups.get(companion_id, (0, 0)),
        )
        if digest is not None:
            found[companion_id] = digest
    return found


def followed_until(household: CaseloadHousehold) -> date | None:
    """The last day a posyandu follows one of the household's members (`date.max`: with no end;
    None: none), from the dates aggregated for it. The same as asking `is_followed` of each
    member: a pregnant woman is followed until `PUERPERIUM` after her due date (always without
    one), a child until the day before the fifth birthday, so the latest due date and the
    youngest child decide (tests/test_planner_incremental.py checks the two agree)."""
    h = household
    return _last_followed_day(h.pregnant_undated, h.last_due, h.youngest_birth)


def member_followed_until(member: FollowableMember) -> date | None:
    """The last day a posyandu follows this member (as `is_followed`; `date.max`: with no end,
    None: never)."""
    if member.pregnant:
        return _last_followed_day(member.due_date is None, member.due_date, None)
    return _last_followed_day(False, None, member.birth_date)


def _last_followed_day(
    pregnant_undated: bool, last_due: date | None, youngest_birth: date | None
) -> date | None:
    ends: list[date] = []
    if pregnant_undated:
        return date.max
    if last_due is not None:
        ends.append(last_due + PUERPERIUM)
    born = youngest_birth
    if born is not None:
        try:
            fifth_birthday = born.replace(year=born.year + 5)
        except ValueError:  # born on 29 February
            fifth_birthday = date(born.year + 5, 3, 1)
        ends.append(fifth_birthday - timedelta(days=1))
    return max(ends) if ends else None


class _Facts:
    """What the digests of all companions share (each looks up its own households in it)."""

    def __init__(
        self,
        schedules: dict[int, PosyanduSchedule],
        upcoming: dict[int, list[Session]],
        last_day: dict[int, date],
        visits: set[tuple[int, date]],
        absences: dict[tuple[int, date], AbsenceReason],
        unreachable: set[int],
        locked: set[int],
    ) -> None:
        self.schedules = schedules
        self.upcoming = upcoming
        self.last_day = last_day
        self.visits = visits
        self.absences = absences  # "we did not go": still missed, with the reason given
        self.unreachable = unreachable
        self.locked = locked


def _digest(
    households: list[CaseloadHousehold],
    facts: _Facts,
    waiting_reports: list[WaitingReport],
    waiting_complaints: list[WaitingComplaint],
    today: date,
    now: datetime,
    follow_ups: tuple[int, int] = (0, 0),
) -> DigestContent | None:
    label = {h.id: f"{h.program_number} {h.head_name}" for h in households}
    until = {h.id: followed_until(h) for h in households}

    def expected_on(day: date, among: list[CaseloadHousehold]) -> list[int]:
        """Households with a member the posyandu follows on that day."""
        return [h.id for h in among if (end := until[h.id]) is not None and day <= end]

    by_posyandu: dict[int, list[CaseloadHousehold]] = defaultdict(list)
    for h in households:
        by_posyandu[h.posyandu_id].append(h)
    sessions: list[SessionLine] = []
    missed: list[str] = []
    missed_reasons: dict[str, str] = {}
    for posyandu_id, local in sorted(by_posyandu.items()):
        place = facts.schedules.get(posyandu_id)
        if place is None:
            continue
        for session in facts.upcoming.get(posyandu_id, []):
            expected = [label[h] for h in expected_on(session.day, local)]
            if expected:
                sessions.append(
                    SessionLine(day=session.day, posyandu=place.name, households=expected)
                )
        last = facts.last_day.get(posyandu_id)
        if last is not None:
            for household_id in expected_on(last, local):
                if (household_id, last) not in facts.visits:
                    missed.append(label[household_id])
                    if (reason := facts.absences.get((household_id, last))) is not None:
                        missed_reasons[label[household_id]] = reason.value
    reports = [
        f"{r.program_number}: {r.member}, {r.session_date.isoformat()}" for r in waiting_reports
    ]
    # Hers first, then those she follows above her; each part earliest deadline first.
    hers = [c for c in waiting_complaints if c.level is EscalationLevel.COMPANION]
    above = [c for c in waiting_complaints if c.level is not EscalationLevel.COMPANION]
    complaints = [
        ComplaintLine(
            ticket=c.ticket_code,
            program_number=c.program_number,
            deadline=c.deadline_at,
            overdue=c.deadline_at < now if c.level is EscalationLevel.COMPANION else c.went_up,
            level=c.level,
        )
        for c in [*hers, *above]
    ]
    unreachable = [label[h] for h in sorted(h for h in label if h in facts.unreachable)]
    locked = [label[h] for h in sorted(h for h in label if h in facts.locked)]
    if not (sessions or missed or reports or complaints or unreachable or locked or follow_ups[0]):
        return None
    return DigestContent(
        day=today,
        sessions=sessions,
        missed=sorted(missed),
        missed_reasons=missed_reasons,
        follow_ups_open=follow_ups[0],
        follow_ups_overdue=follow_ups[1],
        reports=reports,
        complaints=complaints,
        unreachable=unreachable,
        locked=locked,
    )
