"""Retention (UU PDP): chat-derived data older than `SAPA_RETENTION_MONTHS` is erased, daily.

Erased: the proof photos' file ids of attendance reports made before the cutoff; the texts,
photos and history notes of complaints resolved or closed before it; the parameters of outbox
rows created before it that will not be sent any more; and failed link attempts before it. The
programme records themselves (reports, complaints, their codes and statuses) stay.

The sweep is idempotent (it only touches what is not erased yet) and runs in one transaction
under a job lock, so two bot processes never erase at the same time; each run leaves one line in
the audit log, with counts only.

The outbox is kept small the same night (`archive_outbox`): rows sent or cancelled more than
`SAPA_OUTBOX_RETENTION_DAYS` before move to its archive, in batches of their own transactions.
"""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.data_rights import ERASED_AFTER_RETENTION, ErasureCounts
from storage.locks import hold_job_lock
from storage.store import Store

# Rows moved per transaction: on SQLite about a tenth of a second of holding the write lock.
ARCHIVE_BATCH = 5000
# Between two batches on SQLite: longer than the longest sleep of SQLite's busy handler (100
# ms), so a save waiting for the write lock takes it before the next batch does.
SQLITE_PAUSE_SECONDS = 0.12


@dataclass(frozen=True)
class RetentionReport:
    cutoff: datetime
    erased: ErasureCounts


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier (the 31st becomes the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def erase_expired(store: Store, now: datetime, months: int) -> RetentionReport:
    """Erase what is older than `months` months before `now`; audited with counts only."""
    cutoff = months_before(now, months)
    async with store.write() as repo:
        await hold_job_lock(repo.connection, "retention")
        erased = await repo.data_rights.erase_before(cutoff, ERASED_AFTER_RETENTION)
        await repo.audit.record(
            now,
            "retention",
            "erase_expired",
            "retention",
            None,
            {"months": months, "cutoff": cutoff.isoformat(), **erased.as_detail()},
        )
    return RetentionReport(cutoff, erased)


@dataclass(frozen=True)
class OutboxArchiveReport:
    cutoff: datetime
    archived: int


async def archive_outbox(
    store: Store,
    now: datetime,
    days: int,
    *,
    batch_size: int = ARCHIVE_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> OutboxArchiveReport:
    """Move the outbox rows sent or cancelled that were due more than `days` days before `now`
    to its archive (`NotificationRepository.archive_finished`); audited with counts only.

    Each batch is a transaction of its own under the job lock, so the job never holds the write
    lock (SQLite) for long and a save or the dispatcher gets in between; two processes running
    it at once take turns and never move a row twice. Idempotent: a second run finds nothing.

    Dedup keys ("planning twice never sends twice"): an archived row's key is no longer in the
    outbox, and nothing plans that far back. The planner plans only what is due from now on:
    reminders for the next 8 days' sessions and the next 3 days' payouts, yesterday's missed
    question, today's digests and prompts; every other message is queued once, by the event
    that causes it, under a key naming it (a report's, a complaint's id). A row due more than
    30 days ago (the setting's minimum) can never be planned again.
    """
    cutoff = now - timedelta(days=days)
    archived = 0
    while True:
        async with store.write() as repo:
            await hold_job_lock(repo.connection, "outbox-retention")
            moved = await repo.notifications.archive_finished(cutoff, now, batch_size)
            sqlite = repo.connection.dialect.name == "sqlite"
        archived += moved
        if on_batch is not None:
            on_batch(moved)
        if moved < batch_size:
            break
        if sqlite:
            await asyncio.sleep(SQLITE_PAUSE_SECONDS)
    async with store.write() as repo:
        await repo.audit.record(
            now,
            "retention",
            "archive_outbox",
            "notification",
            None,
            {"days": days, "cutoff": cutoff.isoformat(), "archived": archived},
        )
    return OutboxArchiveReport(cutoff, archived)
