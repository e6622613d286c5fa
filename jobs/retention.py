"""Retention (UU PDP): chat-derived data older than `SAPA_RETENTION_MONTHS` is erased, daily.

Erased: the proof photos' file ids of attendance reports made before the cutoff; the texts,
photos and history notes of complaints resolved or closed before it; the parameters of outbox
rows created before it that will not be sent any more; and failed link attempts before it. The
programme records themselves (reports, complaints, their codes and statuses) stay.

The sweep is idempotent (it only touches what is not erased yet) and runs in one transaction
under a job lock, so two bot processes never erase at the same time; each run leaves one line in
the audit log, with counts only.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from storage.data_rights import ERASED_AFTER_RETENTION, ErasureCounts
from storage.locks import hold_job_lock
from storage.store import Store


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
