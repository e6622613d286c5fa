"""A family changes between two imports: a baby is born, a mother is newly pregnant. A companion
(for her households) or a health worker (for the households of her posyandu) records it in the
chat; the household is told, and reminders, digests and the register follow at once.

A birth adds the baby as a child under five and, when a pregnant member of the household is
the mother, puts her birth date in place of her due date: the 42 days of nifas, and the
trimesters of the register, then count from the real birth (docs/conditions.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.models import (
    Household,
    Member,
    MemberKind,
    MemberRecord,
    Person,
    Recipient,
    Role,
    name_key,
)
from bot.texts.notices import BIRTH_RECORDED, PREGNANCY_RECORDED
from storage.store import Repositories, Store

LATE_BIRTH = timedelta(days=365)  # a birth is recorded at most a year later
LONGEST_PREGNANCY = timedelta(days=300)  # a due date at most 300 days ahead
NAME_LENGTH = (2, 100)


class FamilyOutcome(StrEnum):
    SAVED = "saved"
    NOT_ALLOWED = "not_allowed"  # no such household, or not in the staff member's scope
    BAD_DATE = "bad_date"
    BAD_NAME = "bad_name"
    NAME_TAKEN = "name_taken"  # the household already has a member of that name


@dataclass(frozen=True)
class FamilyChange:
    """A checked change, ready to show before it is saved."""

    household: Household
    name: str
    day: date  # the birth date, or the due date
    mother: Member | None = None  # births: the pregnant member who gave birth
    member: Member | None = None  # pregnancies: the existing member who is now pregnant


async def household_in_scope(repo: Repositories, person: Person, number: str) -> Household | None:
    """The household, when this companion serves it or it belongs to this health worker's
    posyandu; None otherwise (the same answer for "no such household")."""
    household = await repo.households.get_by_program_number(number.strip().upper())
    if household is None or person.staff_id is None or not household.active:
        return None
    if person.role is Role.COMPANION and household.companion_id == person.staff_id:
        return household
    serves = person.role is Role.HEALTH_WORKER and household.posyandu_id in (
        await repo.staff.posyandu_ids(person.staff_id)
    )
    return household if serves else None


def _name_problem(name: str) -> FamilyOutcome | None:
    if not NAME_LENGTH[0] <= len(name) <= NAME_LENGTH[1] or any(c.isdigit() for c in name):
        return FamilyOutcome.BAD_NAME
    return None


def _mother(members: list[Member], born: date) -> Member | None:
    """The pregnant member due closest to the birth (within 10 weeks either way)."""
    pregnant = [
        m
        for m in members
        if m.kind is MemberKind.PREGNANT
        and m.due_date is not None
        and abs((m.due_date - born).days) <= 70
    ]
    return min(pregnant, key=lambda m: abs((m.due_date or born) - born), default=None)


async def check_birth(
    store: Store, person: Person, number: str, name: str, born: date, today: date
) -> tuple[FamilyOutcome, FamilyChange | None]:
    async with store.read() as repo:
        household = await household_in_scope(repo, person, number)
        if household is None:
            return FamilyOutcome.NOT_ALLOWED, None
        members = await repo.households.members(household.id)
    if not today - LATE_BIRTH <= born <= today:
        return FamilyOutcome.BAD_DATE, None
    clean = " ".join(name.split())
    if (problem := _name_problem(clean)) is not None:
        return problem, None
    if any(name_key(m.name) == name_key(clean) for m in members):
        return FamilyOutcome.NAME_TAKEN, None
    return FamilyOutcome.SAVED, FamilyChange(household, clean, born, mother=_mother(members, born))


async def check_pregnancy(
    store: Store, person: Person, number: str, name: str, due: date, today: date
) -> tuple[FamilyOutcome, FamilyChange | None]:
    async with store.read() as repo:
        household = await household_in_scope(repo, person, number)
        if household is None:
            return FamilyOutcome.NOT_ALLOWED, None
        members = await repo.households.members(household.id)
    if not today < due <= today + LONGEST_PREGNANCY:
        return FamilyOutcome.BAD_DATE, None
    clean = " ".join(name.split())
    if (problem := _name_problem(clean)) is not None:
        return problem, None
    existing = next((m for m in members if name_key(m.name) == name_key(clean)), None)
    if existing is not None and existing.kind not in (MemberKind.OTHER, MemberKind.PREGNANT):
        return FamilyOutcome.NAME_TAKEN, None  # a child of that name
    return FamilyOutcome.SAVED, FamilyChange(household, clean, due, member=existing)


async def record_birth(
    store: Store, person: Person, change: FamilyChange, *, now: datetime
) -> FamilyOutcome:
    """Add the baby, put the birth in place of the mother's due date, tell the household."""
    household = change.household
    baby = MemberRecord(
        household_id=household.id,
        name=change.name,
        kind=MemberKind.CHILD,
        birth_date=change.day,
        due_date=None,
    )
    records = [baby]
    mother = change.mother
    if mother is not None:
        records.append(
            MemberRecord(
                household_id=household.id,
                name=mother.name,
                kind=MemberKind.PREGNANT,
                birth_date=mother.birth_date,
                due_date=change.day,
            )
        )
    async with store.write() as repo:
        if await household_in_scope(repo, person, household.program_number) is None:
            return FamilyOutcome.NOT_ALLOWED
        members = await repo.households.members(household.id)
        if any(name_key(m.name) == name_key(change.name) for m in members):
            return FamilyOutcome.NAME_TAKEN
        await repo.households.upsert_members(records)
        detail = {"born": change.day.isoformat(), "mother": mother.id if mother else None}
        await _told(repo, person, household, "record_birth", detail, now, BIRTH_RECORDED, {
            "baby": change.name,
            "mother": mother.name if mother else "",
            "date": change.day.isoformat(),
        })  # fmt: skip
    return FamilyOutcome.SAVED


async def record_pregnancy(
    store: Store, person: Person, change: FamilyChange, *, now: datetime
) -> FamilyOutcome:
    """Mark the member pregnant with her due date (adding her when she is new), tell the
    household."""
    household, member = change.household, change.member
    record = MemberRecord(
        household_id=household.id,
        name=member.name if member else change.name,
        kind=MemberKind.PREGNANT,
        birth_date=member.birth_date if member else None,
        due_date=change.day,
    )
    async with store.write() as repo:
        if await household_in_scope(repo, person, household.program_number) is None:
            return FamilyOutcome.NOT_ALLOWED
        await repo.households.upsert_members([record])
        detail = {"due": change.day.isoformat(), "new_member": member is None}
        await _told(repo, person, household, "record_pregnancy", detail, now, PREGNANCY_RECORDED, {
            "name": record.name,
            "date": change.day.isoformat(),
        })  # fmt: skip
    return FamilyOutcome.SAVED


async def _told(
    repo: Repositories,
    person: Person,
    household: Household,
    action: str,
    detail: dict[str, Any],
    now: datetime,
    template: str,
    params: dict[str, Any],
) -> None:
    """Audit the change and queue the household's message (to each linked account)."""
    await repo.audit.record(
        now, f"person:{person.id}", action, "household", household.program_number, detail
    )
    for linked in await repo.people.linked_to_household(household.id):
        await repo.notifications.queue(
            Recipient(person_id=linked.id),
            template,
            params,
            due_at=now,
            dedup_key=f"{action}:{household.id}:{params.get('baby') or params.get('name')}"
            f":{params['date']}:{linked.id}",
            now=now,
        )
