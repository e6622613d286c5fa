"""The audit log: who changed what, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import audit_log


class AuditRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(
        self,
        at: datetime,
        actor: str,
        action: str,
        entity: str,
        entity_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await self._connection.execute(
            audit_log.insert().values(
                at=at,
                actor=actor,
                action=action,
                entity=entity,
                entity_id=entity_id,
                detail=detail or {},
            )
        )
