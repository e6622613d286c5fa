"""The bot's HTTP side, in process: the webhook's secret token and input checks, and /healthz
reporting the database, the last update and the outbox backlog truthfully (503 when the
database is down, through a TCP proxy in front of PostgreSQL that the test cuts)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.domain.models import Recipient, Role
from bot.runtime.app import SapaApplication, Services
from bot.runtime.health import Heartbeat, check_health
from bot.runtime.web import SECRET_HEADER, build_web_app
from storage.database import create_engine
from storage.store import Store
from tests.conftest import NOW, POSTGRES_URL, _postgres_options
from tests.support.fake_bot_api import FakeBotApi

SECRET = "web-test-secret-0123456789"
START = {"update_id": 7001, "message": {
    "message_id": 1, "date": 1, "text": "/start",
    "chat": {"id": 81001, "type": "private"},
    "from": {"id": 81001, "is_bot": False, "first_name": "Siti"},
    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
}}  # fmt: skip


@pytest.fixture
async def client(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> AsyncIterator[httpx.AsyncClient]:
    application, _api = bot_app
    services: Services = application.bot_data["services"]
    app = build_web_app(application, services, webhook_path="/hook/abc", secret=SECRET)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sapa.test") as client:
        yield client


async def replies(api: FakeBotApi, at_least: int = 1, timeout: float = 5) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(api.texts()) < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return api.texts()


async def test_the_webhook_refuses_requests_without_the_secret(
    client: httpx.AsyncClient, bot_app: tuple[SapaApplication, FakeBotApi]
) -> None:
    _application, api = bot_app
    assert (await client.post("/hook/abc", json=START)).status_code == 403
    wrong = {SECRET_HEADER: "not-the-secret-0123456789"}
    assert (await client.post("/hook/abc", json=START, headers=wrong)).status_code == 403
    assert (await client.get("/hook/abc", headers={SECRET_HEADER: SECRET})).status_code == 405
    await asyncio.sleep(0.2)
    assert api.texts() == []


async def test_the_webhook_hands_updates_to_the_handlers(
    client: httpx.AsyncClient, bot_app: tuple[SapaApplication, FakeBotApi]
) -> None:
    _application, api = bot_app
    response = await client.post("/hook/abc", json=START, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    greeting = await replies(api, at_least=2)
    assert "nomor peserta" in greeting[-1]


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{not json", 400), (b"[1, 2]", 400), (b'{"message": {}}', 400),
     (b'{"update_id": 5, "message": "text"}', 400), (b"x" * 1_000_001, 413),
     (b"[" * 100_000, 400), (b'{"update_id": 5, "message": ' + b'{"a": ' * 100_000, 400)],
)  # fmt: skip
async def test_the_webhook_answers_bad_input_politely(
    client: httpx.AsyncClient, bot_app: tuple[SapaApplication, FakeBotApi], body: bytes, status: int
) -> None:
    _application, api = bot_app
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    response = await client.post("/hook/abc", content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["ok"] is False
    assert api.texts() == []


class Sender:
    """A client's body, sent in 64 KiB chunks as the server asks for them; counts them."""

    CHUNK = b"x" * 65_536

    def __init__(self, chunks: int) -> None:
        self.chunks = chunks
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.sent += 1
            yield self.CHUNK


@pytest.mark.parametrize(
    ("content_length", "chunks_read_at_most"),
    [(None, 17), ("100", 17), ("1000000", 17), (str(512 * 65_536), 0)],
)
async def test_the_webhook_stops_reading_a_body_past_the_limit(
    client: httpx.AsyncClient,
    bot_app: tuple[SapaApplication, FakeBotApi],
    content_length: str | None,
    chunks_read_at_most: int,
) -> None:
    """32 MiB offered, with no Content-Length (chunked), a lying one or a truthful one: 413 once
    1 MB has been read (16 chunks and a bit), or at once when the length is announced."""
    _application, api = bot_app
    sender = Sender(512)
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    if content_length is not None:
        headers["content-length"] = content_length
    response = await client.post("/hook/abc", content=sender, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"ok": False, "error": "too large"}
    assert sender.sent <= chunks_read_at_most
    assert api.texts() == []


async def test_healthz_reports_the_backlog_and_the_last_update(
    client: httpx.AsyncClient, store: Store, bot_app: tuple[SapaApplication, FakeBotApi]
) -> None:
    before = (await client.get("/healthz")).json()
    assert before == {"status": "ok", "database": "reachable", "last_update_at": None,
                      "outbox_backlog": 0, "oldest_due_at": None}  # fmt: skip

    async with store.write() as repo:
        someone = await repo.people.add(91_000, Role.HOUSEHOLD, NOW)
        for n, due in enumerate((NOW - timedelta(hours=2), NOW - timedelta(minutes=5),
                                 NOW + timedelta(hours=1))):  # fmt: skip
            await repo.notifications.queue(
                Recipient(person_id=someone.id), "complaint.status",
                {"ticket": f"KLH-{n}", "status": "closed"}, due_at=due, dedup_key=f"h{n}", now=NOW,
            )  # fmt: skip
    await client.post("/hook/abc", json=START, headers={SECRET_HEADER: SECRET})
    await replies(bot_app[1])

    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "reachable",
        "last_update_at": NOW.isoformat(),  # the test clock's "now"
        "outbox_backlog": 2,  # the one due in an hour is not waiting yet
        "oldest_due_at": (NOW - timedelta(hours=2)).isoformat(),
    }


class TcpProxy:
    """Forwards a local port to PostgreSQL; `cut()` drops every connection and stops listening."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_healthz_says_503_while_the_database_is_down(
    postgres_schema: str, bot_app: tuple[SapaApplication, FakeBotApi]
) -> None:
    application, _api = bot_app
    url = httpx.URL(POSTGRES_URL.replace("postgresql+asyncpg", "http"))
    proxy = TcpProxy((url.host, url.port or 5432))
    await proxy.open()
    address = POSTGRES_URL.replace(f"{url.host}:{url.port or 5432}", f"127.0.0.1:{proxy.port}")
    options: dict[str, Any] = _postgres_options(postgres_schema)
    options["connect_args"]["timeout"] = 2
    store = Store(create_engine(address, **options))
    services: Services = application.bot_data["services"]
    app = build_web_app(application, Services(services.settings, store, services.translations,
                                              services.clock))  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://sapa.test") as client:
            assert (await client.get("/healthz")).status_code == 200
            await proxy.cut()
            down = await client.get("/healthz")
            assert down.status_code == 503
            assert down.json() == {"status": "unavailable", "database": "unreachable",
                                   "last_update_at": None, "outbox_backlog": None,
                                   "oldest_due_at": None}  # fmt: skip
            await proxy.open()  # the same port again: the server is back
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await store.close()
        with contextlib.suppress(Exception):
            await proxy.cut()


async def test_a_database_that_does_not_answer_in_time_is_unreachable() -> None:
    class Stuck:
        @contextlib.asynccontextmanager
        async def read(self) -> AsyncIterator[None]:
            await asyncio.sleep(10)
            yield None

    report = await check_health(Stuck(), Heartbeat(), NOW, timeout=0.05)  # type: ignore[arg-type]
    assert report.status_code == 503 and not report.database_reachable
