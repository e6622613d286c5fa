"""Benchmark a household's /hadir save as the outbox grows, and the outbox retention job.

    .venv/bin/python bench/outbox_growth.py
    .venv/bin/python bench/outbox_growth.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/outbox_growth.py --rows 200000 --saves 100   # a quicker run

One run, on two databases made alike (two SQLite files, or two PostgreSQL schemas):
1. builds a small registry in each (`bot.services.demo.write_demo_files`, `--households`,
   imported with `bot.services.registry.importer.import_file`) and links one Telegram account
   per household;
2. fills the outbox of the second to `--rows` rows (default 1,000,000: a year of messages,
   most of them sent, some cancelled, expired or failed, and the next week's reminders pending)
   with one bulk statement per 100,000 rows (a recursive CTE on SQLite, `generate_series` on
   PostgreSQL); on PostgreSQL the table is then vacuumed and analysed, as autovacuum would
   after such a load;
3. times `--saves` /hadir saves on each database, alternating between the two (so a busy
   moment of the machine weighs on both alike): each one call of
   `bot.services.attendance.report_attendance` exactly as the handler makes it (the report,
   the "did you go?" questions made moot, the companion's notice queued, the audit line: one
   write transaction), for a different member or day each time. The **baseline** is the save
   with the empty outbox; the ratio of the save with the full outbox to it is the figure that
   must stay flat (about 1);
4. runs the retention job (`jobs.retention.archive_outbox`, `--retention-days`, default 90)
   over the full outbox, with a household saving in a loop meanwhile (how long a save waits
   for the job's batches), then times the saves side by side once more.

For reference it also times `SELECT count(*) FROM notification`, which the save ran twice before
the outbox stopped counting itself. This is a benchmark, not a test: it asserts nothing about
time. Results go to stdout and to bench/out/outbox_growth.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import make_url
from support import fresh_database, peak_rss_mib

from bot.domain.models import Household, Member, Person, Role
from bot.services.attendance import AttendanceDraft, ReportOutcome, report_attendance
from bot.services.demo import IMPORT_ORDER, write_demo_files
from bot.services.registry.importer import ImportKind, import_file
from bot.texts.i18n import Translations
from storage.migrate import upgrade
from storage.store import Store

BENCH_NIK_KEY = b"be9c" * 16
ZONE = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 WIB
TODAY = NOW.astimezone(ZONE).date()
REPORT_DAYS = 14  # a report may be for today or up to 14 days before
FILL_CHUNK = 100_000
WARM_UP = 20
OUTPUT = Path(__file__).resolve().parent / "out" / "outbox_growth.json"
PARAMS = '{"program_number": "RTS-00001", "member": "Nama Anggota Keluarga", "date": "2026-11-30"}'


@dataclass(frozen=True)
class Visit:
    person: Person
    household: Household
    member: Member
    day: date


async def build_registry(store: Store, folder: Path, households: int) -> list[Visit]:
    """The demo registry, one linked account per household, and every (member, day) a save
    can report, in an order that spreads consecutive saves over households."""
    folder.mkdir()
    paths = write_demo_files(folder, households=households, today=TODAY)
    t = Translations("id").for_language("id")
    await upgrade(store.engine)
    for kind in IMPORT_ORDER:
        report = await import_file(
            store, kind, paths[kind], t, now=NOW, actor="bench", nik_key=BENCH_NIK_KEY,
            progress=False,
        )  # fmt: skip
        if not report.ok:
            raise SystemExit(f"import of {kind.value} reported problems")
    with paths[ImportKind.HOUSEHOLDS].open(encoding="utf-8", newline="") as handle:
        numbers = [row["program_number"] for row in csv.DictReader(handle)]
    visits: list[list[Visit]] = []
    async with store.write() as repo:
        for index, number in enumerate(numbers):
            household = await repo.households.get_by_program_number(number)
            assert household is not None
            person = await repo.people.add(
                900_000 + index, Role.HOUSEHOLD, NOW, household_id=household.id
            )
            members = await repo.households.members(household.id)
            visits.append(
                [
                    Visit(person, household, member, TODAY - timedelta(days=days))
                    for days in range(REPORT_DAYS)
                    for member in members
                    if member.birth_date is None
                    or member.birth_date <= TODAY - timedelta(days=days)
                ]
            )
    return [visit for round_ in zip_longest_flat(visits) for visit in round_]


def zip_longest_flat(lists: list[list[Visit]]) -> Iterator[list[Visit]]:
    """The first of each list, then the second of each, and so on."""
    for index in range(max(len(items) for items in lists)):
        yield [items[index] for items in lists if index < len(items)]


async def save(store: Store, visit: Visit) -> float:
    """One /hadir save as the handler makes it; its wall time in seconds."""
    draft = AttendanceDraft(visit.member.id, visit.day, visit.household.posyandu_id, "AgAC-bench")
    started = time.perf_counter()
    outcome = (
        await report_attendance(store, visit.person, visit.household, draft, now=NOW, today=TODAY)
    ).outcome
    elapsed = time.perf_counter() - started
    if outcome is not ReportOutcome.SAVED:
        raise SystemExit(f"a save was not saved: {outcome}")
    return elapsed


@dataclass
class Saves:
    name: str
    outbox_rows: int
    seconds: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


@dataclass
class Side:
    """One of the two databases: its store and the saves still to make there."""

    store: Store
    visits: Iterator[Visit]


async def side_by_side(
    empty: Side, full: Side, count: int, name: str, rows: int
) -> tuple[Saves, Saves]:
    """`count` saves on each database, alternating (which goes first alternates too), so a busy
    moment of the machine weighs on both alike: (baseline, with the full outbox)."""
    for _ in range(WARM_UP):
        await save(empty.store, next(empty.visits))
        await save(full.store, next(full.visits))
    baseline = Saves("empty outbox (baseline)", 0, [])
    measured = Saves(name, rows, [])
    for index in range(count):
        pair = [(empty, baseline), (full, measured)]
        for side, saves in pair if index % 2 == 0 else reversed(pair):
            saves.seconds.append(await save(side.store, next(side.visits)))
    return baseline, measured


async def outbox_rows(store: Store) -> int:
    async with store.read() as repo:
        return int((await repo.connection.execute(text(COUNT_SQL))).scalar_one())


COUNT_SQL = "SELECT count(*) FROM notification"


async def time_count(store: Store) -> float:
    """Median of 5 `count(*)` over the outbox (what the old save ran twice), in ms."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        await outbox_rows(store)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


# One year of messages before NOW, in id order: 98% sent, 1% cancelled (half of them expired
# after failed attempts, which the recap counts), 0.5% failed; then the next 8 days' reminders
# pending (2% of the rows). Three in ten go to a staff member, the others to a person.
FILL_SQLITE = """
INSERT INTO notification (person_id, staff_id, template_key, params, due_at, status, attempts,
    last_error, dedup_key, created_at, claimed_at, sent_at)
WITH RECURSIVE g(n) AS (SELECT :start UNION ALL SELECT n + 1 FROM g WHERE n < :stop),
s(n, due, status) AS (
    SELECT n,
        CASE WHEN n > :past THEN datetime(:now, printf('+%d seconds', (n - :past) * :ahead))
             ELSE datetime(:now, printf('-%d seconds', (:past - n) * :step + 60)) END,
        CASE WHEN n > :past THEN 'pending' WHEN n % 200 = 7 THEN 'failed'
             WHEN n % 100 = 3 THEN 'cancelled' ELSE 'sent' END
    FROM g)
SELECT CASE WHEN n % 10 < 3 THEN NULL ELSE :p0 + n % :pn END,
    CASE WHEN n % 10 < 3 THEN :s0 + n % :sn ELSE NULL END,
    'attendance.reported', :params, due || '.000000', status,
    CASE status WHEN 'sent' THEN 1 ELSE 0 END,
    CASE WHEN status = 'failed' THEN 'NetworkError: bench'
         WHEN status = 'cancelled' AND n % 200 = 3 THEN 'expired: TimedOut' END,
    'bench:' || n, due || '.000000', NULL,
    CASE WHEN status = 'sent' THEN due || '.000000' END
FROM s
"""
FILL_POSTGRESQL = """
INSERT INTO notification (person_id, staff_id, template_key, params, due_at, status, attempts,
    last_error, dedup_key, created_at, claimed_at, sent_at)
SELECT CASE WHEN n % 10 < 3 THEN NULL ELSE :p0 + n % :pn END,
    CASE WHEN n % 10 < 3 THEN :s0 + n % :sn ELSE NULL END,
    'attendance.reported', CAST(:params AS json), due, status,
    CASE status WHEN 'sent' THEN 1 ELSE 0 END,
    CASE WHEN status = 'failed' THEN 'NetworkError: bench'
         WHEN status = 'cancelled' AND n % 200 = 3 THEN 'expired: TimedOut' END,
    'bench:' || n, due, NULL, CASE WHEN status = 'sent' THEN due END
FROM (
    SELECT n,
        CASE WHEN n > :past
             THEN CAST(:now AS timestamptz) + make_interval(secs => (n - :past) * :ahead)
             ELSE CAST(:now AS timestamptz) - make_interval(secs => (:past - n) * :step + 60)
        END AS due,
        CASE WHEN n > :past THEN 'pending' WHEN n % 200 = 7 THEN 'failed'
             WHEN n % 100 = 3 THEN 'cancelled' ELSE 'sent' END AS status
    FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS n
) AS s
"""


async def fill_outbox(store: Store, rows: int) -> float:
    """Add `rows` outbox rows in bulk statements; seconds taken."""
    started = time.perf_counter()
    postgresql = store.engine.dialect.name == "postgresql"
    async with store.read() as repo:
        people = (
            await repo.connection.execute(
                text("SELECT min(id), max(id), count(*) FROM person WHERE household_id IS NOT NULL")
            )
        ).one()
        staff = (
            await repo.connection.execute(text("SELECT min(id), max(id), count(*) FROM staff"))
        ).one()
    if people[1] - people[0] + 1 != people[2] or staff[1] - staff[0] + 1 != staff[2]:
        raise SystemExit("expected consecutive person and staff ids in a fresh database")
    past = rows * 98 // 100
    values: dict[str, Any] = {
        "past": past,
        "step": 365 * 86_400 // past,  # a year before NOW
        "ahead": max(1, 8 * 86_400 // max(1, rows - past)),  # the next 8 days
        "params": PARAMS,
        "p0": people[0], "pn": people[2], "s0": staff[0], "sn": staff[2],
        "now": NOW if postgresql else NOW.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip
    statement = text(FILL_POSTGRESQL if postgresql else FILL_SQLITE)
    for start in range(1, rows + 1, FILL_CHUNK):
        stop = min(rows, start + FILL_CHUNK - 1)
        async with store.write() as repo:
            await repo.connection.execute(statement, {**values, "start": start, "stop": stop})
    if postgresql:
        async with store.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE notification"))
    return time.perf_counter() - started


@dataclass
class RetentionRun:
    seconds: float
    archived: int
    batches: int
    longest_batch_ms: float
    saves_meanwhile: Saves


async def run_retention(
    store: Store, visits: Iterator[Visit], days: int, batch: int
) -> RetentionRun:
    """The retention job over the full outbox while a household saves in a loop."""
    from jobs.retention import archive_outbox

    batch_times: list[float] = []
    done = asyncio.Event()
    waits: list[float] = []

    async def keep_saving() -> None:
        while not done.is_set():
            waits.append(await save(store, next(visits)))
            await asyncio.sleep(0.005)

    saver = asyncio.create_task(keep_saving())
    started = last = time.perf_counter()

    def batch_done(_moved: int) -> None:
        nonlocal last
        batch_times.append(time.perf_counter() - last)  # the pause before it included
        last = time.perf_counter()

    report = await archive_outbox(store, NOW, days, batch_size=batch, on_batch=batch_done)
    seconds = time.perf_counter() - started
    done.set()
    with contextlib.suppress(asyncio.CancelledError):
        await saver
    return RetentionRun(
        seconds,
        report.archived,
        len(batch_times),
        max(batch_times, default=0.0) * 1000,
        Saves("during the retention job", 0, waits),
    )


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sapa-bench-") as name:
        folder = Path(name)
        url, households = arguments.database, arguments.households
        async with (
            fresh_database(url, folder, "empty") as empty_store,
            fresh_database(url, folder, "full") as full_store,
        ):
            print("two registries ...", file=sys.stderr, flush=True)
            empty = Side(
                empty_store, iter(await build_registry(empty_store, folder / "a", households))
            )
            full = Side(
                full_store, iter(await build_registry(full_store, folder / "b", households))
            )
            print(
                f"filling one outbox with {arguments.rows:,} rows ...", file=sys.stderr, flush=True
            )
            fill_seconds = await fill_outbox(full.store, arguments.rows)
            total = await outbox_rows(full.store)
            counts = {"empty outbox": await time_count(empty.store)}
            counts[f"{total:,} rows"] = await time_count(full.store)
            print("saves ...", file=sys.stderr, flush=True)
            pairs = [await side_by_side(empty, full, arguments.saves, f"{total:,} rows", total)]
            retention: RetentionRun | None = None
            if not arguments.skip_retention:
                print("retention job ...", file=sys.stderr, flush=True)
                retention = await run_retention(
                    full.store, full.visits, arguments.retention_days, arguments.batch
                )
                # The same reports on the other side (untimed), so the two stay alike in all
                # but the outbox.
                for _ in retention.saves_meanwhile.seconds:
                    await save(empty.store, next(empty.visits))
                left = await outbox_rows(full.store)
                counts[f"after retention, {left:,} rows"] = await time_count(full.store)
                pairs.append(
                    await side_by_side(
                        empty, full, arguments.saves, f"after retention, {left:,} rows", left
                    )
                )
    return {
        "fill_seconds": fill_seconds,
        "pairs": pairs,
        "count_ms": counts,
        "retention": retention,
    }


def print_report(result: dict[str, Any], database: str) -> None:
    print(
        f"\n/hadir save ({database}); baseline: the same save on a database with an empty outbox,"
    )
    print("the two alternating")
    print(f"{'outbox':<34} {'saves':>6} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for baseline, measured in result["pairs"]:
        for entry in (baseline, measured):
            print(
                f"{entry.name:<34} {len(entry.seconds):>6} {entry.median_ms:>10.2f} "
                f"{entry.p95_ms:>8.2f} {entry.median_ms / baseline.median_ms:>11.2f}"
            )
    print(f"\nfilling the outbox took {result['fill_seconds']:.1f} s")
    for name, ms in result["count_ms"].items():
        print(f"count(*) over the outbox, {name}: {ms:.2f} ms (the old save ran two)")
    retention: RetentionRun | None = result["retention"]
    if retention is not None:
        meanwhile = retention.saves_meanwhile
        print(
            f"\nretention job: {retention.archived:,} rows archived in {retention.seconds:.1f} s "
            f"({retention.archived / max(retention.seconds, 1e-9):,.0f} rows/s), "
            f"{retention.batches} batches, the longest {retention.longest_batch_ms:.0f} ms "
            "(from the end of the one before)"
        )
        if meanwhile.seconds:
            print(
                f"saves meanwhile: {len(meanwhile.seconds)}, median {meanwhile.median_ms:.1f} ms, "
                f"p95 {meanwhile.p95_ms:.1f} ms, worst {max(meanwhile.seconds) * 1000:.1f} ms"
            )
    print(f"\npeak memory (ru_maxrss): {peak_rss_mib():.0f} MiB")


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", help="a postgresql+asyncpg URL (default: SQLite)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="outbox rows to add")
    parser.add_argument("--saves", type=int, default=200, help="timed saves per phase")
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--retention-days", type=int, default=90)
    parser.add_argument("--batch", type=int, default=5000, help="rows per retention batch")
    parser.add_argument("--skip-retention", action="store_true")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    database = arguments.database
    if database is not None and make_url(database).get_backend_name() != "postgresql":
        parser.error("--database takes a postgresql+asyncpg URL (SQLite is the default)")
    if arguments.rows < 100 or arguments.saves < 1:
        parser.error("--rows must be at least 100 and --saves at least 1")
    return arguments


async def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    database = (
        "SQLite"
        if arguments.database is None
        else make_url(arguments.database).render_as_string(hide_password=True)
    )
    started = datetime.now().astimezone()
    result = await run(arguments)
    print_report(result, database)
    retention: RetentionRun | None = result["retention"]
    summary = {
        "benchmark": "outbox_growth",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "database": database,
        "rows": arguments.rows,
        "fill_seconds": result["fill_seconds"],
        "saves": [
            {
                "outbox": measured.name,
                "outbox_rows": measured.outbox_rows,
                "saves": len(measured.seconds),
                "baseline_median_ms": baseline.median_ms,
                "median_ms": measured.median_ms,
                "p95_ms": measured.p95_ms,
                "ratio": measured.median_ms / baseline.median_ms,
            }
            for baseline, measured in result["pairs"]
        ],
        "count_ms": result["count_ms"],
        "retention": None
        if retention is None
        else {
            "seconds": retention.seconds,
            "archived": retention.archived,
            "batches": retention.batches,
            "longest_batch_ms": retention.longest_batch_ms,
            "saves_meanwhile": len(retention.saves_meanwhile.seconds),
            "saves_meanwhile_median_ms": retention.saves_meanwhile.median_ms
            if retention.saves_meanwhile.seconds
            else None,
            "saves_meanwhile_worst_ms": max(retention.saves_meanwhile.seconds, default=0) * 1000,
        },
        "peak_rss_mib": peak_rss_mib(),
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {arguments.output}")


if __name__ == "__main__":
    asyncio.run(main())
