"""Benchmark the reminder planner at Pandeglang scale: passes, digests, saves beside it, a month.

    .venv/bin/python bench/planner.py
    .venv/bin/python bench/planner.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/planner.py --households 2000 --month-days 3

The run:
1. builds the demo province (`bot.services.demo.write_demo_files`, 15,157 households by default,
   35 kecamatan) in a fresh database (an SQLite file, or a PostgreSQL schema `bench_<pid>` used
   through search_path and dropped at the end), links one Telegram account to every household
   and to every companion;
2. measures the **baseline**: one read of the rows the planner needs, the linked households with
   their members (best of 5);
3. times, with the number of SQL statements (a `before_cursor_execute` listener on the engine):
   the first pass of day D at 05:00 WIB, passes with nothing due (05:05 to 05:25, median), the
   06:45 pass (the companions' digests) and a pass at 11:00;
4. times a household's save (one attendance report and one outbox row in one write transaction)
   quietly (median of 20), then while a pass runs concurrently (every save made until the pass
   ends: median and worst): the first pass of day D+1 (the sessions entering the horizon), then
   a full pass (the whole horizon re-planned after a registry change: a member renamed);
5. simulates a month from D+2: the planner every 5 minutes of the clock, a fake dispatcher
   (claims due rows and marks them sent as `jobs.dispatch` does: claims of 50 rows, one mark
   per message in a transaction of its own; the "send" is a function call) and the escalation
   sweep.
   With `jobs.planner.next_pass_with_work` (the incremental planner) the clock jumps over the
   ticks where no pass can have work and no row is due; without it every tick is run.

Ratios are to the baseline. Peak memory is ru_maxrss. This is a benchmark: it asserts nothing
about time; it stops only when the setup is wrong. JSON goes to bench/out/planner.<db>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, event, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from support import fresh_database, peak_rss_mib

from bot.domain.clock import utc_now
from bot.domain.models import Recipient, Role
from bot.services.complaints import ComplaintPolicy
from bot.services.demo import IMPORT_ORDER, write_demo_files
from bot.services.registry.importer import import_file
from bot.settings import QuietHours
from bot.texts.i18n import Translations
from bot.texts.notices import ATTENDANCE_REPORTED
from jobs import planner as planner_module
from jobs.dispatch import DeliveryPolicy
from jobs.escalation import sweep
from jobs.planner import PlanPolicy, plan
from storage.migrate import upgrade
from storage.notifications import sent_marks
from storage.schema import desa, household, member, notification, person, staff
from storage.store import Store

BENCH_NIK_KEY = b"be9c" * 16
WIB = ZoneInfo("Asia/Jakarta")
DEFAULT_HOUSEHOLDS = 15_157  # Pandeglang
TELEGRAM_HOUSEHOLD = 10_000_000
TELEGRAM_STAFF = 90_000_000
OUTPUT = Path(__file__).resolve().parent / "out"
TICK = timedelta(minutes=5)
LEASE = timedelta(minutes=5)
# what one dispatcher claims at once
DISPATCH_BATCH = DeliveryPolicy(WIB, QuietHours.parse("21:00-06:00")).batch


def say(text: str) -> None:
    print(text, flush=True)


class Statements:
    """Counts the SQL statements the engine sends (an executemany counts once)."""

    def __init__(self, store: Store) -> None:
        self.count = 0
        event.listen(store.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


async def spread_caseloads(
    connection: AsyncConnection, household_ids: list[int], count: int
) -> list[int]:
    """About `count` companions (the demo has two a kecamatan), shared among the kecamatan by
    their households, each household given one of its kecamatan's in turn: about 75 households
    each at Pandeglang's scale. The demo's own companions keep no household."""
    kecamatan_of = dict(
        (await connection.execute(select(household.c.id, desa.c.kecamatan_id).join(desa))).all()
    )
    by_kecamatan: dict[int, list[int]] = {}
    for household_id in household_ids:
        by_kecamatan.setdefault(kecamatan_of[household_id], []).append(household_id)
    staff_rows = []
    for kecamatan_id, households in sorted(by_kecamatan.items()):
        share = max(1, round(count * len(households) / len(household_ids)))
        staff_rows += [
            {"code": f"PD-BENCH-{kecamatan_id}-{n}", "name": f"Pendamping {n}",
             "role": Role.COMPANION.value, "kecamatan_id": kecamatan_id, "active": True}
            for n in range(share)
        ]  # fmt: skip
    await connection.execute(insert(staff), staff_rows)
    rows = (
        await connection.execute(
            select(staff.c.id, staff.c.kecamatan_id).where(staff.c.code.startswith("PD-BENCH-"))
        )
    ).all()
    companions: dict[int, list[int]] = {}
    for staff_id, kecamatan_id in rows:
        companions.setdefault(kecamatan_id, []).append(staff_id)
    moves = [
        {"household": h, "companion": companions[k][rank % len(companions[k])]}
        for k, households in by_kecamatan.items()
        for rank, h in enumerate(households)
    ]
    await connection.execute(
        update(household)
        .where(household.c.id == bindparam("household"))
        .values(companion_id=bindparam("companion")),
        moves,
    )
    return [staff_id for staff_id, _ in rows]


async def build(
    store: Store, folder: Path, households: int, companion_count: int
) -> dict[str, Any]:
    """The demo province, a Telegram account for every household and every companion."""
    t = Translations("id").for_language("id")
    started = time.perf_counter()
    paths = write_demo_files(folder, households=households, today=utc_now().date())
    await upgrade(store.engine)
    for kind in IMPORT_ORDER:
        report = await import_file(
            store, kind, paths[kind], t, now=utc_now(), actor="bench", nik_key=BENCH_NIK_KEY,
            progress=False,
        )  # fmt: skip
        if not report.ok:
            raise SystemExit(f"import of {report.file} reported problems: {report.problems[:3]}")
    now = utc_now()
    async with store.write() as repo:
        ids = list((await repo.connection.execute(select(household.c.id))).scalars())
        rows = [
            {"telegram_user_id": TELEGRAM_HOUSEHOLD + id_, "role": Role.HOUSEHOLD.value,
             "household_id": id_, "language": "id", "reachable": True, "created_at": now}
            for id_ in ids
        ]  # fmt: skip
        await repo.connection.execute(insert(person), rows)
        companions = await spread_caseloads(repo.connection, ids, companion_count)
        staff_rows = [
            {"telegram_user_id": TELEGRAM_STAFF + id_, "role": Role.COMPANION.value,
             "staff_id": id_, "language": "id", "reachable": True, "created_at": now}
            for id_ in companions
        ]  # fmt: skip
        await repo.connection.execute(insert(person), staff_rows)
        members = int(
            (await repo.connection.execute(select(func.count()).select_from(member))).scalar_one()
        )
    return {
        "households": len(ids),
        "members": members,
        "companions": len(companions),
        "build_seconds": time.perf_counter() - started,
    }


async def baseline(store: Store) -> float:
    """One read of the linked households with their members (best of 5)."""
    people = (
        select(person.c.id, person.c.household_id, household.c.posyandu_id, household.c.desa_id)
        .join(household, household.c.id == person.c.household_id)
        .where(person.c.role == Role.HOUSEHOLD.value, household.c.active.is_(True))
    )
    members = select(
        member.c.id, member.c.household_id, member.c.name, member.c.kind,
        member.c.birth_date, member.c.due_date,
    )  # fmt: skip
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        async with store.read() as repo:
            found: list[Any] = list((await repo.connection.execute(people)).all())
            found += (await repo.connection.execute(members)).all()
        best = min(best, time.perf_counter() - started)
    return best


def wib(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), tzinfo=WIB).astimezone(UTC)


async def timed_pass(
    store: Store, statements: Statements, now: datetime, policy: PlanPolicy
) -> dict[str, Any]:
    before = statements.count
    started = time.perf_counter()
    report = await plan(store, now, policy)
    return {
        "seconds": time.perf_counter() - started,
        "statements": statements.count - before,
        "queued": report.queued,
    }


class Saver:
    """A household's save: one attendance report and its outbox row, in one write transaction."""

    def __init__(self, store: Store, pairs: list[tuple[int, int, int, int, str]]) -> None:
        self.store = store
        self.pairs = pairs  # (member, posyandu, person, companion, programme number)
        self.next = 0

    async def save(self, day: date, now: datetime) -> float:
        member_id, posyandu_id, person_id, companion_id, number = self.pairs[self.next]
        self.next += 1
        started = time.perf_counter()
        async with self.store.write() as repo:
            report = await repo.attendance.add_reported(
                member_id, posyandu_id, day, None, person_id, now
            )
            assert report is not None
            await repo.notifications.queue(
                Recipient(staff_id=companion_id), ATTENDANCE_REPORTED,
                {"program_number": number, "member": "x", "date": day.isoformat()},
                due_at=now, dedup_key=f"bench:save:{report.id}", now=now,
            )  # fmt: skip
        return time.perf_counter() - started


async def savers(store: Store) -> Saver:
    query = (
        select(
            member.c.id, household.c.posyandu_id, person.c.id, household.c.companion_id,
            household.c.program_number,
        )
        .join(household, household.c.id == member.c.household_id)
        .join(person, person.c.household_id == household.c.id)
        .where(household.c.companion_id.is_not(None))
        .order_by(member.c.id)
        .limit(2000)
    )  # fmt: skip
    async with store.read() as repo:
        rows = [(a, b, c, d, e) for a, b, c, d, e in await repo.connection.execute(query)]
    return Saver(store, rows)


async def save_while(
    saver: Saver, day: date, now: datetime, work: Awaitable[object]
) -> tuple[list[float], float]:
    """Saves one after another while `work` runs; their latencies and the work's duration."""
    started = time.perf_counter()
    task = asyncio.ensure_future(work)
    latencies: list[float] = []
    await asyncio.sleep(0.005)  # let the work begin
    while not task.done():
        latencies.append(await saver.save(day, now))
        await asyncio.sleep(0.01)
    await task
    return latencies, time.perf_counter() - started


async def fake_dispatch(store: Store, now: datetime, sent: list[int]) -> int:
    """Claim what is due and mark it sent, with the database work of `jobs.dispatch`: claims
    of `DISPATCH_BATCH` rows in a write transaction each, then one "sent" mark per message,
    committed by itself (`sent_marks`, the dispatcher's own); the "send" is appending the row's
    id to a list."""
    count = 0
    async with sent_marks(store.engine) as marks:
        while True:
            async with store.write() as repo:
                claimed = await repo.notifications.claim_due(now, DISPATCH_BATCH, now - LEASE)
            for message in claimed:
                sent.append(message.id)
                await marks.mark_sent(message.id, now)
            count += len(claimed)
            if len(claimed) < DISPATCH_BATCH:
                return count


async def next_due(store: Store, after: datetime) -> datetime | None:
    async with store.read() as repo:
        query = select(func.min(notification.c.due_at)).where(
            notification.c.status == "pending", notification.c.due_at > after
        )
        found: datetime | None = (await repo.connection.execute(query)).scalar_one()
    return found


def on_grid(moment: datetime, start: datetime) -> datetime:
    """The first tick of the 5-minute grid from `start` at or after `moment`."""
    steps = -(-(moment - start) // TICK)
    return start + steps * TICK


async def month(
    store: Store, start: datetime, days: int, policy: PlanPolicy, statements: Statements
) -> dict[str, Any]:
    next_work: Callable[[Store, datetime, ZoneInfo], Awaitable[datetime]] | None = getattr(
        planner_module, "next_pass_with_work", None
    )
    complaints = ComplaintPolicy(WIB)
    end = start + timedelta(days=days)
    sent: list[int] = []
    plan_seconds = dispatch_seconds = sweep_seconds = 0.0
    passes = ticks_skipped = 0
    before = statements.count
    started = time.perf_counter()
    moment = start
    while moment < end:
        t0 = time.perf_counter()
        await plan(store, moment, policy)
        t1 = time.perf_counter()
        await fake_dispatch(store, moment, sent)
        t2 = time.perf_counter()
        await sweep(store, moment, complaints)
        t3 = time.perf_counter()
        plan_seconds += t1 - t0
        dispatch_seconds += t2 - t1
        sweep_seconds += t3 - t2
        passes += 1
        following = moment + TICK
        if next_work is not None:
            candidates = [await next_work(store, moment, WIB), end]
            due = await next_due(store, moment)
            if due is not None:
                candidates.append(due)
            following = max(following, on_grid(min(candidates), start))
        ticks_skipped += (following - moment) // TICK - 1
        moment = following
    total = time.perf_counter() - started
    return {
        "days": days,
        "passes": passes,
        "ticks_skipped": ticks_skipped,
        "seconds": total,
        "plan_seconds": plan_seconds,
        "dispatch_seconds": dispatch_seconds,
        "sweep_seconds": sweep_seconds,
        "sent": len(sent),
        "duplicates": len(sent) - len(set(sent)),
        "statements": statements.count - before,
    }


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    policy = PlanPolicy(WIB, slot_minutes=30, slot_capacity=1000)
    result: dict[str, Any] = {"database": "postgresql" if arguments.database else "sqlite"}
    with tempfile.TemporaryDirectory(prefix="sapa-bench-planner-") as folder:
        async with fresh_database(arguments.database, Path(folder)) as store:
            say(f"building {arguments.households:,} households ...")
            result["registry"] = await build(
                store, Path(folder), arguments.households, arguments.companions
            )
            statements = Statements(store)
            base = await baseline(store)
            result["baseline_seconds"] = base
            say(f"baseline read: {base * 1000:.1f} ms")
            day = utc_now().astimezone(WIB).date() + timedelta(days=1)
            passes: dict[str, Any] = {}
            passes["first pass 05:00"] = await timed_pass(store, statements, wib(day, 5), policy)
            quiet = [
                await timed_pass(store, statements, wib(day, 5, 5 * n), policy) for n in (1, 2, 3)
            ]
            passes["nothing due 05:05-05:15 (median)"] = {
                "seconds": statistics.median(q["seconds"] for q in quiet),
                "statements": statistics.median(q["statements"] for q in quiet),
                "queued": sum(q["queued"] for q in quiet),
            }
            passes["06:45 digests"] = await timed_pass(store, statements, wib(day, 6, 45), policy)
            passes["06:50"] = await timed_pass(store, statements, wib(day, 6, 50), policy)
            passes["11:00"] = await timed_pass(store, statements, wib(day, 11), policy)
            passes["14:00 nothing due"] = await timed_pass(store, statements, wib(day, 14), policy)
            result["passes"] = passes
            for name, figures in passes.items():
                seconds = figures["seconds"]
                say(
                    f"{name:36} {seconds * 1000:9.1f} ms  x{seconds / base:7.2f}"
                    f"  statements {figures['statements']:>6}  queued {figures['queued']:>6}"
                )
            saver = await savers(store)
            now = wib(day, 15)
            await saver.save(day, now)  # warm-up
            quiet_saves = [await saver.save(day, now) for _ in range(20)]
            quiet_median = statistics.median(quiet_saves)
            result["save"] = {"quiet_median": quiet_median}
            say(f"save quiet {quiet_median * 1000:.1f} ms")
            next_day = day + timedelta(days=1)
            for name, moment in (("a new day's first pass", wib(next_day, 5)),
                                 ("a full pass after a change", wib(next_day, 5, 30))):  # fmt: skip
                if moment.minute:  # a registry change: the next pass plans the whole horizon
                    async with store.write() as repo:
                        await repo.connection.execute(
                            update(member).where(member.c.id == 1).values(name="Bench Renamed")
                        )
                busy, pass_seconds = await save_while(saver, day, now, plan(store, moment, policy))
                if not busy:  # the pass ended before a save began: nothing to compare
                    say(f"save during {name} ({pass_seconds:.2f} s): the pass ended first")
                    result["save"][name] = {"saves": 0, "pass_seconds": pass_seconds}
                    continue
                busy_median = statistics.median(busy)
                result["save"][name] = {
                    "median": busy_median,
                    "worst": max(busy),
                    "saves": len(busy),
                    "pass_seconds": pass_seconds,
                }
                say(
                    f"save during {name} ({pass_seconds:.2f} s, {len(busy)} saves): median "
                    f"{busy_median * 1000:.1f} ms (x{busy_median / quiet_median:.1f}), worst "
                    f"{max(busy) * 1000:.1f} ms (x{max(busy) / quiet_median:.1f})"
                )
            if arguments.month_days:
                say(f"simulating {arguments.month_days} days ...")
                start = datetime.combine(day + timedelta(days=2), clock_time(0), tzinfo=WIB)
                result["month"] = await month(
                    store, start.astimezone(UTC), arguments.month_days, policy, statements
                )
                m = result["month"]
                say(
                    f"month: {m['seconds']:.1f} s (plan {m['plan_seconds']:.1f}, dispatch "
                    f"{m['dispatch_seconds']:.1f}, sweep {m['sweep_seconds']:.1f}); "
                    f"{m['passes']} passes, {m['ticks_skipped']} ticks skipped, "
                    f"{m['sent']:,} sent, {m['duplicates']} duplicates, "
                    f"x{m['seconds'] / base:.0f} baseline"
                )
    result["peak_rss_mib"] = peak_rss_mib()
    result["machine"] = (
        f"{platform.machine()} {os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    say(f"peak memory (ru_maxrss): {result['peak_rss_mib']:.0f} MiB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a postgresql+asyncpg URL; default a temporary SQLite")
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    parser.add_argument("--month-days", type=int, default=30)
    parser.add_argument("--companions", type=int, default=200)
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments))
    output = arguments.output or OUTPUT / f"planner.{result['database']}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
