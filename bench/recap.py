"""Benchmark the coordinators' recap (/rekap) at district scale: 100,000 households, 1,000,000
attendance reports.

    .venv/bin/python bench/recap.py
    .venv/bin/python bench/recap.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/recap.py --households 20000 --reports 200000 --repeat 3
    .venv/bin/python bench/recap.py --revision 0004   # without the recap indexes of 0005
    .venv/bin/python bench/recap.py --kecamatan 35 --desa 10   # a district shaped like Pandeglang

One run:
1. builds the data (timed, reported apart): the demo registry
   (`bot.services.demo.write_demo_files`, imported with
   `bot.services.registry.importer.import_file`; the demo's two kecamatan and seven desa,
   or with `--kecamatan N` that many made-up kecamatan of `--desa` desa each, one posyandu per
   desa), then Telegram accounts, attendance reports spread over the twelve months before the
   current one, and complaints with their events, written directly in chunks; on PostgreSQL the
   tables are then vacuumed and analysed, as autovacuum would after a bulk load (SQLite is left
   as the bot leaves it, without ANALYZE, unless `--analyze`);
2. measures the baseline: `SELECT count(*) FROM attendance_report`, a full pass over the biggest
   table (median of `--repeat` after one warm-up);
3. times `bot.services.recap.build_recap` (the recap's figures),
   `bot.services.recap.attendance_history` (the six months of the chart alone) and
   `rekap_with_chart` (what /rekap reads: build_recap with the chart's months in the same
   pass) for the busiest kecamatan and for the whole district, for the last full month: one
   warm-up call, then `--repeat` timed calls each. Every repository call they make is timed
   too, so the table shows which query costs what.

The target is 200 ms for each of: build_recap for a kecamatan and for the district,
attendance_history and rekap_with_chart for a kecamatan; the district's history is measured
too, without a target. This is a benchmark, not a test: it asserts
nothing about time; the JSON says whether the target was met in this run.

Results go to stdout as tables and to bench/out/recap.json (with `--explain`, the query plans of
every statement are printed too; they are always in the JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, event, func, select, text
from sqlalchemy.engine import make_url
from support import fresh_database, peak_rss_mib

import bot.services.demo
from bot.domain.clock import utc_now
from bot.domain.months import add_months, month_of
from bot.domain.recap import CHART_MONTHS
from bot.domain.schedule import ScheduleRuleError, parse_schedule_rule
from bot.services.demo import IMPORT_ORDER, DemoKecamatan, write_demo_files
from bot.services.recap import attendance_history, build_recap
from bot.services.registry.importer import import_file
from bot.texts.i18n import Translations
from storage.migrate import upgrade
from storage.planning import PlanningRepository
from storage.recap import RecapRepository
from storage.schema import (
    attendance_report,
    complaint,
    complaint_event,
    desa,
    household,
    kecamatan,
    member,
    metadata,
    person,
    posyandu,
    staff,
)
from storage.store import Store

# The benches' own NIK key (a deployment reads SAPA_NIK_KEY or its key file).
BENCH_NIK_KEY = b"be9c" * 16

DEFAULT_HOUSEHOLDS = 100_000
DEFAULT_REPORTS = 1_000_000
DEFAULT_COMPLAINTS = 20_000
DEFAULT_REPEAT = 5
TARGET_MS = 200.0
# (call, kecamatan or district) measured against TARGET_MS.
TARGET_CALLS = (
    ("build_recap", "kecamatan"),
    ("build_recap", "district"),
    ("attendance_history", "kecamatan"),
    ("rekap_with_chart", "kecamatan"),
)
CHUNK = 20_000
MONTHS = 12
ZONE = ZoneInfo("Asia/Jakarta")
OUTPUT = Path(__file__).resolve().parent / "out" / "recap.json"
BASELINE_SQL = "SELECT count(*) FROM attendance_report"

# Repository calls made by build_recap and attendance_history, timed one by one.
RECAP_QUERIES = (
    "places",
    "followed_members",
    "reports_by_posyandu_day",
    "complaints_by_category_status",
    "resolution_hours",
    "escalations",
    "companions",
    "unreachable_households",
    "complaint_rows",
)
PLANNING_QUERIES = ("kecamatan_names", "session_changes")

LINKED_SHARE = 0.6  # households with a Telegram account
SECOND_ACCOUNT_SHARE = 0.15  # of those, households with two accounts
BLOCKED_SHARE = 0.04  # accounts that blocked the bot (reachable = false)
CATEGORIES = (
    ("payout", 35),
    ("companion", 15),
    ("health_service", 20),
    ("data", 20),
    ("other", 10),
)
COMPLAINT_TEXT = "Bantuan belum diterima, sudah dua kali datang ke kantor pos tapi nama tidak ada"
REJECT_REASONS = (
    "Foto buram, tidak terlihat buku KIA",
    "Tanggal di buku KIA tidak sesuai",
    "Foto bukan dari posyandu",
)


# --- timing helpers -------------------------------------------------------------------------


class Timer:
    """Wall-clock and process CPU time of a block."""

    def __enter__(self) -> Timer:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


@dataclass
class Phase:
    """One timed step of the data build."""

    name: str
    seconds: float
    cpu_seconds: float
    rows: int | None = None


class QueryClock:
    """Times every repository call made by the recap, and records the SQL each one sends.

    The repository classes are patched for the duration of `installed()` only (in this process;
    no file is touched). `current` names the call in progress, so the statements caught by the
    engine's `before_cursor_execute` hook can be labelled with it.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.current = "other"
        self.statements: dict[str, tuple[str, Any]] = {}
        self.recording = False

    def reset(self) -> None:
        self.seconds = defaultdict(float)

    def _wrap(
        self, name: str, original: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            self.current = name
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - started
                self.current = "other"

        return timed

    @contextmanager
    def installed(self, store: Store) -> Iterator[None]:
        patched: list[tuple[type, str, Any]] = []
        for cls, names in (
            (RecapRepository, RECAP_QUERIES),
            (PlanningRepository, PLANNING_QUERIES),
        ):
            for name in names:
                original = getattr(cls, name)
                patched.append((cls, name, original))
                setattr(cls, name, self._wrap(name, original))

        def record(
            _connection: Connection,
            _cursor: Any,
            statement: str,
            parameters: Any,
            _context: Any,
            _executemany: bool,
        ) -> None:
            if self.recording:
                key = f"{self.current}: {statement}"
                self.statements.setdefault(key, (statement, parameters))

        event.listen(store.engine.sync_engine, "before_cursor_execute", record)
        try:
            yield
        finally:
            event.remove(store.engine.sync_engine, "before_cursor_execute", record)
            for owner, name, original in patched:
                setattr(owner, name, original)


# --- the database -------------------------------------------------------------------------


# --- building the data ----------------------------------------------------------------------


@dataclass(frozen=True)
class Followed:
    """A pregnant woman or a small child: the members attendance reports are about."""

    id: int
    household_id: int
    posyandu_id: int
    companion_id: int | None
    kecamatan_id: int
    birth_date: date | None


@dataclass
class World:
    """What the direct inserts need to know about the imported registry."""

    households: list[tuple[int, int | None, int]]  # id, companion staff id, kecamatan id
    followed: list[Followed]
    schedules: dict[int, str]  # posyandu id -> schedule rule
    staff_person: dict[int, int] = field(default_factory=dict)  # staff id -> person id
    coordinator: dict[int, int] = field(default_factory=dict)  # kecamatan id -> person id
    health_worker: dict[int, int] = field(default_factory=dict)  # kecamatan id -> person id
    household_persons: dict[int, list[int]] = field(default_factory=dict)


async def read_world(store: Store) -> World:
    async with store.read() as repo:
        connection = repo.connection
        households = [
            (h, c, k)
            for h, c, k in await connection.execute(
                select(household.c.id, household.c.companion_id, desa.c.kecamatan_id)
                .join(desa, desa.c.id == household.c.desa_id)
                .order_by(household.c.id)
            )
        ]
        followed = [
            Followed(*row)
            for row in await connection.execute(
                select(
                    member.c.id,
                    member.c.household_id,
                    household.c.posyandu_id,
                    household.c.companion_id,
                    desa.c.kecamatan_id,
                    member.c.birth_date,
                )
                .join(household, household.c.id == member.c.household_id)
                .join(desa, desa.c.id == household.c.desa_id)
                .where(member.c.kind.in_(["pregnant", "child"]))
                .order_by(member.c.id)
            )
        ]
        schedules = {
            p: s for p, s in await connection.execute(select(posyandu.c.id, posyandu.c.schedule))
        }
    return World(households, followed, schedules)


async def insert_chunks(store: Store, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    """Insert in chunks of CHUNK rows, one transaction per chunk."""
    total = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            async with store.write() as repo:
                await repo.connection.execute(table.insert(), chunk)
            total += len(chunk)
            chunk = []
    if chunk:
        async with store.write() as repo:
            await repo.connection.execute(table.insert(), chunk)
        total += len(chunk)
    return total


async def next_id(store: Store, table: Any) -> int:
    async with store.read() as repo:
        found = (await repo.connection.execute(select(func.max(table.c.id)))).scalar_one()
    return int(found or 0) + 1


def utc_at(day: date, hour: float) -> datetime:
    """`hour` hours after midnight WIB on `day`, as an aware UTC datetime."""
    local = datetime(day.year, day.month, day.day, tzinfo=ZONE) + timedelta(hours=hour)
    return local.astimezone(UTC)


async def load_people(store: Store, world: World, rng: random.Random, now: datetime) -> int:
    """A Telegram account for every staff record, and for a share of the households."""
    first_id = await next_id(store, person)
    async with store.read() as repo:
        staff_rows = (
            await repo.connection.execute(select(staff.c.id, staff.c.role, staff.c.kecamatan_id))
        ).all()
    rows: list[dict[str, Any]] = []

    def add(role: str, staff_id: int | None, household_id: int | None) -> int:
        person_id = first_id + len(rows)
        rows.append(
            {
                "id": person_id,
                "telegram_user_id": 5_000_000_000 + person_id,
                "role": role,
                "household_id": household_id,
                "staff_id": staff_id,
                "language": "id",
                "reachable": rng.random() >= BLOCKED_SHARE if household_id else True,
                "created_at": now - timedelta(days=rng.uniform(30, 400)),
                "last_seen_at": now - timedelta(hours=rng.uniform(0, 24 * 20)),
            }
        )
        return person_id

    for staff_id, role, kecamatan_id in staff_rows:
        person_id = add(role, staff_id, None)
        world.staff_person[staff_id] = person_id
        if role == "coordinator":
            world.coordinator[kecamatan_id] = person_id
        elif role == "health_worker":
            world.health_worker[kecamatan_id] = person_id
    for household_id, _companion, _kecamatan in world.households:
        if rng.random() >= LINKED_SHARE:
            continue
        accounts = 2 if rng.random() < SECOND_ACCOUNT_SHARE else 1
        world.household_persons[household_id] = [
            add("household", None, household_id) for _ in range(accounts)
        ]
    return await insert_chunks(store, person, iter(rows))


def report_months(today: date) -> list[date]:
    """The twelve full months before the current one, oldest first."""
    current = month_of(today)
    return [add_months(current, -back) for back in range(MONTHS, 0, -1)]


def proof_file_id(rng: random.Random) -> str:
    """Looks like a Telegram photo file_id (about 80 characters)."""
    return "AgACAgUAAxkBAAI" + "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl0123_-", k=66)
    )


def attendance_rows(
    world: World, rng: random.Random, months: list[date], count: int
) -> Iterator[dict[str, Any]]:
    """About count / 12 reports a month: members drawn at random (one report per member and
    session), on their posyandu's session day, with a mix of statuses."""
    rules = {}
    for posyandu_id, schedule in world.schedules.items():
        try:
            rules[posyandu_id] = parse_schedule_rule(schedule)
        except ScheduleRuleError:
            continue
    for index, month in enumerate(months):
        wanted = count // len(months) + (1 if index < count % len(months) else 0)
        eligible = [
            f
            for f in world.followed
            if f.posyandu_id in rules and (f.birth_date is None or f.birth_date <= month)
        ]
        chosen = rng.sample(eligible, min(wanted, len(eligible)))
        chosen.sort(key=lambda f: f.id)
        days = {p: rule.in_month(month.year, month.month) for p, rule in rules.items()}
        for followed in chosen:
            day = days[followed.posyandu_id]
            roll = rng.random()
            status = (
                "verified"
                if roll < 0.55
                else "cross_checked"
                if roll < 0.70
                else "reported"
                if roll < 0.90
                else "rejected"
            )
            reported_at = utc_at(day, rng.uniform(8, 8 + 48))
            accounts = world.household_persons.get(followed.household_id)
            reported_by = (
                rng.choice(accounts) if accounts else world.health_worker.get(followed.kecamatan_id)
            )
            verified_by = verified_at = confirmed = None
            if status != "reported":
                if followed.companion_id is not None and rng.random() < 0.9:
                    verified_by = world.staff_person.get(followed.companion_id)
                else:
                    verified_by = world.coordinator.get(followed.kecamatan_id)
                verified_at = reported_at + timedelta(hours=rng.uniform(1, 72))
            if status == "cross_checked":
                confirmed = world.health_worker.get(followed.kecamatan_id)
            yield {
                "member_id": followed.id,
                "posyandu_id": followed.posyandu_id,
                "session_date": day,
                "status": status,
                "proof_file_id": proof_file_id(rng) if rng.random() < 0.8 else None,
                "reported_by": reported_by,
                "reported_at": reported_at,
                "verified_by": verified_by,
                "verified_at": verified_at,
                "confirmed_by_health_worker": confirmed,
                "reject_reason": rng.choice(REJECT_REASONS) if status == "rejected" else None,
            }


@dataclass
class ComplaintPlan:
    rows: list[dict[str, Any]]
    events: list[dict[str, Any]]


def plan_complaints(world: World, rng: random.Random, now: datetime, count: int) -> ComplaintPlan:
    """Complaints filed over the last year by linked households, with their event history: filed,
    escalated (one event a level), taken, replies, resolved, closed by the household."""
    linked = [h for h in world.households if h[0] in world.household_persons]
    categories = [c for c, _ in CATEGORIES]
    weights = [w for _, w in CATEGORIES]
    filed = sorted(now - timedelta(seconds=rng.uniform(0, 365 * 86400)) for _ in range(count))
    per_month: dict[str, int] = defaultdict(int)
    plan = ComplaintPlan([], [])
    for index, created_at in enumerate(filed):
        complaint_id = index + 1
        household_id, companion_id, kecamatan_id = rng.choice(linked)
        filer = rng.choice(world.household_persons[household_id])
        handler = world.staff_person.get(companion_id) if companion_id else None
        age = now - created_at
        roll = rng.random()
        if age > timedelta(days=14):
            status = (
                "resolved"
                if roll < 0.45
                else "closed"
                if roll < 0.90
                else "in_progress"
                if roll < 0.95
                else "open"
            )
        else:
            status = (
                "open"
                if roll < 0.4
                else "in_progress"
                if roll < 0.7
                else "resolved"
                if roll < 0.9
                else "closed"
            )
        roll = rng.random()
        levels = 0 if roll < 0.80 else 1 if roll < 0.95 else 2
        levels = min(levels, age.days // 3)  # an escalation comes after a missed deadline
        level = ("companion", "coordinator", "district")[levels]
        events: list[dict[str, Any]] = [
            {"kind": "filed", "at": created_at, "actor_person_id": filer, "status": "open"}
        ]
        deadline_at = created_at + timedelta(days=3)
        for step in range(levels):
            escalated_at = created_at + timedelta(days=3 * (step + 1))
            deadline_at = escalated_at + timedelta(days=3)
            events.append(
                {
                    "kind": "escalated",
                    "at": escalated_at,
                    "level": ("coordinator", "district")[step],
                    "status": "open",
                }
            )
        resolved_at = None
        if status != "open":
            taken_at = created_at + timedelta(hours=rng.uniform(1, 48))
            events.append(
                {
                    "kind": "taken",
                    "at": taken_at,
                    "actor_person_id": handler,
                    "status": "in_progress",
                }
            )
            for _ in range(rng.choice((0, 1, 1, 2))):
                replied_at = taken_at + timedelta(hours=rng.uniform(1, 48))
                events.append(
                    {"kind": "reply", "at": replied_at, "actor_person_id": handler, "note": "..."}
                )
        if status in ("resolved", "closed"):
            resolved_at = created_at + timedelta(hours=rng.uniform(2, 240))
            if resolved_at > now:  # filed recently: resolved by now, at some point since filing
                resolved_at = created_at + (now - created_at) * rng.random()
            resolver = handler if level == "companion" else world.coordinator.get(kecamatan_id)
            events.append(
                {
                    "kind": "resolved",
                    "at": resolved_at,
                    "actor_person_id": resolver,
                    "status": "resolved",
                }
            )
            if status == "closed":
                events.append(
                    {
                        "kind": "status",
                        "at": min(resolved_at + timedelta(days=1), now),
                        "actor_person_id": filer,
                        "status": "closed",
                    }
                )
        events = [e for e in events if e["at"] <= now]
        filed_month = f"{created_at.astimezone(ZONE):%y%m}"
        per_month[filed_month] += 1
        plan.rows.append(
            {
                "id": complaint_id,
                "ticket_code": f"KLH-{filed_month}-{per_month[filed_month]:05d}",
                "household_id": household_id,
                "filed_by": filer,
                "category": rng.choices(categories, weights)[0],
                "text": COMPLAINT_TEXT,
                "photo_file_id": None,
                "status": status,
                "level": level,
                "deadline_at": deadline_at,
                "created_at": created_at,
                "updated_at": max(e["at"] for e in events),
                "resolved_at": resolved_at,
            }
        )
        for e in events:
            plan.events.append(
                {
                    "complaint_id": complaint_id,
                    "at": e["at"],
                    "kind": e["kind"],
                    "actor_person_id": e.get("actor_person_id"),
                    "status": e.get("status"),
                    "level": e.get("level"),
                    "note": e.get("note"),
                }
            )
    return plan


async def analyse(store: Store, sqlite_analyze: bool) -> str:
    """PostgreSQL: VACUUM ANALYZE every table (what autovacuum does after a bulk load).
    SQLite: nothing, as in the bot, unless asked (then ANALYZE)."""
    if store.engine.dialect.name == "postgresql":
        tables = ", ".join(t.name for t in metadata.sorted_tables)
        async with store.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f"VACUUM ANALYZE {tables}"))
        return "VACUUM ANALYZE"
    if sqlite_analyze:
        async with store.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("ANALYZE")
        return "ANALYZE"
    return "none"


@contextmanager
def demo_shape(kecamatan: int, desa: int) -> Iterator[None]:
    """With kecamatan > 0, let the demo generator spread the households over that many made-up
    kecamatan of `desa` desa each (bot.services.demo.KECAMATAN is swapped in this process only)."""
    if kecamatan <= 0:
        yield
        return
    original = bot.services.demo.KECAMATAN
    made_up = tuple(
        DemoKecamatan(
            f"Kecamatan {number:02d}",
            f"3601{number:02d}",
            f"K{number:02d}",
            tuple(f"Desa {number:02d}-{index:02d}" for index in range(1, desa + 1)),
            f"Kantor Pos {number:02d}",
        )
        for number in range(1, kecamatan + 1)
    )
    bot.services.demo.KECAMATAN = made_up  # type: ignore[assignment]
    try:
        yield
    finally:
        bot.services.demo.KECAMATAN = original


async def build_data(
    store: Store, arguments: argparse.Namespace, folder: Path, today: date, now: datetime
) -> list[Phase]:
    rng = random.Random(arguments.seed)
    t = Translations("id").for_language("id")
    phases = []
    with Timer() as timer:
        await upgrade(store.engine, arguments.revision)
    phases.append(Phase(f"migrate (to {arguments.revision})", timer.seconds, timer.cpu_seconds))
    with Timer() as timer, demo_shape(arguments.kecamatan, arguments.desa):
        paths = write_demo_files(folder, households=arguments.households, today=today)
    phases.append(Phase("demo registry files", timer.seconds, timer.cpu_seconds))
    with Timer() as timer:
        for kind in IMPORT_ORDER:
            report = await import_file(
                store,
                kind,
                paths[kind],
                t,
                now=now,
                actor="bench",
                nik_key=BENCH_NIK_KEY,
                progress=False,
            )
            if not report.ok:
                raise SystemExit(f"import of {kind.value} reported problems: {report.problems[:3]}")
    phases.append(Phase("import registry", timer.seconds, timer.cpu_seconds, arguments.households))
    world = await read_world(store)
    with Timer() as timer:
        people = await load_people(store, world, rng, now)
    phases.append(Phase("person (accounts)", timer.seconds, timer.cpu_seconds, people))
    months = report_months(today)
    with Timer() as timer:
        reports = await insert_chunks(
            store, attendance_report, attendance_rows(world, rng, months, arguments.reports)
        )
    phases.append(Phase("attendance_report", timer.seconds, timer.cpu_seconds, reports))
    with Timer() as timer:
        plan = plan_complaints(world, rng, now, arguments.complaints)
        complaints = await insert_chunks(store, complaint, iter(plan.rows))
        events = await insert_chunks(store, complaint_event, iter(plan.events))
    phases.append(Phase("complaint", timer.seconds, timer.cpu_seconds, complaints))
    phases.append(Phase("complaint_event (incl. above)", 0.0, 0.0, events))
    with Timer() as timer:
        done = await analyse(store, arguments.analyze)
    phases.append(Phase(f"statistics: {done}", timer.seconds, timer.cpu_seconds))
    return phases


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Measurement:
    call: str
    scope: str
    runs_ms: list[float]
    queries_ms: dict[str, float]  # median over the runs, per repository call

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def max_ms(self) -> float:
        return max(self.runs_ms)


async def measure_baseline(store: Store, repeat: int) -> list[float]:
    runs = []
    for number in range(repeat + 1):
        async with store.read() as repo:
            started = time.perf_counter()
            (await repo.connection.execute(text(BASELINE_SQL))).scalar_one()
            elapsed = (time.perf_counter() - started) * 1000
        if number:  # the first is the warm-up
            runs.append(elapsed)
    return runs


async def busiest_kecamatan(store: Store) -> tuple[int, str, int]:
    """The kecamatan with the most households (id, name, households)."""
    async with store.read() as repo:
        counts = (
            await repo.connection.execute(
                select(desa.c.kecamatan_id, func.count())
                .select_from(household)
                .join(desa, desa.c.id == household.c.desa_id)
                .group_by(desa.c.kecamatan_id)
                .order_by(func.count().desc(), desa.c.kecamatan_id)
            )
        ).all()
        names = await repo.planning.kecamatan_names()
    kecamatan_id, households = counts[0]
    return kecamatan_id, names[kecamatan_id], households


async def measure(
    clock: QueryClock,
    name: str,
    scope: str,
    call: Callable[[], Awaitable[object]],
    repeat: int,
) -> Measurement:
    await call()  # warm-up
    runs = []
    per_query: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        clock.reset()
        started = time.perf_counter()
        await call()
        elapsed = (time.perf_counter() - started) * 1000
        runs.append(elapsed)
        queried = 0.0
        for query, seconds in clock.seconds.items():
            per_query[query].append(seconds * 1000)
            queried += seconds * 1000
        per_query["(outside the queries)"].append(elapsed - queried)
    return Measurement(
        name, scope, runs, {q: statistics.median(values) for q, values in per_query.items()}
    )


async def explain(store: Store, statements: dict[str, tuple[str, Any]]) -> dict[str, list[str]]:
    """EXPLAIN QUERY PLAN (SQLite) or EXPLAIN ANALYZE (PostgreSQL) of each recorded statement."""
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if store.engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    plans: dict[str, list[str]] = {}
    async with store.read() as repo:
        for key, (statement, parameters) in statements.items():
            result = await repo.connection.exec_driver_sql(prefix + statement, parameters)
            rows: list[tuple[Any, ...]] = [tuple(row) for row in result]
            if store.engine.dialect.name == "postgresql":
                plans[key] = [str(row[0]) for row in rows]
            else:  # id, parent, notused, detail
                plans[key] = [f"{row[0]:>3} {row[1]:>3} {row[3]}" for row in rows]
    return plans


async def run_measurements(
    store: Store, repeat: int, month: date, now: datetime
) -> tuple[list[float], tuple[int, str, int], list[Measurement], dict[str, list[str]]]:
    baseline = await measure_baseline(store, repeat)
    kecamatan_id, kecamatan_name, households = await busiest_kecamatan(store)
    clock = QueryClock()
    measurements = []
    with clock.installed(store):
        for scope_id, scope in ((kecamatan_id, kecamatan_name), (None, "district")):

            async def recap(scope_id: int | None = scope_id) -> object:
                return await build_recap(store, scope_id, month, now=now, zone=ZONE)

            async def history(scope_id: int | None = scope_id) -> object:
                return await attendance_history(store, scope_id, month, ZONE)

            async def rekap(scope_id: int | None = scope_id) -> object:
                return await build_recap(
                    store, scope_id, month, now=now, zone=ZONE, history_months=CHART_MONTHS
                )

            measurements.append(await measure(clock, "build_recap", scope, recap, repeat))
            measurements.append(await measure(clock, "attendance_history", scope, history, repeat))
            measurements.append(await measure(clock, "rekap_with_chart", scope, rekap, repeat))
        clock.recording = True
        for scope_id in (kecamatan_id, None):
            await build_recap(store, scope_id, month, now=now, zone=ZONE)
            await attendance_history(store, scope_id, month, ZONE)
        clock.recording = False
    plans = await explain(store, clock.statements)
    return baseline, (kecamatan_id, kecamatan_name, households), measurements, plans


# --- reporting ------------------------------------------------------------------------------


async def table_counts(store: Store) -> dict[str, int]:
    counts = {}
    async with store.read() as repo:
        for table in (
            kecamatan,
            desa,
            posyandu,
            staff,
            household,
            member,
            person,
            attendance_report,
            complaint,
            complaint_event,
        ):
            found = await repo.connection.execute(select(func.count()).select_from(table))
            counts[table.name] = int(found.scalar_one())
    return counts


def print_tables(
    phases: Sequence[Phase],
    counts: dict[str, int],
    baseline_ms: float,
    measurements: Sequence[Measurement],
    heading: str,
) -> None:
    print(f"\n{heading}\n")
    print("data build")
    header = f"{'step':<32}{'rows':>11}{'seconds':>10}{'cpu s':>9}"
    print(header)
    print("-" * len(header))
    for phase in phases:
        rows = f"{phase.rows:,}" if phase.rows is not None else ""
        seconds = f"{phase.seconds:.2f}" if phase.seconds else ""
        cpu = f"{phase.cpu_seconds:.2f}" if phase.seconds else ""
        print(f"{phase.name:<32}{rows:>11}{seconds:>10}{cpu:>9}")
    print("-" * len(header))
    total = sum(p.seconds for p in phases)
    print(f"{'total':<32}{'':>11}{total:>10.2f}")
    print("rows: " + ", ".join(f"{name} {count:,}" for name, count in counts.items()))

    print(f"\nbaseline: {BASELINE_SQL}: {baseline_ms:.1f} ms (median)\n")
    header = (
        f"{'call':<20}{'scope':<14}{'median ms':>11}{'max ms':>9}{'x baseline':>12}"
        f"{'< ' + str(int(TARGET_MS)) + ' ms':>10}"
    )
    print(header)
    print("-" * len(header))
    for m in measurements:
        met = "yes" if m.median_ms < TARGET_MS else "no"
        print(
            f"{m.call:<20}{m.scope:<14}{m.median_ms:>11.1f}{m.max_ms:>9.1f}"
            f"{m.median_ms / baseline_ms:>12.1f}{met:>10}"
        )

    print("\nper repository call, median ms")
    columns = [
        f"{'recap' if m.call == 'build_recap' else 'history'}"
        f" {'district' if m.scope == 'district' else 'kec.'}"
        for m in measurements
    ]
    header = f"{'query':<32}" + "".join(f"{c:>18}" for c in columns)
    print(header)
    print("-" * len(header))
    names = [*PLANNING_QUERIES, *RECAP_QUERIES, "(outside the queries)"]
    for name in names:
        values = [m.queries_ms.get(name) for m in measurements]
        if all(v is None for v in values):
            continue
        cells = "".join(f"{v:>18.1f}" if v is not None else f"{'':>18}" for v in values)
        print(f"{name:<32}{cells}")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    parser.add_argument("--reports", type=int, default=DEFAULT_REPORTS)
    parser.add_argument("--complaints", type=int, default=DEFAULT_COMPLAINTS)
    parser.add_argument(
        "--database",
        default=None,
        help="a postgresql+asyncpg URL (a schema bench_<pid> is created there and dropped after);"
        " default: a fresh SQLite file in a temporary folder",
    )
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help="timed calls after one warm-up"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the JSON")
    parser.add_argument(
        "--revision",
        default="head",
        help="migrate only to this revision (e.g. 0004: without the recap indexes)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE on SQLite too (the bot never does; PostgreSQL is always analysed)",
    )
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument(
        "--kecamatan",
        type=int,
        default=0,
        help="spread the households over this many made-up kecamatan (max 99); default: the"
        " demo's two kecamatan with seven desa",
    )
    parser.add_argument(
        "--desa", type=int, default=10, help="desa (and posyandu) per kecamatan with --kecamatan"
    )
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args(argv)
    if arguments.households < 1 or arguments.repeat < 1 or arguments.reports < 0:
        parser.error("--households and --repeat must be at least 1, --reports at least 0")
    if not 0 <= arguments.kecamatan <= 99 or not 1 <= arguments.desa <= 99:
        parser.error("--kecamatan takes 0 to 99, --desa 1 to 99")
    if arguments.database is not None:
        backend = make_url(arguments.database).get_backend_name()
        if backend != "postgresql":
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
    now = utc_now()
    today = now.astimezone(ZONE).date()
    month = add_months(month_of(today), -1)  # the last full month
    with tempfile.TemporaryDirectory(prefix="sapa-bench-") as name:
        folder = Path(name)
        async with fresh_database(arguments.database, folder) as store:
            print("building the data ...", file=sys.stderr, flush=True)
            phases = await build_data(store, arguments, folder, today, now)
            counts = await table_counts(store)
            print("measuring ...", file=sys.stderr, flush=True)
            baseline, busiest, measurements, plans = await run_measurements(
                store, arguments.repeat, month, now
            )
            database_bytes = (
                (folder / "bench.db").stat().st_size if arguments.database is None else None
            )
    baseline_ms = statistics.median(baseline)
    heading = (
        f"recap, {arguments.households:,} households, {counts['attendance_report']:,} reports, "
        f"{counts['kecamatan']} kecamatan, {counts['desa']} desa, {counts['posyandu']} posyandu, "
        f"{database}, migrated to {arguments.revision}, month {month:%Y-%m}, "
        f"busiest kecamatan {busiest[1]} ({busiest[2]:,} households); "
        f"median of {arguments.repeat} call(s) after one warm-up"
    )
    print_tables(phases, counts, baseline_ms, measurements, heading)
    if arguments.explain:
        for key, plan in plans.items():
            print(f"\n{key}\n  " + "\n  ".join(plan))
    targeted = [
        m
        for m in measurements
        if (m.call, "district" if m.scope == "district" else "kecamatan") in TARGET_CALLS
    ]
    target_calls = [f"{call} ({scope})" for call, scope in TARGET_CALLS]
    result = {
        "benchmark": "recap",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "database": database,
        "database_bytes": database_bytes,
        "revision": arguments.revision,
        "households": arguments.households,
        "kecamatan_option": arguments.kecamatan,
        "desa_option": arguments.desa if arguments.kecamatan else None,
        "analyze_option": arguments.analyze,
        "month": month.isoformat(),
        "repeat": arguments.repeat,
        "rows": counts,
        "build": [asdict(p) for p in phases],
        "build_seconds": sum(p.seconds for p in phases),
        "baseline": {"sql": BASELINE_SQL, "runs_ms": baseline, "median_ms": baseline_ms},
        "busiest_kecamatan": {"id": busiest[0], "name": busiest[1], "households": busiest[2]},
        "target_ms": TARGET_MS,
        "target_calls": target_calls,
        "target_met": all(m.median_ms < TARGET_MS for m in targeted),
        "measurements": [
            {
                "call": m.call,
                "scope": m.scope,
                "runs_ms": m.runs_ms,
                "median_ms": m.median_ms,
                "max_ms": m.max_ms,
                "ratio_to_baseline": m.median_ms / baseline_ms,
                "queries_median_ms": m.queries_ms,
            }
            for m in measurements
        ],
        "plans": plans,
        "peak_rss_mib": peak_rss_mib(),
    }
    print(
        f"\ntarget ({', '.join(target_calls)} each < {TARGET_MS:.0f} ms): "
        f"{'met' if result['target_met'] else 'NOT met'}"
    )
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results written to {arguments.output}")


if __name__ == "__main__":
    asyncio.run(main())
