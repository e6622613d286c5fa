"""Linking a Telegram user to a household, through the real Application."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.services.linking import format_code, issue_link_code
from storage.schema import person
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY
from tests.support.chat import Chat

NUMBER, NIK_TAIL = "RTS-2026-0001", "850001"  # examples/households.csv


async def linked_household_of(store: Store, user_id: int) -> int | None:
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(user_id)
    return found.household_id if found else None


async def test_link_with_programme_number_and_nik_tail(chat: Chat, store: Store) -> None:
    replies = await chat.send("/start")
    assert replies[0].startswith("Selamat datang di <b>Sapa RTS</b>")
    assert "UU PDP" in replies[0]
    assert "nomor peserta" in replies[1]

    assert await chat.send(NUMBER) == [
        "Terima kasih. Sekarang ketik 6 angka terakhir NIK kepala rumah tangga, atau kode dari "
        "pendamping."
    ]
    [done] = await chat.send(NIK_TAIL)
    assert done.startswith(
        "Selesai! Telegram ini sekarang terhubung dengan rumah tangga RTS-2026-0001."
    )
    assert chat.keyboard() == [
        "Lapor hadir posyandu", "Keluhan", "Jadwal saya", "Status keluhan", "Bahasa", "Bantuan",
    ]  # fmt: skip
    assert await linked_household_of(store, chat.user_id) is not None

    [again] = await chat.send("/start")
    assert again.startswith("Selamat datang kembali!")


async def test_wrong_secret_and_unknown_number_get_the_same_answer(
    chat: Chat, store: Store
) -> None:
    await chat.send("/start")
    await chat.send(NUMBER)
    [wrong_tail] = await chat.send("123456")
    await chat.send("RTS-9999-9999")
    [unknown_number] = await chat.send(NIK_TAIL)
    assert wrong_tail == unknown_number
    assert "tidak cocok" in wrong_tail
    assert await linked_household_of(store, chat.user_id) is None


async def test_five_failures_an_hour_then_a_calm_refusal(chat: Chat, store: Store) -> None:
    await chat.send("/start")
    for _ in range(5):
        await chat.send(NUMBER)
        await chat.send("000000")
    await chat.send(NUMBER)
    [refusal] = await chat.send(NIK_TAIL)  # even the right answer waits now
    assert refusal.startswith("Terlalu banyak percobaan.")
    assert await linked_household_of(store, chat.user_id) is None


async def test_link_code_typed_and_by_deep_link(chat: Chat, store: Store) -> None:
    code = await issue_link_code(store, NUMBER, now=NOW, actor="test", nik_key=TEST_NIK_KEY)
    assert code is not None
    await chat.send("/start")
    await chat.send(NUMBER)
    [done] = await chat.send(format_code(code).lower())
    assert done.startswith("Selesai!")

    # The code is single-use: the father cannot use the same one...
    father = Chat(chat.application, chat.api, user_id=81002, seen=len(chat.api.calls))
    replies = await father.send(f"/start link_{code}")
    assert "tidak berlaku lagi" in replies[-1]
    # ...but a fresh deep link links him in one tap, to the same household.
    second = await issue_link_code(store, NUMBER, now=NOW, actor="test", nik_key=TEST_NIK_KEY)
    [notice, linked] = await father.send(f"/start link_{second}")
    assert "UU PDP" in notice  # the privacy notice comes first, on a deep link too
    assert linked.startswith("Selesai!")
    assert await linked_household_of(store, 81001) == await linked_household_of(store, 81002)


async def test_unlink_keeps_the_person_but_not_the_household(chat: Chat, store: Store) -> None:
    await chat.send("/start")
    await chat.send(NUMBER)
    await chat.send(NIK_TAIL)
    [bye] = await chat.send("/putus")
    assert bye.startswith("Telegram ini tidak lagi terhubung dengan rumah tangga RTS-2026-0001.")
    assert await linked_household_of(store, chat.user_id) is None
    [refused] = await chat.send("/hadir")
    assert "belum terhubung" in refused
    async with store.read() as repo:
        count = (await repo.connection.execute(select(func.count()).select_from(person))).scalar()
    assert count == 1


async def test_an_expired_code_is_refused(chat: Chat, store: Store) -> None:
    from datetime import timedelta

    old = await issue_link_code(
        store, NUMBER, now=NOW - timedelta(days=15), actor="test", nik_key=TEST_NIK_KEY
    )
    replies = await chat.send(f"/start link_{old}")
    assert "tidak berlaku lagi" in replies[-1]
    assert await linked_household_of(store, chat.user_id) is None
