"""The dispatcher: sends due outbox rows to Telegram, within Telegram's limits, never at night.

- Pace: at most `messages_per_second` overall (default 25; Telegram allows about 30) and one
  message per second to any one chat.
- A few sends at a time: up to `in_flight` (4) messages are on their way together, each to a
  different chat, so a request that hangs holds up its own chat and no other. Every send is
  bounded (`send_timeout`, 10 s in all); one that runs out of time is retried like a network
  error.
- 429 Too Many Requests: the whole bot waits `retry_after` seconds; the row goes back untouched.
- 5xx, network errors and timeouts: the row is tried again later, the wait doubling from
  `retry_seconds` (SAPA_OUTBOX_RETRY_SECONDS) up to `retry_cap` (10 minutes), for `retry_window`
  (SAPA_OUTBOX_RETRY_WINDOW_HOURS, 24) from when it was first due; then it is marked failed, for
  `sapa outbox` and the coordinators' recap. A row with `expires_at` (a reminder) is cancelled
  as expired instead of being tried past that moment.
- 403 Forbidden (the user blocked the bot or deleted the account): the person is marked
  unreachable, their pending rows are cancelled, and their companion sees it in the digest.
- 400 Bad Request, or a row that cannot be rendered: failed at once (trying again cannot help).
- Quiet hours (21:00-06:00 WIB by default): nothing is sent; due rows wait for the morning.
- A row is marked sent only after Telegram accepted it, in its own transaction, and a send keeps
  its place among the `in_flight` until that mark is committed. So at any moment at most
  `in_flight` rows have been sent (or are being sent) without their mark, each to a different
  chat. After a crash their claims expire (the lease) and those few are the only messages that
  are sent again; rows claimed but not sent yet are sent once, later.
- Messages over 4096 characters are sent in parts, split on line boundaries
  (`bot.texts.message_parts.split_text`).
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

from bot.domain.clock import Clock
from bot.settings import QuietHours, Settings
from bot.texts.i18n import Translations
from bot.texts.message_parts import split_text
from bot.texts.notices import render_notice
from storage.notifications import FORBIDDEN, OutgoingMessage, SentMarks, sent_marks
from storage.store import Store

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0
BATCH = 50
IN_FLIGHT = 4  # sends on their way at once, each to another chat
SEND_TIMEOUT = 10.0  # seconds a send may take in all, answer included
RETRY_CAP = timedelta(minutes=10)  # the longest wait between two attempts
SETTLE_SECONDS = 1.0  # how long the end of a run waits for the sends still on their way
FIRST_DUE = "first_due_at"  # in a retried row's params: when it was first due (its window)


@dataclass(frozen=True)
class DeliveryPolicy:
    zone: ZoneInfo
    quiet_hours: QuietHours
    messages_per_second: float = 25
    retry_seconds: float = 30
    retry_window: timedelta = timedelta(hours=24)
    retry_cap: timedelta = RETRY_CAP
    lease: timedelta = timedelta(minutes=5)
    send_timeout: float = SEND_TIMEOUT
    in_flight: int = IN_FLIGHT

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            zone=settings.zone,
            quiet_hours=settings.quiet_hours,
            messages_per_second=settings.outbox_messages_per_second,
            retry_seconds=settings.outbox_retry_seconds,
            retry_window=timedelta(hours=settings.outbox_retry_window_hours),
            lease=timedelta(seconds=settings.outbox_lease_seconds),
        )

    @property
    def batch(self) -> int:
        """Rows claimed at once: no more than can be sent in half the lease, so a live
        dispatcher's claims never expire under it (another replica would send them again)."""
        return max(1, min(BATCH, int(self.lease.total_seconds() / 2 * self.messages_per_second)))

    @property
    def concurrency(self) -> int:
        """Sends on their way at once: `in_flight`, and fewer than one second's budget (the
        pacer counts each of them against the second in which it may arrive)."""
        return max(1, min(self.in_flight, math.floor(self.messages_per_second)))

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt: doubling, up to `retry_cap`."""
        doubled = self.retry_seconds * 2 ** min(max(attempts - 1, 0), 40)
        return min(timedelta(seconds=doubled), self.retry_cap)

    def is_quiet(self, now: datetime) -> bool:
        return self.quiet_hours.contains(now.astimezone(self.zone).time())


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    blocked: int = 0
    rate_limited: int = 0


class Paused(Exception):
    """Telegram asked the whole bot to wait (a 429) before this send's turn came."""


@dataclass
class Pacer:
    """Spaces sends: an overall rate, and one second between two sends to the same chat.

    Sends follow a fixed schedule, one slot every 1/per_second seconds. A send that starts late
    (a sleep overshoots by up to a millisecond, a claim takes a few) leaves the next slots where
    they were, so the time lost is made up instead of adding up, as it would with sleeps measured
    from the last send. The schedule is never more than `catch_up` slots behind the clock, so
    making up is a short burst (after a quiet spell too: `catch_up` + 1 messages), not a flood.

    Whatever the schedule says, a send starts only when the sends that ended in the last second
    and the sends still on their way leave room for it in `per_second` (at least one), and the
    chat's last send ended a second ago. Telegram counts a message when it arrives, between the
    start of its send and its end (the answer); a send on its way may arrive at any moment, so it
    counts as arriving within the second. So, counted from the ends, no second holds more than
    `per_second` messages, nor two to one chat, at Telegram's end too, with several sends on
    their way at once (their callers keep them fewer than `per_second`, each to another chat).

    Sends to other chats may wait for their turns at the same time: the schedule is handed out
    in turn (a lock), the wait for a chat's second is outside it, so it holds up no other chat.
    After a 429 (`pause`) a send whose turn had not come yet raises `Paused`.
    """

    per_second: float
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic
    catch_up: int = 3
    _next_slot: float = 0.0
    _paused_until: float = 0.0
    _in_flight: int = 0  # sends started and not ended
    _chat_free_at: dict[int, float] = field(default_factory=dict)
    _last_ends: deque[float] = field(init=False)  # when the latest `per_second` sends ended
    _lock: asyncio.Lock = field(init=False)

    def __post_init__(self) -> None:
        self._last_ends = deque(maxlen=max(1, math.floor(self.per_second)))
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def turn(self, chat_id: int) -> AsyncIterator[None]:
        """Wait for this chat's next turn, then send inside the block: `async with turn(chat):`."""
        await self._wait(chat_id)
        try:
            yield
        finally:
            self._in_flight -= 1
            self._ended(chat_id)

    async def _wait(self, chat_id: int) -> None:
        """Sleep until the schedule, the last second's sends and the chat allow a send."""
        free_at = self._chat_free_at.get(chat_id, 0.0)
        now = self.monotonic()
        if free_at > now:  # outside the lock: sends to other chats take their turns meanwhile
            await self.sleep(free_at - now)
        async with self._lock:
            interval = 1.0 / self.per_second
            now = self.monotonic()
            if self._paused_until > now:
                raise Paused
            slot = max(self._next_slot, now - self.catch_up * interval)
            start = max(now, slot, self._chat_free_at.get(chat_id, 0.0), self._second_free_at())
            if start > now:
                await self.sleep(start - now)
                if self._paused_until > self.monotonic():
                    raise Paused
            self._next_slot = max(self._next_slot, slot + interval)
            self._in_flight += 1

    def _second_free_at(self) -> float:
        """When the sends that ended in the last second, with those on their way and the next
        one, will be no more than `per_second`."""
        assert self._last_ends.maxlen is not None
        recent = max(self._last_ends.maxlen - 1 - self._in_flight, 0)  # ends allowed in a second
        if len(self._last_ends) <= recent:
            return 0.0
        return self._last_ends[-(recent + 1)] + 1.0

    def _ended(self, chat_id: int) -> None:
        now = self.monotonic()
        self._last_ends.append(now)
        self._chat_free_at[chat_id] = now + PER_CHAT_INTERVAL
        if len(self._chat_free_at) > 10_000:  # forget chats that are long free again
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    def pause(self, seconds: float) -> None:
        """Telegram asked the whole bot to wait (429 retry_after)."""
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)
        self._next_slot = max(self._next_slot, self._paused_until)

    def paused(self) -> bool:
        return self._next_slot > self.monotonic() + 1.0


class Dispatcher:
    """Sends claimed outbox rows, a few at a time (each to another chat), in due order.

    Crash safety: a row is marked sent only after Telegram accepted it, and a send keeps its
    place among the `policy.concurrency` sends on their way until that mark is committed. So at
    any moment at most that many rows (4) have been sent, or are being sent, without their mark,
    each to a different chat (with all its parts, if it is long): after a kill -9 their claims
    expire (the lease) and they are sent again, the only repeats. Rows claimed but not sent yet
    are sent once, later. A mark is a single statement on a connection of the run's own
    (`SentMarks`), written while the other sends wait for their slots.

    A send that hangs holds its chat and one place, nothing else: the others keep going, and
    the run ends on time (it waits `SETTLE_SECONDS` for the sends still on their way, then
    leaves them to finish; the next run counts them among its own). Its `send_timeout` ends it
    and the row is tried again later, like any network error. A send still hanging when the bot
    stops ends with the process, as in a crash: its row is taken again once its lease expires.
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
        self._sending: dict[int, asyncio.Task[None]] = {}  # chat -> its send on its way
        self._marks: SentMarks | None = None  # the run's connection for "sent" marks
        self._marks_lock = asyncio.Lock()  # one mark at a time on it
        self._stats = DispatchStats()  # the current run's
        self._error: Exception | None = None  # a send's mark that could not be written

    async def run_once(
        self, max_messages: int = 1_000_000, max_seconds: float | None = None
    ) -> DispatchStats:
        """Send what is due now; stop early on a 429, in quiet hours, or at either limit."""
        stats = self._stats = DispatchStats()
        deadline = None if max_seconds is None else self.pacer.monotonic() + max_seconds
        claimed: deque[OutgoingMessage] = deque()  # claimed, not sent yet, in due order
        started = 0
        async with self._sent_marks() as marks:
            self._marks = marks
            try:
                while not self._must_stop(started, max_messages, deadline):
                    self._raise_error()
                    if len(self._sending) >= self.policy.concurrency:
                        await self._wait_for_a_send(deadline)
                        continue
                    message = _first_to_a_free_chat(claimed, self._sending)
                    if message is None:
                        if len(claimed) < self.policy.batch and (batch := await self._claim()):
                            claimed.extend(batch)
                            continue
                        if not self._sending:
                            if not claimed:
                                break  # nothing due, nothing on its way
                            continue  # their chats' sends ended meanwhile
                        await self._wait_for_a_send(deadline)  # their chats' sends are on their way
                        continue
                    started += 1
                    self._start(message)
                self._raise_error()
                await self._release(list(claimed))
            finally:
                await self._settle()
                async with self._marks_lock:
                    self._marks = None
        self._raise_error()
        return stats

    def _start(self, message: OutgoingMessage) -> None:
        task = asyncio.create_task(self._send(message))
        self._sending[message.telegram_user_id] = task

    async def _send(self, message: OutgoingMessage) -> None:
        """One row, in a task of its own; an error that must end the run is kept for it."""
        try:
            await self._deliver(message, self._stats)
        except Exception as error:  # the run raises it (`_raise_error`)
            if self._error is None:
                self._error = error
        finally:
            self._sending.pop(message.telegram_user_id, None)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    async def _wait_for_a_send(self, deadline: float | None) -> None:
        """Until one of the sends on its way ends (or the run's time is up)."""
        timeout = None if deadline is None else max(0.0, deadline - self.pacer.monotonic())
        await asyncio.wait(
            list(self._sending.values()), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )

    async def _settle(self) -> None:
        """Give the sends on their way a moment to end with their marks; one that hangs is left
        to end on its own (its chat stays busy for the next run)."""
        if self._sending:
            await asyncio.wait(list(self._sending.values()), timeout=SETTLE_SECONDS)

    async def _claim(self) -> list[OutgoingMessage]:
        """The next batch of due rows, oldest due first, claimed for this dispatcher."""
        now = self.clock()
        async with self.store.write() as repo:
            return await repo.notifications.claim_due(
                now, self.policy.batch, now - self.policy.lease, self.only_person_id
            )

    def _sent_marks(self) -> AbstractAsyncContextManager[SentMarks]:
        """Where the "sent" marks of a run are written (a connection of their own)."""
        return sent_marks(self.store.engine)

    def _must_stop(self, started: int, max_messages: int, deadline: float | None) -> bool:
        """Quiet hours, a 429 pause, the run's message or time limit."""
        return (
            started >= max_messages
            or (deadline is not None and self.pacer.monotonic() >= deadline)
            or self.pacer.paused()
            or self.policy.is_quiet(self.clock())
        )

    async def _release(self, messages: list[OutgoingMessage]) -> None:
        """Give back claimed rows that were not tried (the one that got a 429 included)."""
        if messages:
            async with self.store.write() as repo:
                await repo.notifications.release([m.id for m in messages])

    async def _mark_sent(self, message: OutgoingMessage) -> None:
        """Commit the "sent" mark, on the run's connection (or, once the run is over, through
        a transaction of its own).

        A mark that fails (the database locked past its timeout, a dropped connection) is
        written once more through a transaction of its own. If that fails too, the error ends
        the run: the row stays claimed and is sent again when its lease expires (one of the
        repeats a crash allows), and so are the rows claimed but not sent yet.
        """
        sent_at = self.clock()
        async with self._marks_lock:
            if self._marks is not None:
                try:
                    await self._marks.mark_sent(message.id, sent_at)
                    return
                except Exception as error:  # whichever driver raised it (aiosqlite, asyncpg)
                    log.warning(
                        "outbox_mark_failed notification=%s error=%s retrying=1",
                        message.id,
                        type(error).__name__,
                    )
            async with self.store.write() as repo:
                await repo.notifications.mark_sent(message.id, sent_at)

    async def _deliver(self, message: OutgoingMessage, stats: DispatchStats) -> None:
        """Send one row and record the outcome."""
        expires = _expires_at(message)
        if expires is not None and expires <= self.clock():
            async with self.store.write() as repo:
                await repo.notifications.expire(message.id)
            return
        t = self.translations.for_language(message.language)
        try:
            notice = render_notice(message.template_key, message.params, t)
        except (KeyError, ValueError) as error:
            await self._fail(message, f"cannot render: {type(error).__name__}: {error}")
            stats.failed += 1
            return
        parts = split_text(notice.text)
        markup = (
            InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                    for row in notice.buttons
                ]
            )
            if notice.buttons
            else None
        )
        phase = self.policy.send_timeout / 2  # connect, write, read: each within the whole
        try:
            for index, part in enumerate(parts):
                async with (
                    self.pacer.turn(message.telegram_user_id),
                    asyncio.timeout(self.policy.send_timeout),
                ):
                    await self.bot.send_message(
                        message.telegram_user_id,
                        part,
                        reply_markup=markup if index == len(parts) - 1 else None,
                        connect_timeout=phase,
                        write_timeout=phase,
                        read_timeout=phase,
                        pool_timeout=phase,
                    )
        except Paused:  # a 429 came while this one waited for its turn
            await self._release([message])
            return
        except RetryAfter as error:
            with warnings.catch_warnings():  # PTB 22 announces a type change; both are handled
                warnings.simplefilter("ignore")
                seconds = _seconds(error.retry_after)
            self.pacer.pause(seconds)
            stats.rate_limited += 1
            log.warning("outbox_rate_limited retry_after=%s", seconds)
            await self._release([message])  # untouched, with the rest of the run's claims
            return
        except Forbidden:
            stats.blocked += 1
            log.info(
                "outbox_recipient_unreachable notification=%s person=%s",
                message.id,
                message.person_id,
            )
            async with self.store.write() as repo:
                await repo.notifications.fail(message.id, message.attempts + 1, FORBIDDEN)
                await repo.people.set_reachable(message.person_id, False)
                await repo.notifications.cancel_pending(person_id=message.person_id)
            return
        except BadRequest as error:
            stats.failed += 1
            await self._fail(message, f"bad request: {error.message}")
            return
        except (NetworkError, TelegramError, TimeoutError) as error:
            await self._retry_or_fail(message, error, stats)
            return
        await self._mark_sent(message)
        stats.sent += 1

    async def _retry_or_fail(
        self, message: OutgoingMessage, error: Exception, stats: DispatchStats
    ) -> None:
        """After a fault: again later, or failed once its window is over, or cancelled when the
        next attempt would come after its `expires_at`."""
        now = self.clock()
        attempts = message.attempts + 1
        if isinstance(error, TelegramError):
            kind, detail = type(error).__name__, error.message
        else:  # our own bound on the send (asyncio.timeout)
            kind, detail = "TimedOut", f"no answer within {self.policy.send_timeout:g} s"
        window_ends = _first_due(message) + self.policy.retry_window
        next_attempt = min(now + self.policy.backoff(attempts), window_ends)
        expires = _expires_at(message)
        if expires is not None and next_attempt >= expires:
            stats.failed += 1
            log.warning(
                "outbox_expired notification=%s attempts=%s error=%s", message.id, attempts, kind
            )
            async with self.store.write() as repo:
                await repo.notifications.expire(message.id, attempts, kind)
            return
        if now >= window_ends:
            stats.failed += 1
            await self._fail(message, f"{kind}: {detail}", attempts, kind)
            return
        stats.retried += 1
        log.warning("outbox_retry notification=%s attempt=%s error=%s", message.id, attempts, kind)
        params = (
            None if message.attempts else {**message.params, FIRST_DUE: message.due_at.isoformat()}
        )
        async with self.store.write() as repo:
            await repo.notifications.retry_later(
                message.id, attempts, next_attempt, f"{kind}: {detail}"[:500], params
            )

    async def _fail(
        self,
        message: OutgoingMessage,
        error: str,
        attempts: int | None = None,
        kind: str | None = None,
    ) -> None:
        log.warning(
            "outbox_failed notification=%s error=%s", message.id, kind or error.split(":", 1)[0]
        )
        async with self.store.write() as repo:
            await repo.notifications.fail(
                message.id, attempts if attempts is not None else message.attempts + 1, error[:500]
            )


def _first_to_a_free_chat(
    claimed: deque[OutgoingMessage], sending: dict[int, asyncio.Task[None]]
) -> OutgoingMessage | None:
    """Take the first claimed row whose chat has no send on its way (a chat's rows stay in
    order: the first of them is the one taken)."""
    for index, message in enumerate(claimed):
        if message.telegram_user_id not in sending:
            del claimed[index]
            return message
    return None


def _expires_at(message: OutgoingMessage) -> datetime | None:
    expires = message.params.get("expires_at")
    return datetime.fromisoformat(expires) if expires else None


def _first_due(message: OutgoingMessage) -> datetime:
    """When the row was first due: its retry window starts there (afresh after `sapa outbox
    retry`, which counts its attempts from zero again)."""
    first = message.params.get(FIRST_DUE) if message.attempts else None
    return datetime.fromisoformat(first) if first else message.due_at


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
