"""Benchmark the compliance register (issue 15): the verification list of a payout period for the
whole district, judged and exported, against reading the same rows.

    .venv/bin/python bench/register.py
    .venv/bin/python bench/register.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/register.py --households 15157 --reports 200000 --months 4

One run:
1. builds the data with `bench/recap.py`'s builder: the demo registry spread over 35 made-up
   kecamatan of 10 desa (Pandeglang's shape), 15,157 households by default, and attendance
   reports over the twelve months before the current one;
2. the baseline: the register's own queries (`storage/register.py`, the posyandu and the
   moved sessions) run for the district and every row fetched into Python, nothing judged;
3. the measured call: `bot.services.register.build_register` for the district over the last
   `--months` full months (the same reads, then every member-period judged), then the workbook
   (`workbook_of`: households and summary; the per-member sheet only up to 30,000 rows, so for
   the district it is in the CSV only) and the two CSV files; one warm-up, then `--repeat` runs.

Target: the measured call (build, workbook and CSV together) at most 10 times the baseline.
Peak memory (RSS) of the process is reported. This is a benchmark, not a test: it asserts
nothing; the JSON (bench/out/register.json) says whether the target was met in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from recap import build_data, demo_shape, parse_arguments, table_counts
from support import fresh_database, peak_rss_mib

from bot.domain.clock import utc_now
from bot.domain.conditions import Period, month_end
from bot.domain.months import add_months, month_of
from bot.services.register import LOOK_BACK, build_register
from bot.texts.i18n import Translations
from bot.texts.register_sheet import register_tables, workbook_of, write_register_csv
from storage.store import Store

OUTPUT = Path(__file__).parent / "out" / "register.json"
TARGET_RATIO = 10.0
WIB = ZoneInfo("Asia/Jakarta")


async def read_the_same_rows(store: Store, period: Period) -> int:
    """Every row the register reads, fetched and dropped: the baseline."""
    rows = 0
    async with store.read() as repo:
        rows += len(await repo.register.households(None))
        rows += len(await repo.register.members(None))
        rows += len(await repo.register.reports(None, period.first - LOOK_BACK, period.last))
        rows += len(await repo.register.absences(None, period.first, period.last))
        rows += len(await repo.register.school_months(None, period.first, period.last))
        rows += len(await repo.follow_ups.excused(None, period.first, period.last))
        rows += len(await repo.recap.places(None))
        rows += len(await repo.planning.session_changes())
    return rows


async def build_and_export(store: Store, period: Period, folder: Path) -> dict[str, float]:
    t = Translations("id").for_language("id")
    today = utc_now().astimezone(WIB).date()
    started = time.perf_counter()
    register = await build_register(store, None, "", period, today)
    built = time.perf_counter()
    tables = register_tables(register, t)
    workbook_of(tables, t)
    booked = time.perf_counter()
    write_register_csv(tables, folder, "bench-register")
    written = time.perf_counter()
    return {
        "build_ms": (built - started) * 1000,
        "workbook_ms": (booked - built) * 1000,
        "csv_ms": (written - booked) * 1000,
        "total_ms": (written - started) * 1000,
        "households": len(register.households),
        "member_periods": sum(len(m.periods) for line in register.households for m in line.members),
    }


async def run(arguments: argparse.Namespace, months: int) -> dict[str, Any]:
    now = utc_now()
    today = now.astimezone(WIB).date()
    last_full = add_months(month_of(today), -1)
    first = add_months(last_full, -(months - 1))
    period = Period(f"{first:%Y-%m}..{last_full:%Y-%m}", first, month_end(last_full))
    with tempfile.TemporaryDirectory(prefix="sapa-bench-") as name:
        folder = Path(name)
        async with fresh_database(arguments.database, folder) as store:
            print("building the data ...", file=sys.stderr, flush=True)
            with demo_shape(arguments.kecamatan, arguments.desa):
                phases = await build_data(store, arguments, folder, today, now)
            counts = await table_counts(store)
            print("measuring ...", file=sys.stderr, flush=True)
            baseline: list[float] = []
            measured: list[dict[str, float]] = []
            rows = 0
            for number in range(arguments.repeat + 1):
                started = time.perf_counter()
                rows = await read_the_same_rows(store, period)
                elapsed = (time.perf_counter() - started) * 1000
                run_ = await build_and_export(store, period, folder)
                if number:  # the first of each is the warm-up
                    baseline.append(elapsed)
                    measured.append(run_)
    baseline_ms = statistics.median(baseline)
    total_ms = statistics.median(m["total_ms"] for m in measured)
    ratio = total_ms / baseline_ms
    return {
        "benchmark": "register",
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "database": "sqlite" if arguments.database is None else "postgresql",
        "households": arguments.households,
        "rows": counts,
        "period": {"first": period.first.isoformat(), "last": period.last.isoformat()},
        "build_seconds": sum(p.seconds for p in phases),
        "rows_read": rows,
        "baseline_runs_ms": baseline,
        "baseline_ms": baseline_ms,
        "runs": measured,
        "median": {
            key: statistics.median(m[key] for m in measured)
            for key in ("build_ms", "workbook_ms", "csv_ms", "total_ms")
        },
        "member_periods": measured[-1]["member_periods"],
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "peak_rss_mib": peak_rss_mib(),
    }


def main() -> None:
    wrapper = argparse.ArgumentParser(add_help=False)
    wrapper.add_argument("--months", type=int, default=4)
    known, rest = wrapper.parse_known_args()
    defaults = ["--households", "15157", "--reports", "200000", "--kecamatan", "35"]
    defaults += ["--desa", "10", "--repeat", "3", "--complaints", "0"]
    arguments = parse_arguments(defaults + rest)
    result = asyncio.run(run(arguments, max(known.months, 1)))
    median = result["median"]
    print(
        f"register, {result['households']:,} households, {result['rows_read']:,} rows read, "
        f"{result['member_periods']:,} member-periods, {result['database']}, period "
        f"{result['period']['first']} to {result['period']['last']}\n"
        f"  baseline (read the same rows): {result['baseline_ms']:8.0f} ms\n"
        f"  build_register:                {median['build_ms']:8.0f} ms\n"
        f"  workbook:                      {median['workbook_ms']:8.0f} ms\n"
        f"  CSV files:                     {median['csv_ms']:8.0f} ms\n"
        f"  total:                         {median['total_ms']:8.0f} ms = "
        f"{result['ratio']:.1f}x the baseline (target <= {TARGET_RATIO:.0f}x: "
        f"{'met' if result['target_met'] else 'MISSED'})\n"
        f"  peak RSS: {result['peak_rss_mib']:.0f} MiB"
    )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
