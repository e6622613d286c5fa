"""Small helpers for tests: write a CSV file; load the example files of `examples/`."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Table, func, select

from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.texts.i18n import Translator
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY


def write_csv(folder: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = folder / name
    data = text.strip("\n").replace("\n            ", "\n") + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# The five valid files, in the order they must be imported, with their number of data rows.
VALID_FILES: list[tuple[ImportKind, str, int]] = [
    (ImportKind.POSYANDU, "posyandu.csv", 6),
    (ImportKind.PEOPLE, "people.csv", 7),
    (ImportKind.HOUSEHOLDS, "households.csv", 6),
    (ImportKind.MEMBERS, "members.csv", 8),
    (ImportKind.PAYOUTS, "payouts.csv", 4),
]


async def run_import(store: Store, t: Translator, kind: ImportKind, name: str) -> ImportReport:
    return await import_file(
        store, kind, EXAMPLES / name, t, now=NOW, nik_key=TEST_NIK_KEY, progress=False
    )


async def import_valid_files(store: Store, t: Translator) -> list[ImportReport]:
    return [await run_import(store, t, kind, name) for kind, name, _ in VALID_FILES]


async def add_households_for_euis(store: Store, t: Translator, folder: Path, count: int) -> None:
    """`count` more households for companion Euis (PD-MKJ-1) at Posyandu Anggrek, RTS-2026-0100
    on, each with a child born in 2024; the heads are called Ma'ruf (an apostrophe to escape)."""
    households = ["program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code"]
    members = ["program_number,name,kind,birth_date,due_date"]
    for n in range(count):
        number = f"RTS-2026-{n + 100:04d}"
        households.append(f"{number},Ma'ruf Hidayatullah {n},36012903058{n + 10000:05d},"
                          "Mekarjaya,Mekarjaya,P-MKJ-01,PD-MKJ-1")  # fmt: skip
        members.append(f"{number},Anak {n},balita,2024-01-01,")
    for kind, name, lines in ((ImportKind.HOUSEHOLDS, "households.csv", households),
                              (ImportKind.MEMBERS, "members.csv", members)):  # fmt: skip
        (folder / name).write_text("\n".join(lines) + "\n", "utf-8")
        report = await import_file(
            store, kind, folder / name, t, now=NOW, nik_key=TEST_NIK_KEY, progress=False
        )
        assert report.ok


SAPA = Path(sys.executable).parent / "sapa"


def sapa_installed(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `sapa` command, as a process: for the few tests that prove the command
    itself works (the entry point, a real stdin)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
    environment.pop("TELEGRAM_BOT_TOKEN", None)
    environment.update(env or {})
    return subprocess.run(
        [str(SAPA), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120
    )


@dataclass(frozen=True)
class SapaResult:
    returncode: int
    stdout: str
    stderr: str


def sapa(*args: str, cwd: Path, env: dict[str, str] | None = None) -> SapaResult:
    """`sapa ARGS` run in this process (`bot.cli.main`), as a data officer would in a shell at
    `cwd`, with no SAPA_ setting but `env`; what it printed and its exit code."""
    from bot.cli import main

    saved_environment, saved_folder = dict(os.environ), Path.cwd()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    for name in list(os.environ):
        if name.startswith("SAPA_") or name == "TELEGRAM_BOT_TOKEN":
            del os.environ[name]
    os.environ.update(env or {})
    os.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse refuses the arguments
                code = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        os.chdir(saved_folder)
        os.environ.clear()
        os.environ.update(saved_environment)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    return SapaResult(code, out.getvalue(), err.getvalue())


def import_examples(workdir: Path) -> None:
    assert sapa("migrate", cwd=workdir).returncode == 0
    for kind, name, _rows in VALID_FILES:
        result = sapa("import", kind.value, str(EXAMPLES / name), cwd=workdir)
        assert result.returncode == 0, result.stdout + result.stderr


async def count(store: Store, table: Table) -> int:
    """How many rows `table` holds."""
    async with store.read() as repo:
        query = select(func.count()).select_from(table)
        return int((await repo.connection.execute(query)).scalar_one())


def count_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of every function handed to an SQLite connection's thread, in
    order (each is a round trip between the event loop and that thread)."""
    calls: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(connection: aiosqlite.Connection, function: Any, *args: Any) -> Any:
        calls.append(getattr(function, "__name__", "?"))
        return await original(connection, function, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return calls
