"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, translators, a fixed clock.

Storage and use-case tests take the `store` fixture and run twice: on a fresh SQLite file and on
PostgreSQL (`SAPA_TEST_DATABASE_URL`, default the local server's `test` database). Where PostgreSQL
cannot be reached the PostgreSQL half is skipped with the reason, unless SAPA_REQUIRE_POSTGRES=1
(as in CI), where it fails instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.runtime.app import SapaApplication, Services, build_application, rendering_process
from bot.settings import load_settings
from bot.texts.i18n import Translations, Translator
from storage.database import create_engine
from storage.migrate import upgrade
from storage.schema import metadata
from storage.store import Store
from tests.support.chat import Chat
from tests.support.fake_bot_api import FakeBotApi

POSTGRES_URL = os.environ.get(
    "SAPA_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 10:00 WIB, a Tuesday
# The NIK key of the test databases (a deployment's comes from SAPA_NIK_KEY or its key file).
TEST_NIK_KEY = b"5e1f" * 16


def _postgres_options(schema: str) -> dict[str, object]:
    return {"connect_args": {"server_settings": {"search_path": schema}}}


async def _on_the_server(statement: str) -> None:
    """One statement on the test PostgreSQL server, outside any test's schema."""
    engine = create_engine(POSTGRES_URL, connect_args={"timeout": 5})
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _create_postgres_schema(schema: str, *, migrated: bool = True) -> None:
    await _on_the_server(f'CREATE SCHEMA "{schema}"')
    if not migrated:
        return
    engine = create_engine(POSTGRES_URL, **_postgres_options(schema))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _drop_postgres_schema(schema: str) -> None:
    await _on_the_server(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of our own on the PostgreSQL server, migrated once for the whole run."""
    schema = f"sapa_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        asyncio.run(_create_postgres_schema(schema))
    except (OSError, Exception) as error:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}: {error}"
        if os.environ.get("SAPA_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield schema
    asyncio.run(_drop_postgres_schema(schema))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, object]]]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}", {}
    else:
        schema = request.getfixturevalue("postgres_schema")
        yield POSTGRES_URL, _postgres_options(schema)


@pytest.fixture
async def empty_engine(database_url: tuple[str, dict[str, object]]) -> AsyncIterator[Any]:
    """An engine on a database (a fresh SQLite file, or a new PostgreSQL schema) with no tables
    at all: for migration tests, which build the schema themselves."""
    url, _options = database_url
    if url.startswith("sqlite"):
        engine = create_engine(url)
        yield engine
        await engine.dispose()
        return
    schema = f"sapa_empty_{uuid.uuid4().hex[:8]}"
    await _create_postgres_schema(schema, migrated=False)
    engine = create_engine(POSTGRES_URL, **_postgres_options(schema))  # type: ignore[arg-type]
    yield engine
    await engine.dispose()
    await _drop_postgres_schema(schema)


@pytest.fixture
async def store(
    database_url: tuple[str, dict[str, object]], migrated_sqlite: Path
) -> AsyncIterator[Store]:
    """A migrated, empty database."""
    url, options = database_url
    if url.startswith("sqlite"):  # a copy of the worker's migrated file: migrating takes 0.4 s
        database = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            template = Path(f"{migrated_sqlite}{suffix}")
            if template.exists():
                shutil.copyfile(template, f"{database}{suffix}")
    engine = create_engine(url, **options)  # type: ignore[arg-type]
    if engine.dialect.name != "sqlite":
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    store = Store(engine)
    yield store
    await store.close()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated once per test worker; each test's `store` starts from a copy."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture(scope="session", autouse=True)
def private_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Key files that `sapa` makes by default (~/.config/sapa-rts/nik.key) go to a folder of
    the test run's own, never into the home folder of whoever runs the tests."""
    folder = tmp_path_factory.mktemp("config")
    before = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = before


Sapa = Callable[[list[str]], int]


@pytest.fixture
def sapa_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sapa]:
    """`sapa ...` run in this process, in tmp_path, with the default settings and umask 022
    (with which a file created the ordinary way is world-readable); its key file goes to
    tmp_path/config."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("SAPA_") or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    umask = os.umask(0o022)
    try:
        yield main
    finally:
        os.umask(umask)
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture(scope="session")
def translations() -> Translations:
    return Translations("id")


@pytest.fixture
def t_id(translations: Translations) -> Translator:
    return translations.for_language("id")


@pytest.fixture
def t_en(translations: Translations) -> Translator:
    return translations.for_language("en")


TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtoken"
# The rendering process (charts, workbooks), started once per test worker, not once per bot.
RENDERER = rendering_process()


@asynccontextmanager
async def running_bot(
    store: Store, translations: Translations, **settings: Any
) -> AsyncIterator[tuple[SapaApplication, FakeBotApi]]:
    """The real Application on the test database, talking to a recording fake Bot API."""
    api = FakeBotApi()
    services = Services(
        settings=load_settings(
            database_url="sqlite+aiosqlite:///unused.db",
            nik_key=TEST_NIK_KEY.decode(),
            **settings,
        ),
        store=store,
        translations=translations,
        clock=lambda: NOW,
        renderer=RENDERER,
    )
    application = build_application(services, request=api, token=TOKEN)
    async with application:
        await application.start()  # the JobQueue, which times out abandoned flows
        try:
            yield application, api
        finally:
            await application.stop()


@pytest.fixture
async def bot_app(
    store: Store, translations: Translations
) -> AsyncIterator[tuple[SapaApplication, FakeBotApi]]:
    async with running_bot(store, translations) as running:
        yield running


@pytest.fixture
async def chat(
    store: Store, t_id: Translator, bot_app: tuple[SapaApplication, FakeBotApi]
) -> AsyncIterator[Chat]:
    """A new Telegram user, with the example province (`examples/`) in the database."""
    from tests.support.helpers import import_valid_files

    await import_valid_files(store, t_id)
    application, api = bot_app
    yield Chat(application, api, user_id=81001)


@pytest.fixture
async def mother(chat: Chat) -> Chat:
    """A user linked to household RTS-2026-0001 (Neneng, pregnant, and Aditya, born 2024)."""
    await chat.send("/start")
    await chat.send("RTS-2026-0001")
    await chat.send("850001")
    return chat
