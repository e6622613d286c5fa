"""Health: what `GET /healthz` reports, measured truthfully at the moment it is asked.

- whether the database answers (within a few seconds);
- when the bot last received an update from Telegram (in this process);
- how many outbox rows are due and waiting, and since when the oldest one waits.

A monitor (or a load balancer in front of two replicas) reads the status code: 200 when the
database answers, 503 when it does not. Telegram being quiet is not a failure: at night nobody
writes, so the last update time is reported, not judged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.store import Store

log = logging.getLogger(__name__)

DATABASE_TIMEOUT_SECONDS = 3.0


@dataclass
class Heartbeat:
    """The moment this process last received an update (a message or a button press)."""

    last_update_at: datetime | None = None

    def saw_update(self, now: datetime) -> None:
        self.last_update_at = now


@dataclass(frozen=True)
class HealthReport:
    database_reachable: bool
    last_update_at: datetime | None
    outbox_backlog: int | None
    oldest_due_at: datetime | None

    @property
    def healthy(self) -> bool:
        return self.database_reachable

    @property
    def status_code(self) -> int:
        return 200 if self.healthy else 503

    def as_json(self) -> dict[str, Any]:
        """Times in UTC, ISO 8601 (a monitor compares them with its own clock)."""
        return {
            "status": "ok" if self.healthy else "unavailable",
            "database": "reachable" if self.database_reachable else "unreachable",
            "last_update_at": _iso(self.last_update_at),
            "outbox_backlog": self.outbox_backlog,
            "oldest_due_at": _iso(self.oldest_due_at),
        }


async def check_health(
    store: Store, heartbeat: Heartbeat, now: datetime, *, timeout: float = DATABASE_TIMEOUT_SECONDS
) -> HealthReport:
    """Ask the database for the outbox backlog; no answer within `timeout` means unreachable."""
    try:
        async with asyncio.timeout(timeout):
            async with store.read() as repo:
                backlog, oldest = await repo.notifications.backlog(now)
    except Exception as error:  # any failure to answer is what this check reports
        log.warning("health_database_unreachable error=%s", type(error).__name__)
        return HealthReport(False, heartbeat.last_update_at, None, None)
    return HealthReport(True, heartbeat.last_update_at, backlog, oldest)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
