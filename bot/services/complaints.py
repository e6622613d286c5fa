"""Complaints (keluhan): filing one, who owns it first, its ticket code, and status changes.

A complaint goes first to the household's companion, with a deadline counted in working days.
A complaint about the companion (or from a household without one) goes straight to the kecamatan
coordinator, never to that companion. Whoever owns it hears of it through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.models import (
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
    Household,
    Person,
    Recipient,
    Role,
)
from bot.domain.workdays import working_deadline
from bot.services.household_messages import tell_household
from bot.settings import Settings
from bot.texts.notices import (
    COMPLAINT_BY_COMPANION,
    COMPLAINT_BY_HEALTH_WORKER,
    COMPLAINT_FILED,
    COMPLAINT_STATUS,
)
from storage.notifications import QueuedMessage
from storage.store import Repositories, Store

MAX_TEXT_LENGTH = 2000
MIN_WORD_CHARACTERS = 3
# The text of a complaint told in a voice note only (the note itself is kept as a file id).
VOICE_NOTE_TEXT = "(pesan suara)"


class TextProblem(StrEnum):
    NO_WORDS = "no_words"  # empty, or only emoji and punctuation
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class ComplaintPolicy:
    """How long each level has, in working days, and the local calendar they are counted in."""

    zone: ZoneInfo
    companion_days: int = 3
    coordinator_days: int = 5
    # Government offices are closed on cuti bersama: by default they are not working days.
    skip_cuti_bersama: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ComplaintPolicy:
        return cls(
            settings.zone,
            settings.companion_working_days,
            settings.coordinator_working_days,
            settings.sla_skip_cuti_bersama,
        )

    def days_at(self, level: EscalationLevel) -> int:
        """Working days a complaint has at this level before it goes up."""
        return self.companion_days if level is EscalationLevel.COMPANION else self.coordinator_days

    def deadline(self, start: datetime, working_days: int) -> datetime:
        """`working_days` working days after `start`, at the same local time."""
        return working_deadline(
            start, working_days, self.zone, skip_cuti_bersama=self.skip_cuti_bersama
        )


def text_problem(text: str) -> TextProblem | None:
    if sum(character.isalnum() for character in text) < MIN_WORD_CHARACTERS:
        return TextProblem.NO_WORDS
    if len(text) > MAX_TEXT_LENGTH:
        return TextProblem.TOO_LONG
    return None


def ticket_code(filed_at: datetime, number: int, zone: ZoneInfo) -> str:
    """`KLH-2612-0042`: year and month of filing (local time), then the month's sequence."""
    return f"KLH-{filed_at.astimezone(zone):%y%m}-{number:04d}"


def first_level(category: ComplaintCategory, household: Household) -> EscalationLevel:
    if category is ComplaintCategory.COMPANION or household.companion_id is None:
        return EscalationLevel.COORDINATOR
    return EscalationLevel.COMPANION


async def owner_of(
    repo: Repositories, level: EscalationLevel, household: Household
) -> Recipient | None:
    """Who answers a complaint of this household at this level (None when nobody is on record)."""
    if level is EscalationLevel.COMPANION and household.companion_id is not None:
        return Recipient(staff_id=household.companion_id)
    if level in (EscalationLevel.COMPANION, EscalationLevel.COORDINATOR):
        coordinators = await repo.staff.active_with_role(Role.COORDINATOR, household.kecamatan_id)
        if coordinators:
            return Recipient(staff_id=coordinators[0].id)
    admins = await repo.staff.active_with_role(Role.ADMIN)
    return Recipient(staff_id=admins[0].id) if admins else None


def companion_notice(
    complaint: Complaint,
    household: Household,
    template: str,
    level: EscalationLevel,
    key: str,
    now: datetime,
) -> QueuedMessage | None:
    """A notice to the household's companion about its complaint now handled above her (it went
    up to `level`, or was resolved there): none when the household has no companion or the
    complaint is about her. The dedup key is `key` and her staff id."""
    companion = household.companion_id
    if companion is None or complaint.is_about(companion):
        return None
    params = {
        "ticket": complaint.ticket_code,
        "program_number": household.program_number,
        "level": level.value,
    }
    return QueuedMessage(Recipient(staff_id=companion), template, params, now, f"{key}:{companion}")


async def file_complaint(
    store: Store,
    person: Person,
    household: Household,
    category: ComplaintCategory,
    text: str,
    photo_file_id: str | None,
    *,
    now: datetime,
    policy: ComplaintPolicy,
    voice_file_id: str | None = None,
    assisted: Role | None = None,
) -> Complaint:
    """Record the complaint (`text` is `VOICE_NOTE_TEXT` when a voice note tells it), its first
    event, and a notice to its owner. `assisted`: `person` is staff filing it for the household
    (/keluhanuntuk), which is told."""
    async with store.write() as repo:
        return await record_complaint(
            repo,
            person,
            household,
            category,
            text,
            photo_file_id,
            now=now,
            policy=policy,
            voice_file_id=voice_file_id,
            assisted=assisted,
        )


async def record_complaint(
    repo: Repositories,
    person: Person,
    household: Household,
    category: ComplaintCategory,
    text: str,
    photo_file_id: str | None,
    *,
    now: datetime,
    policy: ComplaintPolicy,
    voice_file_id: str | None = None,
    assisted: Role | None = None,
) -> Complaint:
    """`file_complaint` in the caller's transaction (staff filing for a household check her
    scope in the same one). The owner is not told of a complaint she filed herself."""
    level = first_level(category, household)
    deadline = policy.deadline(now, policy.days_at(level))
    month = f"{now.astimezone(policy.zone):%y%m}"
    number = await repo.sequences.next_value(f"complaint:{month}")
    complaint = await repo.complaints.add(
        ticket_code=ticket_code(now, number, policy.zone),
        household_id=household.id,
        filed_by=person.id,
        category=category,
        text=text,
        photo_file_id=photo_file_id,
        level=level,
        deadline_at=deadline,
        now=now,
        about_staff_id=(
            household.companion_id if category is ComplaintCategory.COMPANION else None
        ),
        voice_file_id=voice_file_id,
        assisted_role=assisted,
    )
    await repo.complaints.add_event(
        complaint.id,
        "filed",
        now,
        actor_person_id=person.id,
        status=ComplaintStatus.OPEN,
        level=level,
    )
    owner = await owner_of(repo, level, household)
    if owner is not None and (owner.staff_id is None or owner.staff_id != person.staff_id):
        await repo.notifications.queue(
            owner,
            COMPLAINT_FILED,
            {
                "ticket": complaint.ticket_code,
                "program_number": household.program_number,
                "category": category.value,
                "deadline": deadline.astimezone(policy.zone).date().isoformat(),
                "complaint_id": complaint.id,
            },
            due_at=now,
            dedup_key=f"complaint:filed:{complaint.id}",
            now=now,
        )
    await repo.audit.record(
        now,
        f"person:{person.id}",
        "file_complaint",
        "complaint",
        complaint.ticket_code,
        {"assisted": assisted.value} if assisted is not None else None,
    )
    if assisted is not None:
        await _tell_household(repo, person, household, complaint, assisted, now)
    return complaint


async def _tell_household(
    repo: Repositories,
    person: Person,
    household: Household,
    complaint: Complaint,
    assisted: Role,
    now: datetime,
) -> None:
    """Each linked account of the household hears that staff filed this complaint for it."""
    staff = await repo.staff.get(person.staff_id) if person.staff_id is not None else None
    template = COMPLAINT_BY_COMPANION if assisted is Role.COMPANION else COMPLAINT_BY_HEALTH_WORKER
    params = {
        "reporter": staff.name if staff is not None else "",
        "ticket": complaint.ticket_code,
        "category": complaint.category.value,
    }
    await tell_household(
        repo, household.id, template, params, f"complaint:assisted:{complaint.id}", now
    )


async def change_status(
    store: Store,
    complaint_id: int,
    status: ComplaintStatus,
    *,
    actor_person_id: int | None,
    now: datetime,
) -> Complaint | None:
    """Record a new status in the history and tell every linked member of the household."""
    async with store.write() as repo:
        complaint = await repo.complaints.get(complaint_id)
        if complaint is None or complaint.status is status:
            return complaint
        await repo.complaints.set_status(complaint_id, status, now)
        await repo.complaints.add_event(
            complaint_id, "status", now, actor_person_id=actor_person_id, status=status
        )
        for person in await repo.people.linked_to_household(complaint.household_id):
            await repo.notifications.queue(
                Recipient(person_id=person.id),
                COMPLAINT_STATUS,
                {"ticket": complaint.ticket_code, "status": status.value},
                due_at=now,
                # One per linked account: a household with two phones hears it on both.
                dedup_key=(
                    f"complaint:status:{complaint_id}:{status.value}:{now.isoformat()}:{person.id}"
                ),
                now=now,
            )
        return await repo.complaints.get(complaint_id)
