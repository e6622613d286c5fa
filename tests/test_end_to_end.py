"""`sapa run` as a real process, talking HTTP to a fake Bot API: a household links, reports a
visit and files a complaint; the database holds it; SIGTERM stops it cleanly; the logs hold no
token, no message text and no NIK."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from sqlalchemy import select

from bot.i18n import Translations
from storage.database import create_engine
from storage.migrate import upgrade
from storage.schema import attendance_report, complaint
from storage.store import Store
from tests.fake_bot_server import FakeBotServer
from tests.helpers import import_valid_files

SAPA = Path(sys.executable).parent / "sapa"
TOKEN = "123456789:E2EtokenE2EtokenE2EtokenE2Etoken"
MOTHER = 4_100_001
COMPLAINT_TEXT = "Antrean di kantor pos panjang sekali, kami menunggu enam jam."


async def prepare_database(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    store = await Store.open(url)
    await import_valid_files(store, Translations("id").for_language("id"))
    await store.close()
    return url


async def test_a_household_through_the_running_bot(tmp_path: Path) -> None:
    url = await prepare_database(tmp_path / "sapa.db")
    server = FakeBotServer(TOKEN)
    await server.start()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
    environment.update(TELEGRAM_BOT_TOKEN=TOKEN, SAPA_BOT_API_URL=server.base_url,
                       SAPA_DATABASE_URL=url, SAPA_QUIET_HOURS="00:00-00:00")  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        str(SAPA), "run", cwd=tmp_path, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        server.user_text(MOTHER, "/start")
        await server.wait_for(MOTHER, "nomor peserta")
        server.user_text(MOTHER, "RTS-2026-0001")
        await server.wait_for(MOTHER, "6 angka terakhir NIK")
        server.user_text(MOTHER, "850001")
        await server.wait_for(MOTHER, "Selesai! Telegram ini sekarang terhubung")

        server.user_text(MOTHER, "Lapor hadir posyandu")
        await server.wait_for(MOTHER, "Siapa yang ke posyandu?")
        server.user_presses(MOTHER, "Aditya Sukmana (balita)")
        await server.wait_for(MOTHER, "Kapan Aditya Sukmana ke posyandu?")
        server.user_presses(MOTHER, "Kemarin")
        await server.wait_for(MOTHER, "Apakah ada foto")
        server.user_presses(MOTHER, "Lewati")
        await server.wait_for(MOTHER, "Mohon periksa laporan Anda")
        server.user_presses(MOTHER, "✅ Simpan")
        await server.wait_for(MOTHER, "Laporan Anda sudah disimpan")

        server.user_text(MOTHER, "/keluhan")
        await server.wait_for(MOTHER, "Keluhan Anda tentang apa?")
        server.user_presses(MOTHER, "Pencairan bantuan")
        await server.wait_for(MOTHER, "Silakan ceritakan masalahnya")
        server.user_text(MOTHER, COMPLAINT_TEXT)
        await server.wait_for(MOTHER, "Jika foto membantu")
        server.user_presses(MOTHER, "Lewati")
        await server.wait_for(MOTHER, "Mohon periksa keluhan Anda")
        server.user_presses(MOTHER, "📨 Kirim")
        ticket = await server.wait_for(MOTHER, "kode tiket")
        assert "KLH-" in ticket
        assert "setMyCommands" in server.calls and "deleteWebhook" in server.calls
    finally:
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
        await server.stop()
    assert process.returncode == 0, stderr.decode()

    store = await Store.open(url)
    async with store.read() as repo:
        reports = (await repo.connection.execute(select(attendance_report))).all()
        complaints = (await repo.connection.execute(select(complaint))).all()
    await store.close()
    assert len(reports) == 1 and len(complaints) == 1
    assert complaints[0].text == COMPLAINT_TEXT

    logs = stderr.decode()
    assert "bot_starting" in logs
    for secret in (TOKEN, TOKEN.split(":")[1], COMPLAINT_TEXT, "850001", "3601290305850001"):
        assert secret not in logs, secret
