"""Kecamatan, desa and posyandu: the places of the programme."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import Posyandu, PosyanduRecord, PosyanduRef, name_key
from bot.domain.schedule import parse_schedule_rule
from bot.domain.sessions import SessionChanges
from storage.database import excluded, upsert
from storage.schema import desa, kecamatan, posyandu, session_change


class GeographyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def kecamatan_ids(self) -> dict[str, int]:
        """Kecamatan ids by name key."""
        rows = await self._connection.execute(select(kecamatan.c.name_key, kecamatan.c.id))
        return {key: id_ for key, id_ in rows}

    async def kecamatan_names(self) -> dict[int, str]:
        """Kecamatan names by id."""
        rows = await self._connection.execute(select(kecamatan.c.id, kecamatan.c.name))
        return {id_: name for id_, name in rows}

    async def desa_ids(self) -> dict[tuple[int, str], int]:
        """Desa ids by (kecamatan id, name key)."""
        rows = await self._connection.execute(
            select(desa.c.kecamatan_id, desa.c.name_key, desa.c.id)
        )
        return {(kecamatan_id, key): id_ for kecamatan_id, key, id_ in rows}

    async def ensure_kecamatan(self, names: Iterable[str]) -> dict[str, int]:
        """Create the kecamatan that do not exist yet; return all ids by name key."""
        wanted = {name_key(name): " ".join(name.split()) for name in names}
        existing = await self.kecamatan_ids()
        missing = [
            {"name": name, "name_key": key} for key, name in wanted.items() if key not in existing
        ]
        if missing:
            await self._connection.execute(kecamatan.insert(), missing)
        return await self.kecamatan_ids()

    async def ensure_desa(self, places: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Create missing desa given (kecamatan id, desa name); return all ids."""
        wanted = {(kec, name_key(name)): " ".join(name.split()) for kec, name in places}
        existing = await self.desa_ids()
        missing = [
            {"kecamatan_id": kec, "name": name, "name_key": key}
            for (kec, key), name in wanted.items()
            if (kec, key) not in existing
        ]
        if missing:
            await self._connection.execute(desa.insert(), missing)
        return await self.desa_ids()

    async def upsert_posyandu(self, records: Sequence[PosyanduRecord]) -> None:
        if not records:
            return
        statement = upsert(self._connection, posyandu)
        new = excluded(statement)
        statement = statement.on_conflict_do_update(
            index_elements=[posyandu.c.code],
            set_={"name": new.name, "desa_id": new.desa_id, "schedule": new.schedule},
        )
        await self._connection.execute(statement, [r.model_dump() for r in records])

    async def posyandu_refs(self) -> dict[str, PosyanduRef]:
        """Every posyandu by code, with its kecamatan (what imports check references against)."""
        query = select(posyandu.c.code, posyandu.c.id, desa.c.kecamatan_id).join(desa)
        rows = await self._connection.execute(query)
        return {code: PosyanduRef(id=id_, kecamatan_id=kec) for code, id_, kec in rows}

    async def get_posyandu(self, code: str) -> Posyandu | None:
        found = await self._posyandu(posyandu.c.code == code)
        return found[0] if found else None

    async def posyandu_by_id(self, posyandu_id: int) -> Posyandu | None:
        result = await self._connection.execute(_POSYANDU_BY_ID, {"posyandu_id": posyandu_id})
        row = result.first()
        return None if row is None else _posyandu_of(row)

    async def posyandu_by_ids(self, posyandu_ids: Sequence[int]) -> list[Posyandu]:
        """These posyandu, in name order (unknown ids are left out)."""
        if not posyandu_ids:
            return []
        return await self._posyandu(posyandu.c.id.in_(sorted(set(posyandu_ids))))

    async def session_changes_at(self, posyandu_id: int) -> SessionChanges:
        """This posyandu's moved and cancelled sessions: original date -> new date (None:
        cancelled)."""
        rows = await self._connection.execute(_SESSION_CHANGES_AT, {"posyandu_id": posyandu_id})
        return {original: new for original, new in rows}

    async def posyandu_in_kecamatan(self, kecamatan_id: int) -> list[Posyandu]:
        return await self._posyandu(desa.c.kecamatan_id == kecamatan_id)

    async def _posyandu(self, condition: ColumnElement[bool]) -> list[Posyandu]:
        query = _POSYANDU.where(condition).order_by(posyandu.c.name, posyandu.c.id)
        return [_posyandu_of(row) for row in await self._connection.execute(query)]


def _posyandu_of(row: Row[Any]) -> Posyandu:
    return Posyandu(
        id=row.id,
        code=row.code,
        name=row.name,
        desa_id=row.desa_id,
        kecamatan_id=row.kecamatan_id,
        schedule=parse_schedule_rule(row.schedule),
    )


# What every update of a household's posyandu reads, built once (building a statement costs
# more than running one of these).
_POSYANDU = select(posyandu, desa.c.kecamatan_id).join(desa)
_POSYANDU_BY_ID = _POSYANDU.where(posyandu.c.id == bindparam("posyandu_id"))
_SESSION_CHANGES_AT = select(session_change.c.original_date, session_change.c.new_date).where(
    session_change.c.posyandu_id == bindparam("posyandu_id")
)
