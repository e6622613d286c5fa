"""Staff records (companions, coordinators, operators, health workers, district admins)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import Role, Staff, StaffRecord, StaffRef
from storage.database import excluded, upsert
from storage.schema import staff


class StaffRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def upsert(self, records: Sequence[StaffRecord]) -> None:
        if not records:
            return
        statement = upsert(self._connection, staff)
        new = excluded(statement)
        statement = statement.on_conflict_do_update(
            index_elements=[staff.c.code],
            set_={
                "name": new.name,
                "role": new.role,
                "kecamatan_id": new.kecamatan_id,
                "posyandu_id": new.posyandu_id,
                "active": True,
            },
        )
        rows = [{**r.model_dump(), "role": r.role.value, "active": True} for r in records]
        await self._connection.execute(statement, rows)

    async def refs(self) -> dict[str, StaffRef]:
        """Every staff member by code, with role and kecamatan (for import checks)."""
        rows = await self._connection.execute(
            select(staff.c.code, staff.c.id, staff.c.role, staff.c.kecamatan_id)
        )
        return {
            code: StaffRef(id=id_, role=Role(role), kecamatan_id=kec)
            for code, id_, role, kec in rows
        }

    async def get_by_code(self, code: str) -> Staff | None:
        row = (await self._connection.execute(select(staff).where(staff.c.code == code))).first()
        if row is None:
            return None
        return Staff(
            id=row.id,
            code=row.code,
            name=row.name,
            role=Role(row.role),
            kecamatan_id=row.kecamatan_id,
            posyandu_id=row.posyandu_id,
            active=row.active,
        )
