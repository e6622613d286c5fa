"""Benchmark what one update costs through the real Application, and a burst of 2,000 households
answering within a minute while a coordinator asks for /rekap every 5 seconds.

    .venv/bin/python bench/updates.py
    .venv/bin/python bench/updates.py --output bench/out/updates.postgresql.json \\
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/updates.py --households 3000 --repeat 50 --burst-households 500 \\
        --burst-seconds 20                       # a quick run
    .venv/bin/python bench/updates.py --profile jadwal,hadir --skip-burst   # where the time goes

One run:
1. builds a province (timed, reported apart): the demo registry
   (`bot.services.demo.write_demo_files`, shaped as `--kecamatan` made-up kecamatan of `--desa`
   desa each, one posyandu per desa; default 35 x 10, Pandeglang's shape) imported with
   `import_file`, one Telegram account (`person`) per household and per staff record, and
   `--reports` attendance reports over the twelve months before this one (as bench/recap.py
   writes them), so that /rekap has something to count; in a fresh SQLite file, or in a
   PostgreSQL schema `bench_<pid>` (used through search_path, vacuumed and analysed after the
   load, dropped at the end);
2. per update, side by side in the same run, each update handed to the application as PTB's
   fetcher does (`update_processor.process_update(update, application.process_update(update))`),
   against an offline recording Bot API (`tests.support.fake_bot_api.FakeBotApi`):
   - the BASELINE: a bare python-telegram-bot echo bot on the same fake API (one MessageHandler
     replying the same text; a CallbackQueryHandler answering the press and replying its data),
     timed in blocks before and after each of our kinds of update and pooled (`EchoBeside`), so
     that it meets the machine over the same minutes as ours;
   - our Application (`build_application`, default settings): `/start` of a linked household;
     each step of a posyandu report (the menu text "Lapor hadir posyandu", the member button,
     "Kemarin", "Lewati" for the photo, "✅ Simpan"); `/jadwal`; a coordinator's `/rekap`
     (figures, then the chart), each by a different household (or coordinator) every time;
   for each: median and p95 over `--repeat` updates (after `WARM_UP` untimed ones), the ratio of
   the median to the echo's median (text updates and button presses each against the echo of
   their own kind), SQL statements and transactions per update (SQLAlchemy events
   `before_cursor_execute` on every engine, so the reads `Store.quick_read` runs on the event
   loop's own SQLite connection count too, without SQLite's BEGIN; `begin` on the engine);
   whether /rekap blocks other chats: `/start` of other households sent one after the other
   while a /rekap runs, against the same without one, and the event loop's longest stall per
   /rekap, apart while the figures are counted and while the chart is drawn (in the rendering
   thread) and sent;
3. the burst: `--burst-households` households each press "Tidak, kami tidak datang" on the
   missed-session question (the button the outbox sends at 10:00) at a moment drawn uniformly
   over `--burst-seconds`, then, `--think` seconds after the bot's question, press the first
   reason ("Sakit"): two updates per household, the second a write (`record_absence`); with
   `--burst-answer jadwal` each sends /jadwal once instead. All go through
   `application.update_queue` of the started application, while a coordinator sends /rekap every
   `REKAP_EVERY` seconds. Latency of an update: from the moment it is put in the queue to the
   moment its reply message (sendMessage; for /rekap also the chart's sendPhoto) reaches the fake
   Bot API; "first answer" is the first call of any kind (answerCallbackQuery for a press).
   Run three times: the echo bot (PTB's default, one update at a time), our bot with
   `concurrent_updates=1` (one update at a time, as before issue 14), our bot with the default.

This is a benchmark, not a test: it asserts nothing about time; it prints whether each target of
issue 14 is met in this run. Results go to stdout and to bench/out/updates.json. `--profile K,..`
runs `--repeat` more updates of each kind K (start, hadir, jadwal, rekap) under cProfile and
prints the 15 entries with the most cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import io
import itertools
import json
import math
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from recap import (
    BENCH_NIK_KEY,
    Timer,
    World,
    analyse,
    attendance_rows,
    demo_shape,
    insert_chunks,
    read_world,
    report_months,
)
from support import fresh_database, peak_rss_mib

from bot.domain.buttons import MissedSession, encode
from bot.domain.clock import utc_now
from bot.domain.models import Role
from bot.runtime.app import SapaApplication, Services, build_application
from bot.runtime.heap import settle_heap
from bot.services.demo import IMPORT_ORDER, write_demo_files
from bot.services.registry.importer import import_file
from bot.settings import Settings, load_settings
from bot.texts.i18n import Translations
from storage.migrate import upgrade
from storage.schema import attendance_report, household, member, person, staff
from storage.store import Store
from tests.support.fake_bot_api import BOT_USER, Call, FakeBotApi
from tests.support.telegram_updates import DATE, text_message, user

DEFAULT_HOUSEHOLDS = 15_157  # Pandeglang
DEFAULT_KECAMATAN = 35
DEFAULT_DESA = 10
DEFAULT_REPEAT = 200
DEFAULT_REKAP_REPEAT = 20
DEFAULT_BURST_HOUSEHOLDS = 2_000
DEFAULT_BURST_SECONDS = 60.0
DEFAULT_THINK_SECONDS = 1.0
REPORTS_PER_HOUSEHOLD = 10  # bench/recap.py's 1,000,000 reports for 100,000 households
REKAP_EVERY = 5.0
WARM_UP = 5
ZONE = ZoneInfo("Asia/Jakarta")
OUTPUT = Path(__file__).resolve().parent / "out" / "updates.json"
TOKEN = "123456789:BENCHtokenBENCHtokenBENCHtokenBENCH"
HOUSEHOLD_TG_BASE = 10_000_000  # a household's Telegram user id: this + its household id
STAFF_TG_BASE = 90_000_000  # a staff member's: this + the staff id
ECHO_TG_BASE = 70_000_000  # the echo baseline's users
MENU_REPORT = "Lapor hadir posyandu"
ECHO_TEXT = MENU_REPORT
MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
# Issue 14's targets: ratio of the median to the bare echo's median.
TARGETS = {
    "/start": 4.0,
    "hadir: menu text": 6.0,
    "hadir: member": 6.0,
    "hadir: day (Kemarin)": 6.0,
    "hadir: photo (Lewati)": 6.0,
    "hadir: save (Simpan)": 12.0,
    "/jadwal": 6.0,
}
REKAP_FIGURES_TARGET_MS = 150.0
BURST_P99_TARGET_MS = 250.0
HADIR_STEPS = (
    ("hadir: menu text", "text", MENU_REPORT),
    ("hadir: member", "press", None),  # the first member offered
    ("hadir: day (Kemarin)", "press", "Kemarin"),
    ("hadir: photo (Lewati)", "press", "Lewati"),
    ("hadir: save (Simpan)", "press", "✅ Simpan"),
)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
_ids = itertools.count(800_000_000)


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share 0.95 for p95)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


# --- counting SQL ---------------------------------------------------------------------------


class Statements:
    """SQL statements and transactions of the store (engine events): on its engine, and on the
    event loop's read connection beside it on SQLite (`Store.quick_read`, in autocommit: no
    transactions). Statements are counted on every engine of the process; while updates are
    measured only the store's run any."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements = 0
        self.transactions = 0
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "begin", self._begin)

    def _statement(self, *args: Any) -> None:
        statement = str(args[2])
        if statement.lstrip()[:5].upper() != "BEGIN":  # SQLite's own, one per transaction
            self.statements += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1

    def mark(self) -> tuple[int, int]:
        return self.statements, self.transactions


# --- the province ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    household_id: int
    posyandu_id: int
    telegram_id: int


@dataclass
class Province:
    homes: list[Home]
    coordinators: list[int]  # Telegram ids of the coordinators, one per kecamatan
    rows: dict[str, int]
    phases: dict[str, float]


async def build_province(store: Store, folder: Path, arguments: argparse.Namespace) -> Province:
    now = utc_now()
    today = now.astimezone(ZONE).date()
    t = Translations("id").for_language("id")
    phases: dict[str, float] = {}
    with Timer() as timer:
        await upgrade(store.engine)
    phases["migrate"] = timer.seconds
    with Timer() as timer, demo_shape(arguments.kecamatan, arguments.desa):
        paths = write_demo_files(folder, households=arguments.households, today=today)
    phases["demo registry files"] = timer.seconds
    with Timer() as timer:
        for kind in IMPORT_ORDER:
            report = await import_file(
                store, kind, paths[kind], t, now=now, actor="bench", nik_key=BENCH_NIK_KEY,
                progress=False,
            )  # fmt: skip
            if not report.ok:
                raise SystemExit(f"import of {kind.value} reported problems: {report.problems[:3]}")
    phases["import registry"] = timer.seconds
    with Timer() as timer:
        world = await read_world(store)
        await link_everyone(store, world, now)
    phases["link every household and staff member"] = timer.seconds
    with Timer() as timer:
        rng = random.Random(arguments.seed)
        await insert_chunks(
            store,
            attendance_report,
            attendance_rows(world, rng, report_months(today), arguments.reports),
        )
    phases["attendance reports"] = timer.seconds
    with Timer() as timer:
        done = await analyse(store, sqlite_analyze=False)
    phases[f"statistics: {done}"] = timer.seconds
    async with store.read() as repo:
        connection = repo.connection
        homes = [
            Home(h, p, HOUSEHOLD_TG_BASE + h)
            for h, p in await connection.execute(
                select(household.c.id, household.c.posyandu_id)
                .where(household.c.active.is_(True), household.c.posyandu_id.is_not(None))
                .order_by(household.c.id)
            )
        ]
        coordinators = list(
            (
                await connection.execute(
                    select(person.c.telegram_user_id)
                    .where(person.c.role == Role.COORDINATOR.value)
                    .order_by(person.c.id)
                )
            ).scalars()
        )
        rows = {}
        for name, table in (("household", household), ("member", member), ("person", person),
                            ("attendance_report", attendance_report)):  # fmt: skip
            found = await connection.execute(select(func.count()).select_from(table))
            rows[name] = int(found.scalar_one())
    rows["kecamatan (made up)"] = arguments.kecamatan
    return Province(homes, coordinators, rows, phases)


async def link_everyone(store: Store, world: World, now: datetime) -> None:
    """One Telegram account per household and per staff record; fills in the world's person ids
    (who reported and verified the attendance reports)."""
    async with store.read() as repo:
        staff_rows = (
            await repo.connection.execute(select(staff.c.id, staff.c.role, staff.c.kecamatan_id))
        ).all()
    rows: list[dict[str, Any]] = [
        {"telegram_user_id": HOUSEHOLD_TG_BASE + household_id, "role": Role.HOUSEHOLD.value,
         "household_id": household_id, "staff_id": None, "language": "id", "reachable": True,
         "created_at": now}
        for household_id, _companion, _kecamatan in world.households
    ]  # fmt: skip
    rows += [
        {"telegram_user_id": STAFF_TG_BASE + staff_id, "role": role, "household_id": None,
         "staff_id": staff_id, "language": "id", "reachable": True, "created_at": now}
        for staff_id, role, _kecamatan in staff_rows
    ]  # fmt: skip
    async with store.write() as repo:
        for start in range(0, len(rows), 20_000):
            await repo.connection.execute(insert(person), rows[start : start + 20_000])
        ids = dict(
            (await repo.connection.execute(select(person.c.telegram_user_id, person.c.id))).all()
        )
    for household_id, _companion, _kecamatan in world.households:
        world.household_persons[household_id] = [ids[HOUSEHOLD_TG_BASE + household_id]]
    for staff_id, role, kecamatan_id in staff_rows:
        person_id = ids[STAFF_TG_BASE + staff_id]
        world.staff_person[staff_id] = person_id
        if role == Role.COORDINATOR.value:
            world.coordinator[kecamatan_id] = person_id
        elif role == Role.HEALTH_WORKER.value:
            world.health_worker[kecamatan_id] = person_id


class Households:
    """Hands out households in a shuffled order, each once (wrapping around, with a warning,
    when a small province runs out), so no measurement meets a household already warmed up."""

    def __init__(self, homes: list[Home], seed: int) -> None:
        self.homes = homes[:]
        random.Random(seed).shuffle(self.homes)
        self.next = 0
        self.wrapped = False

    def take(self, count: int) -> list[Home]:
        taken = []
        for _ in range(count):
            if self.next == len(self.homes):
                self.next = 0
                if not self.wrapped:
                    say("note: the province has too few households; some are used twice")
                self.wrapped = True
            taken.append(self.homes[self.next])
            self.next += 1
        return taken


# --- watching the fake Bot API --------------------------------------------------------------


@dataclass
class Pending:
    """An update on its way: when it was handed over, when the bot first answered it."""

    label: str
    put_at: float
    done_method: str = "sendMessage"  # the reply that completes it (sendPhoto: /rekap's chart)
    first_call: float | None = None
    first_message: float | None = None
    done_at: float | None = None


@dataclass
class Sent:
    message_id: int
    text: str
    buttons: list[tuple[str, str]]  # (label, callback data)


def _markup(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return dict(json.loads(value))
    if hasattr(value, "to_dict"):
        return dict(value.to_dict())
    return dict(value) if isinstance(value, dict) else {}


class Watcher:
    """Hooked into FakeBotApi.after_call: the last message each chat received, and the times of
    the answers to the updates registered as pending (per chat, oldest first)."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.last: dict[int, Sent] = {}
        self.pending: dict[int, deque[Pending]] = {}
        self.query_chat: dict[str, int] = {}  # callback query id -> chat
        self.on_done: Callable[[int, Pending, Call], None] | None = None
        api.after_call = self.seen

    def expect(self, chat_id: int, pending: Pending) -> Pending:
        self.pending.setdefault(chat_id, deque()).append(pending)
        return pending

    def seen(self, call: Call) -> None:
        now = time.perf_counter()
        if call.method == "answerCallbackQuery":
            chat = self.query_chat.pop(str(call.params.get("callback_query_id")), None)
        else:
            chat = int(call.params["chat_id"]) if "chat_id" in call.params else None
        if chat is None:
            return
        if call.method == "sendMessage" and isinstance(call.result, dict):
            markup = _markup(call.params.get("reply_markup"))
            buttons = [(str(key["text"]), str(key.get("callback_data", "")))
                       for row in markup.get("inline_keyboard", []) for key in row]  # fmt: skip
            self.last[chat] = Sent(call.result["message_id"], str(call.params["text"]), buttons)
        waiting = self.pending.get(chat)
        if not waiting:
            return
        head = waiting[0]
        if head.first_call is None:
            head.first_call = now
        if call.method in MESSAGE_METHODS and head.first_message is None:
            head.first_message = now
        if call.method == head.done_method:
            head.done_at = now
            waiting.popleft()
            if not waiting:
                del self.pending[chat]
            if self.on_done is not None:
                self.on_done(chat, head, call)

    def forget_calls(self) -> None:
        self.api.calls.clear()


def press(bot: Any, watcher: Watcher, user_id: int, data: str, message_id: int = 1) -> Update:
    """A button press in a private chat, as Telegram sends it."""
    query_id = str(next(_ids))
    watcher.query_chat[query_id] = user_id
    query = {
        "id": query_id,
        "from": user(user_id),
        "chat_instance": "42",
        "data": data,
        "message": {
            "message_id": message_id,
            "date": DATE,
            "chat": {"id": user_id, "type": "private"},
            "from": BOT_USER,
            "text": "",
        },
    }
    update = Update.de_json({"update_id": next(_ids), "callback_query": query}, bot)
    assert update is not None
    return update


def press_label(bot: Any, watcher: Watcher, user_id: int, label: str | None) -> Update:
    """Press the button with this label (None: the first) on the chat's last message."""
    sent = watcher.last.get(user_id)
    if sent is None or not sent.buttons:
        raise SystemExit(f"no buttons in the last message to a chat ({label!r} wanted)")
    for text, data in sent.buttons:
        if label is None or text == label:
            return press(bot, watcher, user_id, data, sent.message_id)
    raise SystemExit(f"no button {label!r} among {[text for text, _ in sent.buttons]}")


# --- the applications -----------------------------------------------------------------------


async def echo_text(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def echo_press(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_chat is not None
    await query.answer()
    await update.effective_chat.send_message(query.data)


def echo_application(api: FakeBotApi) -> AnyApplication:
    """The baseline: a bare python-telegram-bot echo bot (PTB's defaults) on the same fake API."""
    application = Application.builder().token(TOKEN).request(api).get_updates_request(api).build()
    application.add_handler(MessageHandler(filters.TEXT, echo_text))
    application.add_handler(CallbackQueryHandler(echo_press))
    return application


def bench_settings(**overrides: Any) -> Settings:
    return load_settings(
        database_url="sqlite+aiosqlite:///unused.db", nik_key=BENCH_NIK_KEY.decode(), **overrides
    )


def sapa_application(store: Store, api: FakeBotApi, concurrent_updates: int) -> SapaApplication:
    services = Services(
        settings=bench_settings(concurrent_updates=concurrent_updates),
        store=store,
        translations=Translations("id"),
    )
    return build_application(services, request=api, token=TOKEN)


async def handle(application: AnyApplication, update: Update) -> None:
    """As PTB's update fetcher hands an update over: through the application's update processor."""
    await application.update_processor.process_update(update, application.process_update(update))


# --- per update -----------------------------------------------------------------------------


@dataclass
class Samples:
    kind: str  # text or press: which echo it is compared with
    ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    transactions: list[int] = field(default_factory=list)
    first_message_ms: list[float] = field(default_factory=list)

    def summary(self, echo_ms: float | None) -> dict[str, Any]:
        median = statistics.median(self.ms)
        found: dict[str, Any] = {
            "updates": len(self.ms),
            "median_ms": median,
            "p95_ms": percentile(self.ms, 0.95),
            "max_ms": max(self.ms),
            "ratio_to_echo": median / echo_ms if echo_ms else None,
        }
        if self.statements:
            found["statements"] = statistics.median(self.statements)
            found["statements_max"] = max(self.statements)
            found["transactions"] = statistics.median(self.transactions)
        if self.first_message_ms:
            found["first_message_median_ms"] = statistics.median(self.first_message_ms)
            found["first_message_p95_ms"] = percentile(self.first_message_ms, 0.95)
        return found


class Measure:
    """Times updates one at a time, with their SQL, into named samples (after a warm-up)."""

    def __init__(self, application: AnyApplication, watcher: Watcher, sql: Statements | None):
        self.application = application
        self.watcher = watcher
        self.sql = sql
        self.samples: dict[str, Samples] = {}

    async def one(self, label: str, kind: str, update: Update, keep: bool) -> None:
        chat = update.effective_chat
        assert chat is not None
        pending = self.watcher.expect(chat.id, Pending(label, 0.0, "none"))
        before = self.sql.mark() if self.sql else (0, 0)
        started = pending.put_at = time.perf_counter()
        await handle(self.application, update)
        elapsed = time.perf_counter() - started
        after = self.sql.mark() if self.sql else (0, 0)
        self.watcher.pending.pop(chat.id, None)
        if not keep:
            return
        samples = self.samples.setdefault(label, Samples(kind))
        samples.ms.append(elapsed * 1000)
        if self.sql:
            samples.statements.append(after[0] - before[0])
            samples.transactions.append(after[1] - before[1])
        if pending.first_message is not None:
            samples.first_message_ms.append((pending.first_message - started) * 1000)


class EchoBeside:
    """The baseline, measured in blocks between ours: before our /start, /hadir and /jadwal
    runs and after them, `block` updates of the bare echo bot of each kind (a text and a press,
    alternating), pooled. Measured alone before ours, the echo gave 0.11 ms in one run and
    0.20-0.27 ms in the next ones on this VM, which moved every ratio by half or more; in blocks
    it meets the machine over the same minutes as ours, with its own code warm in the caches
    (one echo update right after each of ours measured 0.30-0.43 ms: our update's code had
    pushed the echo's out of them)."""

    def __init__(self, block: int) -> None:
        self.api = FakeBotApi()
        self.watcher = Watcher(self.api)
        self.application = echo_application(self.api)
        self.measure = Measure(self.application, self.watcher, None)
        self.block_size = block
        self._users = itertools.count(ECHO_TG_BASE)

    async def block(self) -> None:
        bot = self.application.bot
        for n in range(WARM_UP + self.block_size):
            user_id = next(self._users)
            keep = n >= WARM_UP
            text = text_message(bot, user_id, ECHO_TEXT)
            await self.measure.one("echo: text", "text", text, keep)
            pressed = press(bot, self.watcher, user_id, f"echo:{n}")
            await self.measure.one("echo: press", "press", pressed, keep)
            self.watcher.forget_calls()


async def measure_sapa(
    store: Store, province: Province, homes: Households, arguments: argparse.Namespace
) -> tuple[dict[str, Samples], dict[str, Samples], dict[str, Any]]:
    """Our updates, and the echo's beside them: (ours, the echo's, the rest)."""
    api = FakeBotApi()
    watcher = Watcher(api)
    application = sapa_application(store, api, bench_settings().concurrent_updates)
    sql = Statements(store.engine)
    echo = EchoBeside(max(20, arguments.repeat // 4))
    measure = Measure(application, watcher, sql)
    repeat = arguments.repeat
    async with application, echo.application:
        settle_heap()  # as `sapa run` does once it has started
        bot = application.bot
        await echo.block()
        say(f"  /start x {repeat} ...")
        for n, home in enumerate(homes.take(WARM_UP + repeat)):
            update = text_message(bot, home.telegram_id, "/start")
            await measure.one("/start", "text", update, n >= WARM_UP)
            watcher.forget_calls()
        await echo.block()
        say(f"  /hadir x {repeat} (5 updates each) ...")
        saved_before = await count_rows(store, attendance_report)
        for n, home in enumerate(homes.take(WARM_UP + repeat)):
            for label, kind, what in HADIR_STEPS:
                uid = home.telegram_id
                update = (
                    text_message(bot, uid, str(what))
                    if kind == "text"
                    else press_label(bot, watcher, uid, what)
                )
                await measure.one(label, kind, update, n >= WARM_UP)
            watcher.forget_calls()
        saved = await count_rows(store, attendance_report) - saved_before
        await echo.block()
        say(f"  /jadwal x {repeat} ...")
        for n, home in enumerate(homes.take(WARM_UP + repeat)):
            update = text_message(bot, home.telegram_id, "/jadwal")
            await measure.one("/jadwal", "text", update, n >= WARM_UP)
            watcher.forget_calls()
        await echo.block()
        rekaps = arguments.rekap_repeat
        say(f"  /rekap x {rekaps} ...")
        coordinators = itertools.cycle(province.coordinators)
        for n in range(WARM_UP + rekaps):
            update = text_message(bot, next(coordinators), "/rekap")
            await measure.one("/rekap (figures and chart)", "text", update, n >= WARM_UP)
            watcher.forget_calls()
        say("  /start of other households while a /rekap runs ...")
        blocking = await rekap_blocking(application, watcher, homes, coordinators, rekaps)
    extra = {"reports_saved": saved, "rekap_blocking": blocking}
    return measure.samples, echo.measure.samples, extra


async def count_rows(store: Store, table: Any) -> int:
    async with store.read() as repo:
        return int(
            (await repo.connection.execute(select(func.count()).select_from(table))).scalar_one()
        )


async def loop_lag(
    stop: asyncio.Event,
    lags: list[float],
    every: float = 0.002,
    moments: list[float] | None = None,
) -> None:
    """How late the event loop wakes a sleeper: a stall there is a stall for every chat
    (`moments`: when each stall ended, on the perf_counter clock)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + every
        await asyncio.sleep(every)
        lags.append((loop.time() - due) * 1000)
        if moments is not None:
            moments.append(time.perf_counter())


async def rekap_blocking(
    application: SapaApplication,
    watcher: Watcher,
    homes: Households,
    coordinators: Iterator[int],
    rekaps: int,
) -> dict[str, Any]:
    """/start of other households, one after the other, while a /rekap is being handled (the
    update processor runs them concurrently), and the event loop's longest stall meanwhile;
    against the same without a /rekap."""
    bot = application.bot

    async def starts_during(
        rekap: Update | None, count: int
    ) -> tuple[list[float], list[float], list[float]]:
        """/start times; the loop's stalls before the figures were sent, and after."""
        stop = asyncio.Event()
        lags: list[float] = []
        moments: list[float] = []
        monitor = asyncio.create_task(loop_lag(stop, lags, moments=moments))
        task = None
        pending = None
        if rekap is not None:
            assert rekap.effective_chat is not None
            pending = watcher.expect(rekap.effective_chat.id, Pending("/rekap", 0.0, "none"))
            pending.put_at = time.perf_counter()
            task = asyncio.ensure_future(handle(application, rekap))
        times: list[float] = []
        await asyncio.sleep(0)
        for home in homes.take(count):
            if task is not None and task.done():
                break
            started = time.perf_counter()
            await handle(application, text_message(bot, home.telegram_id, "/start"))
            times.append((time.perf_counter() - started) * 1000)
            # The loop turns between two updates, as in the bot, where each comes from the
            # network through the update fetcher: the fake Bot API answers without a turn, and
            # a /start whose reads are on the loop would otherwise run the next at once.
            await asyncio.sleep(0)
        if task is not None:
            await task
            assert rekap is not None and rekap.effective_chat is not None
            watcher.pending.pop(rekap.effective_chat.id, None)
        stop.set()
        await monitor
        split = pending.first_message if pending and pending.first_message else math.inf
        before = [lag for lag, at in zip(lags, moments, strict=True) if at <= split]
        after = [lag for lag, at in zip(lags, moments, strict=True) if at > split]
        return times, before, after

    during: list[float] = []
    figures_stall: list[float] = []
    chart_stall: list[float] = []
    quiet: list[float] = []
    quiet_stall: list[float] = []
    for _ in range(rekaps):
        rekap = text_message(bot, next(coordinators), "/rekap")
        times, before, after = await starts_during(rekap, 100)
        during += times
        figures_stall.append(max(before, default=0.0))
        chart_stall.append(max(after, default=0.0))
        times, before, _after = await starts_during(None, 10)
        quiet += times
        quiet_stall.append(max(before, default=0.0))
        watcher.forget_calls()
    return {
        "rekaps": rekaps,
        "starts_during_rekap": len(during),
        "start_during_rekap_median_ms": statistics.median(during) if during else None,
        "start_during_rekap_p95_ms": percentile(during, 0.95) if during else None,
        "start_during_rekap_max_ms": max(during, default=None),
        "start_quiet_median_ms": statistics.median(quiet),
        "start_quiet_p95_ms": percentile(quiet, 0.95),
        "start_quiet_max_ms": max(quiet),
        # the longest stall of each /rekap, median and max over the /rekaps: while the figures
        # are counted (until their message is sent), and while the chart is drawn and sent
        "loop_stall_figures_median_ms": statistics.median(figures_stall),
        "loop_stall_figures_max_ms": max(figures_stall),
        "loop_stall_chart_median_ms": statistics.median(chart_stall),
        "loop_stall_chart_max_ms": max(chart_stall),
        "loop_stall_quiet_max_ms": max(quiet_stall),
    }


async def profile_kinds(
    store: Store,
    province: Province,
    homes: Households,
    kinds: list[str],
    repeat: int,
    rekap_repeat: int,
) -> dict[str, str]:
    """`repeat` updates (`rekap_repeat` for rekap) of each kind under cProfile; the top 15 by
    cumulative time."""
    api = FakeBotApi()
    watcher = Watcher(api)
    application = sapa_application(store, api, bench_settings().concurrent_updates)
    found = {}
    async with application:
        bot = application.bot
        coordinators = itertools.cycle(province.coordinators)
        for kind in kinds:
            for home in homes.take(WARM_UP):  # warm up outside the profile
                await handle(application, text_message(bot, home.telegram_id, "/start"))
            profiler = cProfile.Profile()
            chosen = homes.take(rekap_repeat if kind == "rekap" else repeat)
            profiler.enable()
            for home in chosen:
                uid = home.telegram_id
                if kind in ("start", "jadwal"):
                    await handle(application, text_message(bot, uid, f"/{kind}"))
                elif kind == "rekap":
                    await handle(application, text_message(bot, next(coordinators), "/rekap"))
                elif kind == "hadir":
                    for _label, step, what in HADIR_STEPS:
                        update = (
                            text_message(bot, uid, str(what))
                            if step == "text"
                            else press_label(bot, watcher, uid, what)
                        )
                        await handle(application, update)
                watcher.forget_calls()
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
            found[kind] = out.getvalue()
    return found


# --- the burst ------------------------------------------------------------------------------


@dataclass
class Burst:
    name: str
    households: list[Pending] = field(default_factory=list)
    rekaps: list[Pending] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    loop_stall_max_ms: float = 0.0
    unanswered: int = 0
    gc_pauses_ms: list[float] = field(default_factory=list)  # full collections (generation 2)

    def summary(self) -> dict[str, Any]:
        answered = [p for p in self.households if p.first_message is not None]
        reply = [(p.first_message - p.put_at) * 1000 for p in answered if p.first_message]
        first = [(p.first_call - p.put_at) * 1000 for p in answered if p.first_call]
        ends = [p.first_message for p in answered if p.first_message]
        starts = [p.put_at for p in self.households]
        span = max(ends) - min(starts) if ends else 0.0
        found: dict[str, Any] = {
            "updates": len(self.households),
            "answered": len(answered),
            "unanswered": self.unanswered,
            "wall_seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "throughput_updates_per_second": len(answered) / span if span else None,
            "loop_stall_max_ms": self.loop_stall_max_ms,
            "gc_full_collections": len(self.gc_pauses_ms),
            "gc_full_longest_ms": max(self.gc_pauses_ms, default=0.0),
        }
        for name, values in (("reply", reply), ("first_answer", first)):
            if values:
                found[f"{name}_p50_ms"] = percentile(values, 0.50)
                found[f"{name}_p95_ms"] = percentile(values, 0.95)
                found[f"{name}_p99_ms"] = percentile(values, 0.99)
                found[f"{name}_max_ms"] = max(values)
        figures = [(p.first_message - p.put_at) * 1000 for p in self.rekaps if p.first_message]
        charts = [(p.done_at - p.put_at) * 1000 for p in self.rekaps if p.done_at]
        found["rekaps"] = len(self.rekaps)
        found["rekap_figures_median_ms"] = statistics.median(figures) if figures else None
        found["rekap_chart_median_ms"] = statistics.median(charts) if charts else None
        found["rekap_chart_max_ms"] = max(charts, default=None)
        return found


async def run_burst(
    name: str,
    application: AnyApplication,
    watcher: Watcher,
    homes: list[Home],
    coordinator: int,
    arguments: argparse.Namespace,
    reason_data: Callable[[Call], str],
) -> Burst:
    """Every household answers once within `--burst-seconds` (two presses, or one /jadwal),
    through the update queue of the started application, while the coordinator asks for /rekap
    every REKAP_EVERY seconds."""
    result = Burst(name)
    rng = random.Random(arguments.seed)
    moments = sorted(rng.uniform(0, arguments.burst_seconds) for _ in homes)
    yesterday = utc_now().astimezone(ZONE).date() - timedelta(days=1)
    loop = asyncio.get_running_loop()
    queue = application.update_queue
    all_done = asyncio.Event()
    remaining = len(homes)
    tasks: set[asyncio.Task[None]] = set()

    def put(chat_id: int, update: Update, label: str, done_method: str = "sendMessage") -> None:
        pending = Pending(label, time.perf_counter(), done_method)
        watcher.expect(chat_id, pending)
        (result.rekaps if label == "/rekap" else result.households).append(pending)
        queue.put_nowait(update)

    def later(delay: float, chat_id: int, update: Update, label: str) -> None:
        async def go() -> None:
            await asyncio.sleep(delay)
            put(chat_id, update, label)

        task = loop.create_task(go())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_done(chat_id: int, pending: Pending, call: Call) -> None:
        nonlocal remaining
        if pending.label == "absent":
            update = press(application.bot, watcher, chat_id, reason_data(call))
            later(arguments.think, chat_id, update, "reason")
        elif pending.label in ("reason", "/jadwal"):
            remaining -= 1
            if not remaining:
                all_done.set()

    watcher.on_done = on_done

    async def households() -> None:
        started = time.perf_counter()
        for moment, home in zip(moments, homes, strict=True):
            delay = started + moment - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            uid = home.telegram_id
            if arguments.burst_answer == "jadwal":
                put(uid, text_message(application.bot, uid, "/jadwal"), "/jadwal")
            else:
                data = encode(MissedSession(home.posyandu_id, yesterday, "absent"))
                put(uid, press(application.bot, watcher, uid, data), "absent")

    async def coordinator_asks() -> None:
        while not all_done.is_set():
            put(coordinator, text_message(application.bot, coordinator, "/rekap"), "/rekap",
                "sendPhoto" if name != "echo bot" else "sendMessage")  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(all_done.wait(), REKAP_EVERY)

    stop = asyncio.Event()
    lags: list[float] = []
    collecting: list[float] = []

    def on_collection(phase: str, info: dict[str, int]) -> None:
        """The garbage collector's full collections stop every chat: note how long each took."""
        if info["generation"] != 2:
            return
        if phase == "start":
            collecting[:] = [time.perf_counter()]
        elif collecting:
            result.gc_pauses_ms.append((time.perf_counter() - collecting[0]) * 1000)

    gc.callbacks.append(on_collection)
    async with application:
        await application.start()
        settle_heap()  # as `sapa run` does once it has started
        try:
            monitor = asyncio.create_task(loop_lag(stop, lags, 0.005))
            cpu = time.process_time()
            started = time.perf_counter()
            feeder = asyncio.create_task(households())
            asker = asyncio.create_task(coordinator_asks())
            try:
                await asyncio.wait_for(all_done.wait(), arguments.burst_seconds + 300)
            except TimeoutError:
                say(f"  {name}: gave up waiting for {remaining} households")
                all_done.set()
            await feeder
            await asker
            waited = 0.0
            while watcher.pending.get(coordinator) and waited < 60:  # the last /rekap's chart
                await asyncio.sleep(0.05)
                waited += 0.05
            result.seconds = time.perf_counter() - started
            result.cpu_seconds = time.process_time() - cpu
            stop.set()
            await monitor
        finally:
            await application.stop()
            gc.callbacks.remove(on_collection)
    result.unanswered = remaining
    result.loop_stall_max_ms = max(lags, default=0.0)
    watcher.on_done = None
    return result


UNEXPECTED: list[str] = []  # answers to the missed-session question without reason buttons


def first_button(call: Call) -> str:
    """The first reason offered after "Tidak, kami tidak datang" ("Sakit")."""
    rows = _markup(call.params.get("reply_markup")).get("inline_keyboard", [])
    if not rows:
        UNEXPECTED.append(str(call.params.get("text", ""))[:80])
        return "abs:000000:reason:sick"  # the bot will call it an old button
    return str(rows[0][0]["callback_data"])


async def run_bursts(
    store: Store, province: Province, homes: Households, arguments: argparse.Namespace
) -> list[Burst]:
    coordinator = province.coordinators[0]
    runs = []
    chosen = homes.take(arguments.burst_households)
    api = FakeBotApi()
    watcher = Watcher(api)
    say(f"  burst: echo bot, {len(chosen):,} households over {arguments.burst_seconds:g} s ...")
    runs.append(
        await run_burst(
            "echo bot",
            echo_application(api),
            watcher,
            chosen,
            coordinator,
            arguments,
            lambda _call: "abs:000000:reason:sick",
        )
    )
    for name, concurrent in (
        ("ours, concurrent_updates=1", 1),
        (f"ours, default ({bench_settings().concurrent_updates})",
         bench_settings().concurrent_updates),
    ):  # fmt: skip
        chosen = homes.take(arguments.burst_households)
        api = FakeBotApi()
        watcher = Watcher(api)
        say(f"  burst: {name} ...")
        application = sapa_application(store, api, concurrent)
        runs.append(
            await run_burst(
                name, application, watcher, chosen, coordinator, arguments, first_button
            )
        )
    return runs


# --- reporting ------------------------------------------------------------------------------


def print_report(result: dict[str, Any]) -> None:
    print(f"\n{result['heading']}")
    print("\nbuilding the province: " + ", ".join(
        f"{name} {seconds:.1f} s" for name, seconds in result["build"].items()))  # fmt: skip
    echo = result["echo"]
    print(
        f"\nBASELINE echo bot: text {echo['echo: text']['median_ms']:.2f} ms median "
        f"(p95 {echo['echo: text']['p95_ms']:.2f}), "
        f"press {echo['echo: press']['median_ms']:.2f} ms "
        f"(p95 {echo['echo: press']['p95_ms']:.2f})"
    )
    print(
        f"\n{'update':<28} {'median ms':>9} {'p95 ms':>8} {'x echo':>7} {'target':>7} "
        f"{'met':>4} {'SQL':>5} {'tx':>4}"
    )
    for label, found in result["per_update"].items():
        target = TARGETS.get(label)
        ratio = found["ratio_to_echo"]
        met = "" if target is None else ("yes" if ratio <= target else "NO")
        print(
            f"{label:<28} {found['median_ms']:>9.2f} {found['p95_ms']:>8.2f} {ratio:>7.1f} "
            f"{'' if target is None else f'<= {target:g}':>7} {met:>4} "
            f"{found.get('statements', 0):>5g} {found.get('transactions', 0):>4g}"
        )
    rekap = result["per_update"].get("/rekap (figures and chart)")
    if rekap:
        figures = rekap.get("first_message_median_ms")
        met = "met" if figures <= REKAP_FIGURES_TARGET_MS else "NOT met"
        print(
            f"/rekap: figures sent after {figures:.0f} ms (median; target <= "
            f"{REKAP_FIGURES_TARGET_MS:g} ms: {met}), "
            f"chart after {rekap['median_ms']:.0f} ms"
        )
    blocking = result["rekap_blocking"]
    print(
        f"while a /rekap runs: {blocking['starts_during_rekap']} /start of other households, "
        f"median {blocking['start_during_rekap_median_ms'] or 0:.1f} ms, p95 "
        f"{blocking['start_during_rekap_p95_ms'] or 0:.1f}, max "
        f"{blocking['start_during_rekap_max_ms'] or 0:.1f} ms (quiet: median "
        f"{blocking['start_quiet_median_ms']:.1f}, p95 {blocking['start_quiet_p95_ms']:.1f}, "
        f"max {blocking['start_quiet_max_ms']:.1f})\n"
        f"the event loop's longest stall per /rekap while the figures are counted: median "
        f"{blocking['loop_stall_figures_median_ms']:.0f} ms, max "
        f"{blocking['loop_stall_figures_max_ms']:.0f}; while the chart is drawn and sent: median "
        f"{blocking['loop_stall_chart_median_ms']:.0f} ms, max "
        f"{blocking['loop_stall_chart_max_ms']:.0f} (without a /rekap: max "
        f"{blocking['loop_stall_quiet_max_ms']:.0f} ms)"
    )
    print(f"posyandu reports saved by the /hadir runs: {result['reports_saved']}")
    if result.get("bursts"):
        burst = result["burst_options"]
        print(
            f"\nburst: {burst['households']:,} households over {burst['seconds']:g} s "
            f"({burst['answer']}), /rekap every {REKAP_EVERY:g} s; latency from the queue to "
            "the reply message (first answer: first Bot API call of any kind)"
        )
        print(
            f"{'run':<28} {'p50':>6} {'p95':>6} {'p99':>7} {'max':>7} {'1st p99':>7} "
            f"{'upd/s':>6} {'CPU s':>6} {'stall':>6} {'rekap fig':>9} {'chart':>6} "
            f"{'full gc':>7} {'gc max':>6}"
        )
        for name, found in result["bursts"].items():
            print(
                f"{name:<28} {found.get('reply_p50_ms', 0):>6.0f} "
                f"{found.get('reply_p95_ms', 0):>6.0f} "
                f"{found.get('reply_p99_ms', 0):>7.0f} {found.get('reply_max_ms', 0):>7.0f} "
                f"{found.get('first_answer_p99_ms', 0):>7.0f} "
                f"{found['throughput_updates_per_second'] or 0:>6.1f} {found['cpu_seconds']:>6.1f} "
                f"{found['loop_stall_max_ms']:>6.0f} {found['rekap_figures_median_ms'] or 0:>9.0f} "
                f"{found['rekap_chart_median_ms'] or 0:>6.0f} "
                f"{found['gc_full_collections']:>7} {found['gc_full_longest_ms']:>6.0f}"
            )
        default = list(result["bursts"].values())[-1]
        p99 = default.get("reply_p99_ms", math.inf)
        print(
            f"target p99 <= {BURST_P99_TARGET_MS:g} ms with /rekap running (our default): "
            f"{'met' if p99 <= BURST_P99_TARGET_MS else 'NOT met'} ({p99:.0f} ms)"
        )
    for kind, text in result.get("profiles", {}).items():
        print(f"\ncProfile, {kind}:\n{text}")
    print(f"\npeak memory (ru_maxrss): {result['peak_rss_mib']:.0f} MiB")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--database", help="a postgresql+asyncpg URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    parser.add_argument("--kecamatan", type=int, default=DEFAULT_KECAMATAN)
    parser.add_argument("--desa", type=int, default=DEFAULT_DESA)
    parser.add_argument("--reports", type=int, help="attendance reports (default 10 per household)")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="updates per kind")
    parser.add_argument("--rekap-repeat", type=int, default=DEFAULT_REKAP_REPEAT)
    parser.add_argument("--burst-households", type=int, default=DEFAULT_BURST_HOUSEHOLDS)
    parser.add_argument("--burst-seconds", type=float, default=DEFAULT_BURST_SECONDS)
    parser.add_argument("--burst-answer", choices=("absent", "jadwal"), default="absent")
    parser.add_argument(
        "--think",
        type=float,
        default=DEFAULT_THINK_SECONDS,
        help="seconds between the bot's question and the household's reason",
    )
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument("--profile", default="", help="kinds to profile: start,hadir,jadwal,rekap")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    if arguments.reports is None:
        arguments.reports = REPORTS_PER_HOUSEHOLD * arguments.households
    if arguments.households < 10 or arguments.repeat < 1 or arguments.rekap_repeat < 1:
        parser.error("--households at least 10, --repeat and --rekap-repeat at least 1")
    if not 1 <= arguments.kecamatan <= 99 or not 1 <= arguments.desa <= 99:
        parser.error("--kecamatan and --desa take 1 to 99")
    profile = [kind for kind in arguments.profile.split(",") if kind]
    if any(kind not in ("start", "hadir", "jadwal", "rekap") for kind in profile):
        parser.error("--profile takes start, hadir, jadwal and rekap, comma separated")
    arguments.profile_kinds = profile
    if (
        arguments.database is not None
        and make_url(arguments.database).get_backend_name() != "postgresql"
    ):
        parser.error("--database takes a postgresql+asyncpg URL (SQLite is the default)")
    return arguments


async def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    database = (
        "sqlite (temporary file)"
        if arguments.database is None
        else make_url(arguments.database).render_as_string(hide_password=True)
    )
    started = datetime.now().astimezone()
    result: dict[str, Any] = {
        "benchmark": "updates",
        "started": started.isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="sapa-bench-") as name:
        async with fresh_database(arguments.database, Path(name)) as store:
            say(f"building the province ({arguments.households:,} households) ...")
            province = await build_province(store, Path(name), arguments)
            homes = Households(province.homes, arguments.seed)
            say("per update: our Application, the echo bot's in blocks between ours ...")
            samples, echo, extra = await measure_sapa(store, province, homes, arguments)
            bursts = [] if arguments.skip_burst else await run_bursts(
                store, province, homes, arguments)  # fmt: skip
            profiles = await profile_kinds(
                store,
                province,
                homes,
                arguments.profile_kinds,
                arguments.repeat,
                arguments.rekap_repeat,
            )
    echo_ms = {kind: statistics.median(s.ms) for kind, s in
               (("text", echo["echo: text"]), ("press", echo["echo: press"]))}  # fmt: skip
    result.update(
        heading=(
            f"updates, {province.rows['household']:,} linked households, "
            f"{province.rows['attendance_report']:,} attendance reports, {arguments.kecamatan} "
            f"kecamatan x {arguments.desa} desa, {database}; median and p95 of {arguments.repeat} "
            f"updates per kind (/rekap {arguments.rekap_repeat}) after {WARM_UP} warm-up, "
            f"each by a different household; load average at start "
            f"{os.getloadavg()[0]:.1f}"
        ),
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_end": os.getloadavg(),
        },
        database=database,
        options={k: v for k, v in vars(arguments).items() if k not in ("output",)},
        rows=province.rows,
        build=province.phases,
        echo={label: s.summary(None) for label, s in echo.items()},
        per_update={label: s.summary(echo_ms[s.kind]) for label, s in samples.items()},
        targets=TARGETS,
        targets_met={
            label: samples[label].summary(echo_ms[samples[label].kind])["ratio_to_echo"] <= target
            for label, target in TARGETS.items()
        },
        reports_saved=extra["reports_saved"],
        rekap_blocking=extra["rekap_blocking"],
        profiles=profiles,
    )
    if bursts:
        result["burst_options"] = {
            "households": arguments.burst_households,
            "seconds": arguments.burst_seconds,
            "answer": (
                f"missed-session question: 'Tidak' then a reason, {arguments.think:g} s apart"
                if arguments.burst_answer == "absent"
                else "/jadwal"
            ),
            "rekap_every_seconds": REKAP_EVERY,
        }
        result["bursts"] = {b.name: b.summary() for b in bursts}
    result["peak_rss_mib"] = peak_rss_mib()
    print_report(result)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results written to {arguments.output}")


if __name__ == "__main__":
    asyncio.run(main())
