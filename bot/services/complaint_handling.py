"""Staff handling a complaint: take it over, reply to the household, mark it resolved, see the
complaints waiting for them; the household answering a reply (text, a photo or a voice note) and
confirming that the problem is solved (or reopening it).

Who may act is decided here, on the server, every time (button data is never trusted): the
household's companion while the complaint is at the companion's level; the coordinator of the
household's kecamatan at the companion's or coordinator's level; the district team at any level.
A refusal is logged without any message text. A companion also follows, read-only, her
households' complaints that went up a level (not those about herself), and is told when one goes
up and when it is resolved there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.domain.models import (
    AttachmentKind,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    EscalationLevel,
    Household,
    Person,
    Recipient,
    Role,
)
from bot.services.complaints import ComplaintPolicy, companion_notice, owner_of
from bot.services.household_messages import tell_household
from bot.texts.notices import (
    COMPLAINT_ANSWERED,
    COMPLAINT_COMPANION_RESOLVED,
    COMPLAINT_CONFIRM,
    COMPLAINT_REOPENED,
    COMPLAINT_REPLY,
    COMPLAINT_STATUS,
)
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

OPEN = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS)
# The messages of a complaint's history shown with it: staff replies and the household's answers.
MESSAGES = ("reply", "answer")


class HandlingOutcome(StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"
    NOT_OPEN = "not_open"  # already resolved or closed: an old button
    # Her household's complaint gone up above the companion: she follows it, read-only.
    WENT_UP = "went_up"


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


async def follows(repo: Repositories, person: Person, complaint: Complaint) -> bool:
    """Whether this is a companion following, read-only, her household's complaint that went up
    a level (not one about herself)."""
    staff_id = person.staff_id
    if person.role is not Role.COMPANION or staff_id is None:
        return False
    if complaint.level is EscalationLevel.COMPANION or complaint.is_about(staff_id):
        return False
    household = await repo.households.get(complaint.household_id)
    return household is not None and household.companion_id == staff_id


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
        if complaint is not None and await follows(repo, person, complaint):
            return HandlingOutcome.WENT_UP, complaint
        return HandlingOutcome.NOT_ALLOWED, None
    if complaint.status not in OPEN:
        return HandlingOutcome.NOT_OPEN, complaint
    return HandlingOutcome.DONE, complaint


async def may_reply(
    store: Store, person: Person, complaint_id: int
) -> tuple[HandlingOutcome, Complaint | None]:
    """Whether this staff member may reply to the household now (before they type it)."""
    async with store.read() as repo:
        return await _checked(repo, person, complaint_id, "reply")


async def _tell_household(
    repo: Repositories,
    complaint: Complaint,
    template: str,
    params: dict[str, object],
    key: str,
    now: datetime,
) -> None:
    await tell_household(repo, complaint.household_id, template, params, key, now)


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
        event_id = await repo.complaints.add_event(
            complaint.id, "reply", now, actor_person_id=person.id, note=text
        )
        await _tell_household(
            repo,
            complaint,
            COMPLAINT_REPLY,
            {"ticket": complaint.ticket_code, "text": text, "complaint_id": complaint.id},
            f"complaint:reply:{complaint.id}:{event_id}",
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
        household = await repo.households.get(complaint.household_id)
        above = complaint.level is not EscalationLevel.COMPANION
        if household is not None and above and household.companion_id != person.staff_id:
            # Her household's complaint, resolved above her: she hears how it ended.
            told = companion_notice(
                complaint,
                household,
                COMPLAINT_COMPANION_RESOLVED,
                complaint.level,
                f"complaint:companion-resolved:{complaint.id}:{now.isoformat()}",
                now,
            )
            if told is not None:
                await repo.notifications.queue_many([told], now)
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
        # The coordinator keeps an eye on reopened complaints; whoever holds it answers it.
        coordinator = await owner_of(repo, EscalationLevel.COORDINATOR, household)
        holder = await holder_of(repo, complaint, household)
        params = {
            "ticket": complaint.ticket_code,
            "program_number": household.program_number,
            "deadline": deadline.astimezone(policy.zone).date().isoformat(),
        }
        recipients = [coordinator] if coordinator is not None else []
        if holder is not None and holder not in recipients:
            recipients.append(holder)
        for told in recipients:
            await repo.notifications.queue(
                told,
                COMPLAINT_REOPENED,
                params,
                due_at=now,
                dedup_key=f"complaint:reopened:{complaint.id}:{now.isoformat()}:{told.staff_id}",
                now=now,
            )
    return HandlingOutcome.DONE, complaint


@dataclass(frozen=True)
class ComplaintCard:
    """A complaint as staff see it: the household's programme number, the staff replies and the
    household's answers (oldest first), and whether it is only followed (went up a level)."""

    complaint: Complaint
    program_number: str
    messages: list[ComplaintEvent] = field(default_factory=list)
    followed_only: bool = False
    filed_by_staff: str | None = None  # the staff member who filed it for the household


@dataclass(frozen=True)
class WaitingList:
    mine: list[ComplaintCard]
    went_up: list[ComplaintCard]  # a companion's households' complaints now handled above her


async def waiting_list(store: Store, person: Person) -> WaitingList | None:
    """The unresolved complaints this staff member handles, earliest deadline first; for a
    companion also her households' complaints handled above her (not those about herself).
    None when the person does not handle complaints."""
    if person.staff_id is None or person.role not in (Role.COMPANION, Role.COORDINATOR, Role.ADMIN):
        return None
    async with store.read() as repo:
        staff = await repo.staff.get(person.staff_id)
        if staff is None or not staff.active:
            return None
        went_up: list[Complaint] = []
        if person.role is Role.COMPANION:
            households = [h.id for h in await repo.planning.caseload(staff.id)]
            mine = await repo.complaints.waiting_for(households, [EscalationLevel.COMPANION])
            above = [EscalationLevel.COORDINATOR, EscalationLevel.DISTRICT]
            went_up = [
                c
                for c in await repo.complaints.waiting_for(households, above)
                if not c.is_about(staff.id)
            ]
        elif person.role is Role.COORDINATOR and staff.kecamatan_id is not None:
            households = list(await repo.planning.active_households(staff.kecamatan_id))
            levels = [EscalationLevel.COMPANION, EscalationLevel.COORDINATOR]
            mine = await repo.complaints.waiting_for(households, levels)
        elif person.role is Role.ADMIN:
            mine = await repo.complaints.waiting_for(None, [EscalationLevel.DISTRICT])
        else:
            return WaitingList([], [])
        every = [*mine, *went_up]
        numbers = await repo.planning.program_numbers(list({c.household_id for c in every}))
        messages = await repo.complaints.timeline([c.id for c in mine], MESSAGES)
        names = await repo.people.staff_names([c.assisted_by for c in every if c.assisted_by])
    return WaitingList(
        [
            ComplaintCard(
                c,
                numbers.get(c.household_id, ""),
                messages.get(c.id, []),
                filed_by_staff=names.get(c.assisted_by or 0),
            )
            for c in mine
        ],
        [
            ComplaintCard(
                c,
                numbers.get(c.household_id, ""),
                followed_only=True,
                filed_by_staff=names.get(c.assisted_by or 0),
            )
            for c in went_up
        ],
    )


async def card_of(
    store: Store, person: Person, complaint_id: int
) -> tuple[HandlingOutcome, ComplaintCard | None]:
    """One complaint with its messages, for staff who may handle it now (its status is shown,
    whatever it is); for the household's companion, once it went up above her, the card she
    follows (read-only, as in her waiting list)."""
    async with store.read() as repo:
        complaint = await repo.complaints.get(complaint_id)
        if complaint is not None and await follows(repo, person, complaint):
            numbers = await repo.planning.program_numbers([complaint.household_id])
            number = numbers.get(complaint.household_id, "")
            names = await repo.people.staff_names([complaint.assisted_by or 0])
            followed = ComplaintCard(
                complaint,
                number,
                followed_only=True,
                filed_by_staff=names.get(complaint.assisted_by or 0),
            )
            return HandlingOutcome.DONE, followed
        if complaint is None or not await may_handle(repo, person, complaint):
            log.warning(
                "authorization_refused action=view person=%s complaint=%s", person.id, complaint_id
            )
            return HandlingOutcome.NOT_ALLOWED, None
        numbers = await repo.planning.program_numbers([complaint.household_id])
        messages = await repo.complaints.timeline([complaint.id], MESSAGES)
        names = await repo.people.staff_names([complaint.assisted_by or 0])
    card = ComplaintCard(
        complaint,
        numbers.get(complaint.household_id, ""),
        messages.get(complaint.id, []),
        filed_by_staff=names.get(complaint.assisted_by or 0),
    )
    return HandlingOutcome.DONE, card


async def holder_of(
    repo: Repositories, complaint: Complaint, household: Household
) -> Recipient | None:
    """Who holds the complaint now: the staff member who last took, answered or resolved it at
    its level, while they still may; otherwise whoever answers at its level."""
    staff_id = await repo.complaints.last_handler(complaint.id)
    if staff_id is not None:
        person = await repo.people.by_staff_id(staff_id)
        if person is not None and await may_handle(repo, person, complaint):
            return Recipient(staff_id=staff_id)
    return await owner_of(repo, complaint.level, household)


async def answerable(
    store: Store, person: Person, household: Household, complaint_id: int
) -> tuple[HandlingOutcome, Complaint | None]:
    """Whether the household may answer on this complaint now: its own, and not closed."""
    async with store.read() as repo:
        complaint = await repo.complaints.get(complaint_id)
    return _answerable(person, household, complaint_id, complaint)


def _answerable(
    person: Person, household: Household, complaint_id: int, complaint: Complaint | None
) -> tuple[HandlingOutcome, Complaint | None]:
    if complaint is None or complaint.household_id != household.id:
        log.warning(
            "authorization_refused action=answer person=%s complaint=%s", person.id, complaint_id
        )
        return HandlingOutcome.NOT_ALLOWED, None
    if complaint.status is ComplaintStatus.CLOSED:
        return HandlingOutcome.NOT_OPEN, complaint
    return HandlingOutcome.DONE, complaint


async def answer_complaint(
    store: Store,
    person: Person,
    household: Household,
    complaint_id: int,
    text: str | None,
    attachment: tuple[AttachmentKind, str] | None,
    *,
    now: datetime,
) -> tuple[HandlingOutcome, Complaint | None]:
    """The household's answer (a text, a file with or without a caption) joins the complaint's
    history, and whoever holds it is told (without the text: it stays in the history). A
    resolved complaint stays resolved until the household says it is not solved."""
    async with store.write() as repo:
        complaint = await repo.complaints.get(complaint_id)
        outcome, complaint = _answerable(person, household, complaint_id, complaint)
        if outcome is not HandlingOutcome.DONE or complaint is None:
            return outcome, complaint
        kind, file_id = attachment if attachment is not None else (None, None)
        event_id = await repo.complaints.add_event(
            complaint.id,
            "answer",
            now,
            actor_person_id=person.id,
            note=text or None,
            file_id=file_id,
            file_kind=kind,
        )
        holder = await holder_of(repo, complaint, household)
        if holder is not None:
            params = {
                "ticket": complaint.ticket_code,
                "program_number": household.program_number,
                "complaint_id": complaint.id,
                "attachment": kind.value if kind else None,
                "has_text": bool(text),
            }
            await repo.notifications.queue(
                holder,
                COMPLAINT_ANSWERED,
                params,
                due_at=now,
                dedup_key=f"complaint:answer:{complaint.id}:{event_id}",
                now=now,
            )
        await repo.audit.record(
            now, f"person:{person.id}", "answer_complaint", "complaint", complaint.ticket_code
        )
    return HandlingOutcome.DONE, complaint
