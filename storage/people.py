"""People: Telegram users the bot knows, each with a role and a scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Join, Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Household, Person, Role
from storage.schema import desa, household, person, staff


def _with_record(joined: FromClause) -> Join:
    """`joined` (which holds `person`) outer-joined to the person's staff record and household."""
    return joined.outerjoin(staff, staff.c.id == person.c.staff_id).outerjoin(
        household, household.c.id == person.c.household_id
    )


# A person with the role and active flag of their staff record or household as they are now.
_CURRENT = select(
    person,
    staff.c.role.label("staff_role"),
    staff.c.active.label("staff_active"),
    household.c.active.label("household_active"),
).select_from(_with_record(person))


def _current(condition: ColumnElement[bool]) -> Select[Any]:
    return _CURRENT.where(condition).order_by(person.c.id)


def _person(row: Any) -> Person:
    return person_of(dict(row._mapping))


def person_of(values: dict[str, Any]) -> Person:
    staff_role, staff_active = values.pop("staff_role"), values.pop("staff_active")
    household_active = values.pop("household_active")
    if staff_role is not None:
        values["role"], values["active"] = staff_role, bool(staff_active)
    elif household_active is not None:
        values["active"] = bool(household_active)
    return Person.model_validate(values)


# A person as above, with their household (if any) in the same row: who is writing, in one query.
_HOUSEHOLD_COLUMNS = {
    "program_number": household.c.program_number,
    "head_name": household.c.head_name,
    "nik_masked": household.c.nik_masked,
    "desa_id": household.c.desa_id,
    "kecamatan_id": desa.c.kecamatan_id,
    "posyandu_id": household.c.posyandu_id,
    "companion_id": household.c.companion_id,
}
_WITH_HOUSEHOLD = _CURRENT.add_columns(
    *(column.label(f"household_{name}") for name, column in _HOUSEHOLD_COLUMNS.items())
).outerjoin(desa, desa.c.id == household.c.desa_id)


# The same columns for a query of its own (storage/visitors.py), joined by `person_joined`.
PERSON_WITH_HOUSEHOLD_COLUMNS = list(_WITH_HOUSEHOLD.selected_columns)


def person_joined(left: FromClause, on: ColumnElement[bool]) -> Join:
    """`left` outer-joined to a person (`on`), their staff record, household and its desa."""
    return _with_record(left.outerjoin(person, on)).outerjoin(
        desa, desa.c.id == household.c.desa_id
    )


def household_of(values: dict[str, Any]) -> Household | None:
    """The household columns taken out of `values` (the person's row), as a Household."""
    columns = {name: values.pop(f"household_{name}") for name in _HOUSEHOLD_COLUMNS}
    if values["household_id"] is None or columns["program_number"] is None:
        return None
    return Household(id=values["household_id"], active=bool(values["household_active"]), **columns)


class PersonRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def with_household(self, telegram_user_id: int) -> tuple[Person | None, Household | None]:
        """The person behind this Telegram account and their household, in one query."""
        query = _WITH_HOUSEHOLD.where(person.c.telegram_user_id == telegram_user_id)
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None, None
        values = dict(row._mapping)
        found = household_of(values)
        return person_of(values), found

    async def by_telegram_id(self, telegram_user_id: int) -> Person | None:
        query = _current(person.c.telegram_user_id == telegram_user_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _person(row)

    async def add(
        self,
        telegram_user_id: int,
        role: Role,
        now: datetime,
        *,
        household_id: int | None = None,
        staff_id: int | None = None,
        language: str | None = None,
    ) -> Person:
        values = {
            "telegram_user_id": telegram_user_id,
            "role": role.value,
            "household_id": household_id,
            "staff_id": staff_id,
            "language": language,
            "reachable": True,
            "created_at": now,
        }
        result = await self._connection.execute(person.insert().returning(person.c.id), values)
        found = (await self._connection.execute(_current(person.c.id == result.scalar_one()))).one()
        return _person(found)

    async def set_language(self, person_id: int, language: str) -> None:
        await self._connection.execute(
            update(person).where(person.c.id == person_id).values(language=language)
        )

    async def set_household(self, person_id: int, household_id: int | None) -> None:
        """Link a household person to a household (None unlinks; the person and language stay)."""
        await self._connection.execute(
            update(person).where(person.c.id == person_id).values(household_id=household_id)
        )

    async def linked_to_household(self, household_id: int) -> list[Person]:
        query = _current(person.c.household_id == household_id)
        return [_person(row) for row in await self._connection.execute(query)]

    async def by_staff_id(self, staff_id: int) -> Person | None:
        row = (await self._connection.execute(_current(person.c.staff_id == staff_id))).first()
        return None if row is None else _person(row)

    async def staff_names(self, person_ids: Sequence[int]) -> dict[int, str]:
        """The staff names of these accounts (those that are staff), by person id."""
        if not person_ids:
            return {}
        query = (
            select(person.c.id, staff.c.name)
            .join(staff, staff.c.id == person.c.staff_id)
            .where(person.c.id.in_(sorted(set(person_ids))))
        )
        return {row.id: row.name for row in await self._connection.execute(query)}

    async def set_reachable(self, person_id: int, reachable: bool) -> None:
        await self._connection.execute(
            update(person).where(person.c.id == person_id).values(reachable=reachable)
        )

    async def become_staff(self, person_id: int, role: Role, staff_id: int) -> None:
        """An existing person (who once chose a language, say) enrols as staff."""
        await self._connection.execute(
            update(person)
            .where(person.c.id == person_id)
            .values(role=role.value, staff_id=staff_id, household_id=None)
        )

    async def release_staff(self, person_id: int) -> None:
        """Unbind an account from its staff record (the staff member enrolled another phone)."""
        await self._connection.execute(
            update(person).where(person.c.id == person_id).values(staff_id=None)
        )

    async def touch(self, person_id: int, now: datetime) -> None:
        """Remember when a staff member last did something (coordinators see passive companions)."""
        await self._connection.execute(
            update(person).where(person.c.id == person_id).values(last_seen_at=now)
        )

    async def mute_reminders(self, person_id: int, now: datetime) -> bool:
        """Mute this account's optional reminders from now; False when they were muted already."""
        result = await self._connection.execute(
            update(person)
            .where(person.c.id == person_id, person.c.reminders_muted_at.is_(None))
            .values(reminders_muted_at=now)
        )
        return bool(result.rowcount)

    async def resume_reminders(self, person_id: int, now: datetime) -> bool:
        """Turn this account's optional reminders on again from now; False when they were on."""
        result = await self._connection.execute(
            update(person)
            .where(person.c.id == person_id, person.c.reminders_muted_at.is_not(None))
            .values(reminders_muted_at=None, reminders_resumed_at=now)
        )
        return bool(result.rowcount)
