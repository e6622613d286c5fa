"""Benchmark how long `sapa` takes to start: `--help`, and a few verbs until their work is done.

    .venv/bin/python bench/cli_start.py
    .venv/bin/python bench/cli_start.py --repeat 9 --database postgresql+asyncpg://postgres@127.0.0.1:5432/test

Every command runs in a fresh subprocess (what a person typing it gets), `--repeat` times; the
median and the best wall time are reported, against the baseline measured in the same run: the
same interpreter doing nothing (`python -c pass`). The verbs run against an empty migrated
database (a new SQLite file by default, or a database `bench_cli_<pid>` on the PostgreSQL
server, dropped at the end), so their own work is a few small queries: their time is the
start-up cost.

Then each command runs once more under `python -X importtime`, and the modules that took longest
to import (cumulative, top-level packages of the bot and its libraries) are listed, with the
process's peak memory (ru_maxrss of the child). The target of the issue: every verb at work
within 0.4 s. This is a benchmark: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "bench" / "out" / "cli_start.json"
TARGET_SECONDS = 0.4
SAPA = [sys.executable, "-c", "import sys; from bot.cli import command; sys.exit(command())"]
NIK_KEY = "c11" + "0" * 61  # 64 hex digits: the bench's own key


def commands(empty_csv: Path) -> dict[str, list[str]]:
    return {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "sapa --help": [*SAPA, "--help"],
        "sapa stats": [*SAPA, "stats"],
        "sapa outbox": [*SAPA, "outbox"],
        "sapa import posyandu --dry-run": [
            *SAPA,
            "import",
            "posyandu",
            str(empty_csv),
            "--dry-run",
        ],
        "sapa staff activate (unknown code)": [*SAPA, "staff", "activate", "NOPE"],
    }


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, the child's peak RSS in MiB, and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv[-3:]} failed ({done.returncode}): {done.stderr[-600:]}")
    # RUSAGE_CHILDREN is the largest child so far; report it only when this child raised it.
    return seconds, max(after, before) / 1024 if after > before else 0.0, done.stderr


def top_imports(stderr: str, count: int = 6) -> list[tuple[str, float]]:
    """The top-level imports with the largest cumulative time, from `-X importtime` output."""
    found: list[tuple[str, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _self, cumulative, name = (part.strip() for part in line[12:].split("|"))
        if not cumulative.isdigit() or name.startswith(" "):
            continue
        if name.count(".") == 0 or name.startswith(("bot.", "storage.", "jobs.", "handlers.")):
            found.append((name, int(cumulative) / 1_000_000))
    found.sort(key=lambda item: -item[1])
    return found[:count]


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [*SAPA, "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sapa migrate failed: {done.stderr[-600:]}")


def postgres_database(url: str, create: bool) -> str:
    """Create (or drop) the database `bench_cli_<pid>` on that server; its URL."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from storage.database import create_engine

    name = f"bench_cli_{os.getpid()}"

    async def change() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                if create:
                    await connection.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            await engine.dispose()

    asyncio.run(change())
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def measure(arguments: argparse.Namespace, folder: Path) -> dict[str, Any]:
    empty_csv = folder / "posyandu.csv"
    empty_csv.write_text(
        "code,name,kecamatan,desa,schedule\nP-1,Mawar,Pandeglang,Kadomas,tanggal 10\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAPA_")}
    env["SAPA_NIK_KEY"] = NIK_KEY
    env["PYTHONPATH"] = str(ROOT)
    if arguments.database is None:
        env["SAPA_DATABASE_URL"] = f"sqlite+aiosqlite:///{folder / 'cli.db'}"
    else:
        env["SAPA_DATABASE_URL"] = postgres_database(arguments.database, create=True)
    try:
        migrate(env)
        results: dict[str, Any] = {}
        for name, argv in commands(empty_csv).items():
            run(argv, env)  # warm the page cache and the bytecode
            samples = [run(argv, env)[0] for _ in range(arguments.repeat)]
            _, peak, stderr = run([argv[0], "-X", "importtime", *argv[1:]], env)
            results[name] = {
                "median_seconds": statistics.median(samples),
                "best_seconds": min(samples),
                "samples": samples,
                "peak_rss_mib": peak,
                "top_imports": top_imports(stderr),
            }
        return results
    finally:
        if arguments.database is not None:
            postgres_database(arguments.database, create=False)


def print_table(results: dict[str, Any], database: str, repeat: int) -> None:
    baseline = results["python -c pass (baseline)"]["median_seconds"]
    print(f"\nsapa start-up, {database}, median of {repeat} runs (each a new process)")
    header = f"{'command':<38}{'median s':>10}{'best s':>9}{'x baseline':>12}{'<= 0.4 s':>10}"
    print(header)
    print("-" * len(header))
    for name, result in results.items():
        median = result["median_seconds"]
        within = "yes" if median <= TARGET_SECONDS else "NO"
        print(
            f"{name:<38}{median:>10.3f}{result['best_seconds']:>9.3f}"
            f"{median / baseline:>12.1f}{within:>10}"
        )
    print("\nslowest imports (cumulative seconds, one run under -X importtime):")
    for name, result in results.items():
        if result["top_imports"]:
            listed = ", ".join(
                f"{module} {seconds:.3f}" for module, seconds in result["top_imports"]
            )
            print(f"  {name}: {listed}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database", default=None, help="a postgresql+asyncpg URL")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    database = "sqlite (temporary file)" if arguments.database is None else "postgresql"
    with tempfile.TemporaryDirectory(prefix="sapa-cli-bench-") as name:
        results = measure(arguments, Path(name))
    print_table(results, database, arguments.repeat)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform()}
    arguments.output.write_text(
        json.dumps({"machine": machine, "database": database, "results": results}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"results written to {arguments.output}")


if __name__ == "__main__":
    main()
