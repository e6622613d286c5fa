"""One `sapa run` per SQLite file: a second one on the same file refuses to start, with one
sentence and exit code 2, until the first has stopped. PostgreSQL replicas take no such lock, and
the other verbs (migrate, stats, backup) work beside a running bot.

In process: the bot itself (`_serve`) is replaced by a stand-in, so a test can do, while "the bot
runs", what an operator would do in a second terminal."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot import cli
from bot.runtime.runner import AlreadyRunning, Listener, Webhook, lock_database, lock_file
from bot.settings import Settings, load_settings
from bot.texts.i18n import Translator
from tests.conftest import POSTGRES_URL, TOKEN

REFUSED = "Sapa RTS lain sudah berjalan dengan basis data ini ({path}); hentikan dulu yang itu.\n"


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No .env of the working tree, no SAPA_ variable of the caller."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("SAPA_") or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)


def settings_for(url: str) -> Settings:
    return load_settings(TELEGRAM_BOT_TOKEN=TOKEN, database_url=url)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "sapa.db"


class StandIn:
    """The bot, stood in for: `sapa run` gets as far as starting it; it counts its starts and,
    while it "runs", does what an operator does in a second terminal (`while_running`)."""

    def __init__(self) -> None:
        self.starts = 0
        self.while_running: list[Callable[[], object]] = []

    async def __call__(
        self, _settings: Settings, _webhook: Webhook | None, _listener: Listener | None
    ) -> int:
        self.starts += 1
        actions, self.while_running = self.while_running, []  # the first bot's, not a replica's
        for action in actions:
            action()
        await asyncio.sleep(0)
        return cli.EXIT_OK


@pytest.fixture
def bot(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    stand_in = StandIn()
    monkeypatch.setattr(cli.serve, "_serve", stand_in)
    return stand_in


def sapa_run(settings: Settings, t: Translator) -> int:
    return cli.serve.run(settings, t, cli.build_parser().parse_args(["run"]))


def test_a_second_bot_on_the_same_sqlite_file_is_refused(
    database: Path,
    t_id: Translator,
    capsys: pytest.CaptureFixture[str],
    bot: StandIn,
) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{database}")
    second: list[int] = []
    bot.while_running.append(lambda: second.append(sapa_run(settings, t_id)))

    assert sapa_run(settings, t_id) == cli.EXIT_OK  # the first bot; the second, while it runs
    assert second == [cli.EXIT_CONFIG]
    assert bot.starts == 1  # the second never got as far as starting
    assert capsys.readouterr().err == REFUSED.format(path=database)

    assert stat.S_IMODE(lock_file(database).stat().st_mode) == 0o600
    lock_database(database).release()  # the first bot stopped: the lock is free again


def test_run_starts_once_the_lock_is_released(
    database: Path, t_id: Translator, capsys: pytest.CaptureFixture[str], bot: StandIn
) -> None:
    relative = "sapa.db"  # the same file by another name (the working directory is tmp_path)
    running = lock_database(database)  # as the running bot holds it
    try:
        assert sapa_run(settings_for(f"sqlite+aiosqlite:///{relative}"), t_id) == cli.EXIT_CONFIG
        assert capsys.readouterr().err == REFUSED.format(path=relative)
        assert bot.starts == 0
    finally:
        running.release()  # the bot stops (or crashes: the OS releases it as well)
    assert sapa_run(settings_for(f"sqlite+aiosqlite:///{database}"), t_id) == cli.EXIT_OK
    assert bot.starts == 1
    assert capsys.readouterr().err == ""


def test_the_lock_is_per_file_and_exclusive(tmp_path: Path) -> None:
    first = lock_database(tmp_path / "a.db")
    other = lock_database(tmp_path / "b.db")  # another database: another bot may run on it
    with pytest.raises(AlreadyRunning):
        lock_database(tmp_path / "a.db")
    first.release()
    other.release()


def test_postgresql_replicas_take_no_lock(
    t_id: Translator, capsys: pytest.CaptureFixture[str], bot: StandIn
) -> None:
    settings = settings_for(POSTGRES_URL)
    second: list[int] = []

    def start_a_replica() -> None:  # in a thread of its own: it gets as far as its event loop
        with ThreadPoolExecutor(1) as thread:
            second.append(thread.submit(sapa_run, settings, t_id).result())

    bot.while_running.append(start_a_replica)
    assert sapa_run(settings, t_id) == cli.EXIT_OK
    assert second == [cli.EXIT_OK]
    assert bot.starts == 2
    assert capsys.readouterr().err == ""


def test_other_verbs_work_beside_a_running_bot(
    database: Path, tmp_path: Path, t_id: Translator, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{database}")
    running = lock_database(database)
    try:
        asyncio.run(cli.database.migrate(settings))
        stats = cli.build_parser().parse_args(["stats"])
        assert asyncio.run(stats.handler(settings, t_id, stats)) == cli.EXIT_OK
        assert cli.database.backup(settings, t_id, tmp_path / "copy.db") == cli.EXIT_OK
    finally:
        running.release()
    assert "Jumlah" in capsys.readouterr().out
