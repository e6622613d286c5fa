"""`sapa run` as a real process, talking HTTP to a fake Bot API.

- polling, on SQLite and on PostgreSQL: a household links, reports a visit and files a complaint;
  the database holds it; SIGTERM stops it cleanly; the logs hold no token, message text or NIK;
- webhook: updates without the secret token are refused (403), the others answered; /healthz;
- kill -9 in mid-conversation, then a restart: the old button gets a polite answer, nothing half
  saved, and the household can start again;
- kill -9 in mid-dispatch, then a restart: nothing lost, only the messages in flight (at most
  four) repeated;
- starting: a refused token, an unreachable Bot API (retried until it answers), a database that
  cannot be opened or is not migrated, each with one clear sentence.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from storage.schema import attendance_report, complaint, notification, person
from storage.store import Store
from tests.support.bot_process import (
    TOKEN,
    BotProcess,
    bot_environment,
    free_port,
    postgres_database,
    prepare_database,
)
from tests.support.fake_bot_server import FakeBotServer

MOTHER = 4_100_001
COMPLAINT_TEXT = "Antrean di kantor pos panjang sekali, kami menunggu enam jam."
SECRETS_NEVER_LOGGED = (TOKEN, TOKEN.split(":")[1], COMPLAINT_TEXT, "850001", "3601290305850001")
WEBHOOK_SECRET = "e2e-webhook-secret-0123456789"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database with the example registry, on SQLite or on a new PostgreSQL db."""
    if request.param == "sqlite":
        yield await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
        return
    async with postgres_database() as url:
        yield await prepare_database(url)


@pytest.fixture
async def server() -> AsyncIterator[FakeBotServer]:
    server = FakeBotServer(TOKEN)
    await server.start()
    yield server
    await server.stop()


async def count(url: str, table: Any) -> int:
    store = await Store.open(url)
    try:
        async with store.read() as repo:
            return int(
                (
                    await repo.connection.execute(select(func.count()).select_from(table))
                ).scalar_one()
            )
    finally:
        await store.close()


async def step_written(url: str, user_id: int, state: str, timeout: float = 10) -> None:
    """Wait until the database holds the user's flow at this step."""
    store = await Store.open(url)
    try:
        for _ in range(int(timeout / 0.05)):
            async with store.read() as repo:
                saved = await repo.conversations.of_user(user_id)
            if saved is not None and saved.state == state:
                return
            await asyncio.sleep(0.05)
    finally:
        await store.close()
    raise AssertionError(f"the flow of {user_id} never reached {state}")


async def link_mother(server: FakeBotServer) -> None:
    server.user_text(MOTHER, "/start")
    await server.wait_for(MOTHER, "nomor peserta")
    server.user_text(MOTHER, "RTS-2026-0001")
    await server.wait_for(MOTHER, "6 angka terakhir NIK")
    server.user_text(MOTHER, "850001")
    await server.wait_for(MOTHER, "Selesai! Telegram ini sekarang terhubung")


async def start_visit_report(server: FakeBotServer) -> None:
    """From the menu to the photo question of an attendance report."""
    server.user_text(MOTHER, "Lapor hadir posyandu")
    await server.wait_for(MOTHER, "Siapa yang ke posyandu?")
    server.user_presses(MOTHER, "Aditya Sukmana (balita)")
    await server.wait_for(MOTHER, "Kapan Aditya Sukmana ke posyandu?")
    server.user_presses(MOTHER, "Kemarin")
    await server.wait_for(MOTHER, "Apakah ada foto")


async def finish_visit_report(server: FakeBotServer) -> None:
    server.user_presses(MOTHER, "Lewati")
    await server.wait_for(MOTHER, "Mohon periksa kembali laporan ini")
    server.user_presses(MOTHER, "✅ Simpan")
    await server.wait_for(MOTHER, "Laporan Ibu/Bapak sudah disimpan")


async def test_a_household_through_the_running_bot(
    tmp_path: Path, database_url: str, server: FakeBotServer
) -> None:
    port = free_port()  # with a port, polling mode serves /healthz too
    environment = bot_environment(server.base_url, database_url)
    bot = await BotProcess.start(tmp_path, environment, "--port", str(port))
    try:
        await link_mother(server)
        await start_visit_report(server)
        await finish_visit_report(server)

        server.user_text(MOTHER, "/keluhan")
        await server.wait_for(MOTHER, "Keluhan tentang apa?")
        server.user_presses(MOTHER, "Pencairan bantuan")
        await server.wait_for(MOTHER, "Silakan ceritakan masalahnya")
        server.user_text(MOTHER, COMPLAINT_TEXT)
        await server.wait_for(MOTHER, "Jika foto membantu")
        server.user_presses(MOTHER, "Lewati")
        await server.wait_for(MOTHER, "Mohon periksa kembali keluhan ini")
        server.user_presses(MOTHER, "📨 Kirim")
        ticket = await server.wait_for(MOTHER, "kode tiket")
        assert "KLH-" in ticket
        assert "setMyCommands" in server.calls and "deleteWebhook" in server.calls
        assert server.params["getUpdates"]["allowed_updates"] == [
            "message",
            "callback_query",
            "my_chat_member",
        ]
        health = await get_health(port)
        assert health["database"] == "reachable" and health["last_update_at"] is not None
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log
    assert "bot_stopped mode=polling" in bot.log

    assert await count(database_url, attendance_report) == 1
    store = await Store.open(database_url)
    async with store.read() as repo:
        [saved] = (await repo.connection.execute(select(complaint.c.text))).scalars().all()
    await store.close()
    assert saved == COMPLAINT_TEXT

    assert "bot_starting" in bot.log
    for secret in SECRETS_NEVER_LOGGED:
        assert secret not in bot.log, secret
    for line in bot.lines:  # structured: one line per event, with its level and name
        assert LOG_LINE.match(line), line


LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} level=(DEBUG|INFO|WARNING|ERROR|CRITICAL) "
    r"logger=\S+ event=[a-z][a-z0-9_]*( [a-z_]+=\S.*)?\n$"
)


async def test_webhook_mode_checks_the_secret_and_serves_healthz(
    tmp_path: Path, server: FakeBotServer
) -> None:
    url = await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/e2e-hook"
    environment = bot_environment(server.base_url, url, SAPA_WEBHOOK_SECRET=WEBHOOK_SECRET)
    bot = await BotProcess.start(tmp_path, environment, "--webhook", hook, "--port", str(port))
    try:
        await bot.wait_log("bot_started mode=webhook")
        assert server.webhook is not None
        assert server.webhook["url"] == hook
        assert server.webhook["secret_token"] == WEBHOOK_SECRET
        assert server.webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
        assert "getUpdates" not in server.calls

        forged = {"update_id": 900001, "message": {
            "message_id": 1, "date": 1, "text": "/start",
            "chat": {"id": 4_200_002, "type": "private"},
            "from": {"id": 4_200_002, "is_bot": False, "first_name": "Mallory"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }}  # fmt: skip
        assert await server.post_update(forged, secret=None) == 403
        assert await server.post_update(forged, secret="wrong-secret-wrong-secret") == 403

        await link_mother(server)
        await start_visit_report(server)
        await finish_visit_report(server)
        assert set(server.webhook_answers) == {200}
        assert server.texts_to(4_200_002) == []  # the forged updates were never handled

        health = await get_health(port)
        assert health["status"] == "ok" and health["database"] == "reachable"
        assert health["last_update_at"] is not None
        assert isinstance(health["outbox_backlog"], int)
    finally:
        code = await bot.stop(signal.SIGINT)  # Ctrl-C in a terminal
    assert code == 0, bot.log
    assert "deleteWebhook" not in server.calls  # a stopping replica leaves the webhook alone
    assert "webhook_refused reason=secret_token" in bot.log
    assert await count(url, attendance_report) == 1
    for secret in (*SECRETS_NEVER_LOGGED, WEBHOOK_SECRET):
        assert secret not in bot.log, secret


async def get_health(port: int) -> dict[str, Any]:
    async with (
        ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        assert response.status == 200
        return dict(json.loads(await response.text()))


async def test_kill_9_in_mid_conversation_then_restart(
    tmp_path: Path, server: FakeBotServer
) -> None:
    url = await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    environment = bot_environment(server.base_url, url)
    bot = await BotProcess.start(tmp_path, environment)
    await link_mother(server)
    await start_visit_report(server)
    # The step is written back just after its answer went out; a kill in between would cost
    # the mother that one step (her button would then be an old one).
    await step_written(url, MOTHER, "att_photo")
    await bot.stop(signal.SIGKILL)
    assert await count(url, attendance_report) == 0  # nothing half saved

    bot = await BotProcess.start(tmp_path, environment)
    try:
        # The half-done report is in the database: the photo question's button, from before the
        # kill, continues it where it was.
        await finish_visit_report(server)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log
    assert await count(url, attendance_report) == 1
    assert await count(url, person) >= 1
    assert (
        server.texts_to(MOTHER).count(
            "Selesai! Telegram ini sekarang terhubung dengan rumah tangga RTS-2026-0001."
        )
        <= 1
    )


async def test_an_unreachable_bot_api_is_retried_until_it_answers(tmp_path: Path) -> None:
    url = await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    port = free_port()
    server = FakeBotServer(TOKEN)
    bot = await BotProcess.start(tmp_path, bot_environment(f"http://127.0.0.1:{port}/bot", url))
    try:
        line = await bot.wait_log("bot_api_unreachable")
        assert "call=get_me attempt=1 retry_in_seconds=1" in line
        assert bot.process.returncode is None  # waiting, not crashed
        await server.start(port)
        await bot.wait_log("bot_started mode=polling")
        server.user_text(MOTHER, "/start")
        await server.wait_for(MOTHER, "nomor peserta")
    finally:
        code = await bot.stop(signal.SIGTERM)
        await server.stop()
    assert code == 0, bot.log


async def test_a_refused_token_stops_with_one_sentence(tmp_path: Path) -> None:
    url = await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    server = FakeBotServer("987654321:AnotherTokenAnotherTokenAnotherTok")  # ours is not it: 401
    await server.start()
    try:
        bot = await BotProcess.start(tmp_path, bot_environment(server.base_url, url))
        code = await bot.exit_code()
    finally:
        await server.stop()
    assert code == 2
    assert "Telegram menolak token di TELEGRAM_BOT_TOKEN" in bot.log
    assert "Traceback" not in bot.log


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("sqlite+aiosqlite:///{tmp}/empty.db", "Basis data belum siap. Jalankan `sapa migrate`"),
        (
            "postgresql+asyncpg://postgres@127.0.0.1:1/test",
            "Basis data postgresql+asyncpg://postgres@127.0.0.1:1/test tidak dapat dibuka",
        ),
        ("sqlite+aiosqlite:///{tmp}/no/such/folder/sapa.db", "periksa SAPA_DATABASE_URL"),
    ],
)
async def test_a_database_that_cannot_be_used_is_named(
    tmp_path: Path, database: str, expected: str
) -> None:
    url = database.format(tmp=tmp_path)
    bot = await BotProcess.start(tmp_path, bot_environment("http://127.0.0.1:9/bot", url))
    assert await bot.exit_code() == 2
    assert expected in bot.log
    assert "Traceback" not in bot.log
    assert "sapa migrate" in bot.log


async def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    url = await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        bot = await BotProcess.start(
            tmp_path, bot_environment("http://127.0.0.1:9/bot", url),
            "--webhook", "https://sapa.example/hook", "--port", str(port),
        )  # fmt: skip
        assert await bot.exit_code() == 2
    assert f"Tidak dapat mendengarkan di 127.0.0.1:{port}" in bot.log
    assert "SAPA_LISTEN_PORT" in bot.log and "Traceback" not in bot.log


async def test_two_processes_on_postgresql_send_each_message_once(
    tmp_path: Path, server: FakeBotServer
) -> None:
    """Two replicas (webhook mode, as two replicas must run) share one database: their
    dispatchers claim rows, their planners take a lock, so nothing goes out twice."""
    async with postgres_database() as url:
        await prepare_database(url)
        await queue_messages(url, 80)
        environment = bot_environment(server.base_url, url, SAPA_WEBHOOK_SECRET=WEBHOOK_SECRET)
        bots = []
        for _ in range(2):
            port = str(free_port())
            hook = f"http://127.0.0.1:{port}/hook"
            bots.append(
                await BotProcess.start(tmp_path, environment, "--webhook", hook, "--port", port)
            )
        try:
            for n in range(80):
                await server.wait_for(95_000 + n, "KLH-", timeout=60)
            for bot in bots:
                await bot.wait_log("planner_run", timeout=30)
        finally:
            codes = [await bot.stop(signal.SIGTERM) for bot in bots]
        assert codes == [0, 0], [bot.log for bot in bots]
        chats = [
            int(s.params["chat_id"]) for s in server.sent if "KLH-" in str(s.params.get("text"))
        ]
        assert sorted(chats) == [95_000 + n for n in range(80)]  # each exactly once
        senders = [bot.log.count("dispatch_run") for bot in bots]
        assert all(senders), senders  # both took part
        for bot in bots:
            assert "level=ERROR" not in bot.log, bot.log


async def test_one_conversation_alternating_between_two_replicas(
    tmp_path: Path, server: FakeBotServer
) -> None:
    """Active-active: behind a round-robin balancer each update of the mother goes to the other
    replica. Every step finds the flow where the other replica left it; the report is saved
    once; no answer is doubled or lost."""
    async with postgres_database() as url:
        await prepare_database(url)
        environment = bot_environment(server.base_url, url, SAPA_WEBHOOK_SECRET=WEBHOOK_SECRET)
        bots, hooks = [], []
        for _ in range(2):
            port = str(free_port())
            hooks.append(f"http://127.0.0.1:{port}/hook")
            bots.append(
                await BotProcess.start(
                    tmp_path, environment, "--webhook", hooks[-1], "--port", port
                )
            )
        server.round_robin = hooks
        try:
            for bot in bots:
                await bot.wait_log("bot_started mode=webhook")
            await link_mother(server)
            await start_visit_report(server)
            await finish_visit_report(server)
        finally:
            codes = [await bot.stop(signal.SIGTERM) for bot in bots]
        assert codes == [0, 0], [bot.log for bot in bots]
        assert await count(url, attendance_report) == 1
        assert server.delivered_to == hooks * 4  # eight updates, each replica every other one
        texts = server.texts_to(MOTHER)
        assert len(texts) == len(set(texts)), texts  # nothing answered twice
        for bot in bots:
            assert "level=ERROR" not in bot.log, bot.log


async def test_the_outbox_over_http_waits_out_429_and_stops_at_403(
    tmp_path: Path, server: FakeBotServer
) -> None:
    url = await prepare_database(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    await queue_messages(url, 3)  # to 95000, 95001, 95002
    server.blocked_chats.add(95_001)
    server.failures["sendMessage"] = (429, "Too Many Requests: retry after 1", {"retry_after": 1})
    bot = await BotProcess.start(tmp_path, bot_environment(server.base_url, url))
    try:
        await server.wait_for(95_000, "KLH-0")
        await server.wait_for(95_002, "KLH-2")
        await bot.wait_log("outbox_recipient_unreachable")
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log
    assert "outbox_rate_limited retry_after=1" in bot.log
    assert [len(server.texts_to(chat)) for chat in (95_000, 95_001, 95_002)] == [1, 0, 1]
    store = await Store.open(url)
    async with store.read() as repo:
        reachable = dict(tuple(row) for row in (await repo.connection.execute(
            select(person.c.telegram_user_id, person.c.reachable)
            .where(person.c.telegram_user_id >= 95_000)
        )).all())  # fmt: skip
    await store.close()
    assert reachable == {95_000: True, 95_001: False, 95_002: True}


async def test_kill_9_during_dispatch_loses_nothing_and_repeats_only_the_messages_in_flight(
    tmp_path: Path, server: FakeBotServer, database_url: str
) -> None:
    """Telegram accepts the 21st to 24th messages but the bot dies before it hears so: four
    sends on their way, the most there can be, so the 25th never leaves. After the restart every
    message has arrived, those four twice, every other exactly once."""
    await queue_messages(database_url, 40)  # to 95000 ... 95039
    server.held_chats.update(range(95_020, 95_024))
    environment = bot_environment(
        server.base_url, database_url,
        SAPA_OUTBOX_MESSAGES_PER_SECOND="20", SAPA_OUTBOX_LEASE_SECONDS="3",
    )  # fmt: skip
    bot = await BotProcess.start(tmp_path, environment)
    for n in range(20, 24):
        await server.wait_for(95_000 + n, f"KLH-{n}", timeout=30)
    await bot.stop(signal.SIGKILL)
    statuses = await outbox_statuses(database_url)
    assert statuses[:20] == ["sent"] * 20  # each marked before a fifth message could leave
    assert statuses[20:24] == ["sending"] * 4  # accepted by Telegram, never marked: in flight
    assert "sent" not in statuses[24:]
    assert [len(server.texts_to(95_000 + n)) for n in range(24, 40)] == [0] * 16

    server.held_chats.clear()
    bot = await BotProcess.start(tmp_path, environment)
    try:
        for n in range(24, 40):
            await server.wait_for(95_000 + n, f"KLH-{n}", timeout=30)
        for n in range(20, 24):  # once their lease ran out
            await server.wait_for(95_000 + n, f"KLH-{n}", timeout=30, after=1)
    finally:
        code = await bot.stop(signal.SIGTERM)
    assert code == 0, bot.log
    received = [len(server.texts_to(95_000 + n)) for n in range(40)]
    assert received == [1] * 20 + [2] * 4 + [1] * 16
    assert await outbox_statuses(database_url) == ["sent"] * 40


async def outbox_statuses(url: str) -> list[str]:
    """The status of each message `queue_messages` queued, in order (the planner's aside)."""
    store = await Store.open(url)
    try:
        async with store.read() as repo:
            rows = await repo.connection.execute(
                select(notification.c.status)
                .where(notification.c.dedup_key.like("e2e-%"))
                .order_by(notification.c.id)
            )
            return [str(status) for (status,) in rows]
    finally:
        await store.close()


async def queue_messages(url: str, how_many: int) -> None:
    from bot.domain.clock import utc_now
    from bot.domain.models import Recipient, Role
    from tests.support.outbox import add_household

    now = utc_now()
    store = await Store.open(url)
    try:
        async with store.write() as repo:
            # Accounts of one household (the outbox sends only to accounts linked to an active
            # household) in a kecamatan of its own: no member to remind of the posyandu, no
            # payout round, so the planner adds no message of its own.
            household_id = await add_household(repo, "RTS-E2E", kecamatan_name="E2E")
            for n in range(how_many):
                someone = await repo.people.add(
                    95_000 + n, Role.HOUSEHOLD, now, household_id=household_id
                )
                await repo.notifications.queue(
                    Recipient(person_id=someone.id), "complaint.status",
                    {"ticket": f"KLH-{n}", "status": "closed"}, due_at=now,
                    dedup_key=f"e2e-{n}", now=now,
                )  # fmt: skip
    finally:
        await store.close()


def test_the_sapa_command_is_installed() -> None:
    from tests.support.bot_process import SAPA

    assert SAPA.exists() and os.access(SAPA, os.X_OK)
