"""The dispatcher: sends due outbox rows to Telegram, within Telegram's limits, never at night.

- Pace: at most `messages_per_second` overall (default 25; Telegram allows about 30) and one
  message per second to any one chat.
- 429 Too Many Requests: the whole bot waits `retry_after` seconds; the row goes back untouched.
- 5xx and network errors: the row is retried with exponential backoff, then marked failed.
- 403 Forbidden (the user blocked the bot or deleted the account): the person is marked
  unreachable, their pending rows are cancelled, and their companion sees it in the digest.
- Quiet hours (21:00-06:00 WIB by default): nothing is sent; due rows wait for the morning.
- A row is marked sent only after Telegram accepted it, in its own transaction, committed before
  the next message leaves (written while the pacer waits for the next slot). After a crash a
  claimed row is taken again once its lease expires: only the one message in flight (sent, or
  being sent, and not marked) is repeated.
- Messages over 4096 characters are sent in parts, split on line boundaries
  (`bot.message_parts.split_text`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.clock import Clock
from bot.i18n import Translations
from bot.message_parts import split_text
from bot.notices import render_notice
from bot.settings import QuietHours, Settings
from storage.notifications import OutgoingMessage, SentMarks, sent_marks
from storage.store import Store

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0
BATCH = 50


@dataclass(frozen=True)
class DeliveryPolicy:
    zone: ZoneInfo
    quiet_hours: QuietHours
    messages_per_second: float = 25
    max_attempts: int = 5
    retry_seconds: float = 30
    lease: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            zone=settings.zone,
            quiet_hours=settings.quiet_hours,
            messages_per_second=settings.outbox_messages_per_second,
            max_attempts=settings.outbox_max_attempts,
            retry_seconds=settings.outbox_retry_seconds,
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )

    @property
    def batch(self) -> int:
        """Rows claimed at once: no more than can be sent in half the lease, so a live
        dispatcher's claims never expire under it (another replica would send them again)."""
        return max(1, min(BATCH, int(self.lease.total_seconds() / 2 * self.messages_per_second)))

    def is_quiet(self, now: datetime) -> bool:
        return self.quiet_hours.contains(now.astimezone(self.zone).time())


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    rate_limited: int = 0


@dataclass
class Pacer:
    """Spaces sends: an overall rate, and one second between two sends to the same chat.

    Sends follow a fixed schedule, one slot every 1/per_second seconds. A send that starts late
    (a sleep overshoots by up to a millisecond, a claim takes a few) leaves the next slots where
    they were, so the time lost is made up instead of adding up, as it would with sleeps measured
    from the last send. The schedule is never more than `catch_up` slots behind the clock, so
    making up is a short burst (after a quiet spell too: `catch_up` + 1 messages), not a flood.

    Whatever the schedule says, a send starts only when the `per_second`-th send before it (at
    least one) and the chat's last send ended a second ago. Telegram counts a message when it
    arrives, between the start of its send and its end (the answer), so counted from the ends,
    no second holds more than `per_second` messages, nor two to one chat, at Telegram's end too.
    """

    per_second: float
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic
    catch_up: int = 3
    _next_slot: float = 0.0
    _chat_free_at: dict[int, float] = field(default_factory=dict)
    _last_ends: deque[float] = field(init=False)  # when the latest `per_second` sends ended

    def __post_init__(self) -> None:
        self._last_ends = deque(maxlen=max(1, math.floor(self.per_second)))

    @asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for this chat's next turn, then send inside the block: `async with turn(chat):`."""
        await self._wait(chat_id)
        try:
            yield
        finally:
            self._ended(chat_id)

    async def _wait(self, chat_id: int) -> None:
        """Sleep until the schedule, the last second's sends and the chat allow a send."""
        interval = 1.0 / self.per_second
        now = self.monotonic()
        slot = max(self._next_slot, now - self.catch_up * interval)
        start = max(now, slot, self._chat_free_at.get(chat_id, 0.0), self._second_free_at())
        if start > now:
            await self.sleep(start - now)
        self._next_slot = slot + interval

    def _second_free_at(self) -> float:
        """When the `per_second`-th send before the next one will have ended a second ago."""
        full = len(self._last_ends) == self._last_ends.maxlen
        return self._last_ends[0] + 1.0 if full else 0.0

    def _ended(self, chat_id: int) -> None:
        now = self.monotonic()
        self._last_ends.append(now)
        self._chat_free_at[chat_id] = now + PER_CHAT_INTERVAL
        if len(self._chat_free_at) > 10_000:  # forget chats that are long free again
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    def pause(self, seconds: float) -> None:
        """Telegram asked the whole bot to wait (429 retry_after)."""
        self._next_slot = max(self._next_slot, self.monotonic() + seconds)

    def paused(self) -> bool:
        return self._next_slot > self.monotonic() + 1.0


class Dispatcher:
    """Sends claimed outbox rows one after the other, marking each sent before the next leaves.

    Crash safety: a row is marked sent only after Telegram accepted it, and that mark is
    committed before the next message is handed to Telegram. So at any moment at most one row
    has been sent (or is being sent) without its mark, the message in flight (with all its parts,
    if it is long): after a kill -9 its claim expires (the lease) and it is sent again, the only
    repeat. Rows claimed but not sent yet are sent once, later. The mark is written while the
    pacer waits for the next slot, so when the budget leaves time between two messages the mark
    costs none of it; it is a single statement on a connection of its own (`SentMarks`).
    """

    def __init__(
        self,
        store: Store,
        bot: Bot,
        translations: Translations,
        policy: DeliveryPolicy,
        clock: Clock,
        pacer: Pacer | None = None,
        only_person_id: int | None = None,
    ) -> None:
        """`only_person_id` limits sending to one recipient (the console's user)."""
        self.only_person_id = only_person_id
        self.store = store
        self.bot = bot
        self.translations = translations
        self.policy = policy
        self.clock = clock
        self.pacer = pacer or Pacer(policy.messages_per_second)
        self._marking: asyncio.Task[None] | None = None  # the last "sent" mark, being written
        self._marked: tuple[int, datetime] = (0, clock())  # its row and time

    async def run_once(
        self, max_messages: int = 1_000_000, max_seconds: float | None = None
    ) -> DispatchStats:
        """Send what is due now; stop early on a 429, in quiet hours, or at either limit."""
        stats = DispatchStats()
        deadline = None if max_seconds is None else self.pacer.monotonic() + max_seconds
        async with self._sent_marks() as marks:
            try:
                while not self._must_stop(stats, max_messages, deadline):
                    batch = await self._claim()
                    if not batch or not await self._send_batch(
                        batch, stats, marks, max_messages, deadline
                    ):
                        break
            finally:
                await self._settle()
        return stats

    async def _claim(self) -> list[OutgoingMessage]:
        """The next batch of due rows, oldest due first, claimed for this dispatcher."""
        await self._settle()
        now = self.clock()
        async with self.store.write() as repo:
            return await repo.notifications.claim_due(
                now, self.policy.batch, now - self.policy.lease, self.only_person_id
            )

    async def _send_batch(
        self,
        batch: list[OutgoingMessage],
        stats: DispatchStats,
        marks: SentMarks,
        max_messages: int,
        deadline: float | None,
    ) -> bool:
        """Send a claimed batch in order; False when the run stops (the rest is given back)."""
        for position, message in enumerate(batch):
            if self._must_stop(stats, max_messages, deadline) or not await self._deliver(
                message, stats, marks
            ):
                await self._release(batch[position:])
                return False
        return True

    def _sent_marks(self) -> AbstractAsyncContextManager[SentMarks]:
        """Where the "sent" marks of a run are written (a connection of their own)."""
        return sent_marks(self.store.engine)

    def _must_stop(self, stats: DispatchStats, max_messages: int, deadline: float | None) -> bool:
        """Quiet hours, a 429 pause, the run's message or time limit."""
        return (
            stats.sent + stats.failed + stats.blocked >= max_messages
            or (deadline is not None and self.pacer.monotonic() >= deadline)
            or self.pacer.paused()
            or self.policy.is_quiet(self.clock())
        )

    async def _release(self, messages: list[OutgoingMessage]) -> None:
        """Give back the claimed rows that were not tried (the one that got a 429 included)."""
        await self._settle()
        async with self.store.write() as repo:
            await repo.notifications.release([m.id for m in messages])

    async def _settle(self) -> None:
        """Wait for the last "sent" mark to be committed (before any send or other write).

        A mark that fails (the database locked past its timeout, a dropped connection) is
        written once more through a transaction of its own. If that fails too, the error ends
        the run: the row stays claimed and is sent again when its lease expires (the one repeat
        a crash allows), and so are the rows claimed but not sent yet.
        """
        if self._marking is None:
            return
        marking, self._marking = self._marking, None
        notification_id, sent_at = self._marked
        try:
            await marking
        except Exception as error:  # whichever driver raised it (aiosqlite, asyncpg)
            log.warning(
                "outbox_mark_failed notification=%s error=%s retrying=1",
                notification_id, type(error).__name__,
            )  # fmt: skip
            async with self.store.write() as repo:
                await repo.notifications.mark_sent(notification_id, sent_at)

    def _start_mark(self, marks: SentMarks, message: OutgoingMessage) -> None:
        """Start committing the mark; the next send or write waits for it (`_settle`)."""
        self._marked = (message.id, self.clock())
        self._marking = asyncio.create_task(marks.mark_sent(*self._marked))

    async def _deliver(
        self, message: OutgoingMessage, stats: DispatchStats, marks: SentMarks
    ) -> bool:
        """Send one row and record the outcome; False means stop this run (429)."""
        expires = message.params.get("expires_at")
        if expires and datetime.fromisoformat(expires) <= self.clock():
            await self._settle()
            async with self.store.write() as repo:
                await repo.notifications.expire(message.id)
            return True
        t = self.translations.for_language(message.language)
        try:
            notice = render_notice(message.template_key, message.params, t)
        except (KeyError, ValueError) as error:
            await self._fail(message, f"cannot render: {type(error).__name__}: {error}")
            stats.failed += 1
            return True
        parts = split_text(notice.text)
        markup = (
            InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=data) for label, data in row]
                 for row in notice.buttons]
            )
            if notice.buttons
            else None
        )  # fmt: skip
        try:
            for index, part in enumerate(parts):
                async with self.pacer.turn(message.telegram_user_id):  # the last mark is written
                    await self._settle()  # at most one message is ever sent but not marked
                    await self.bot.send_message(
                        message.telegram_user_id,
                        part,
                        reply_markup=markup if index == len(parts) - 1 else None,
                    )
        except RetryAfter as error:
            with warnings.catch_warnings():  # PTB 22 announces a type change; both are handled
                warnings.simplefilter("ignore")
                seconds = _seconds(error.retry_after)
            self.pacer.pause(seconds)
            stats.rate_limited += 1
            log.warning("outbox_rate_limited retry_after=%s", seconds)
            return False  # run_once gives the row back untouched, with the rest of the batch
        except Forbidden:
            await self._settle()
            stats.blocked += 1
            log.info("outbox_recipient_unreachable notification=%s person=%s",
                     message.id, message.person_id)  # fmt: skip
            async with self.store.write() as repo:
                await repo.notifications.fail(message.id, message.attempts + 1, "forbidden")
                await repo.people.set_reachable(message.person_id, False)
                await repo.notifications.cancel_pending(person_id=message.person_id)
            return True
        except BadRequest as error:
            stats.failed += 1
            await self._fail(message, f"bad request: {error.message}")
            return True
        except (NetworkError, TelegramError) as error:
            await self._retry_or_fail(message, f"{type(error).__name__}: {error.message}", stats)
            return True
        self._start_mark(marks, message)
        stats.sent += 1
        return True

    async def _retry_or_fail(
        self, message: OutgoingMessage, error: str, stats: DispatchStats
    ) -> None:
        await self._settle()
        attempts = message.attempts + 1
        if attempts >= self.policy.max_attempts:
            stats.failed += 1
            await self._fail(message, error, attempts)
            return
        stats.retried += 1
        wait = timedelta(seconds=self.policy.retry_seconds * 2 ** (attempts - 1))
        log.warning("outbox_retry notification=%s attempt=%s", message.id, attempts)
        async with self.store.write() as repo:
            await repo.notifications.retry_later(message.id, attempts, self.clock() + wait, error)

    async def _fail(
        self, message: OutgoingMessage, error: str, attempts: int | None = None
    ) -> None:
        await self._settle()
        log.warning("outbox_failed notification=%s", message.id)
        async with self.store.write() as repo:
            await repo.notifications.fail(
                message.id, attempts if attempts is not None else message.attempts + 1, error[:500]
            )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
