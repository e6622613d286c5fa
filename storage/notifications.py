"""The outbox: every proactive message is a row here, sent later by the dispatcher.

A row is `pending` until a dispatcher claims it (`sending`, with the claim time), then `sent` once
Telegram accepted it, or `failed` with the reason, or `cancelled` when it no longer applies (its
recipient was taken out of service, or it expired: `last_error` says which). A claim older than
the lease is taken again: that is how a crash between sending and marking is survived (at most
the messages in flight are repeated).

What could not be delivered is kept for a person to see: `failed` rows, and rows that expired
after failed attempts (`cancelled`, `last_error` "expired: <error type>"). `sapa outbox` lists
them and puts failed ones back in the queue; the coordinators' recap counts them.

The outbox stays small: rows sent or cancelled long ago (SAPA_OUTBOX_RETENTION_DAYS) move to
`notification_archive` without their parameters (`archive_finished`, run nightly by
jobs.retention), and nothing a save or the dispatcher runs reads more than the rows it needs
(no count of the outbox; each query one range of an index).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Dialect,
    Row,
    Select,
    Subquery,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from bot.domain.models import NotificationStatus, Recipient, Role
from bot.domain.notices import OPTIONAL_REMINDERS, checked_params
from storage.database import upsert
from storage.schema import (
    UtcDateTime,
    household,
    notification,
    notification_archive,
    person,
    staff,
)

log = logging.getLogger(__name__)

PENDING = NotificationStatus.PENDING.value
SENDING = NotificationStatus.SENDING.value
SENT = NotificationStatus.SENT.value
FAILED = NotificationStatus.FAILED.value
CANCELLED = NotificationStatus.CANCELLED.value
EXPIRED = "expired"  # `last_error` of a row dropped because it could no longer arrive in time
OUT_OF_SERVICE = "recipient out of service"  # `last_error` of a row the claim cancelled
FORBIDDEN = "forbidden"  # `last_error` of a row refused because the recipient blocked the bot
MUTED = "muted"  # `last_error` of an optional reminder its recipient muted (/pengingat)


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed outbox row with what is needed to send it."""

    id: int
    person_id: int
    telegram_user_id: int
    language: str | None
    template_key: str
    params: dict[str, Any]
    attempts: int
    due_at: datetime


@dataclass(frozen=True)
class UndeliveredMessage:
    """A message that could not be delivered, as `sapa outbox` shows it: no names, no texts."""

    id: int
    due_at: datetime
    template_key: str
    recipient: str  # the household's programme number or the staff code ("-" when unknown)
    attempts: int
    error_type: str  # what `last_error` starts with: "NetworkError", "forbidden", "bad request"
    expired: bool  # dropped when it could no longer arrive in time; not put back in the queue


@dataclass(frozen=True)
class QueuedMessage:
    recipient: Recipient
    template_key: str
    params: dict[str, Any]
    due_at: datetime
    dedup_key: str


_direct = aliased(person, name="direct")
_staff_person = aliased(person, name="staff_person")
_household = aliased(household, name="direct_household")  # a household person's household
_row_staff = aliased(staff, name="row_staff")  # the staff record a row is addressed to
_person_staff = aliased(staff, name="person_staff")  # a staff person's record (rows by person)
# Every join is by primary key (or the unique person.staff_id): a few lookups per claimed row.
_with_recipient = (
    notification.outerjoin(_direct, _direct.c.id == notification.c.person_id)
    .outerjoin(_staff_person, _staff_person.c.staff_id == notification.c.staff_id)
    .outerjoin(_household, _household.c.id == _direct.c.household_id)
    .outerjoin(_row_staff, _row_staff.c.id == notification.c.staff_id)
    .outerjoin(_person_staff, _person_staff.c.id == _direct.c.staff_id)
)
_recipient_id = func.coalesce(_direct.c.id, _staff_person.c.id)
# Whether the recipient is still in the programme: a household account still linked to an active
# household (not after /putus or `sapa household deactivate`), a staff member still active.
_in_service = and_(
    or_(
        _direct.c.id.is_(None),
        _direct.c.role != Role.HOUSEHOLD.value,
        _household.c.active.is_(True),
    ),
    or_(notification.c.staff_id.is_(None), _row_staff.c.active.is_(True)),
    or_(_direct.c.staff_id.is_(None), _person_staff.c.active.is_(True)),
)
# An optional reminder (`OPTIONAL_REMINDERS`) whose recipient has muted them since it was queued.
_muted = and_(
    _direct.c.reminders_muted_at.is_not(None),
    notification.c.template_key.in_(sorted(OPTIONAL_REMINDERS)),
)


def _claimable(condition: ColumnElement[bool], one_person: bool) -> Select[Any]:
    """Rows meeting `condition` whose recipient has a reachable person (the person `person_id`
    alone when `one_person`), in due order, at most `limit`, locked, with what is needed to send
    them and whether their recipient is still in service."""
    return (
        select(
            notification.c.id,
            notification.c.due_at,
            _recipient_id.label("person_id"),
            func.coalesce(_direct.c.telegram_user_id, _staff_person.c.telegram_user_id).label(
                "telegram_user_id"
            ),
            func.coalesce(_direct.c.language, _staff_person.c.language).label("language"),
            notification.c.template_key,
            notification.c.params,
            notification.c.attempts,
            _in_service.label("in_service"),
            _muted.label("muted"),
        )
        .select_from(_with_recipient)
        .where(
            condition,
            _recipient_id == bindparam("person_id") if one_person else _recipient_id.is_not(None),
            func.coalesce(_direct.c.reachable, _staff_person.c.reachable).is_(True),
        )
        .order_by(notification.c.due_at, notification.c.id)
        .limit(bindparam("limit"))
        .with_for_update(of=notification, skip_locked=True)
    )


# A dispatcher claims many times a minute: its statements are built once. Two candidates: claims
# whose lease expired (their dispatcher died between sending and marking), and pending rows due.
_LEASE_EXPIRED = and_(
    notification.c.status == SENDING,
    notification.c.claimed_at < bindparam("lease_expired_before", type_=UtcDateTime),
)
_DUE = and_(
    notification.c.status == PENDING,
    notification.c.due_at <= bindparam("now", type_=UtcDateTime),
)
_CLAIMABLE = {
    one_person: (_claimable(_LEASE_EXPIRED, one_person), _claimable(_DUE, one_person))
    for one_person in (False, True)
}
_CLAIM = (
    update(notification)
    .where(notification.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=SENDING, claimed_at=bindparam("now", type_=UtcDateTime))
)


class NotificationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def queue(
        self,
        recipient: Recipient,
        template_key: str,
        params: dict[str, Any],
        *,
        due_at: datetime,
        dedup_key: str,
        now: datetime,
    ) -> bool:
        """Queue one message; False when a row with this dedup key already exists."""
        message = QueuedMessage(recipient, template_key, params, due_at, dedup_key)
        return await self.queue_many([message], now) == 1

    async def queue_many(self, messages: Sequence[QueuedMessage], now: datetime) -> int:
        """Queue messages whose dedup key is new; returns how many were new."""
        if not messages:
            return 0
        for message in messages:  # a row that does not fit its template is a bug: refuse it
            checked_params(message.template_key, message.params)
        statement = (
            upsert(self._connection, notification)
            .on_conflict_do_nothing(index_elements=[notification.c.dedup_key])
            .returning(notification.c.id)
        )
        unique: dict[str, QueuedMessage] = {}
        for message in messages:  # of messages sharing a dedup key, the first is queued
            unique.setdefault(message.dedup_key, message)
        rows = [
            {
                "person_id": m.recipient.person_id,
                "staff_id": m.recipient.staff_id,
                "template_key": m.template_key,
                "params": m.params,
                "due_at": m.due_at,
                "status": PENDING,
                "attempts": 0,
                "dedup_key": m.dedup_key,
                "created_at": now,
            }
            for m in unique.values()
        ]
        # RETURNING gives a row for each row inserted and none for a key already there: the new
        # rows are counted without counting the outbox (which grows with every message sent).
        result = await self._connection.execute(statement, rows)
        return len(result.all())

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_expired_before: datetime,
        only_person_id: int | None = None,
    ) -> list[OutgoingMessage]:
        """Take up to `limit` due rows whose recipient can be reached, oldest due first.

        Two candidates: claims whose lease expired (their dispatcher died between sending and
        marking) and pending rows that are due. Each is one range of the index (status, due_at,
        id), read in order, so a claim costs the same with 50 rows waiting or 50,000 (one query
        with OR between the two sorted every due row on each claim).

        A row whose recipient is out of service (a household account unlinked, or its household
        or the staff member deactivated) is never claimed: it is cancelled here, in case it was
        queued past the cancellation that goes with /putus and `sapa ... deactivate`. So is an
        optional reminder whose recipient muted them (`MUTED`), past the cancellation that goes
        with /pengingat (a planner pass that read the account just before).

        On PostgreSQL rows locked by another dispatcher are skipped (`FOR UPDATE SKIP LOCKED`);
        on SQLite the write transaction already excludes other writers.
        """
        values = {
            "now": now,
            "lease_expired_before": lease_expired_before,
            "limit": limit,
            "person_id": only_person_id,
        }
        while True:
            candidates: list[Row[Any]] = []
            for query in _CLAIMABLE[only_person_id is not None]:
                candidates.extend(await self._connection.execute(query, values))
            found = sorted(candidates, key=lambda row: (row.due_at, row.id))[:limit]
            claimed = [row for row in found if row.in_service and not row.muted]
            out_of_service = [row.id for row in found if not row.in_service]
            muted = [row.id for row in found if row.in_service and row.muted]
            if out_of_service:
                log.info("outbox_recipient_out_of_service cancelled=%s", len(out_of_service))
                await self._connection.execute(
                    update(notification)
                    .where(notification.c.id.in_(out_of_service))
                    .values(status=CANCELLED, last_error=OUT_OF_SERVICE, claimed_at=None)
                )
            if muted:
                log.info("outbox_reminder_muted cancelled=%s", len(muted))
                await self._connection.execute(
                    update(notification)
                    .where(notification.c.id.in_(muted))
                    .values(status=CANCELLED, last_error=MUTED, claimed_at=None)
                )
            if claimed or not (out_of_service or muted):
                break  # else the next rows, now that these are out of the way
        if not claimed:
            return []
        await self._connection.execute(_CLAIM, {"ids": [row.id for row in claimed], "now": now})
        return [
            OutgoingMessage(
                id=row.id,
                person_id=row.person_id,
                telegram_user_id=row.telegram_user_id,
                language=row.language,
                template_key=row.template_key,
                params=row.params,
                attempts=row.attempts,
                due_at=row.due_at,
            )
            for row in claimed
        ]

    async def exists(self, dedup_key: str) -> bool:
        query = select(notification.c.id).where(notification.c.dedup_key == dedup_key)
        return (await self._connection.execute(query)).first() is not None

    async def expire(
        self, notification_id: int, attempts: int | None = None, error_type: str | None = None
    ) -> None:
        """A message that can no longer be sent in time (a reminder for a day gone by); after
        failed attempts, with their count and the last error's type ("expired: TimedOut")."""
        values: dict[str, Any] = {"attempts": attempts} if attempts is not None else {}
        reason = f"{EXPIRED}: {error_type}" if error_type else EXPIRED
        await self._set(
            notification_id, status=CANCELLED, last_error=reason, claimed_at=None, **values
        )

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        await self._connection.execute(
            _MARK_SENT, {"notification_id": notification_id, "sent_at": now}
        )

    async def retry_later(
        self,
        notification_id: int,
        attempts: int,
        due_at: datetime,
        error: str,
        params: dict[str, Any] | None = None,
    ) -> None:
        """Back to the queue for another attempt at `due_at` (with new `params` if given)."""
        values: dict[str, Any] = {"params": params} if params is not None else {}
        await self._set(
            notification_id,
            status=PENDING,
            attempts=attempts,
            due_at=due_at,
            last_error=error,
            claimed_at=None,
            **values,
        )

    async def fail(self, notification_id: int, attempts: int, error: str) -> None:
        await self._set(
            notification_id, status="failed", attempts=attempts, last_error=error, claimed_at=None
        )

    async def release(self, notification_ids: Sequence[int]) -> None:
        """Give claimed rows back untouched (the dispatcher stopped before sending them)."""
        if notification_ids:
            await self._connection.execute(
                update(notification)
                .where(notification.c.id.in_(notification_ids), notification.c.status == SENDING)
                .values(status=PENDING, claimed_at=None)
            )

    async def cancel_pending(
        self,
        *,
        person_id: int | None = None,
        staff_id: int | None = None,
        dedup_prefix: str | None = None,
        template_keys: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        """Cancel pending rows of one person, of one staff member, or whose dedup key starts
        with a prefix (of these templates only, when given; `reason` goes to `last_error`).

        The rows are found by the recipient's index or the dedup key's, then checked for being
        pending: `status || ''` keeps SQLite (which has no statistics) from reading every
        pending row of the (status, due_at, id) index instead."""
        narrower: list[ColumnElement[bool]] = []
        if person_id is not None:
            narrower.append(notification.c.person_id == person_id)
        if staff_id is not None:
            narrower.append(notification.c.staff_id == staff_id)
        if dedup_prefix is not None:
            narrower.append(_keys_starting_with(dedup_prefix))
        status = notification.c.status + "" if narrower else notification.c.status
        condition = and_(status == PENDING, *narrower)
        if template_keys is not None:
            condition = and_(condition, notification.c.template_key.in_(sorted(template_keys)))
        values: dict[str, Any] = {"status": CANCELLED}
        if reason is not None:
            values["last_error"] = reason
        result = await self._connection.execute(
            update(notification).where(condition).values(**values)
        )
        return int(result.rowcount or 0)

    async def forget_muted(self, person_id: int, due_from: datetime) -> int:
        """Remove this person's reminders that muting cancelled (`MUTED`) and that are due from
        `due_from` on: never sent, and their dedup keys free again, so that the planner plans
        them afresh from the registry as it is now (a session may have moved meanwhile). Those
        due earlier stay, cancelled. Returns how many were removed."""
        result = await self._connection.execute(
            delete(notification).where(
                notification.c.person_id == person_id,
                notification.c.status + "" == CANCELLED,
                notification.c.last_error == MUTED,
                notification.c.due_at >= due_from,
            )
        )
        return int(result.rowcount or 0)

    async def _set(self, notification_id: int, **values: Any) -> None:
        await self._connection.execute(
            update(notification).where(notification.c.id == notification_id).values(**values)
        )

    async def undelivered(self, limit: int) -> tuple[list[UndeliveredMessage], int]:
        """Messages that could not be delivered, the latest due first: at most `limit` of them,
        and how many there are in all."""
        query = (
            select(
                notification.c.id,
                notification.c.due_at,
                notification.c.template_key,
                func.coalesce(household.c.program_number, staff.c.code).label("recipient"),
                notification.c.attempts,
                notification.c.last_error,
                notification.c.status,
            )
            .select_from(
                notification.outerjoin(person, person.c.id == notification.c.person_id)
                .outerjoin(household, household.c.id == person.c.household_id)
                .outerjoin(
                    staff, staff.c.id == func.coalesce(notification.c.staff_id, person.c.staff_id)
                )
            )
            .where(undelivered())
            .order_by(notification.c.due_at.desc(), notification.c.id.desc())
            .limit(limit)
        )
        shown = [
            UndeliveredMessage(
                id=row.id,
                due_at=row.due_at,
                template_key=row.template_key,
                recipient=row.recipient or "-",
                attempts=row.attempts,
                error_type=error_type(row.last_error),
                expired=row.status == CANCELLED,
            )
            for row in await self._connection.execute(query)
        ]
        total = select(func.count()).select_from(notification).where(undelivered())
        return shown, int((await self._connection.execute(total)).scalar_one())

    async def retry_failed(
        self, now: datetime, notification_ids: Sequence[int] | None = None
    ) -> list[int]:
        """Put failed rows back in the queue, due now, their attempts counted afresh (and their
        retry window with them); all of them, or those of `notification_ids`. Left as they are:
        a row whose `expires_at` has passed (it would arrive too late), and one refused because
        the recipient blocked the bot (403: they come back with /start; until then it could only
        wait in the queue). Returns the rows put back."""
        query = select(notification.c.id, notification.c.params).where(
            notification.c.status == FAILED,
            or_(notification.c.last_error.is_(None), notification.c.last_error != FORBIDDEN),
        )
        if notification_ids is not None:
            query = query.where(notification.c.id.in_(notification_ids))
        chosen = [
            row.id
            for row in await self._connection.execute(query.order_by(notification.c.id))
            if not _has_expired(row.params, now)
        ]
        for start in range(0, len(chosen), 500):
            await self._connection.execute(
                update(notification)
                .where(notification.c.id.in_(chosen[start : start + 500]))
                .values(status=PENDING, due_at=now, attempts=0, claimed_at=None)
            )
        return chosen

    async def pending(self) -> list[dict[str, Any]]:
        """Pending rows in due order, as plain dicts (for the dispatcher and for tests)."""
        query = (
            select(notification)
            .where(notification.c.status == PENDING)
            .order_by(notification.c.due_at, notification.c.id)
        )
        return [dict(row._mapping) for row in await self._connection.execute(query)]

    async def archive_finished(self, due_before: datetime, now: datetime, limit: int) -> int:
        """Move up to `limit` finished rows (sent, or cancelled: never to be sent) that were due
        before `due_before` to `notification_archive`, oldest first; returns how many moved.

        Each status's old rows are one range of the (status, due_at, id) index, read in order.
        Failed rows stay: an operator may still put them back in the queue (`sapa outbox`).
        The archive keeps no parameters (names, texts), only what the recap counts and the
        message's key, kind, recipient and times."""
        moved = 0
        for status in (SENT, CANCELLED):
            if moved >= limit:
                break
            oldest = (
                select(notification.c.id)
                .where(notification.c.status == status, notification.c.due_at < due_before)
                .order_by(notification.c.due_at, notification.c.id)
                .limit(limit - moved)
            )
            moved += await self._archive(oldest, now)
        return moved

    async def _archive(self, chosen: Select[Any], now: datetime) -> int:
        """Copy the rows `chosen` selects to the archive and delete them; how many moved.

        On PostgreSQL one statement (a DELETE ... RETURNING feeding the INSERT), the rows locked
        and those a concurrent run holds skipped: what is copied is exactly what is deleted. On
        SQLite the write transaction excludes every other writer, so the same SELECT chooses the
        same rows for the INSERT and the DELETE. No list of ids goes back and forth."""
        kept = [c.name for c in notification_archive.c if c.name != "archived_at"]
        archived_at = literal(now, UtcDateTime).label("archived_at")
        if self._connection.dialect.name == "postgresql":
            gone = (
                delete(notification)
                # = ANY(ARRAY(...)): the chosen ids are read first, then each row is found by
                # its key (IN (SELECT ...) is planned as a join, which reads the whole table).
                .where(
                    notification.c.id
                    == any_(func.array(chosen.with_for_update(skip_locked=True).scalar_subquery()))
                )
                .returning(*(notification.c[name] for name in kept))
                .cte("gone")
            )
            source = select(*(gone.c[name] for name in kept), archived_at)
        else:
            source = select(*(notification.c[name] for name in kept), archived_at).where(
                notification.c.id.in_(chosen)
            )
        result = await self._connection.execute(
            insert(notification_archive).from_select([*kept, "archived_at"], source)
        )
        if self._connection.dialect.name != "postgresql":
            await self._connection.execute(
                delete(notification).where(notification.c.id.in_(chosen))
            )
        return int(result.rowcount or 0)

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many rows are due and waiting, and the oldest due time among them."""
        query = select(func.count(), func.min(notification.c.due_at)).where(
            notification.c.status == PENDING, notification.c.due_at <= now
        )
        count, oldest = (await self._connection.execute(query)).one()
        return int(count), oldest


def undelivered(table: Table = notification) -> ColumnElement[bool]:
    """Messages that could not be delivered: failed rows, and rows that expired after failed
    attempts (for `sapa outbox` and the recap); in the outbox or in its archive."""
    return or_(
        table.c.status == FAILED,
        and_(
            table.c.status == CANCELLED,
            table.c.last_error.startswith(f"{EXPIRED}: ", autoescape=True),
        ),
    )


def undelivered_ever(due_from: datetime, due_until: datetime) -> Subquery:
    """The recipients (person_id, staff_id) of the messages due in [due_from, due_until) that
    could not be delivered, in the outbox and in its archive: what the recap counts, the same
    before and after the retention job moves a row. `sapa outbox` lists the outbox only (an
    archived row is past its retry: nothing is left to do about it)."""
    parts = [
        select(table.c.person_id, table.c.staff_id).where(
            undelivered(table), table.c.due_at >= due_from, table.c.due_at < due_until
        )
        for table in (notification, notification_archive)
    ]
    return union_all(*parts).subquery("undelivered_message")


def _keys_starting_with(prefix: str) -> ColumnElement[bool]:
    """Dedup keys that start with `prefix`, as one range of the key's unique index: from the
    prefix itself up to (not including) the prefix with its last character the next one. Exact
    because keys compare byte by byte (UTF-8 keeps the order of characters): SQLite's BINARY
    collation, COLLATE "C" on PostgreSQL (migration 0011). A LIKE 'prefix%' reads every pending
    row instead: SQLite's LIKE ignores case, so no index serves it, and on PostgreSQL only a
    literal pattern (not a bound parameter) uses one."""
    if not prefix:
        raise ValueError("an empty prefix would take every key")
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(notification.c.dedup_key >= prefix, notification.c.dedup_key < after)


def error_type(last_error: str | None) -> str:
    """The kind of a row's last error, without its details: "NetworkError", "forbidden"."""
    if not last_error:
        return "-"
    if last_error.startswith(f"{EXPIRED}: "):
        last_error = last_error.removeprefix(f"{EXPIRED}: ")
    return last_error.split(":", 1)[0].strip()[:40] or "-"


def _has_expired(params: dict[str, Any], now: datetime) -> bool:
    expires = params.get("expires_at") if isinstance(params, dict) else None
    return bool(expires) and datetime.fromisoformat(str(expires)) <= now


_MARK_SENT = (
    update(notification)
    .where(notification.c.id == bindparam("notification_id"))
    .values(status=SENT, sent_at=bindparam("sent_at"), claimed_at=None)
)


class SentMarks(Protocol):
    """Writes the dispatcher's "sent" marks, each committed by itself before `mark_sent` returns.

    The dispatcher commits one mark per message, before the next message leaves, so the cost of
    a mark is paid per message and bounds the rate (at 300 messages a second the budget is 3.3
    ms a message, sending takes about 2). Through `Store.write()` a mark costs about 1 ms of
    CPU: a pool checkout, then BEGIN, the UPDATE and COMMIT, each a round trip to the driver.
    Here it is one UPDATE in autocommit (a transaction of its own, as atomic and as durable as
    a COMMIT) on a connection kept for the dispatcher's run: one round trip.
    """

    async def mark_sent(self, notification_id: int, now: datetime) -> None: ...


@asynccontextmanager
async def sent_marks(engine: AsyncEngine) -> AsyncIterator[SentMarks]:
    """A connection of its own for a run of "sent" marks, given back to the pool afterwards."""
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            driver = (await connection.get_raw_connection()).driver_connection
            yield _SqliteSentMarks(driver, connection.dialect)
        else:
            yield _AutocommitSentMarks(
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            )


class _AutocommitSentMarks:
    """PostgreSQL: the connection in AUTOCOMMIT, the statement prepared once by asyncpg."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        await NotificationRepository(self._connection).mark_sent(notification_id, now)


class _SqliteSentMarks:
    """SQLite: the statement goes to the driver (aiosqlite) itself, in one hop to its thread.

    SQLAlchemy cannot run a SQLite connection in AUTOCOMMIT here (storage.database begins every
    transaction itself, with BEGIN IMMEDIATE or DEFERRED), and its own path takes seven hops
    (BEGIN, UPDATE and COMMIT, each with a cursor opened and closed): 0.8 ms of CPU a mark
    instead of 0.1. The sqlite3 connection itself is in autocommit (storage.database takes
    transaction control away from the sqlite3 module), so the UPDATE is its own transaction,
    committed when it returns; it waits for the write lock under the busy timeout. SQLAlchemy
    still writes the statement and converts the values (the UTC timestamp) as for any other.
    """

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self._driver = driver
        self._compiled = _MARK_SENT.compile(dialect=dialect)
        self._order = list(self._compiled.positiontup or ())
        self._converters = {
            name: self._compiled.binds[name].type.bind_processor(dialect) for name in self._order
        }

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        values = self._compiled.construct_params(
            {"notification_id": notification_id, "sent_at": now}
        )
        row = []
        for name in self._order:
            convert = self._converters[name]
            row.append(values[name] if convert is None else convert(values[name]))
        await self._driver.execute(self._compiled.string, row)
