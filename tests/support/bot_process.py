"""`sapa run` as a child process, for end-to-end tests: start it, read its log as it is
written, stop it with SIGTERM or kill it with SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.texts.i18n import Translations
from storage.database import create_engine
from storage.migrate import upgrade
from storage.store import Store
from tests.conftest import POSTGRES_URL, TEST_NIK_KEY
from tests.support.helpers import import_valid_files

SAPA = Path(sys.executable).parent / "sapa"
TOKEN = "123456789:E2EtokenE2EtokenE2EtokenE2Etoken"


def bot_environment(bot_api_url: str, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a bot process: this one's, without any SAPA_ setting of the caller."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
    environment.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        SAPA_BOT_API_URL=bot_api_url,
        SAPA_DATABASE_URL=database_url,
        SAPA_QUIET_HOURS="00:00-00:00",  # the tests run at any hour
        SAPA_NIK_KEY=TEST_NIK_KEY.decode(),  # the key `prepare_database` imported with
        **extra,
    )
    return environment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, cwd: Path, environment: dict[str, str], *arguments: str) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            str(SAPA), "run", *arguments, cwd=cwd, env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        bot = cls(process)
        bot._reader = asyncio.create_task(bot._read())
        return bot

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    @property
    def log(self) -> str:
        return "".join(self.lines)

    async def wait_log(self, fragment: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if fragment in line:
                    return line
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"{fragment!r} not in the log:\n{self.log}")
            await asyncio.sleep(0.05)

    async def stop(self, signal_number: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send the signal and wait for the process (and its log) to end; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal_number)
        await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        assert self.process.returncode is not None
        return self.process.returncode

    async def exit_code(self, timeout: float = 30) -> int:
        """Wait for a process that stops on its own."""
        await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        assert self.process.returncode is not None
        return self.process.returncode


async def prepare_database(url: str) -> str:
    """Migrate the database and import the example registry files."""
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    store = await Store.open(url)
    await import_valid_files(store, Translations("id").for_language("id"))
    await store.close()
    return url


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server, dropped afterwards (its URL)."""
    name = f"sapa_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"timeout": 5})
    try:
        try:
            async with admin.connect() as connection:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as error:
            reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}: {error}"
            if os.environ.get("SAPA_REQUIRE_POSTGRES") == "1":
                pytest.fail(reason)
            pytest.skip(reason)
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with contextlib.suppress(Exception):
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
