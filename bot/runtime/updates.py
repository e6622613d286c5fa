"""How updates are processed: many users at once, each user's in order, their flow kept in the
database.

PTB processes one update at a time by default, so a coordinator's chart held up every mother
writing at the same moment. `UsersInOrder` runs the updates of different users concurrently (at
most `in_flight` at once) and the updates of one user strictly one after the other, in the order
Telegram sent them: a user's second tap never overtakes their first.

Around each update of a user in a private chat, `ConversationKeeper` reads where that user is in a
flow (the ConversationHandler's state and the draft in `user_data`) from the `conversation`
table, lets PTB handle the update, and writes back what changed; then it forgets the user, so the
process holds no state of its own. A restart, or the other replica behind the load balancer,
continues a half-done report exactly where it was. A flow left unanswered for
`flow_timeout_seconds` ends with a message: when the user writes again, or when the sweep
(`end_abandoned_flows`, every few seconds) finds it first.

Why not PTB's persistence: it loads every conversation at start-up and writes them back in
intervals, so two processes would each believe their own copy; and its conversation timeouts
live in one process's JobQueue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseUpdateProcessor, ConversationHandler

from bot.domain.clock import utc_now
from bot.domain.conversation import SavedConversation
from bot.domain.models import Household, Person
from bot.texts.i18n import Translations, Translator
from handlers.common import Visitor
from handlers.flow import FLOW_KEY, Flow
from storage.store import Store

if TYPE_CHECKING:
    from bot.runtime.app import SapaApplication

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# PTB's own bound counts every update waiting for its user's turn too; ours counts only the
# updates being worked on, so one user sending fifty messages cannot take every slot.
_WAITING_BOUND = 10_000
# How long a replica may take over one update before another may take the user over.
LEASE = timedelta(seconds=60)
LEASE_POLL_SECONDS = 0.02


def ordering_key(update: object) -> int | None:
    """Whose turn an update waits for: its user (or its chat, when there is no user)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat is not None else None


class UsersInOrder(BaseUpdateProcessor):
    """Concurrent across users, in order within a user, at most `in_flight` being worked on."""

    def __init__(self, in_flight: int) -> None:
        super().__init__(_WAITING_BOUND)
        self.in_flight = in_flight
        self._working = asyncio.Semaphore(in_flight)
        self._turns: dict[int, asyncio.Lock] = {}
        self._queued: dict[int, int] = {}
        self.keeper: ConversationKeeper | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            async with self._working:
                await coroutine
            return
        # No await before the lock is taken: tasks start in the order PTB created them (the
        # order of the updates), so each user's updates queue on their lock in that order.
        turn = self._turns.setdefault(key, asyncio.Lock())
        self._queued[key] = self._queued.get(key, 0) + 1
        try:
            async with turn, self._working:
                if self.keeper is None or not isinstance(update, Update):
                    await coroutine
                else:
                    await self.keeper.around(update, coroutine)
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:
                del self._queued[key], self._turns[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


class KeeperServices(Protocol):
    """What the keeper uses of the application's services (read anew at each update)."""

    @property
    def store(self) -> Store: ...
    @property
    def translations(self) -> Translations: ...
    @property
    def clock(self) -> Clock: ...


class ConversationKeeper:
    """Reads a user's flow from the database before their update and writes it back after."""

    def __init__(
        self,
        application: SapaApplication,
        conversation: ConversationHandler[Any],
        services: KeeperServices,
        timeout: timedelta,
    ) -> None:
        self.application = application
        self.conversation = conversation
        self.services = services
        self.timeout = timeout
        self._visitors: dict[int, Visitor] = {}  # by update (its id()), while it is handled
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    @property
    def store(self) -> Store:
        return self.services.store

    @property
    def translations(self) -> Translations:
        return self.services.translations

    def clock(self) -> datetime:
        return self.services.clock()

    @property
    def leases(self) -> bool:
        """Replicas share a PostgreSQL database; on SQLite one process runs (`sapa run` locks
        the file) and the in-process order of `UsersInOrder` is enough."""
        return self.store.engine.dialect.name == "postgresql"

    async def around(self, update: Update, coroutine: Awaitable[Any]) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type != ChatType.PRIVATE:
            await coroutine  # the private-chat gate answers it; no flow runs outside
            return
        try:
            if self.leases:
                saved, (person, household) = await self._claim(user.id, chat.id)
            else:
                async with self.store.quick_read() as repo:  # one query: the flow, who writes
                    saved, person, household = await repo.visitors.load(user.id)
        except Exception as error:  # the database is down: nothing can be done safely
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # never run: PTB's handling of this update
            log.warning("conversation_load_failed error=%s", type(error).__name__)
            await self._apologise(update)
            return
        language = person.language if person else None
        visitor = Visitor(user.id, person, household, self.translations.for_language(language))
        self._visitors[id(update)] = visitor
        try:
            await self._continue(visitor, chat.id, saved, coroutine)
        finally:
            del self._visitors[id(update)]

    async def _claim(
        self, user_id: int, chat_id: int
    ) -> tuple[SavedConversation | None, tuple[Person | None, Household | None]]:
        """Take the user's lease (waiting while another replica handles their previous update),
        reading their flow and who they are in the same transaction."""
        waited_until = time.monotonic() + LEASE.total_seconds() + 5
        while True:
            now = utc_now()  # leases are about real time, whatever the services' clock says
            async with self.store.single() as repo:  # one statement: the lease, who writes
                taken, saved, person, household = await repo.visitors.claim_and_load(
                    user_id, chat_id, self.owner, now, now + LEASE
                )
                if taken or time.monotonic() > waited_until:
                    if not taken:  # a lease outlived its holder's deadline: go on regardless
                        log.warning("conversation_lease_not_taken")
                        saved = await repo.conversations.of_user(user_id)  # a statement alone
                    return saved, (person, household)
            await asyncio.sleep(LEASE_POLL_SECONDS)

    async def _apologise(self, update: Update) -> None:
        """The user's update could not be handled: say so (in the deployment's language, as the
        database that knows theirs does not answer) and stop a button's spinner."""
        t = self.translations.for_language(None)
        with contextlib.suppress(TelegramError):
            if update.callback_query is not None:
                await update.callback_query.answer()
            if update.effective_chat is not None:
                await update.effective_chat.send_message(
                    t("Sorry, something went wrong on our side. Please try again in a moment.")
                )

    def visitor_of(self, update: Update) -> Visitor | None:
        """Who wrote this update, as read before it was handled (None outside private chats)."""
        return self._visitors.get(id(update))

    async def _continue(
        self,
        visitor: Visitor,
        chat_id: int,
        saved: SavedConversation | None,
        coroutine: Awaitable[Any],
    ) -> None:
        """Hand the saved flow to PTB, run the update, write back what changed. A flow left
        unanswered too long is ended first, with its message: the update then starts afresh,
        and the write-back replaces or removes the stale row."""
        abandoned = saved is not None and saved.abandoned(self.clock(), self.timeout)
        if abandoned:
            await tell_flow_ended(self.application, chat_id, visitor.t, self.timeout)
        key = (chat_id, visitor.user_id)
        self._restore(key, visitor.user_id, None if abandoned else saved)
        try:
            await coroutine
        finally:
            try:
                await self._write_back(key, visitor.user_id, chat_id, saved)
            except Exception as error:  # the answer went out; the next update finds the step before
                log.warning("conversation_save_failed error=%s", type(error).__name__)

    def _restore(self, key: tuple[int, int], user_id: int, saved: SavedConversation | None) -> None:
        states = self._states()
        user_data = self.application.user_data[user_id]  # PTB creates the user's dict
        states.pop(key, None)
        user_data.pop(FLOW_KEY, None)
        if saved is None:
            return
        if saved.state is not None:
            states[key] = saved.state
        if saved.flow is not None:
            user_data[FLOW_KEY] = Flow.restored(saved.flow)

    async def _write_back(
        self, key: tuple[int, int], user_id: int, chat_id: int, before: SavedConversation | None
    ) -> None:
        state = self._states().pop(key, None)
        flow = self.application.user_data.get(user_id, {}).get(FLOW_KEY)
        self.application.drop_user_data(user_id)  # the database holds it now
        if not isinstance(state, str):
            state = None  # ended (or a non-blocking state, which we never use)
        saved_flow = flow.saved() if isinstance(flow, Flow) else None
        if self.leases:
            after = None
            if state is not None or saved_flow is not None:
                after = SavedConversation(user_id, chat_id, state, saved_flow, self.clock())
            async with self.store.single() as repo:
                await repo.conversations.release(user_id, self.owner, after)
            return
        if state is None and saved_flow is None:
            if before is not None:
                async with self.store.single() as repo:
                    await repo.conversations.end(user_id)
            return
        after = SavedConversation(user_id, chat_id, state, saved_flow, self.clock())
        async with self.store.single() as repo:
            await repo.conversations.save(after)

    def _states(self) -> MutableMapping[Any, object]:
        # PTB keeps the states in this (private) dict; no public API sets a state from outside.
        return self.conversation._conversations

    async def end_abandoned_flows(self, now: datetime | None = None) -> int:
        """End every flow left unanswered for longer than the timeout, telling each user once.
        Returns how many ended."""
        before = (now or self.clock()) - self.timeout
        async with self.store.write() as repo:
            ended = await repo.conversations.end_abandoned(before, utc_now())
            people = {
                saved.telegram_user_id: await repo.people.by_telegram_id(saved.telegram_user_id)
                for saved in ended
            }
        for saved in ended:
            person = people[saved.telegram_user_id]
            t = self.translations.for_language(person.language if person else None)
            await tell_flow_ended(self.application, saved.chat_id, t, self.timeout)
        return len(ended)


async def tell_flow_ended(
    application: SapaApplication, chat_id: int, t: Translator, waited: timedelta
) -> None:
    text = t(
        "I stopped waiting because there was no answer for {duration}. Nothing was saved. "
        "You can start again from the menu at any time."
    ).format(duration=t.duration(int(waited.total_seconds())))
    try:
        await application.bot.send_message(chat_id, text)
    except TelegramError as error:  # blocked, or Telegram failing: the flow has ended anyway
        log.info("flow_timeout_notice_failed error=%s", type(error).__name__)
