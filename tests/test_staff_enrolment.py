"""Staff enrolment by invite link, coordinators' /undang, and /sesi in the chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.domain.models import Role
from bot.services.enrolment import INVITE_PREFIX, InviteOutcome, issue_invite
from storage.schema import invite, session_change
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat


async def invite_link(store: Store, code: str, role: Role | None = None) -> str:
    made = await issue_invite(store, code, now=NOW, actor="test", role=role)
    assert made.outcome is InviteOutcome.ISSUED and made.token is not None
    assert len(made.token) * 6 >= 128 and len(INVITE_PREFIX + made.token) <= 64
    return f"/start {INVITE_PREFIX}{made.token}"


async def test_an_invite_enrols_once(chat: Chat, store: Store) -> None:
    start = await invite_link(store, "PD-MKJ-1", Role.COMPANION)
    [welcome] = await chat.send(start)
    assert welcome.startswith(
        "Selamat datang, Euis Rohmah. Telegram ini sekarang terdaftar sebagai pendamping"
    )
    async with store.read() as repo:
        person = await repo.people.by_telegram_id(chat.user_id)
        staff = await repo.staff.get_by_code("PD-MKJ-1")
    assert person is not None and staff is not None
    assert (person.role, person.staff_id) == (Role.COMPANION, staff.id)
    async with store.read() as repo:
        [row] = (await repo.connection.execute(select(invite))).all()
    assert row.used_by == person.id and row.token_digest not in start  # only a digest is kept

    other = Chat(chat.application, chat.api, 81777, seen=len(chat.api.calls))
    [refused] = await other.send(start)
    assert refused.startswith("Tautan undangan ini tidak berlaku")


@pytest.mark.parametrize("token", ["inv_unknown-token-xxxxxxxxxxxxxxxxxxxxxxx", "inv_", "inv_💥"])
async def test_unknown_invites_are_refused_calmly(chat: Chat, token: str) -> None:
    [refused] = await chat.send(f"/start {token}")
    assert refused.startswith("Tautan undangan ini tidak berlaku")


async def test_an_expired_invite_is_refused(chat: Chat, store: Store) -> None:
    made = await issue_invite(store, "PD-MKJ-2", now=NOW - timedelta(days=8), actor="test")
    [refused] = await chat.send(f"/start {INVITE_PREFIX}{made.token}")
    assert refused.startswith("Tautan undangan ini tidak berlaku")


async def test_a_new_phone_replaces_the_old_one(chat: Chat, store: Store) -> None:
    await chat.send(await invite_link(store, "KO-MKJ"))
    new_phone = Chat(chat.application, chat.api, 81888, seen=len(chat.api.calls))
    await new_phone.send(await invite_link(store, "KO-MKJ"))
    async with store.read() as repo:
        old = await repo.people.by_telegram_id(chat.user_id)
        new = await repo.people.by_telegram_id(81888)
    assert old is not None and old.staff_id is None
    assert new is not None and new.role is Role.COORDINATOR and new.staff_id is not None


async def test_coordinator_invites_own_kecamatan_only(chat: Chat, store: Store) -> None:
    await chat.send(await invite_link(store, "KO-MKJ"))
    [link] = await chat.send("/undang PD-MKJ-2")
    assert link.startswith("Undangan untuk Hasan Nugraha sebagai pendamping,")
    assert "https://t.me/sapa_rts_bot?start=inv_" in link
    [other_kecamatan] = await chat.send("/undang PD-PDG-1")
    assert other_kecamatan == "Maaf, itu tidak bisa dilakukan dari akun ini."
    [a_peer] = await chat.send(
        "/undang KO-MKJ"
    )  # coordinators invite companions and health workers
    assert a_peer == "Maaf, itu tidak bisa dilakukan dari akun ini."
    [unknown] = await chat.send("/undang XX-1")
    assert unknown == "Tidak ada petugas dengan kode XX-1."


async def test_households_cannot_use_staff_commands(mother: Chat, store: Store) -> None:
    assert await mother.send("/undang PD-MKJ-2") == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]
    assert await mother.send("/sesi batal P-MKJ-02 2026-12-08") == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]
    # A fake or forwarded-and-used invite: refused as such, never "send /putus first".
    for fake in ("inv_whatever", "inv_" + "A" * 32):  # the second shaped like a real one
        [refused] = await mother.send(f"/start {fake}")
        assert refused.startswith("Tautan undangan ini tidak berlaku")
        assert "/putus" not in refused
    async with store.read() as repo:
        person = await repo.people.by_telegram_id(mother.user_id)
    assert person is not None and person.household_id is not None  # still linked, untouched


async def test_a_real_invite_opened_by_a_household_account_stays_unused(
    mother: Chat, store: Store
) -> None:
    made = await issue_invite(store, "PD-MKJ-2", now=NOW, actor="test")
    [told] = await mother.send(f"/start {INVITE_PREFIX}{made.token}")
    assert told.startswith("Telegram ini terhubung dengan rumah tangga.")
    async with store.read() as repo:
        used = (await repo.connection.execute(select(invite.c.used_at))).scalars().all()
    assert used == [None]  # Hasan can still open it on his own phone


async def test_coordinator_moves_a_session_of_own_kecamatan(chat: Chat, store: Store) -> None:
    await chat.send(await invite_link(store, "KO-MKJ"))
    [moved] = await chat.send("/sesi pindah P-MKJ-02 2026-12-08 10/12/2026")
    assert moved.startswith("Jadwal Selasa, 8 Desember 2026 dipindah ke Kamis, 10 Desember 2026.")
    assert await chat.send("/sesi batal P-PDG-02 2026-12-08") == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]
    [usage] = await chat.send("/sesi pindah P-MKJ-02")
    assert usage.startswith("Tulis, misalnya: /sesi pindah")
    [not_a_session] = await chat.send("/sesi batal P-MKJ-02 2026-12-09")
    assert "tidak buka pada Rabu, 9 Desember 2026" in not_a_session
    async with store.read() as repo:
        rows = (await repo.connection.execute(select(session_change))).all()
    assert len(rows) == 1


async def test_my_schedule_shows_a_moved_session_and_skips_a_cancelled_one(
    mother: Chat, store: Store
) -> None:
    [before] = await mother.send("/jadwal")
    assert before.startswith("<b>Posyandu berikutnya</b>: Senin, 28 Desember 2026")
    coordinator = Chat(mother.application, mother.api, user_id=81077, seen=len(mother.api.calls))
    await coordinator.send(await invite_link(store, "KO-MKJ"))
    await coordinator.send("/sesi pindah P-MKJ-01 2026-12-28 29/12/2026")
    mother.seen = len(mother.api.calls)
    [moved] = await mother.send("/jadwal")
    assert moved.startswith("<b>Posyandu berikutnya</b>: Selasa, 29 Desember 2026")
    await coordinator.send("/sesi batal P-MKJ-01 2026-12-28")
    mother.seen = len(mother.api.calls)
    [cancelled] = await mother.send("/jadwal")
    assert cancelled.startswith("<b>Posyandu berikutnya</b>: Senin, 25 Januari 2027")


@pytest.mark.parametrize(("code", "role", "command"), [
    ("KO-MKJ", "koordinator kecamatan", "• /rekap [2026-11]: rekap dan grafik kecamatan"),
    ("PD-MKJ-1", "pendamping", "• /rumahtangga: rumah tangga dampingan Anda, dengan saringan"),
    ("BD-MKJ-1", "tenaga kesehatan (bidan / kader)",
     "• /konfirmasi: konfirmasi siapa yang datang ke posyandu Anda"),
])  # fmt: skip
async def test_start_from_staff_greets_them_with_their_role_and_commands(
    chat: Chat, store: Store, code: str, role: str, command: str
) -> None:
    await chat.send(await invite_link(store, code))
    [greeting] = await chat.send("/start")
    lines = greeting.split("\n")
    assert lines[:2] == [
        f"Telegram ini terdaftar sebagai {role}.",
        "Yang bisa Anda lakukan di sini:",
    ]
    assert command in lines
    assert await chat.send("/bantuan") == ["\n".join(lines[1:])]  # the same commands as /bantuan
    assert "UU PDP" not in greeting and "nomor peserta" not in greeting  # not the household's
