"""Counts per kecamatan for `sapa stats`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import KecamatanCounts
from storage.schema import desa, household, kecamatan, member, person, posyandu, staff


class StatsRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def per_kecamatan(self) -> list[KecamatanCounts]:
        """One line per kecamatan; staff without a kecamatan (district admins) are not in it."""
        counts: dict[str, dict[int, int]] = {}
        queries = {
            "posyandu": select(desa.c.kecamatan_id, func.count())
            .select_from(posyandu.join(desa))
            .group_by(desa.c.kecamatan_id),
            "households": select(desa.c.kecamatan_id, func.count())
            .select_from(household.join(desa))
            .group_by(desa.c.kecamatan_id),
            "members": select(desa.c.kecamatan_id, func.count())
            .select_from(member.join(household).join(desa))
            .group_by(desa.c.kecamatan_id),
            "staff": select(staff.c.kecamatan_id, func.count())
            .where(staff.c.kecamatan_id.is_not(None))
            .group_by(staff.c.kecamatan_id),
            "household_users": select(desa.c.kecamatan_id, func.count())
            .select_from(person.join(household).join(desa))
            .group_by(desa.c.kecamatan_id),
            "staff_users": select(staff.c.kecamatan_id, func.count())
            .select_from(person.join(staff))
            .where(staff.c.kecamatan_id.is_not(None))
            .group_by(staff.c.kecamatan_id),
        }
        for name, query in queries.items():
            rows = await self._connection.execute(query)
            counts[name] = {kec: n for kec, n in rows}
        names = await self._connection.execute(
            select(kecamatan.c.id, kecamatan.c.name).order_by(kecamatan.c.name)
        )
        return [
            KecamatanCounts(
                kecamatan=name,
                posyandu=counts["posyandu"].get(kec, 0),
                households=counts["households"].get(kec, 0),
                members=counts["members"].get(kec, 0),
                staff=counts["staff"].get(kec, 0),
                linked_users=counts["household_users"].get(kec, 0)
                + counts["staff_users"].get(kec, 0),
            )
            for kec, name in names
        ]

    async def district_staff(self) -> tuple[int, int]:
        """(staff without a kecamatan, of whom linked to Telegram)."""
        total = select(func.count()).select_from(staff).where(staff.c.kecamatan_id.is_(None))
        linked = (
            select(func.count())
            .select_from(person.join(staff))
            .where(staff.c.kecamatan_id.is_(None))
        )
        return (
            int((await self._connection.execute(total)).scalar_one()),
            int((await self._connection.execute(linked)).scalar_one()),
        )
