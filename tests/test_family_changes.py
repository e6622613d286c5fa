"""Births and new pregnancies recorded in the chat by a companion or health worker (issue 15):
the registry, the household's message, and the register follow without a re-import."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.domain.conditions import Condition, parse_period
from bot.domain.models import MemberKind
from bot.services.register import build_register
from bot.texts.i18n import Translator
from bot.texts.notices import render
from storage.schema import member, notification
from storage.store import Store
from tests.support.chat import Chat
from tests.support.scenes import enrolled

REFUSED = ["Maaf, itu tidak bisa dilakukan dari akun ini."]


async def _members(store: Store, number: str) -> dict[str, tuple[str, date | None, date | None]]:
    async with store.read() as repo:
        household = await repo.households.get_by_program_number(number)
        assert household is not None
        return {
            m.name: (m.kind.value, m.birth_date, m.due_date)
            for m in await repo.households.members(household.id)
        }


async def test_a_companion_records_a_birth_and_the_household_is_told(
    chat: Chat, store: Store, t_id: Translator
) -> None:
    await chat.send("/start")
    await chat.send("RTS-2026-0004")  # Lilis, pregnant, due 15 January 2027
    await chat.send("900004")
    dadang = await enrolled(store, chat, "PD-PDG-1", 7801)
    [usage] = await dadang.send("/kelahiran RTS-2026-0004")
    assert usage.startswith("Tulis nomor peserta, tanggal lahir, dan nama bayi")
    [summary] = await dadang.send("/kelahiran RTS-2026-0004 28/11/2026 Putri  Saputra")
    assert summary == (
        "Catat kelahiran ini?\n"
        "Keluarga: RTS-2026-0004 (Dede Saputra)\n"
        "Bayi: Putri Saputra, lahir Sabtu, 28 November 2026\n"
        "Ibu: Lilis Saputra, diikuti sebagai ibu nifas sampai Sabtu, 9 Januari 2027"
    )
    [saved] = await dadang.press("✅ Simpan")
    assert saved == "Tersimpan. Keluarga sudah diberi tahu, dan pengingatnya menyesuaikan."
    assert await _members(store, "RTS-2026-0004") == {
        "Lilis Saputra": ("pregnant", None, date(2026, 11, 28)),  # the birth replaces the due date
        "Putri Saputra": ("child", date(2026, 11, 28), None),
    }
    async with store.read() as repo:
        [row] = (
            await repo.connection.execute(
                select(notification).where(notification.c.template_key == "family.birth")
            )
        ).all()
    assert row.person_id is not None
    assert render(row.template_key, row.params, t_id).startswith(
        "Selamat atas kelahiran Putri Saputra (Sabtu, 28 November 2026)!"
    )
    # The register follows at once: Putri is weighed from November, Lilis is in nifas.
    async with store.read() as repo:
        pandeglang = (await repo.geography.kecamatan_ids())["pandeglang"]
    period = parse_period("2026-11..2027-01")
    assert period is not None
    register = await build_register(store, pandeglang, "Pandeglang", period, date(2026, 12, 1))
    [line] = [h for h in register.households if h.household.program_number == "RTS-2026-0004"]
    conditions = {(m.member.name, p.condition, p.start) for m in line.members for p in m.periods}
    assert ("Putri Saputra", Condition.GROWTH, date(2026, 11, 28)) in conditions
    assert ("Lilis Saputra", Condition.POSTNATAL, date(2026, 11, 28)) in conditions
    # Recorded twice: the name is taken now.
    await dadang.send("/kelahiran RTS-2026-0004 28/11/2026 Putri Saputra")
    assert dadang.bot_messages()[-1]["text"] == (
        "Keluarga ini sudah punya anggota dengan nama itu. Mohon periksa namanya."
    )


async def test_a_health_worker_records_a_pregnancy_for_her_posyandu_only(
    mother: Chat, store: Store
) -> None:
    nining = await enrolled(store, mother, "BD-MKJ-1", 7802)  # bidan of Posyandu Anggrek
    [summary] = await nining.send("/kehamilan RTS-2026-0001 20/06/2027 Rina Sukmana")
    assert summary == (
        "Catat kehamilan ini?\n"
        "Keluarga: RTS-2026-0001 (Ujang Sukmana)\n"
        "Ibu: Rina Sukmana (anggota baru)\n"
        "Perkiraan lahir: Minggu, 20 Juni 2027"
    )
    await nining.press("✅ Simpan")
    members = await _members(store, "RTS-2026-0001")
    assert members["Rina Sukmana"] == (MemberKind.PREGNANT.value, None, date(2027, 6, 20))
    # Her posyandu only: RTS-2026-0002 goes to Posyandu Dahlia.
    assert await nining.send("/kehamilan RTS-2026-0002 20/06/2027 Siti Nurhayati") == REFUSED
    # A due date in the past, and a household trying it, are refused politely.
    [past] = await nining.send("/kehamilan RTS-2026-0001 20/06/2026 Rina Sukmana")
    assert past.startswith("Perkiraan lahir itu tidak bisa dipakai")
    assert await mother.send("/kehamilan RTS-2026-0001 20/06/2027 Neneng") == REFUSED


async def test_a_companion_marks_a_member_pregnant_and_may_cancel(
    mother: Chat, store: Store
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7803)
    [summary] = await euis.send("/kehamilan RTS-2026-0003 2027-05-01 rohmah maulana")
    assert "Ibu: rohmah maulana (sudah tercatat sebagai anggota)" in summary
    await euis.press("Batal")
    assert (await _members(store, "RTS-2026-0003"))["Rohmah Maulana"][0] == "other"
    await euis.send("/kehamilan RTS-2026-0003 2027-05-01 Rohmah Maulana")
    await euis.press("✅ Simpan")
    assert (await _members(store, "RTS-2026-0003"))["Rohmah Maulana"] == (
        "pregnant",
        date(1991, 2, 3),
        date(2027, 5, 1),
    )
    # Not her household: RTS-2026-0002 is Hasan's.
    assert await euis.send("/kelahiran RTS-2026-0002 30/11/2026 Bayi Baru") == REFUSED
    async with store.read() as repo:
        names = (await repo.connection.execute(select(member.c.name))).scalars().all()
    assert "Bayi Baru" not in names
