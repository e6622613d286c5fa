"""Benchmark one payout round: plan and dispatch the H-1 reminder to every household of a kecamatan.

    .venv/bin/python bench/payout_round.py
    .venv/bin/python bench/payout_round.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/payout_round.py --households 2000 --rate 100

The default is Pandeglang's count, 15,157 households, all in one kecamatan and one payout round,
each with one linked Telegram account, sent at 300 messages per second. The run:
1. starts a fake Telegram Bot API over real HTTP (aiohttp, in a spawned child process, so that it
   has its own interpreter and event loop and can use the second core, as Telegram would be
   elsewhere). It answers getMe and sendMessage and enforces Telegram's limits: an overall rate
   (a token bucket of `--server-rate` per second holding `--server-burst` messages) and one
   message per second per chat, answering HTTP 429 with `retry_after` like the real API. It
   counts what it accepted, the 429s, the chats and the duplicates (a chat messaged twice);
2. builds the province: the demo files (`bot.services.demo.write_demo_files`) imported into a fresh
   database (an SQLite file, or a PostgreSQL schema `bench_<pid>` used through search_path), every
   household moved into kecamatan Pandeglang, only its round kept, on a date whose H-1 reminder
   is due at the planning moment (the day before payout, 16:00 WIB), its window set to
   08:00-16:00, and one `person` linked to each household;
3. plans (`jobs.planner.plan`, timed) with 30-minute slots big enough for every household; the
   date is chosen so that no posyandu reminder or missed-session question is planned alongside
   and the H-3 reminder has expired: exactly one row per household comes out, all due;
4. measures the baselines, without the database: a plain httpx loop and a python-telegram-bot
   loop sending as many messages (the text of the first planned row) as fast as the server
   answers (limits off), then the python-telegram-bot loop paced by the dispatcher's own `Pacer`
   at the budget (limits on);
5. dispatches (`jobs.dispatch.Dispatcher.run_once`, called again after a 429 until nothing is
   due, or on a fixed tick like the bot's JobQueue with `--job-interval`), with a clock that runs
   from the planning moment, and times where the time goes: pacer waits, PTB, HTTP, each kind
   of transaction and the "sent" marks (probes wrap the bot, its HTTP request, the store and the
   dispatcher's marks; jobs/ is not touched);
6. checks the database (every row sent, none lost) and the server (every household's chat once).

This is a benchmark, not a test: it asserts nothing about time. It stops with an error only when
the setup is wrong (an import with problems, a round of the wrong size, other rows planned),
since the figures would then be meaningless. Results go to stdout as a table and to
bench/out/payout_round.json; `--profile FILE` runs the dispatch under cProfile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import json
import math
import multiprocessing
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from inspect import signature
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiohttp import web
from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from support import fresh_database, peak_rss_mib
from telegram import Message
from telegram.constants import ParseMode
from telegram.error import RetryAfter
from telegram.ext import Defaults, ExtBot
from telegram.request import HTTPXRequest

from bot.domain.clock import utc_now
from bot.domain.models import Role
from bot.domain.schedule import parse_schedule_rule
from bot.domain.sessions import sessions_between
from bot.services.demo import IMPORT_ORDER, KECAMATAN, posyandu_rows, write_demo_files
from bot.services.registry.importer import import_file
from bot.settings import QuietHours
from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render_notice
from jobs.dispatch import DeliveryPolicy, Dispatcher, DispatchStats, Pacer
from jobs.planner import HORIZON_DAYS, PlanPolicy, plan
from storage.migrate import upgrade
from storage.notifications import NotificationRepository, OutgoingMessage, SentMarks
from storage.schema import desa, household, kecamatan, notification, payout_round, person, posyandu
from storage.store import Repositories, Store

# The benches' own NIK key (a deployment reads SAPA_NIK_KEY or its key file).
BENCH_NIK_KEY = b"be9c" * 16

DEFAULT_HOUSEHOLDS = 15_157  # Pandeglang
DEFAULT_RATE = 300.0
DEFAULT_BURST = 10
OUTPUT = Path(__file__).resolve().parent / "out" / "payout_round.json"
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ-bench"
HOST = "127.0.0.1"
WIB = ZoneInfo("Asia/Jakarta")
KECAMATAN_NAME = KECAMATAN[0].name  # Pandeglang
TELEGRAM_ID_BASE = 10_000_000  # a household's Telegram user id: this + its household id
BASELINE_CHAT_BASE = 50_000_000  # chats of the baseline loops, apart from the households'
WINDOW = (clock_time(8, 0), clock_time(16, 0))
SLOT_MINUTES = 30
MIN_SLOT_CAPACITY = 1000
REMINDER_AT = clock_time(16, 0)  # the planner's PAYOUT_AT
QUIET_HOURS = "21:00-06:00"
BOT_USER = {"id": 1, "is_bot": True, "first_name": "Sapa", "username": "sapa_bench_bot"}


class Timer:
    """Wall-clock and process CPU time of a block."""

    def __enter__(self) -> Timer:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


# ---------------------------------------------------------------------------------------------
# The fake Bot API, run in a child process


@dataclass(frozen=True)
class Limits:
    """What the fake server enforces; `rate` None means no overall limit."""

    rate: float | None = None
    burst: float = DEFAULT_BURST
    per_chat: bool = False


class FakeBotApi:
    """Answers getMe and sendMessage like the Bot API, within Telegram's limits, and counts."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.reset(Limits())

    def reset(self, limits: Limits) -> None:
        self.limits = limits
        self.tokens = limits.burst
        self.refilled = time.monotonic()
        self.chat_free_at: dict[int, float] = {}
        self.messages_by_chat: dict[int, int] = defaultdict(int)
        self.accepted_at: list[float] = []
        self.requests = 0
        self.too_many_overall = 0
        self.too_many_chat = 0
        self.duplicates = 0
        self.other_methods: dict[str, int] = defaultdict(int)
        self.cpu_started = time.process_time()
        self.message_ids = itertools.count(1)

    def admit(self, chat_id: int, now: float) -> int | None:
        """None when the message may go now, else the seconds to wait (Telegram's retry_after)."""
        if self.limits.per_chat:
            free_at = self.chat_free_at.get(chat_id, 0.0)
            if now < free_at:
                self.too_many_chat += 1
                return max(1, math.ceil(free_at - now))
        rate = self.limits.rate
        if rate:
            self.tokens = min(self.limits.burst, self.tokens + (now - self.refilled) * rate)
            self.refilled = now
            if self.tokens < 1:
                self.too_many_overall += 1
                return max(1, math.ceil((1 - self.tokens) / rate))
            self.tokens -= 1
        self.chat_free_at[chat_id] = now + 1.0
        return None

    async def bot_method(self, request: web.Request) -> web.Response:
        self.requests += 1
        method = request.match_info["method"]
        params = await _parameters(request)
        if method == "getMe":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method != "sendMessage":
            self.other_methods[method] += 1
            body = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            return web.json_response(body, status=404)
        chat_id = int(params["chat_id"])
        now = time.monotonic()
        retry_after = self.admit(chat_id, now)
        if retry_after is not None:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
            return web.json_response(body, status=429)
        self.accepted_at.append(now)
        if self.messages_by_chat[chat_id]:
            self.duplicates += 1
        self.messages_by_chat[chat_id] += 1
        message = {
            "message_id": next(self.message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        return web.json_response({"ok": True, "result": message})

    async def reset_handler(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.reset(Limits(body.get("rate"), float(body.get("burst", 1)), bool(body["per_chat"])))
        return web.json_response({"ok": True})

    async def stats_handler(self, request: web.Request) -> web.Response:
        accepted = self.accepted_at
        seconds = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
        stats: dict[str, Any] = {
            "requests": self.requests,
            "accepted": len(accepted),
            "too_many_requests": self.too_many_overall + self.too_many_chat,
            "too_many_overall": self.too_many_overall,
            "too_many_per_chat": self.too_many_chat,
            "chats": len(self.messages_by_chat),
            "duplicates": self.duplicates,
            "other_methods": dict(self.other_methods),
            "first_to_last_seconds": seconds,
            "accepted_per_second": (len(accepted) - 1) / seconds if seconds else None,
            "busiest_second": _busiest_second(accepted),
            "server_cpu_seconds": time.process_time() - self.cpu_started,
            "server_peak_rss_mib": peak_rss_mib(),
        }
        if request.query.get("chats"):
            stats["chat_ids"] = sorted(self.messages_by_chat)
        return web.json_response(stats)

    async def stop_handler(self, _request: web.Request) -> web.Response:
        self.stop.set()
        return web.json_response({"ok": True})


async def _parameters(request: web.Request) -> dict[str, Any]:
    """The call's parameters, however PTB sent them: JSON, urlencoded or multipart form, query."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        params.update(await request.json())
    elif request.can_read_body:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


def _busiest_second(moments: list[float]) -> int:
    """The most messages accepted within any one-second window (a sliding window, two pointers)."""
    best = 0
    first = 0
    for last, moment in enumerate(moments):
        while moment - moments[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


async def _serve(pipe: Connection) -> None:
    api = FakeBotApi()
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", api.bot_method)
    app.router.add_post("/_bench/reset", api.reset_handler)
    app.router.add_get("/_bench/stats", api.stats_handler)
    app.router.add_post("/_bench/stop", api.stop_handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0, shutdown_timeout=1.0)
    await site.start()
    pipe.send(runner.addresses[0][1])
    pipe.close()
    orphaned = asyncio.create_task(_parent_gone(os.getppid()))
    await asyncio.wait(
        [asyncio.create_task(api.stop.wait()), orphaned], return_when=asyncio.FIRST_COMPLETED
    )
    await asyncio.sleep(0.05)  # let the answer to /_bench/stop leave
    await runner.cleanup()


async def _parent_gone(parent: int) -> None:
    """Returns once the benchmark process is gone (killed), so that the server does not linger."""
    while os.getppid() == parent:
        await asyncio.sleep(0.5)


def serve_in_child(pipe: Connection) -> None:
    """The child process: serve until asked to stop over HTTP."""
    asyncio.run(_serve(pipe))


class FakeServer:
    """The fake Bot API in a child process (spawned), controlled over HTTP."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_pipe = context.Pipe(duplex=False)
        self.process = context.Process(target=serve_in_child, args=(child_pipe,), daemon=True)
        self.process.start()
        child_pipe.close()
        if not self._pipe.poll(60):
            self.process.kill()
            raise SystemExit("the fake Bot API did not start within 60 s")
        self.port: int = self._pipe.recv()
        self.base = f"http://{HOST}:{self.port}"
        self.control = httpx.AsyncClient(base_url=self.base, timeout=30)

    @property
    def bot_api_url(self) -> str:
        return f"{self.base}/bot"

    async def reset(self, limits: Limits) -> None:
        response = await self.control.post("/_bench/reset", json=asdict(limits))
        response.raise_for_status()

    async def stats(self, chats: bool = False) -> dict[str, Any]:
        response = await self.control.get("/_bench/stats", params={"chats": "1"} if chats else {})
        response.raise_for_status()
        return dict(response.json())

    async def stop(self) -> None:
        with suppress(httpx.HTTPError):
            await self.control.post("/_bench/stop")
        await self.control.aclose()
        await asyncio.to_thread(self.process.join, 10)
        if self.process.is_alive():
            self.process.terminate()
            await asyncio.to_thread(self.process.join, 5)


# ---------------------------------------------------------------------------------------------
# Probes: where the dispatcher's time goes, measured from outside jobs/ and storage/


@dataclass
class Tally:
    count: int = 0
    seconds: float = 0.0


class Probe:
    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = defaultdict(Tally)

    def add(self, name: str, seconds: float) -> None:
        tally = self.tallies[name]
        tally.count += 1
        tally.seconds += seconds

    def reset(self) -> None:
        self.tallies = defaultdict(Tally)

    async def sleep(self, seconds: float) -> None:
        """The pacer's sleep: records how long it asked for and how long it really took."""
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        took = time.perf_counter() - started
        self.add("pacer wait", took)
        self.add("pacer oversleep", took - seconds)


PROBE = Probe()


class TimedRequest(HTTPXRequest):
    """PTB's HTTPX request, timing each HTTP exchange."""

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        started = time.perf_counter()
        try:
            return await super().do_request(*args, **kwargs)
        finally:
            PROBE.add("http", time.perf_counter() - started)


class TimedBot(ExtBot[None]):
    """The bot the application would build, timing the whole `send_message` (PTB + HTTP)."""

    async def send_message(self, *args: Any, **kwargs: Any) -> Message:
        started = time.perf_counter()
        try:
            return await super().send_message(*args, **kwargs)
        finally:
            PROBE.add("send_message", time.perf_counter() - started)


class RecordingNotifications(NotificationRepository):
    """The outbox repository, noting which operation a transaction was for."""

    def __init__(self, connection: AsyncConnection, operations: list[str]) -> None:
        super().__init__(connection)
        self._operations = operations

    async def claim_due(self, *args: Any, **kwargs: Any) -> list[OutgoingMessage]:
        self._operations.append("claim_due")
        return await super().claim_due(*args, **kwargs)

    async def release(self, *args: Any, **kwargs: Any) -> None:
        self._operations.append("release")
        await super().release(*args, **kwargs)

    async def expire(self, *args: Any, **kwargs: Any) -> None:
        self._operations.append("expire")
        await super().expire(*args, **kwargs)


class TimedStore(Store):
    """The store, timing each write transaction from checkout to commit, by its first operation."""

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Repositories]:
        started = time.perf_counter()
        operations: list[str] = []
        async with super().write() as repo:
            repo.notifications = RecordingNotifications(repo.connection, operations)
            yield repo
        PROBE.add(f"db {operations[0] if operations else 'other'}", time.perf_counter() - started)


class TimedMarks:
    """The dispatcher's "sent" marks, timing each from its start to its commit (a mark is written
    while the pacer waits for the next slot, so this time can overlap "pacer wait")."""

    def __init__(self, marks: SentMarks) -> None:
        self._marks = marks

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        started = time.perf_counter()
        try:
            await self._marks.mark_sent(notification_id, now)
        finally:
            PROBE.add("db mark_sent", time.perf_counter() - started)


class TimedDispatcher(Dispatcher):
    """The dispatcher, its marks timed (they are written on a connection of their own)."""

    @asynccontextmanager
    async def _sent_marks(self) -> AsyncIterator[SentMarks]:
        async with super()._sent_marks() as marks:
            yield TimedMarks(marks)


def make_bot(server: FakeServer) -> TimedBot:
    return TimedBot(
        TOKEN,
        base_url=server.bot_api_url,
        request=TimedRequest(connection_pool_size=8),
        defaults=Defaults(parse_mode=ParseMode.HTML, tzinfo=WIB),
    )


# ---------------------------------------------------------------------------------------------
# Baselines: the same number of messages, no database


@dataclass
class Run:
    """One sending loop: the baselines and the dispatcher."""

    name: str
    messages: int
    seconds: float
    cpu_seconds: float
    rate_limited: int = 0  # 429s received
    limited: bool = False  # whether the server enforced the limits
    budget: float | None = None
    per_message_ms: dict[str, float] = field(default_factory=dict)
    server: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def ratio_to_budget(self) -> float | None:
        return self.per_second / self.budget if self.budget else None

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "per_second": self.per_second,
            "ratio_to_budget": self.ratio_to_budget,
        }


BREAKDOWN_ORDER = (
    "pacer wait",
    "pacer oversleep",
    "job idle",
    "send_message",
    "http",
    "ptb (send_message - http)",
    "db claim_due",
    "db mark_sent",
    "other",
    "total",
)


def breakdown(messages: int, wall: float) -> dict[str, float]:
    """Milliseconds per message of each probe, plus what is left (rendering, loops, the loop)."""
    tallies = PROBE.tallies
    per_message = {name: t.seconds * 1000 / messages for name, t in sorted(tallies.items())}
    accounted = sum(
        t.seconds
        for name, t in tallies.items()
        if name in ("pacer wait", "send_message", "job idle") or name.startswith("db ")
    )
    per_message["other"] = (wall - accounted) * 1000 / messages
    per_message["total"] = wall * 1000 / messages
    if "send_message" in tallies and "http" in tallies:
        per_message["ptb (send_message - http)"] = (
            (tallies["send_message"].seconds - tallies["http"].seconds) * 1000 / messages
        )
    return per_message


async def baseline_httpx(server: FakeServer, message: str, count: int) -> Run:
    """Plain httpx, one request after the other, the server enforcing nothing: its raw speed."""
    await server.reset(Limits())
    url = f"/bot{TOKEN}/sendMessage"
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
        with Timer() as timer:
            for number in range(count):
                response = await client.post(
                    url,
                    data={
                        "chat_id": str(BASELINE_CHAT_BASE + number),
                        "text": message,
                        "parse_mode": "HTML",
                    },
                )
                if response.status_code != 200:
                    raise SystemExit(f"baseline: the fake server answered {response.status_code}")
    return Run(
        "baseline: httpx, no limit",
        count,
        timer.seconds,
        timer.cpu_seconds,
        server=await server.stats(),
    )


async def baseline_ptb(
    server: FakeServer,
    bot: TimedBot,
    message: str,
    count: int,
    budget: float | None = None,
    limits: Limits = Limits(),
) -> Run:
    """PTB's `send_message` in a loop; with a budget, paced by the dispatcher's Pacer and limited
    by the server like the dispatcher will be (a 429 pauses the pacer, the message is resent)."""
    await server.reset(limits)
    pacer = Pacer(budget, PROBE.sleep) if budget else None
    rate_limited = 0
    PROBE.reset()
    with Timer() as timer:
        for number in range(count):
            chat_id = BASELINE_CHAT_BASE + number
            while True:
                try:
                    if pacer is None:
                        await bot.send_message(chat_id, message)
                    else:
                        async with pacer.turn(chat_id):
                            await bot.send_message(chat_id, message)
                except RetryAfter as error:
                    rate_limited += 1
                    if pacer is None:
                        raise SystemExit(
                            "baseline: a 429 although the server limits nothing"
                        ) from error
                    retry = error.retry_after
                    pacer.pause(retry if isinstance(retry, int | float) else retry.total_seconds())
                    continue
                break
    name = "baseline: PTB + Pacer, limited" if budget else "baseline: PTB, no limit"
    return Run(
        name,
        count,
        timer.seconds,
        timer.cpu_seconds,
        rate_limited=rate_limited,
        limited=budget is not None,
        budget=budget,
        per_message_ms=breakdown(count, timer.seconds),
        server=await server.stats(),
    )


# ---------------------------------------------------------------------------------------------
# The province, the round and the plan


def choose_payout_date(earliest: date) -> date:
    """The first working day from `earliest` on which, planned the day before at 16:00, only the
    payout reminders come out: no posyandu of the kecamatan (where every household will be) holds
    a session from the day before planning to the end of the planner's horizon (no eve, day or
    missed-session rows), and no posyandu at all holds one from the day before planning to the
    payout day (no rows for staff, such as the health workers' prompt after a session)."""
    rows = list(posyandu_rows())
    households_rules = [parse_schedule_rule(row[4]) for row in rows if row[2] == KECAMATAN_NAME]
    all_rules = [parse_schedule_rule(row[4]) for row in rows]
    day = earliest
    while True:
        planning_day = day - timedelta(days=1)
        first = planning_day - timedelta(days=1)
        horizon = planning_day + timedelta(days=HORIZON_DAYS)
        if (
            day.weekday() < 5
            and not any(sessions_between(r, {}, first, horizon) for r in households_rules)
            and not any(sessions_between(r, {}, first, day) for r in all_rules)
        ):
            return day
        day += timedelta(days=1)


@dataclass
class Province:
    payout_date: date
    planned_at: datetime  # the planner's and the dispatcher's "now": the day before, 16:00 WIB
    round_id: int
    households: int
    linked: int
    phases: dict[str, float]


async def build_province(
    store: Store, folder: Path, households: int, t: Translator, payout_date: date
) -> Province:
    """Demo registry imported, every household in one kecamatan and round, each one linked."""
    planning_day = payout_date - timedelta(days=1)
    phases: dict[str, float] = {}
    with Timer() as timer:
        # generated as of today: the import refuses birth dates after the real today
        paths = write_demo_files(folder, households=households, today=utc_now().date())
    phases["generate files"] = timer.seconds
    with Timer() as timer:
        await upgrade(store.engine)
    phases["migrate"] = timer.seconds
    with Timer() as timer:
        for kind in IMPORT_ORDER:
            report = await import_file(
                store,
                kind,
                paths[kind],
                t,
                now=utc_now(),
                actor="bench",
                nik_key=BENCH_NIK_KEY,
                progress=False,
            )
            if not report.ok:
                shown = "; ".join(f"line {p.line}: {p.reason}" for p in report.problems[:5])
                raise SystemExit(f"import of {report.file} reported problems: {shown}")
    phases["import five files"] = timer.seconds
    now = utc_now()
    with Timer() as timer:
        async with store.write() as repo:
            round_id = await _one_round(repo, payout_date)
            linked = await _link_everyone(repo, now)
            count = await _round_households(repo, round_id)
    phases["one round, link people"] = timer.seconds
    if count != households or linked != households:
        raise SystemExit(
            f"the round has {count:,} households and {linked:,} linked people, not {households:,}"
        )
    planned_at = datetime.combine(planning_day, REMINDER_AT, tzinfo=WIB).astimezone(UTC)
    return Province(payout_date, planned_at, round_id, count, linked, phases)


async def _one_round(repo: Repositories, payout_date: date) -> int:
    """Move every household into the kecamatan, keep only its round, on the chosen date."""
    connection = repo.connection
    target = (
        await connection.execute(select(kecamatan.c.id).where(kecamatan.c.name == KECAMATAN_NAME))
    ).scalar_one()
    places = (
        await connection.execute(
            select(posyandu.c.id, posyandu.c.desa_id)
            .join(desa, desa.c.id == posyandu.c.desa_id)
            .where(desa.c.kecamatan_id == target)
            .order_by(posyandu.c.id)
        )
    ).all()
    elsewhere = (
        await connection.execute(
            select(household.c.id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(desa.c.kecamatan_id != target)
            .order_by(household.c.id)
        )
    ).scalars()
    moves = [
        {
            "household": id_,
            "new_desa": places[id_ % len(places)].desa_id,
            "new_posyandu": places[id_ % len(places)].id,
        }
        for id_ in elsewhere
    ]
    if moves:
        await connection.execute(
            update(household)
            .where(household.c.id == bindparam("household"))
            .values(desa_id=bindparam("new_desa"), posyandu_id=bindparam("new_posyandu")),
            moves,
        )
    await connection.execute(delete(payout_round).where(payout_round.c.kecamatan_id != target))
    await connection.execute(
        update(payout_round)
        .where(payout_round.c.kecamatan_id == target)
        .values(payout_date=payout_date, start_time=WINDOW[0], end_time=WINDOW[1])
    )
    return int(
        (
            await connection.execute(
                select(payout_round.c.id).where(payout_round.c.kecamatan_id == target)
            )
        ).scalar_one()
    )


async def _link_everyone(repo: Repositories, now: datetime) -> int:
    """One Telegram account per active household."""
    ids = (
        await repo.connection.execute(
            select(household.c.id).where(household.c.active.is_(True)).order_by(household.c.id)
        )
    ).scalars()
    rows = [
        {
            "telegram_user_id": TELEGRAM_ID_BASE + id_,
            "role": Role.HOUSEHOLD.value,
            "household_id": id_,
            "language": "id",
            "reachable": True,
            "created_at": now,
        }
        for id_ in ids
    ]
    await repo.connection.execute(insert(person), rows)
    return len(rows)


async def _round_households(repo: Repositories, round_id: int) -> int:
    query = (
        select(func.count())
        .select_from(household)
        .join(desa, desa.c.id == household.c.desa_id)
        .join(payout_round, payout_round.c.kecamatan_id == desa.c.kecamatan_id)
        .where(payout_round.c.id == round_id, household.c.active.is_(True))
    )
    return int((await repo.connection.execute(query)).scalar_one())


async def outbox_counts(store: Store) -> dict[str, dict[str, int]]:
    """Outbox rows by template and status."""
    query = select(notification.c.template_key, notification.c.status, func.count()).group_by(
        notification.c.template_key, notification.c.status
    )
    found: dict[str, dict[str, int]] = defaultdict(dict)
    async with store.read() as repo:
        for template, status, count in await repo.connection.execute(query):
            found[template][status] = int(count)
    return dict(found)


# ---------------------------------------------------------------------------------------------
# The dispatch


class ShiftedClock:
    """Real time, moved to the round's planning moment: `start` plus the seconds since."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


async def dispatch_round(
    store: Store,
    bot: TimedBot,
    translations: Translations,
    budget: float,
    planned_at: datetime,
    expected: int,
    job_interval: float,
    profile: cProfile.Profile | None,
) -> tuple[Run, DispatchStats, int]:
    """Call `run_once` until nothing is due.

    By default each call follows the last at once (after a 429, once the pacer's pause is over):
    the dispatcher's own speed. With `job_interval`, calls start on a fixed tick, as PTB's
    JobQueue runs the job (`max_instances=1`: a tick that finds the last call running is
    skipped), each limited to 0.9 of the interval like `jobs.schedule.run_dispatcher`.
    """
    policy = DeliveryPolicy(
        zone=WIB,
        quiet_hours=QuietHours.parse(QUIET_HOURS),
        messages_per_second=budget,
        retry_seconds=30,
    )
    clock = ShiftedClock(planned_at)
    pacer = Pacer(budget, PROBE.sleep)
    dispatcher = TimedDispatcher(store, bot, translations, policy, clock, pacer)
    total = DispatchStats()
    calls = 0
    deadline = time.monotonic() + max(120.0, 20 * expected / budget)
    PROBE.reset()
    if profile is not None:
        profile.enable()
    with Timer() as timer:
        origin = time.monotonic()
        while time.monotonic() < deadline:
            if job_interval:
                now = time.monotonic()
                wait = origin + math.ceil((now - origin) / job_interval) * job_interval - now
                if wait > 0:
                    await asyncio.sleep(wait)
                    PROBE.add("job idle", wait)
                stats = await dispatcher.run_once(
                    max_messages=expected, max_seconds=0.9 * job_interval
                )
            else:
                stats = await dispatcher.run_once(max_messages=expected)
            calls += 1
            for name in ("sent", "retried", "failed", "blocked", "rate_limited"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            if stats.rate_limited or pacer.paused():
                while pacer.paused() and not job_interval:
                    await asyncio.sleep(0.05)
                continue
            if stats.sent or stats.retried or stats.failed or stats.blocked:
                continue
            async with store.read() as repo:
                waiting, _oldest = await repo.notifications.backlog(clock())
            if not waiting:
                break
            if not job_interval:
                await asyncio.sleep(0.1)
    if profile is not None:
        profile.disable()
    name = "dispatcher: the round"
    run = Run(
        f"{name}, {job_interval:g} s job" if job_interval else name,
        total.sent,
        timer.seconds,
        timer.cpu_seconds,
        rate_limited=total.rate_limited,
        limited=True,
        budget=budget,
        per_message_ms=breakdown(max(total.sent, 1), timer.seconds),
    )
    return run, total, calls


# ---------------------------------------------------------------------------------------------
# Report


def print_table(result: dict[str, Any]) -> None:
    options = result["options"]
    print(
        f"\npayout round, {result['households']:,} households, {result['database']}, "
        f"fake Bot API limit {options['server_rate']:g}/s (burst {options['server_burst']:g}) "
        f"+ 1/s per chat, budget {options['budget']:g}/s"
    )
    header = (
        f"{'loop':<34}{'messages':>9}{'seconds':>9}{'cpu s':>8}{'msg/s':>9}"
        f"{'x budget':>10}{'429s':>6}{'ms/msg':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for run in result["runs"]:
        ratio = f"{run['ratio_to_budget']:.3f}" if run["ratio_to_budget"] is not None else ""
        print(
            f"{run['name']:<34}{run['messages']:>9,}{run['seconds']:>9.2f}"
            f"{run['cpu_seconds']:>8.2f}{run['per_second']:>9,.1f}{ratio:>10}"
            f"{run['rate_limited']:>6}{run['seconds'] * 1000 / max(run['messages'], 1):>8.2f}"
        )
    print("-" * len(header))
    dispatch = result["dispatch"]
    print(
        f"dispatcher: {dispatch['work_ms_per_message']:.2f} ms of work per message (all but pacer"
        f" waits), {dispatch['work_ratio_to_ptb_loop']:.1f}x the PTB loop without a database"
        f" ({1000 / result['baseline_ptb_per_second']:.2f} ms); the budget leaves"
        f" {1000 / options['budget']:.2f} ms; speed {dispatch['ratio_to_paced_loop']:.3f}"
        " of the paced PTB loop"
    )
    setup = result["setup_seconds"]
    print(
        "\nsetup: "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in setup.items())
        + f"; payout {result['payout_date']}, planned at {result['planned_at']}"
    )
    planning = result["planning"]
    print(
        f"planning: {planning['seconds']:.2f} s (cpu {planning['cpu_seconds']:.2f} s), "
        f"{planning['queued']:,} rows queued, {planning['slots_assigned']:,} slots assigned, "
        f"{planning['households_without_slot']:,} households without a slot"
    )
    server = dispatch["server"]
    print(
        f"dispatch: sent {dispatch['messages']:,} in {dispatch['seconds']:.2f} s "
        f"({dispatch['run_once_calls']} run_once calls), 429s {dispatch['rate_limited']}, "
        f"duplicates {server['duplicates']}, lost {result['check']['lost']}, "
        f"every row sent: {'yes' if result['check']['all_sent'] else 'NO'}"
    )
    print(
        f"server: accepted {server['accepted']:,} from {server['chats']:,} chats, busiest second "
        f"{server['busiest_second']}, server cpu {server['server_cpu_seconds']:.2f} s"
    )
    print("\nwhere the time goes, ms per message:")
    found = {n for run in result["runs"] for n in run["per_message_ms"]}
    names = [n for n in BREAKDOWN_ORDER if n in found] + sorted(found - set(BREAKDOWN_ORDER))
    with_breakdown = [run for run in result["runs"] if run["per_message_ms"]]
    print(f"  {'':<28}" + "".join(f"{run['name'][:30]:>32}" for run in with_breakdown))
    for name in names:
        cells = "".join(
            f"{run['per_message_ms'][name]:>32.3f}"
            if name in run["per_message_ms"]
            else f"{'':>32}"
            for run in with_breakdown
        )
        print(f"  {name:<28}{cells}")
    load = result["load_average"]
    print(
        f"\npeak memory (ru_maxrss): {result['peak_rss_mib']:.0f} MiB; load average (1 min) at "
        f"start {load['start'][0]:.2f}, at end {load['end'][0]:.2f}"
    )


def git_state() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "jobs", "storage", "bot"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' (with uncommitted changes in jobs/, storage/ or bot/)' if dirty else ''}"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    parser.add_argument(
        "--database",
        default=None,
        help="a postgresql+asyncpg URL (a schema bench_<pid> is created there and dropped after);"
        " default: a fresh SQLite file in a temporary folder",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help="messages per second: the server's limit and the dispatcher's budget (default 300)",
    )
    parser.add_argument("--server-rate", type=float, default=None, help="overrides --rate")
    parser.add_argument("--budget", type=float, default=None, help="overrides --rate")
    parser.add_argument(
        "--server-burst",
        type=float,
        default=DEFAULT_BURST,
        help="the token bucket's size: messages the server takes at once beyond its rate",
    )
    parser.add_argument(
        "--job-interval",
        type=float,
        default=0.0,
        help="call run_once on this tick, as the bot's JobQueue does (default: back to back)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="run the dispatch under cProfile and write the stats to this file",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the JSON")
    arguments = parser.parse_args(argv)
    arguments.server_rate = arguments.server_rate or arguments.rate
    arguments.budget = arguments.budget or arguments.rate
    if arguments.households < 1:
        parser.error("--households must be at least 1")
    if min(arguments.server_rate, arguments.budget) <= 0 or arguments.server_burst < 1:
        parser.error("rates must be positive and --server-burst at least 1")
    if arguments.job_interval < 0:
        parser.error("--job-interval must not be negative")
    if arguments.job_interval and "max_seconds" not in signature(Dispatcher.run_once).parameters:
        parser.error("--job-interval needs Dispatcher.run_once(max_seconds=...)")
    if arguments.database is not None:
        backend = make_url(arguments.database).get_backend_name()
        if backend != "postgresql":
            parser.error("--database takes a postgresql+asyncpg URL (SQLite is the default)")
    return arguments


async def plan_round(store: Store, province: Province, households: int) -> dict[str, Any]:
    """Run the planner once at the round's moment; only the H-1 reminders may come out, all due."""
    slot_capacity = max(MIN_SLOT_CAPACITY, math.ceil(households / 16))
    with Timer() as timer:
        report = await plan(
            store,
            province.planned_at,
            PlanPolicy(WIB, slot_minutes=SLOT_MINUTES, slot_capacity=slot_capacity),
        )
    async with store.read() as repo:
        due, _oldest = await repo.notifications.backlog(province.planned_at)
    templates = set(report.by_template)
    if (
        report.queued != households
        or due != households
        or not all(key.startswith("payout.") for key in templates)
    ):
        raise SystemExit(
            f"expected {households:,} payout reminders, all due; planned {report}, {due:,} due"
        )
    return {
        "seconds": timer.seconds,
        "cpu_seconds": timer.cpu_seconds,
        "queued": report.queued,
        "due": due,
        "slots_assigned": report.slots_assigned,
        "households_without_slot": report.households_without_slot,
        "by_template": report.by_template,
        "slot_minutes": SLOT_MINUTES,
        "slot_capacity": slot_capacity,
    }


async def first_message(store: Store, t: Translator) -> str:
    """The text of the first planned row: what the baselines send, so that sizes match."""
    query = select(notification.c.template_key, notification.c.params).order_by(notification.c.id)
    async with store.read() as repo:
        template_key, params = (await repo.connection.execute(query.limit(1))).one()
    return render_notice(template_key, params, t).text


async def household_chats(store: Store) -> set[int]:
    query = select(person.c.telegram_user_id).where(person.c.role == Role.HOUSEHOLD.value)
    async with store.read() as repo:
        return set((await repo.connection.execute(query)).scalars())


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    households: int = arguments.households
    budget: float = arguments.budget
    limits = Limits(arguments.server_rate, arguments.server_burst, per_chat=True)
    translations = Translations("id")
    t = translations.for_language("id")
    database = (
        "sqlite (temporary file)"
        if arguments.database is None
        else make_url(arguments.database).render_as_string(hide_password=True)
    )
    started = datetime.now().astimezone()
    load_at_start = os.getloadavg()
    payout_date = choose_payout_date(started.astimezone(WIB).date() + timedelta(days=10))
    profile = cProfile.Profile() if arguments.profile else None
    server = FakeServer()
    bot = make_bot(server)
    runs: list[Run] = []
    try:
        await bot.initialize()
        say(f"fake Bot API on {server.base} (child process {server.process.pid})")
        with tempfile.TemporaryDirectory(prefix="sapa-bench-") as name:
            folder = Path(name)
            async with fresh_database(arguments.database, folder, store_class=TimedStore) as store:
                say(f"building the round ({households:,} households, payout {payout_date}) ...")
                province = await build_province(store, folder, households, t, payout_date)
                say("planning ...")
                planning = await plan_round(store, province, households)
                sample = await first_message(store, t)
                say(f"baselines: {households:,} messages each, no database ...")
                runs.append(await baseline_httpx(server, sample, households))
                runs.append(await baseline_ptb(server, bot, sample, households))
                runs.append(await baseline_ptb(server, bot, sample, households, budget, limits))
                say(f"dispatching {planning['queued']:,} messages at {budget:g}/s ...")
                await server.reset(limits)
                run, stats, calls = await dispatch_round(
                    store,
                    bot,
                    translations,
                    budget,
                    province.planned_at,
                    households,
                    arguments.job_interval,
                    profile,
                )
                run.server = await server.stats(chats=True)
                counts = await outbox_counts(store)
                expected_chats = await household_chats(store)
        runs.append(run)
    finally:
        await bot.shutdown()
        await server.stop()
    chat_ids = set(run.server.pop("chat_ids"))
    sent_rows = sum(by_status.get("sent", 0) for by_status in counts.values())
    check = {
        "outbox": counts,
        "rows_sent": sent_rows,
        "lost": sum(sum(by_status.values()) for by_status in counts.values()) - sent_rows,
        "all_sent": sent_rows == households
        and all(set(by_status) == {"sent"} for by_status in counts.values()),
        "chats_missing": len(expected_chats - chat_ids),
        "chats_unexpected": len(chat_ids - expected_chats),
    }
    if profile is not None:
        profile.dump_stats(arguments.profile)
        say(f"profile written to {arguments.profile}; the 30 costliest functions (own time):")
        pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    raw_ptb, paced = runs[1], runs[2]
    work = run.per_message_ms["total"] - run.per_message_ms.get("pacer wait", 0.0)
    result = {
        "benchmark": "payout_round",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "code": git_state(),
        "load_average": {"start": load_at_start, "end": os.getloadavg()},
        "database": database,
        "households": households,
        "options": {
            "server_rate": arguments.server_rate,
            "server_burst": arguments.server_burst,
            "budget": budget,
            "job_interval": arguments.job_interval,
            "fake_server": "aiohttp in a spawned child process",
            "profiled": arguments.profile is not None,
        },
        "payout_date": province.payout_date.isoformat(),
        "planned_at": province.planned_at.astimezone(WIB).isoformat(timespec="minutes"),
        "setup_seconds": province.phases,
        "planning": planning,
        "message_chars": len(sample),
        "runs": [r.as_dict() for r in runs],
        "baseline_ptb_per_second": raw_ptb.per_second,
        "baseline_paced_per_second": paced.per_second,
        "dispatch": {
            **run.as_dict(),
            "stats": asdict(stats),
            "run_once_calls": calls,
            "ratio_to_ptb_loop": run.per_second / raw_ptb.per_second,
            "ratio_to_paced_loop": run.per_second / paced.per_second,
            "work_ms_per_message": work,
            "work_ratio_to_ptb_loop": work / (1000 / raw_ptb.per_second),
        },
        "check": check,
        "peak_rss_mib": peak_rss_mib(),
    }
    print_table(result)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {arguments.output}")


if __name__ == "__main__":
    asyncio.run(main())
