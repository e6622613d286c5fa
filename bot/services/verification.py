"""Companions verifying attendance reports: verify, or reject with a reason the household reads.

Who may decide: the household's companion, or the coordinator of its kecamatan. Each decision is
checked on the server, recorded with who and when, and a rejection reaches the household through
the outbox. A companion never decides a report she made for a household herself (/hadiruntuk):
it stays out of her queue, for a health worker's confirmation or the coordinator.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from bot.domain.models import Person, Recipient, ReportStatus, Role
from bot.domain.sessions import sessions_between
from bot.texts.notices import ATTENDANCE_REJECTED, ATTENDANCE_VERIFIED
from storage.attendance import ReportLine
from storage.notifications import QueuedMessage
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

MAX_REASON = 500


async def off_session_reports(repo: Repositories, reports: list[ReportLine]) -> set[int]:
    """The reports among these of a visit on a day its posyandu held no session (after moves
    and cancellations): they count only once a health worker confirms them (docs/conditions.md),
    so the verifier is told."""
    found: set[int] = set()
    for posyandu_id in {r.posyandu_id for r in reports}:
        posyandu = await repo.geography.posyandu_by_id(posyandu_id)
        if posyandu is None:
            continue
        changes = await repo.geography.session_changes_at(posyandu_id)
        for report in reports:
            day = report.session_date
            if report.posyandu_id == posyandu_id and not sessions_between(
                posyandu.schedule, changes, day, day
            ):
                found.add(report.id)
    return found


class Decision(StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"
    ALREADY_DECIDED = "already_decided"
    OWN_REPORT = "own_report"  # she reported it for the household herself (/hadiruntuk)


async def households_in_scope(repo: Repositories, person: Person) -> list[int]:
    """The households whose reports this person verifies."""
    if person.staff_id is None:
        return []
    staff = await repo.staff.get(person.staff_id)
    if staff is None or not staff.active:
        return []
    if person.role is Role.COMPANION:
        return [h.id for h in await repo.planning.caseload(staff.id)]
    if person.role is Role.COORDINATOR and staff.kecamatan_id is not None:
        return list(await repo.planning.active_households(staff.kecamatan_id))
    return []


async def decide(
    store: Store,
    person: Person,
    report_id: int,
    verified: bool,
    *,
    now: datetime,
    reason: str | None = None,
) -> tuple[Decision, ReportLine | None]:
    async with store.write() as repo:
        report = await repo.verification.get(report_id)
        if report is None or report.household_id not in await households_in_scope(repo, person):
            log.warning(
                "authorization_refused action=verify person=%s report=%s", person.id, report_id
            )
            return Decision.NOT_ALLOWED, None
        if report.assisted_by == person.id:
            # Nobody verifies her own word: a health worker's confirmation or the coordinator.
            return Decision.OWN_REPORT, report
        status = ReportStatus.VERIFIED if verified else ReportStatus.REJECTED
        if not await repo.verification.decide(report_id, status, person.id, now, reason):
            return Decision.ALREADY_DECIDED, report
        # The household hears the decision either way.
        people = await repo.people.linked_to_household(report.household_id)
        params: dict[str, str] = {"member": report.member, "date": report.session_date.isoformat()}
        template = ATTENDANCE_VERIFIED
        if not verified:
            template, params = ATTENDANCE_REJECTED, params | {"reason": reason or ""}
        await repo.notifications.queue_many(
            [
                QueuedMessage(
                    Recipient(person_id=p.id),
                    template,
                    params,
                    now,
                    f"attendance:{status.value}:{report_id}:{p.id}",
                )
                for p in people
            ],
            now,
        )
        await repo.people.touch(person.id, now)
        await repo.audit.record(
            now, f"person:{person.id}", status.value, "attendance_report", str(report_id)
        )
    return Decision.DONE, report
