"""Guessing a household's link secret is limited per household across Telegram accounts, and a
companion's link code still works for a mother whose account was locked out."""

from __future__ import annotations

from bot.services.digest import build_digest
from bot.services.linking import issue_link_code
from bot.texts.digest import render_digest
from bot.texts.i18n import Translator
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY
from tests.support.chat import Chat

NUMBER, NIK_TAIL = "RTS-2026-0001", "850001"  # examples/households.csv
REFUSED = "tidak cocok"


async def household_of(store: Store, user_id: int) -> int | None:
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(user_id)
    return found.household_id if found else None


async def guess(chat: Chat, secret: str) -> str:
    await chat.send("/start")
    await chat.send(NUMBER)
    return (await chat.send(secret))[-1]


async def test_ten_wrong_guesses_from_several_accounts_lock_the_nik_path(
    chat: Chat, store: Store, t_id: Translator
) -> None:
    for n in range(10):  # 4 + 4 + 2 guesses: no account reaches its own limit of 5
        guesser = Chat(chat.application, chat.api, 82000 + n // 4, seen=len(chat.api.calls))
        assert REFUSED in await guess(guesser, f"{100000 + n}")
    # The right NIK digits, from a fresh account, no longer link this household today...
    mother = Chat(chat.application, chat.api, 83001, seen=len(chat.api.calls))
    assert REFUSED in await guess(mother, NIK_TAIL)
    assert await household_of(store, mother.user_id) is None
    # ...another household is not affected...
    other = Chat(chat.application, chat.api, 83002, seen=len(chat.api.calls))
    await other.send("/start")
    await other.send("RTS-2026-0002")
    [linked] = await other.send("880002")
    assert linked.startswith("Selesai!")
    # ...the companion sees it in the morning digest...
    async with store.read() as repo:
        euis = await repo.staff.get_by_code("PD-MKJ-1")
        assert euis is not None
        params = await build_digest(repo, euis.id, NOW.date(), NOW)
    assert params is not None and params.locked == ["RTS-2026-0001 Ujang Sukmana"]
    digest = render_digest(params, t_id).text
    assert "• Penautan dikunci karena percobaan salah: 1" in digest
    # ...and her link code links the mother at once.
    code = await issue_link_code(store, NUMBER, now=NOW, actor="test", nik_key=TEST_NIK_KEY)
    assert code is not None
    assert (await guess(mother, code)).startswith("Selesai!")
    assert await household_of(store, mother.user_id) is not None


async def test_a_locked_out_account_still_links_with_a_link_code(chat: Chat, store: Store) -> None:
    await chat.send("/start")
    for _ in range(5):
        await chat.send(NUMBER)
        await chat.send("000000")
    assert (await guess(chat, NIK_TAIL)).startswith("Terlalu banyak percobaan.")
    code = await issue_link_code(store, NUMBER, now=NOW, actor="test", nik_key=TEST_NIK_KEY)
    assert code is not None
    assert (await guess(chat, code)).startswith("Selesai!")


async def test_a_locked_out_account_still_links_with_the_deep_link(
    chat: Chat, store: Store
) -> None:
    await chat.send("/start")
    for _ in range(5):
        await chat.send(NUMBER)
        await chat.send("000000")
    code = await issue_link_code(store, NUMBER, now=NOW, actor="test", nik_key=TEST_NIK_KEY)
    assert code is not None
    [*_, linked] = await chat.send(f"/start link_{code}")
    assert linked.startswith("Selesai!")


async def test_a_locked_out_account_guessing_codes_is_still_refused(chat: Chat) -> None:
    await chat.send("/start")
    for _ in range(5):
        await chat.send(NUMBER)
        await chat.send("000000")
    assert (await guess(chat, "ABCD-EFGH")).startswith("Terlalu banyak percobaan.")


async def test_a_greeting_is_not_a_programme_number_and_costs_no_attempt(
    chat: Chat, store: Store
) -> None:
    await chat.send("/start")
    for _ in range(6):
        [answer] = await chat.send("halo")
        assert answer.startswith("Itu sepertinya bukan nomor peserta.")
    await chat.send(NUMBER)
    [linked] = await chat.send(NIK_TAIL)  # no attempt was spent on the greetings
    assert linked.startswith("Selesai!")


async def test_a_programme_number_typed_after_a_lockout_says_how_to_begin(chat: Chat) -> None:
    await chat.send("/start")
    for _ in range(5):
        await chat.send(NUMBER)
        await chat.send("000000")
    assert (await guess(chat, NIK_TAIL)).startswith("Terlalu banyak percobaan.")
    assert await chat.send(NUMBER) == [
        "Untuk menghubungkan Telegram ini dengan rumah tangga Ibu/Bapak, kirim /start dulu, lalu "
        "ketik nomor peserta."
    ]
