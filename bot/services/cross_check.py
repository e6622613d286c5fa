"""Health workers (bidan, kader) confirming who came to a posyandu session.

This is the cross-check the field study found missing: a report the household made and the
health worker confirmed becomes *cross-checked*; a confirmation without a household report
creates a verified attendance on the health worker's word. She may also dispute a household's
report (the member did not come), and when she finishes a session's list, the households' reports
she neither confirmed nor disputed are flagged "not confirmed" to their companions.

A health worker serves one or more posyandu (`staff_posyandu`); every call here reads that set
again, so a re-import or a deactivation takes effect at her next tap.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.models import Member, Person, Posyandu, Recipient, ReportStatus, Role, name_key
from bot.domain.sessions import last_session_before
from bot.services.attendance import is_followed, missed_question_prefix
from bot.texts.notices import ATTENDANCE_NOT_CONFIRMED
from storage.attendance import SessionVisit
from storage.notifications import QueuedMessage
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

CONFIRM_WITHIN_DAYS = 7
NAMES_IN_NOTICE = 20  # a companion's notice names this many reports at most (and counts all)


@dataclass(frozen=True)
class ExpectedMember:
    member: Member
    program_number: str
    visit: SessionVisit | None = None  # what is recorded of this member's visit, if anything

    @property
    def reported(self) -> bool:
        """The household reported this visit."""
        return self.visit is not None and self.visit.reported

    @property
    def confirmed(self) -> bool:
        """A health worker confirmed this visit."""
        return self.visit is not None and self.visit.confirmed

    @property
    def disputed(self) -> bool:
        """A health worker said this member did not come."""
        return self.visit is not None and self.visit.disputed

    @property
    def disputable(self) -> bool:
        """A household report still waiting for verification that no health worker confirmed."""
        visit = self.visit
        return (
            visit is not None
            and visit.reported
            and visit.status is ReportStatus.REPORTED
            and not visit.confirmed
            and not visit.disputed
        )


@dataclass(frozen=True)
class SessionToConfirm:
    posyandu_id: int
    posyandu: str
    day: date
    expected: list[ExpectedMember]

    def find(self, member_id: int) -> ExpectedMember | None:
        return next((e for e in self.expected if e.member.id == member_id), None)

    def matching(self, text: str) -> list[ExpectedMember]:
        """The expected members whose name (or programme number) contains `text`."""
        wanted = name_key(text)
        return [
            e
            for e in self.expected
            if wanted in name_key(e.member.name) or wanted in name_key(e.program_number)
        ]


class Outcome(StrEnum):
    DONE = "done"
    ALREADY = "already"  # already confirmed, or nothing (left) to dispute
    NOT_ALLOWED = "not_allowed"  # outside her posyandu, her session or her role


@dataclass(frozen=True)
class Finished:
    """What a health worker's "done" changed: the session's counts, and who was told."""

    session: SessionToConfirm
    not_confirmed: int  # household reports flagged "not confirmed" now
    companions: int  # companions told about them


async def served_posyandu(repo: Repositories, person: Person) -> list[Posyandu]:
    """The posyandu an active health worker serves, in name order (none for anyone else)."""
    if person.role is not Role.HEALTH_WORKER or person.staff_id is None:
        return []
    staff = await repo.staff.get(person.staff_id)
    if staff is None or not staff.active or staff.role is not Role.HEALTH_WORKER:
        return []
    return await repo.geography.posyandu_by_ids(await repo.staff.posyandu_ids(staff.id))


async def session_to_confirm(
    repo: Repositories, person: Person, today: date, posyandu_id: int | None = None
) -> SessionToConfirm | None:
    """The latest session (today, or within the last 7 days) of this posyandu of hers (of her
    only posyandu when none is given), who was due, and what is recorded of each. None when the
    posyandu is not hers or had no session in that time."""
    served = await served_posyandu(repo, person)
    chosen = served if posyandu_id is None else [p for p in served if p.id == posyandu_id]
    if len(chosen) != 1:
        return None
    return await _session(repo, chosen[0], today)


async def latest_sessions(
    repo: Repositories, person: Person, today: date
) -> list[tuple[Posyandu, date | None]]:
    """Each posyandu she serves, with its session to confirm (None: none in the last 7 days)."""
    found: list[tuple[Posyandu, date | None]] = []
    for posyandu in await served_posyandu(repo, person):
        changes = await repo.geography.session_changes_at(posyandu.id)
        session = last_session_before(posyandu.schedule, changes, today + timedelta(days=1))
        recent = session is not None and session.day >= today - timedelta(CONFIRM_WITHIN_DAYS)
        found.append((posyandu, session.day if session is not None and recent else None))
    return found


async def _session(repo: Repositories, posyandu: Posyandu, today: date) -> SessionToConfirm | None:
    changes = await repo.geography.session_changes_at(posyandu.id)
    session = last_session_before(posyandu.schedule, changes, today + timedelta(days=1))
    if session is None or session.day < today - timedelta(days=CONFIRM_WITHIN_DAYS):
        return None
    households = await repo.planning.households_at(posyandu.id)
    members = await repo.planning.members_of([h.id for h in households])
    visits = await repo.attendance.visits_at(posyandu.id, session.day)
    expected = [
        ExpectedMember(m, h.program_number, visits.get(m.id))
        for h in households
        for m in members.get(h.id, [])
        if is_followed(m, session.day)
    ]
    return SessionToConfirm(posyandu.id, posyandu.name, session.day, expected)


async def _checked(
    repo: Repositories, person: Person, posyandu_id: int, day: date, member_id: int, today: date
) -> tuple[SessionToConfirm, ExpectedMember] | None:
    """Her session at this posyandu on that day, and this member expected at it; else None."""
    session = await session_to_confirm(repo, person, today, posyandu_id)
    expected = session.find(member_id) if session is not None and session.day == day else None
    if session is None or expected is None:
        log.warning(
            "authorization_refused action=confirm_attendance person=%s posyandu=%s member=%s",
            person.id,
            posyandu_id,
            member_id,
        )
        return None
    return session, expected


async def confirm_member(
    store: Store,
    person: Person,
    posyandu_id: int,
    day: date,
    member_id: int,
    *,
    today: date,
    now: datetime,
) -> Outcome:
    """She saw this member at the session: a household report becomes cross-checked, no report
    becomes a verified attendance on her word. A visit a health worker already confirmed stays
    as it is."""
    async with store.write() as repo:
        found = await _checked(repo, person, posyandu_id, day, member_id, today)
        if found is None:
            return Outcome.NOT_ALLOWED
        session, expected = found
        if expected.confirmed:
            return Outcome.ALREADY
        crossed = await repo.attendance.confirm_by_health_worker(
            member_id, session.posyandu_id, session.day, person.id, now
        )
        await repo.notifications.cancel_pending(
            dedup_prefix=missed_question_prefix(expected.member.household_id, session.day)
        )
        await repo.people.touch(person.id, now)
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "confirm_attendance",
            "member",
            str(member_id),
            {"date": session.day.isoformat(), "posyandu": session.posyandu_id, "crossed": crossed},
        )
    return Outcome.DONE


async def dispute_member(
    store: Store,
    person: Person,
    posyandu_id: int,
    day: date,
    member_id: int,
    *,
    today: date,
    now: datetime,
) -> Outcome:
    """She says this member did not come: the household's report, still waiting for the
    companion, is marked disputed (the companion sees it in /verifikasi)."""
    async with store.write() as repo:
        found = await _checked(repo, person, posyandu_id, day, member_id, today)
        if found is None:
            return Outcome.NOT_ALLOWED
        session, expected = found
        if not expected.disputable or not await repo.attendance.dispute_by_health_worker(
            member_id, session.posyandu_id, session.day, person.id, now
        ):
            return Outcome.ALREADY
        await repo.people.touch(person.id, now)
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "dispute_attendance",
            "member",
            str(member_id),
            {"date": session.day.isoformat(), "posyandu": session.posyandu_id},
        )
    return Outcome.DONE


async def finish_session(
    store: Store, person: Person, posyandu_id: int, day: date, *, today: date, now: datetime
) -> Finished | None:
    """She is done with the session's list: every household report of it that no health worker
    confirmed or disputed is flagged "not confirmed", and each companion concerned gets one
    notice naming them (through the outbox). None when the session is not hers."""
    async with store.write() as repo:
        session = await session_to_confirm(repo, person, today, posyandu_id)
        if session is None or session.day != day or person.staff_id is None:
            log.warning(
                "authorization_refused action=finish_confirmation person=%s posyandu=%s",
                person.id,
                posyandu_id,
            )
            return None
        flagged = await repo.attendance.flag_not_confirmed(session.posyandu_id, session.day, now)
        by_companion: dict[int, list[str]] = defaultdict(list)
        first_report: dict[int, int] = {}
        for line in await repo.verification.lines(flagged):
            if line.companion_id is None:  # the coordinator still sees it in /verifikasi
                continue
            by_companion[line.companion_id].append(f"{line.member} ({line.program_number})")
            first_report[line.companion_id] = min(
                first_report.get(line.companion_id, line.id), line.id
            )
        staff = await repo.staff.get(person.staff_id)
        worker = staff.name if staff is not None else ""
        await repo.notifications.queue_many(
            [
                QueuedMessage(
                    Recipient(staff_id=companion_id),
                    ATTENDANCE_NOT_CONFIRMED,
                    {
                        "health_worker": worker,
                        "posyandu": session.posyandu,
                        "date": session.day.isoformat(),
                        "count": len(names),
                        "members": names[:NAMES_IN_NOTICE]
                        + (["…"] if len(names) > NAMES_IN_NOTICE else []),
                    },
                    now,
                    # each report is flagged once: its first report names the notice
                    f"attendance:not_confirmed:{first_report[companion_id]}:{companion_id}",
                )
                for companion_id, names in sorted(by_companion.items())
            ],
            now,
        )
        await repo.people.touch(person.id, now)
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "finish_confirmation",
            "posyandu",
            str(session.posyandu_id),
            {"date": session.day.isoformat(), "not_confirmed": len(flagged)},
        )
    return Finished(session, len(flagged), len(by_companion))
