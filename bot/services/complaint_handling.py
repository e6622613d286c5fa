"""Staff handling a complaint: take it over, reply to the household, mark it resolved; and the
household confirming that the problem is solved (or reopening it).

Who may act is decided here, on the server, every time (button data is never trusted): the
household's companion while the complaint is at the companion's level; the coordinator of the
household's kecamatan at the companion's or coordinator's level; the district team at any level.
A refusal is logged without any message text.
"""

from __future__ import annotations

import logging
from datetime import datetime
from enum import StrEnum

from bot.domain.models import (
    Complaint,
    ComplaintStatus,
    EscalationLevel,
    Household,
    Person,
    Recipient,
    Role,
)
from bot.services.complaints import ComplaintPolicy, owner_of
from bot.texts.notices import (
    COMPLAINT_CONFIRM,
    COMPLAINT_REOPENED,
    COMPLAINT_REPLY,
    COMPLAINT_STATUS,
)
from storage.notifications import QueuedMessage
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

OPEN = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)


class HandlingOutcome(StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"
    NOT_OPEN = "not_open"  # already resolved or closed: an old button


async def may_handle(repo: Repositories, person: Person, complaint: Complaint) -> bool:
    household = await repo.households.get(complaint.household_id)
    if household is None or person.staff_id is None:
        return False
    staff = await repo.staff.get(person.staff_id)
    if staff is None or not staff.active:
        return False
    if person.role is Role.ADMIN:
        return True
    if person.role is Role.COORDINATOR:
        return (
            staff.kecamatan_id == household.kecamatan_id
            and complaint.level is not EscalationLevel.DISTRICT
        )
    if person.role is Role.COMPANION:
        return complaint.level is EscalationLevel.COMPANION and household.companion_id == staff.id
    return False


async def _checked(
    repo: Repositories, person: Person, complaint_id: int, action: str
) -> tuple[HandlingOutcome, Complaint | None]:
    complaint = await repo.complaints.get(complaint_id)
    if complaint is None or not await may_handle(repo, person, complaint):
        log.warning(
            "authorization_refused action=%s person=%s complaint=%s",
            action,
            person.id,
            complaint_id,
        )
        return HandlingOutcome.NOT_ALLOWED, None
    if complaint.status not in OPEN:
        return HandlingOutcome.NOT_OPEN, complaint
    return HandlingOutcome.DONE, complaint


async def _tell_household(
    repo: Repositories,
    complaint: Complaint,
    template: str,
    params: dict[str, object],
    key: str,
    now: datetime,
) -> None:
    people = await repo.people.linked_to_household(complaint.household_id)
    await repo.notifications.queue_many(
        [
            QueuedMessage(Recipient(person_id=p.id), template, params, now, f"{key}:{p.id}")
            for p in people
        ],
        now,
    )


async def take_over(
    store: Store, person: Person, complaint_id: int, *, now: datetime
) -> tuple[HandlingOutcome, Complaint | None]:
    async with store.write() as repo:
        outcome, complaint = await _checked(repo, person, complaint_id, "take_over")
        if outcome is not HandlingOutcome.DONE or complaint is None:
            return outcome, complaint
        await repo.complaints.set_status(complaint.id, ComplaintStatus.IN_PROGRESS, now)
        await repo.complaints.add_event(
            complaint.id,
            "taken",
            now,
            actor_person_id=person.id,
            status=ComplaintStatus.IN_PROGRESS,
        )
        if complaint.status is not ComplaintStatus.IN_PROGRESS:
            await _tell_household(
                repo,
                complaint,
                COMPLAINT_STATUS,
                {"ticket": complaint.ticket_code, "status": "in_progress"},
                f"complaint:status:{complaint.id}:in_progress:{now.isoformat()}",
                now,
            )
        await repo.people.touch(person.id, now)
    return HandlingOutcome.DONE, complaint


async def reply_to_household(
    store: Store, person: Person, complaint_id: int, text: str, *, now: datetime
) -> tuple[HandlingOutcome, Complaint | None]:
    async with store.write() as repo:
        outcome, complaint = await _checked(repo, person, complaint_id, "reply")
        if outcome is not HandlingOutcome.DONE or complaint is None:
            return outcome, complaint
        await repo.complaints.add_event(
            complaint.id, "reply", now, actor_person_id=person.id, note=text
        )
        await _tell_household(
            repo,
            complaint,
            COMPLAINT_REPLY,
            {"ticket": complaint.ticket_code, "text": text},
            f"complaint:reply:{complaint.id}:{now.isoformat()}",
            now,
        )
        await repo.people.touch(person.id, now)
    return HandlingOutcome.DONE, complaint


async def mark_resolved(
    store: Store, person: Person, complaint_id: int, *, now: datetime
) -> tuple[HandlingOutcome, Complaint | None]:
    """Resolved by staff; the household is asked whether the problem is really solved."""
    async with store.write() as repo:
        outcome, complaint = await _checked(repo, person, complaint_id, "resolve")
        if outcome is not HandlingOutcome.DONE or complaint is None:
            return outcome, complaint
        await repo.complaints.set_status(complaint.id, ComplaintStatus.RESOLVED, now)
        await repo.complaints.add_event(
            complaint.id,
            "resolved",
            now,
            actor_person_id=person.id,
            status=ComplaintStatus.RESOLVED,
        )
        await _tell_household(
            repo,
            complaint,
            COMPLAINT_CONFIRM,
            {"ticket": complaint.ticket_code, "complaint_id": complaint.id},
            f"complaint:confirm:{complaint.id}:{now.isoformat()}",
            now,
        )
        await repo.people.touch(person.id, now)
    return HandlingOutcome.DONE, complaint


async def confirm_solved(
    store: Store,
    person: Person,
    household: Household,
    complaint_id: int,
    solved: bool,
    *,
    now: datetime,
    policy: ComplaintPolicy,
) -> tuple[HandlingOutcome, Complaint | None]:
    """The household's answer: yes closes it; no reopens it at its level, deadline reset."""
    async with store.write() as repo:
        complaint = await repo.complaints.get(complaint_id)
        if complaint is None or complaint.household_id != household.id:
            log.warning(
                "authorization_refused action=confirm person=%s complaint=%s",
                person.id,
                complaint_id,
            )
            return HandlingOutcome.NOT_ALLOWED, None
        if complaint.status is not ComplaintStatus.RESOLVED:
            return HandlingOutcome.NOT_OPEN, complaint
        if solved:
            await repo.complaints.set_status(complaint.id, ComplaintStatus.CLOSED, now)
            await repo.complaints.add_event(
                complaint.id,
                "confirmed",
                now,
                actor_person_id=person.id,
                status=ComplaintStatus.CLOSED,
            )
            return HandlingOutcome.DONE, complaint
        deadline = policy.deadline(now, policy.days_at(complaint.level))
        await repo.complaints.reopen(complaint.id, deadline, now)
        await repo.complaints.add_event(
            complaint.id,
            "reopened",
            now,
            actor_person_id=person.id,
            status=ComplaintStatus.OPEN,
            level=complaint.level,
        )
        coordinator = await owner_of(repo, EscalationLevel.COORDINATOR, household)
        if coordinator is not None:
            await repo.notifications.queue(
                coordinator,
                COMPLAINT_REOPENED,
                {
                    "ticket": complaint.ticket_code,
                    "program_number": household.program_number,
                    "deadline": deadline.astimezone(policy.zone).date().isoformat(),
                },
                due_at=now,
                dedup_key=f"complaint:reopened:{complaint.id}:{now.isoformat()}",
                now=now,
            )
    return HandlingOutcome.DONE, complaint
