"""Benchmark the registry import at province scale (default 20,000 households).

    .venv/bin/python bench/import_households.py
    .venv/bin/python bench/import_households.py --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/import_households.py --households 5000 --repeat 3

Each repetition:
1. generates the five demo registry files with `bot.services.demo.write_demo_files` (timed);
2. measures the baseline: reading households.csv with `csv.DictReader` and materialising the rows
   (best of 5 reads, so a single hiccup does not skew every ratio); steps 1 and 2 run in a child
   process, so the peak memory reported for the imports is the importing process's own;
3. migrates a fresh database (a new SQLite file, or a new PostgreSQL schema `bench_<pid>`);
4. imports posyandu, people, households, members and payouts in that order, then imports
   households.csv a second time (every row an update), timing each import.

Import times are reported as ratios against the baseline measured in the same run, plus rows per
second. This is a benchmark, not a test: it asserts nothing about time. It fails only when an
import reports problems, since the timings would then be meaningless.

Results go to stdout as a table and to bench/out/import_households.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from support import fresh_database, peak_rss_mib

from bot.domain.clock import utc_now
from bot.services.demo import IMPORT_ORDER, write_demo_files
from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.texts.i18n import Translations, Translator
from storage.migrate import upgrade
from storage.store import Store

# The benches' own NIK key (a deployment reads SAPA_NIK_KEY or its key file).
BENCH_NIK_KEY = b"be9c" * 16

DEFAULT_HOUSEHOLDS = 20_000
BASELINE_READS = 5
OUTPUT = Path(__file__).resolve().parent / "out" / "import_households.json"
REIMPORT = "households (re-import)"


@dataclass
class Phase:
    """One timed step of one repetition."""

    name: str
    seconds: float
    cpu_seconds: float  # CPU time of this Python process (the PostgreSQL server's is not counted)
    rows: int | None = None
    inserted: int | None = None
    updated: int | None = None
    peak_rss_mib: float = 0.0  # process peak so far, read right after the step


@dataclass
class Repetition:
    baseline_seconds: float
    baseline_rows: int
    file_bytes: dict[str, int]
    phases: list[Phase] = field(default_factory=list)


class Timer:
    """Wall-clock and process CPU time of a block."""

    def __enter__(self) -> Timer:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = time.process_time() - self._cpu


def read_with_csv_module(path: Path) -> int:
    """The baseline: parse the file with the standard csv module and keep every row."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return len(rows)


def measure_baseline(path: Path) -> tuple[float, int]:
    best = float("inf")
    rows = 0
    for _ in range(BASELINE_READS):
        started = time.perf_counter()
        rows = read_with_csv_module(path)
        best = min(best, time.perf_counter() - started)
    return best, rows


def check(report: ImportReport) -> None:
    if not report.ok:
        shown = "; ".join(
            f"line {p.line} {p.column or ''}: {p.reason}" for p in report.problems[:5]
        )
        raise SystemExit(
            f"import of {report.file} reported {len(report.problems)} problem(s): {shown}"
        )


async def timed_import(
    store: Store, kind: ImportKind, path: Path, t: Translator, name: str
) -> Phase:
    with Timer() as timer:
        report = await import_file(
            store,
            kind,
            path,
            t,
            now=utc_now(),
            actor="bench",
            nik_key=BENCH_NIK_KEY,
            progress=False,
        )
    check(report)
    return Phase(
        name=name,
        seconds=timer.seconds,
        cpu_seconds=timer.cpu_seconds,
        rows=report.rows,
        inserted=report.inserted,
        updated=report.updated,
        peak_rss_mib=peak_rss_mib(),
    )


def generate_and_measure_baseline(
    folder: Path, households: int
) -> tuple[dict[ImportKind, Path], Phase, float, int]:
    """Run in a child process, so that what the generator and the baseline hold in memory does not
    count in the peak memory of the process that imports (ru_maxrss only ever grows)."""
    with Timer() as timer:
        paths = write_demo_files(folder, households=households, today=utc_now().date())
    generate = Phase("generate files", timer.seconds, timer.cpu_seconds)
    generate.peak_rss_mib = peak_rss_mib()  # the child's peak
    baseline, baseline_rows = measure_baseline(paths[ImportKind.HOUSEHOLDS])
    return paths, generate, baseline, baseline_rows


async def run_once(households: int, url: str | None, t: Translator) -> Repetition:
    with tempfile.TemporaryDirectory(prefix="sapa-bench-") as name:
        folder = Path(name)
        files_folder = folder / "files"
        files_folder.mkdir()
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as child:
            paths, generate, baseline, baseline_rows = child.submit(
                generate_and_measure_baseline, files_folder, households
            ).result()
        sizes = {kind.value: path.stat().st_size for kind, path in paths.items()}
        repetition = Repetition(baseline, baseline_rows, sizes, [generate])

        async with fresh_database(url, folder) as store:
            with Timer() as timer:
                await upgrade(store.engine)
            repetition.phases.append(
                Phase("migrate", timer.seconds, timer.cpu_seconds, peak_rss_mib=peak_rss_mib())
            )
            for kind in IMPORT_ORDER:
                phase = await timed_import(store, kind, paths[kind], t, kind.value)
                repetition.phases.append(phase)
            again = await timed_import(
                store, ImportKind.HOUSEHOLDS, paths[ImportKind.HOUSEHOLDS], t, REIMPORT
            )
            if again.inserted or again.updated != again.rows:
                raise SystemExit(
                    f"re-import expected only updates, got {again.inserted} inserted "
                    f"and {again.updated} updated of {again.rows} rows"
                )
            repetition.phases.append(again)
    return repetition


IMPORT_PHASES = [kind.value for kind in IMPORT_ORDER]


def summarise(repetitions: list[Repetition]) -> dict[str, Any]:
    """Medians over the repetitions; each ratio is taken against its own repetition's baseline."""
    names = [phase.name for phase in repetitions[0].phases]
    phases: list[dict[str, Any]] = []
    for index, name in enumerate(names):
        samples = [r.phases[index] for r in repetitions]
        seconds = statistics.median(p.seconds for p in samples)
        rows = samples[0].rows
        phases.append(
            {
                "phase": name,
                "seconds": seconds,
                "cpu_seconds": statistics.median(p.cpu_seconds for p in samples),
                "ratio_to_baseline": statistics.median(
                    p.seconds / r.baseline_seconds
                    for p, r in zip(samples, repetitions, strict=True)
                ),
                "rows": rows,
                "rows_per_second": rows / seconds if rows else None,
                "inserted": samples[0].inserted,
                "updated": samples[0].updated,
                "peak_rss_mib": max(p.peak_rss_mib for p in samples),
            }
        )
    full_import = [sum(p.seconds for p in r.phases if p.name in IMPORT_PHASES) for r in repetitions]
    return {
        "baseline_seconds": statistics.median(r.baseline_seconds for r in repetitions),
        "baseline_rows": repetitions[0].baseline_rows,
        "file_bytes": repetitions[0].file_bytes,
        "phases": phases,
        "full_import_seconds": statistics.median(full_import),
        "full_import_ratio_to_baseline": statistics.median(
            total / r.baseline_seconds for total, r in zip(full_import, repetitions, strict=True)
        ),
        "peak_rss_mib": peak_rss_mib(),
    }


def print_table(summary: dict[str, Any], households: int, database: str, repeat: int) -> None:
    print(f"\nregistry import, {households:,} households, {database}, median of {repeat} run(s)")
    baseline = summary["baseline_seconds"]
    print(
        f"baseline: csv.DictReader over households.csv, {summary['baseline_rows']:,} rows: "
        f"{baseline * 1000:.1f} ms (best of {BASELINE_READS})\n"
    )
    header = (
        f"{'phase':<24}{'rows':>8}{'seconds':>10}{'cpu s':>9}{'x baseline':>12}{'rows/s':>10}"
        f"{'peak MiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for phase in summary["phases"]:
        rows = f"{phase['rows']:,}" if phase["rows"] is not None else ""
        is_import = phase["phase"] in IMPORT_PHASES or phase["phase"] == REIMPORT
        ratio = f"{phase['ratio_to_baseline']:,.1f}" if is_import else ""
        rate = f"{phase['rows_per_second']:,.0f}" if phase["rows_per_second"] else ""
        print(
            f"{phase['phase']:<24}{rows:>8}{phase['seconds']:>10.2f}"
            f"{phase['cpu_seconds']:>9.2f}{ratio:>12}{rate:>10}{phase['peak_rss_mib']:>10.0f}"
        )
    print("-" * len(header))
    print(
        f"{'import, five files':<24}{'':>8}{summary['full_import_seconds']:>10.2f}{'':>9}"
        f"{summary['full_import_ratio_to_baseline']:>12,.1f}"
    )
    print(
        f"\npeak memory (ru_maxrss) of the importing process: {summary['peak_rss_mib']:.0f} MiB"
        " (the files are generated, and the baseline read, in a child process: its peak is the"
        " 'generate files' figure)"
    )


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--households", type=int, default=DEFAULT_HOUSEHOLDS)
    parser.add_argument(
        "--database",
        default=None,
        help="a postgresql+asyncpg URL (a schema bench_<pid> is created there and dropped after);"
        " default: a fresh SQLite file in a temporary folder",
    )
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; medians are reported")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the JSON")
    arguments = parser.parse_args(argv)
    if arguments.households < 1 or arguments.repeat < 1:
        parser.error("--households and --repeat must be at least 1")
    if arguments.database is not None:
        backend = make_url(arguments.database).get_backend_name()
        if backend != "postgresql":
            parser.error("--database takes a postgresql+asyncpg URL (SQLite is the default)")
    return arguments


async def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    t = Translations("id").for_language("id")
    database = (
        "sqlite (temporary file)"
        if arguments.database is None
        else make_url(arguments.database).render_as_string(hide_password=True)
    )
    started = datetime.now().astimezone()
    repetitions = []
    for number in range(arguments.repeat):
        print(f"run {number + 1}/{arguments.repeat} ...", file=sys.stderr, flush=True)
        repetitions.append(await run_once(arguments.households, arguments.database, t))
    summary = summarise(repetitions)
    print_table(summary, arguments.households, database, arguments.repeat)
    result = {
        "benchmark": "import_households",
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "database": database,
        "households": arguments.households,
        "repeat": arguments.repeat,
        "summary": summary,
        "runs": [asdict(r) for r in repetitions],
    }
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {arguments.output}")


if __name__ == "__main__":
    asyncio.run(main())
