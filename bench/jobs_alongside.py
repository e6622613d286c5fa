"""Benchmark a running bot's jobs side by side at ten times Pandeglang (issue 14): the planner's
first run over 151,570 households while the dispatcher runs every 2 seconds and the escalation
sweep alongside, all on the real JobQueue of the real Application.

    .venv/bin/python bench/jobs_alongside.py
    .venv/bin/python bench/jobs_alongside.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/jobs_alongside.py --households 15157     # Pandeglang itself

The run:
1. builds the demo province (`bench/planner.py`'s `build`: every household and companion with a
   Telegram account) in a fresh database, and queues `--due` messages to companions, due at
   once, so the dispatcher has work from its first run;
2. measures the **baseline**: one read of the rows the planner needs (`bench/planner.py`'s);
3. starts the Application with its jobs (`build_application(..., jobs=True)`: the planner 5 s
   after start, the dispatcher every 2 s from 3 s, the escalation sweep from 20 s), against the
   offline fake Bot API, the clock fixed at 10:00 WIB tomorrow (outside quiet hours);
   The jobs run in a process of their own (spawned), so the peak memory reported for them is
   the running bot's, without the build's;
4. runs until the planner's first run has ended and `--after` more seconds have passed, then
   reports: the planner's first run (seconds, x baseline), the dispatcher's runs (done, expected
   from the elapsed time, skipped by the scheduler because the previous run had not ended:
   APScheduler's max-instances event), messages sent, the escalation sweeps, every warning or
   error logged (the target: none, and no "database is locked"), peak memory.

The issue's row: "10x registry, first planner run: 60-80 s, 709 MB; dispatcher and escalation
then fail with 'database is locked', 28 dispatcher runs skipped" -> no lock errors, no skipped
runs. This is a benchmark: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.support

from planner import BENCH_NIK_KEY, WIB, baseline, build
from support import fresh_database, peak_rss_mib

from bot.domain.models import Recipient
from bot.runtime.app import Services, build_application
from bot.settings import load_settings
from bot.texts.i18n import Translations
from bot.texts.notices import ATTENDANCE_REPORTED
from jobs.schedule import DISPATCH_EVERY_SECONDS
from storage.database import create_engine
from storage.notifications import QueuedMessage
from storage.schema import staff
from storage.store import Store
from tests.support.fake_bot_api import FakeBotApi

OUTPUT = Path(__file__).resolve().parent / "out"
TOKEN = "123456789:BENCHtokenBENCHtokenBENCHtokenBENCH"
TEN_TIMES_PANDEGLANG = 151_570


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Problems(logging.Handler):
    """Every warning or error any logger writes while the jobs run (never the message texts:
    our logs carry none)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []
        self.locked = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        self.records.append(f"{record.levelname} {record.name}: {text[:200]}")
        if "locked" in text.lower():
            self.locked += 1


async def queue_due(store: Store, count: int, now: datetime) -> None:
    """`count` messages to companions, due now: work for the dispatcher from its first run."""
    async with store.read() as repo:
        companions = list(
            (
                await repo.connection.execute(
                    select(staff.c.id).where(staff.c.code.startswith("PD-BENCH-"))
                )
            ).scalars()
        )
    messages = [
        QueuedMessage(
            Recipient(staff_id=companions[n % len(companions)]),
            ATTENDANCE_REPORTED,
            {"program_number": f"RTS-BENCH-{n}", "member": "x", "date": now.date().isoformat()},
            now,
            f"bench:alongside:{n}",
        )
        for n in range(count)
    ]
    async with store.write() as repo:
        await repo.notifications.queue_many(messages, now)


async def run_jobs(store: Store, now: datetime, after: float, limit: float) -> dict[str, Any]:
    api = FakeBotApi()
    settings = load_settings(
        database_url="sqlite+aiosqlite:///unused.db", nik_key=BENCH_NIK_KEY.decode()
    )
    services = Services(
        settings=settings, store=store, translations=Translations("id"), clock=lambda: now
    )
    application = build_application(services, request=api, token=TOKEN, jobs=True)
    problems = Problems()
    logging.getLogger().addHandler(problems)
    planner_done = asyncio.Event()
    planner_seconds: list[float] = []
    runs: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    started_at: dict[str, float] = {}

    class PlannerRuns(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("planner_run"):
                planner_seconds.append(time.perf_counter() - started_at.get("planner", 0.0))
                planner_done.set()

    planner_log = PlannerRuns(logging.INFO)
    jobs_logger = logging.getLogger("jobs.schedule")
    jobs_logger.addHandler(planner_log)
    jobs_logger.setLevel(logging.INFO)
    async with application:
        assert application.job_queue is not None
        scheduler = application.job_queue.scheduler
        names: dict[str, str] = {}

        def on_event(event: JobEvent) -> None:
            name = names.get(event.job_id) or str(
                getattr(scheduler.get_job(event.job_id), "name", "?")
            )
            if event.code == EVENT_JOB_EXECUTED:
                runs[name] += 1
            elif event.code == EVENT_JOB_MAX_INSTANCES:
                skipped[name] += 1
            elif event.code == EVENT_JOB_MISSED:
                missed[name] += 1
            elif event.code == EVENT_JOB_ERROR:
                errors[name] += 1

        scheduler.add_listener(
            on_event,
            EVENT_JOB_EXECUTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR,
        )
        await application.start()
        for job in application.job_queue.jobs():
            names[job.job.id] = job.name or "?"
        began = time.perf_counter()
        started_at["planner"] = began + 5  # its first run: 5 s after start (jobs/schedule.py)
        try:
            await asyncio.wait_for(planner_done.wait(), limit)
        except TimeoutError:
            say(f"  the planner's first run had not ended after {limit:.0f} s")
        await asyncio.sleep(after)
        elapsed = time.perf_counter() - began
        await application.stop()
    logging.getLogger().removeHandler(problems)
    jobs_logger.removeHandler(planner_log)
    dispatcher_expected = int((elapsed - 3) // DISPATCH_EVERY_SECONDS) + 1
    return {
        "elapsed_seconds": elapsed,
        "planner_first_run_seconds": planner_seconds[0] if planner_seconds else None,
        "runs": dict(runs),
        "dispatcher_runs_expected": dispatcher_expected,
        "skipped": dict(skipped),
        "missed": dict(missed),
        "job_errors": dict(errors),
        "sent": len([c for c in api.calls if c.method == "sendMessage"]),
        "problems": problems.records,
        "locked": problems.locked,
    }


def jobs_in_child(
    url: str, schema: str | None, now: datetime, after: float, limit: float
) -> dict[str, Any]:
    """`run_jobs` in a process of its own, so its peak memory is the running bot's alone (the
    build's import and generated rows stay in the parent)."""

    async def go() -> dict[str, Any]:
        options: dict[str, Any] = {}
        if schema is not None:
            options["connect_args"] = {"server_settings": {"search_path": schema}}
        store = Store(create_engine(url, **options))
        try:
            return await run_jobs(store, now, after, limit)
        finally:
            await store.close()

    found = asyncio.run(go())
    found["peak_rss_mib"] = own_peak_mib()
    return found


def own_peak_mib() -> float:
    """This process's peak resident memory from /proc (VmHWM, of its own address space): a
    spawned process's ru_maxrss starts from its parent's peak on Linux."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_rss_mib()  # not Linux


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"database": "postgresql" if arguments.database else "sqlite"}
    tomorrow = datetime.now(WIB).date() + timedelta(days=1)
    now = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=WIB)
    with tempfile.TemporaryDirectory(prefix="sapa-bench-jobs-") as folder:
        async with fresh_database(arguments.database, Path(folder)) as store:
            say(f"building {arguments.households:,} households ...")
            started = time.perf_counter()
            result["registry"] = await build(
                store, Path(folder), arguments.households, arguments.companions
            )
            await queue_due(store, arguments.due, now)
            result["build_seconds"] = time.perf_counter() - started
            base = await baseline(store)
            result["baseline_seconds"] = base
            say(f"baseline read: {base * 1000:.0f} ms; starting the jobs in a new process ...")
            url = store.engine.url.render_as_string(hide_password=False)
            schema = None if arguments.database is None else f"bench_{os.getpid()}"
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=1, mp_context=context) as child:
                work = partial(jobs_in_child, url, schema, now, arguments.after, arguments.limit)
                result["jobs"] = await asyncio.get_running_loop().run_in_executor(child, work)
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def report(result: dict[str, Any]) -> None:
    jobs = result["jobs"]
    first = jobs["planner_first_run_seconds"]
    base = result["baseline_seconds"]
    print(
        f"jobs side by side, {result['registry']['households']:,} households, "
        f"{result['database']}; baseline read {base * 1000:.0f} ms"
    )
    if first is not None:
        print(f"planner, first run: {first:.1f} s (x{first / base:.0f} baseline)")
    else:
        print("planner, first run: did not end")
    runs, skipped = jobs["runs"], jobs["skipped"]
    print(
        f"dispatcher: {runs.get('dispatcher', 0)} runs of {jobs['dispatcher_runs_expected']} "
        f"expected in {jobs['elapsed_seconds']:.0f} s, skipped {skipped.get('dispatcher', 0)}, "
        f"{jobs['sent']} messages sent"
    )
    print(
        f"escalation sweeps: {runs.get('escalation', 0)}, skipped "
        f"{skipped.get('escalation', 0)}; all skipped runs {sum(skipped.values())}, "
        f"missed {sum(jobs['missed'].values())}"
    )
    print(
        f"warnings and errors logged: {len(jobs['problems'])}, of which 'database is locked': "
        f"{jobs['locked']}"
    )
    for line in jobs["problems"][:10]:
        print(f"  {line}")
    print(
        f"peak memory of the bot's process (VmHWM): {jobs['peak_rss_mib']:.0f} MiB (the "
        f"building process, ru_maxrss: {result['peak_rss_mib']:.0f} MiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a postgresql+asyncpg URL; default a temporary SQLite")
    parser.add_argument("--households", type=int, default=TEN_TIMES_PANDEGLANG)
    parser.add_argument("--companions", type=int, default=2000)
    parser.add_argument("--due", type=int, default=2000, help="messages due when the jobs start")
    parser.add_argument("--after", type=float, default=20.0, help="seconds after the planner")
    parser.add_argument("--limit", type=float, default=600.0, help="longest wait for the planner")
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments))
    result["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count()}
    report(result)
    output = arguments.output or OUTPUT / f"jobs_alongside.{result['database']}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2, default=str))
    print(f"results written to {output}")


if __name__ == "__main__":
    main()
