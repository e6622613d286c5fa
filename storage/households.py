"""Households and their members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Household, HouseholdRecord, Member, MemberKind, MemberRecord
from storage.bulk import among, bulk_upsert
from storage.schema import desa, household, member

_HOUSEHOLD_COLUMNS = (
    "program_number",
    "head_name",
    "nik_masked",
    "nik_digest",
    "nik_tail_digest",
    "desa_id",
    "posyandu_id",
    "companion_id",
    "active",
    "created_at",
    "updated_at",
)
_MEMBER_COLUMNS = ("household_id", "name", "name_key", "kind", "birth_date", "due_date")
# A household's members, built once: most updates of a household read them.
_MEMBERS_OF = (
    select(member).where(member.c.household_id == bindparam("household_id")).order_by(member.c.id)
)


class HouseholdRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def upsert(self, records: Sequence[HouseholdRecord], now: datetime) -> None:
        """Insert new households, update the ones whose programme number is already known (their
        `active` flag and `created_at` stay)."""
        rows = [
            (
                r.program_number,
                r.head_name,
                r.nik_masked,
                r.nik_digest,
                r.nik_tail_digest,
                r.desa_id,
                r.posyandu_id,
                r.companion_id,
                True,
                now,
                now,
            )
            for r in records
        ]
        await bulk_upsert(
            self._connection,
            household,
            _HOUSEHOLD_COLUMNS,
            rows,
            key=["program_number"],
            update=[*_HOUSEHOLD_COLUMNS[1:8], "updated_at"],
        )

    async def ids_by_program_number(self, numbers: Iterable[str] | None = None) -> dict[str, int]:
        """Household ids by programme number (all of them, or only the given numbers)."""
        query = select(household.c.program_number, household.c.id)
        if numbers is not None:
            wanted = list(set(numbers))
            query = query.where(among(self._connection, household.c.program_number, wanted))
        return {n: i for n, i in await self._connection.execute(query)}

    async def get_by_program_number(self, program_number: str) -> Household | None:
        return await self._get(household.c.program_number == program_number)

    async def get(self, household_id: int) -> Household | None:
        return await self._get(household.c.id == household_id)

    async def _get(self, condition: ColumnElement[bool]) -> Household | None:
        query = select(household, desa.c.kecamatan_id).join(desa).where(condition)
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return Household(
            id=row.id,
            program_number=row.program_number,
            head_name=row.head_name,
            nik_masked=row.nik_masked,
            desa_id=row.desa_id,
            kecamatan_id=row.kecamatan_id,
            posyandu_id=row.posyandu_id,
            companion_id=row.companion_id,
            active=row.active,
        )

    async def set_active(self, household_id: int, active: bool, now: datetime) -> None:
        await self._connection.execute(
            update(household)
            .where(household.c.id == household_id)
            .values(active=active, updated_at=now)
        )

    async def program_numbers_by_nik_digest(self, digests: Iterable[str]) -> dict[str, str]:
        """Which household each of these NIK digests heads (to refuse one head for two
        households)."""
        query = select(household.c.nik_digest, household.c.program_number).where(
            among(self._connection, household.c.nik_digest, list(set(digests)))
        )
        return {digest: number for digest, number in await self._connection.execute(query)}

    async def nik_digests_by_program_number(self, numbers: Iterable[str]) -> dict[str, str]:
        """The head's NIK digest of each of these households that exists."""
        query = select(household.c.program_number, household.c.nik_digest).where(
            among(self._connection, household.c.program_number, list(set(numbers)))
        )
        return {number: digest for number, digest in await self._connection.execute(query)}

    async def member_keys(self, household_ids: Iterable[int]) -> set[tuple[int, str]]:
        """(household id, member name key) of the members these households already have."""
        wanted = list(set(household_ids))
        query = select(member.c.household_id, member.c.name_key).where(
            among(self._connection, member.c.household_id, wanted)
        )
        return {(h, k) for h, k in await self._connection.execute(query)}

    async def nik_tail_digest(self, program_number: str) -> str | None:
        query = select(household.c.nik_tail_digest).where(
            household.c.program_number == program_number
        )
        return (await self._connection.execute(query)).scalar_one_or_none()

    async def program_numbers(self, limit: int) -> list[str]:
        """The first active households' programme numbers, in order."""
        query = (
            select(household.c.program_number)
            .where(household.c.active.is_(True))
            .order_by(household.c.program_number)
            .limit(limit)
        )
        return list((await self._connection.execute(query)).scalars())

    async def count(self) -> int:
        query = select(func.count()).select_from(household)
        return int((await self._connection.execute(query)).scalar_one())

    async def upsert_members(self, records: Sequence[MemberRecord]) -> None:
        """Members are keyed by household and name: re-importing a member updates it."""
        rows = [
            (r.household_id, r.name, r.name_key, r.kind.value, r.birth_date, r.due_date)
            for r in records
        ]
        await bulk_upsert(
            self._connection,
            member,
            _MEMBER_COLUMNS,
            rows,
            key=["household_id", "name_key"],
            update=["name", "kind", "birth_date", "due_date"],
        )

    async def members(self, household_id: int) -> list[Member]:
        rows = await self._connection.execute(_MEMBERS_OF, {"household_id": household_id})
        return [
            Member(
                id=r.id,
                household_id=r.household_id,
                name=r.name,
                kind=MemberKind(r.kind),
                birth_date=r.birth_date,
                due_date=r.due_date,
            )
            for r in rows
        ]
