"""Staff records (companions, coordinators, operators, health workers, district admins)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Role, Staff, StaffRecord, StaffRef
from storage.database import excluded, upsert
from storage.schema import staff, staff_posyandu


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
        rows = [
            {**r.model_dump(exclude={"posyandu_ids"}), "role": r.role.value, "active": True}
            for r in records
        ]
        await self._connection.execute(statement, rows)
        await self._replace_posyandu(records)

    async def _replace_posyandu(self, records: Sequence[StaffRecord]) -> None:
        """Each record's posyandu set replaces the one stored (a re-import replaces it)."""
        codes = [r.code for r in records]
        found = await self._connection.execute(
            select(staff.c.code, staff.c.id).where(staff.c.code.in_(codes))
        )
        ids = {code: id_ for code, id_ in found}
        await self._connection.execute(
            delete(staff_posyandu).where(staff_posyandu.c.staff_id.in_(sorted(ids.values())))
        )
        served = [
            {"staff_id": ids[r.code], "posyandu_id": posyandu_id}
            for r in records
            for posyandu_id in dict.fromkeys(r.served())
        ]
        if served:
            await self._connection.execute(insert(staff_posyandu), served)

    async def posyandu_ids(self, staff_id: int) -> list[int]:
        """Every posyandu this staff member serves (a health worker's set)."""
        rows = await self._connection.execute(
            select(staff_posyandu.c.posyandu_id)
            .where(staff_posyandu.c.staff_id == staff_id)
            .order_by(staff_posyandu.c.posyandu_id)
        )
        return list(rows.scalars())

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
        found = await self._staff(staff.c.code == code)
        return found[0] if found else None

    async def get(self, staff_id: int) -> Staff | None:
        found = await self._staff(staff.c.id == staff_id)
        return found[0] if found else None

    async def active_with_role(self, role: Role, kecamatan_id: int | None = None) -> list[Staff]:
        """Active staff of one role (in one kecamatan when given), in code order."""
        condition = and_(staff.c.role == role.value, staff.c.active.is_(True))
        if kecamatan_id is not None:
            condition = and_(condition, staff.c.kecamatan_id == kecamatan_id)
        return await self._staff(condition)

    async def set_active(self, staff_id: int, active: bool) -> None:
        await self._connection.execute(
            update(staff).where(staff.c.id == staff_id).values(active=active)
        )

    async def _staff(self, condition: ColumnElement[bool]) -> list[Staff]:
        rows = await self._connection.execute(select(staff).where(condition).order_by(staff.c.code))
        return [
            Staff(
                id=row.id,
                code=row.code,
                name=row.name,
                role=Role(row.role),
                kecamatan_id=row.kecamatan_id,
                posyandu_id=row.posyandu_id,
                active=row.active,
            )
            for row in rows
        ]
