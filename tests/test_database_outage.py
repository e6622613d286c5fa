"""A database outage loses nothing: the user is told to try again (the apology needs no
database), the flow in progress survives, and the same answer works once the database is back."""

from __future__ import annotations

from sqlalchemy import select

from bot.runtime.app import SapaApplication
from storage.database import create_engine
from storage.schema import attendance_report
from storage.store import Store
from tests.support.chat import Chat

APOLOGY = "Maaf, terjadi gangguan di sistem kami. Silakan coba lagi sebentar lagi."


def outage(application: SapaApplication) -> Store:
    """Cut the bot off its database (a server that refuses connections); returns the real one."""
    services = application.bot_data["services"]
    real: Store = services.store
    services.store = Store(create_engine("postgresql+asyncpg://sapa@127.0.0.1:9/down"))
    return real


async def test_start_during_an_outage_gets_an_apology(chat: Chat) -> None:
    real = outage(chat.application)
    assert await chat.send("/start") == [APOLOGY]
    chat.application.bot_data["services"].store = real
    assert (await chat.send("/start"))[0].startswith("Selamat datang di <b>Sapa RTS</b>")


async def test_an_answer_in_the_middle_of_a_flow_is_kept_for_after_the_outage(
    mother: Chat, store: Store
) -> None:
    await mother.send("Lapor hadir posyandu")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")
    await mother.press("Lewati")
    real = outage(mother.application)
    assert await mother.press("✅ Simpan") == [APOLOGY]
    assert "answerCallbackQuery" in [c.method for c in mother.api.calls[-3:]]
    mother.application.bot_data["services"].store = real
    [saved] = await mother.press("✅ Simpan")
    assert saved.startswith("Terima kasih")
    async with store.read() as repo:
        assert len((await repo.connection.execute(select(attendance_report))).all()) == 1
