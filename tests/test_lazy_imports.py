"""A CLI verb loads only the storage it uses; a running bot loads all of it before its first update.

Issue 14, part 7: `sapa stats` must not pay for the SQL of attendance, recaps or the register.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from storage.store import REPOSITORY_MODULES, Repositories, load_repositories

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from bot.cli import main
sys.argv = ["sapa", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.startswith("storage."))))
"""


def test_every_repository_module_is_listed_for_the_start_of_the_bot() -> None:
    load_repositories()
    before = set(sys.modules)
    engine = create_async_engine("sqlite+aiosqlite://")
    repositories = Repositories(engine.connect())  # never used: only the attributes are read
    names = [name for name in vars(Repositories) if not name.startswith("_")]
    made = [getattr(repositories, name) for name in names if name != "connection"]
    assert len(made) == len(REPOSITORY_MODULES) + 1  # attendance holds two repositories
    assert set(sys.modules) - before == set()
    assert {type(repository).__module__ for repository in made} == set(REPOSITORY_MODULES)


def test_sapa_stats_loads_only_the_storage_it_reads(tmp_path: Path) -> None:
    database = tmp_path / "sapa.db"
    environment = {
        **os.environ,
        "SAPA_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "SAPA_NIK_KEY_FILE": str(tmp_path / "nik.key"),
    }
    migrate = [sys.executable, "-c", PROBE, "migrate"]
    subprocess.run(migrate, cwd=ROOT, env=environment, check=True, capture_output=True)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, "stats"],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    loaded = set(json.loads(probe.stdout.strip().splitlines()[-1]))
    assert "storage.stats" in loaded
    for heavy in ("storage.attendance", "storage.recap", "storage.register", "storage.planning"):
        assert heavy not in loaded, heavy


def test_the_garbage_collector_is_off_only_while_the_bot_loads() -> None:
    from bot.cli import _loading

    seen: list[bool] = []
    try:
        with _loading(True):
            seen.append(gc.isenabled())
        assert seen == [False]
        assert gc.isenabled()  # the verb's own work is collected as usual
        assert gc.get_freeze_count() > 0  # what was loaded is set aside
        with contextlib.suppress(RuntimeError), _loading(True):
            raise RuntimeError("a verb's start that fails")
        assert gc.isenabled()
    finally:
        gc.unfreeze()  # the test process's objects back where they were


def test_a_verb_run_by_the_sapa_command_leaves_the_collector_on(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "SAPA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}",
        "SAPA_NIK_KEY_FILE": str(tmp_path / "nik.key"),
    }
    probe = (
        "import gc, sys\n"
        "from bot.cli import command\n"
        "sys.argv = ['sapa', 'migrate']\n"
        "code = command()\n"
        "print(code, gc.isenabled())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "0 True"
