"""Follow-ups (issue 16): every absence becomes one on the companion's list, with or without
Telegram; she closes it with what she did; the digest counts them, the recap measures her, and an
accepted reason excuses the month's weighing in the register."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.domain.buttons import FollowUpAction, encode
from bot.domain.conditions import Condition, Evidence, Status, parse_period
from bot.domain.models import AbsenceReason
from bot.services.attendance import record_absence
from bot.services.digest import build_digest
from bot.services.recap import build_recap
from bot.services.register import build_register
from bot.texts.digest import render_digest
from bot.texts.i18n import Translator
from jobs.planner import PlanPolicy, plan
from storage.schema import follow_up
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.outbox import WIB
from tests.support.scenes import enrolled

REFUSED = ["Maaf, itu tidak bisa dilakukan dari akun ini."]
SESSION = date(2026, 11, 30)  # Posyandu Anggrek, the last Monday of November


async def _rows(store: Store) -> list[tuple[int, str, date, str | None, str | None]]:
    query = select(
        follow_up.c.household_id,
        follow_up.c.kind,
        follow_up.c.about_date,
        follow_up.c.reason,
        follow_up.c.outcome,
    ).order_by(follow_up.c.id)
    async with store.read() as repo:
        return [tuple(row) for row in await repo.connection.execute(query)]  # type: ignore[misc]


async def test_a_missed_session_is_followed_up_and_closed_with_an_outcome(
    chat: Chat, store: Store, t_id: Translator
) -> None:
    # Nobody of RTS-2026-0001 has Telegram yet: the planner follows the absence up all the same.
    await plan(store, NOW, PlanPolicy(WIB))  # 10:00 WIB the day after the session
    async with store.read() as repo:
        numbers = await repo.households.ids_by_program_number()
        euis_staff = await repo.staff.get_by_code("PD-MKJ-1")
        mekarjaya = (await repo.geography.kecamatan_ids())["mekarjaya"]
    assert euis_staff is not None
    household = numbers["RTS-2026-0001"]
    assert await _rows(store) == [(household, "absence", SESSION, None, None)]
    await plan(store, NOW + timedelta(minutes=5), PlanPolicy(WIB))
    assert len(await _rows(store)) == 1  # once

    async with store.read() as repo:
        digest = await build_digest(repo, euis_staff.id, date(2026, 12, 1), NOW)
    assert digest is not None
    assert "• Tindak lanjut terbuka: 1 (0 lewat tenggat), lihat /tindaklanjut" in (
        render_digest(digest, t_id).text
    )

    euis = await enrolled(store, chat, "PD-MKJ-1", 7601)
    [ask] = await euis.send("/tindaklanjut")
    assert ask.startswith("Tindak lanjut terbuka: 1 (0 lewat tenggat).")
    [item] = euis.buttons()
    assert item == "RTS-2026-0001 · Sen 30 Nov · belum dijawab"
    [detail] = await euis.press(item)
    assert detail == (
        "RTS-2026-0001 Ujang Sukmana · belum ada laporan hadir posyandu Sen 30 Nov, belum menjawab\n"
        "tenggat Sen 7 Des\n"
        "Apa yang sudah Anda lakukan?"
    )
    [done] = await euis.press("✅ Alasan diterima (dikecualikan)")
    assert done == (
        "Tercatat untuk RTS-2026-0001: ✅ Alasan diterima (dikecualikan). Kirim /tindaklanjut "
        "untuk yang lain."
    )
    assert await _rows(store) == [(household, "absence", SESSION, None, "excused")]
    assert await euis.send("/tindaklanjut") == [
        "Tidak ada tindak lanjut yang terbuka. Terima kasih!"
    ]

    # The register: Aditya's November weighing is excused on her word.
    period = parse_period("2026-11")
    assert period is not None
    register = await build_register(store, mekarjaya, "Mekarjaya", period, date(2026, 12, 1))
    [line] = [h for h in register.households if h.household.program_number == "RTS-2026-0001"]
    growth = [p for m in line.members for p in m.periods if p.condition is Condition.GROWTH]
    assert [(p.status, p.evidence) for p in growth] == [
        (Status.EXCUSED, Evidence.COMPANION_DECISION)
    ]
    # The recap measures her: one follow-up closed in December.
    recap = await build_recap(store, mekarjaya, date(2026, 12, 1), now=NOW, zone=WIB)
    [row] = [c for c in recap.companions if c.code == "PD-MKJ-1"]
    assert (row.follow_ups_closed, row.median_days_to_close) == (1, 0.0)


async def test_an_answer_carries_its_reason_and_a_late_report_drops_it(
    mother: Chat, store: Store
) -> None:
    async with store.read() as repo:
        person = await repo.people.by_telegram_id(mother.user_id)
        assert person is not None and person.household_id is not None
        household = await repo.households.get(person.household_id)
    assert household is not None
    await record_absence(
        store, person, household, household.posyandu_id, SESSION, AbsenceReason.TOO_FAR, now=NOW
    )
    assert await _rows(store) == [(household.id, "absence", SESSION, "too_far", None)]
    euis = await enrolled(store, mother, "PD-MKJ-1", 7602)
    await euis.send("/tindaklanjut")
    assert euis.buttons()[0] == "RTS-2026-0001 · Sen 30 Nov · Terlalu jauh"
    # She went after all and reports it: nothing left to follow up.
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")
    await mother.press("Lewati")
    await mother.press("✅ Simpan")
    assert await euis.send("/tindaklanjut") == [
        "Tidak ada tindak lanjut yang terbuka. Terima kasih!"
    ]


async def test_other_needs_a_note_and_scope_is_checked(chat: Chat, store: Store) -> None:
    await plan(store, NOW, PlanPolicy(WIB))
    assert len(await _rows(store)) == 1
    async with store.read() as repo:
        [follow_up_id] = (await repo.connection.execute(select(follow_up.c.id))).scalars().all()
    # Hasan is not RTS-2026-0001's companion: a forged button is refused, nothing changes.
    hasan = await enrolled(store, chat, "PD-MKJ-2", 7603)
    assert await hasan.press_data(encode(FollowUpAction(follow_up_id, "phoned"))) == REFUSED
    assert await hasan.send("/tindaklanjut") == [
        "Tidak ada tindak lanjut yang terbuka. Terima kasih!"
    ]
    euis = await enrolled(store, chat, "PD-MKJ-1", 7604)
    await euis.press_data(encode(FollowUpAction(follow_up_id, "open")))
    [ask] = await euis.press("✏️ Lainnya (tulis catatan)")
    assert ask == "Mohon tulis catatan singkat tentang apa yang Anda lakukan (satu pesan)."
    [done] = await euis.send("Bertemu ibunya di pasar, akan datang bulan depan")
    assert done.startswith("Tercatat untuk RTS-2026-0001: ✏️ Lainnya (tulis catatan).")
    async with store.read() as repo:
        note = (await repo.connection.execute(select(follow_up.c.note))).scalar_one()
    assert note == "Bertemu ibunya di pasar, akan datang bulan depan"
    # A second tap on an old outcome button: already closed.
    assert await euis.press_data(encode(FollowUpAction(follow_up_id, "phoned"))) == [
        "Tindak lanjut ini sudah ditutup."
    ]
    # Households may not see the list.
    await chat.send("/start")
    await chat.send("RTS-2026-0002")
    await chat.send("880002")
    assert await chat.send("/tindaklanjut") == REFUSED


async def test_an_older_lists_button_of_a_closed_follow_up_says_so(
    chat: Chat, store: Store
) -> None:
    # Review of issue 16: it offered the outcomes again, and "other" asked for a note before
    # saying the follow-up was closed.
    await plan(store, NOW, PlanPolicy(WIB))
    euis = await enrolled(store, chat, "PD-MKJ-1", 7605)
    await euis.send("/tindaklanjut")
    [item] = euis.buttons()
    await euis.press(item)
    await euis.press("📞 Ditelepon")
    async with store.read() as repo:
        [follow_up_id] = (await repo.connection.execute(select(follow_up.c.id))).scalars().all()
    for action in ("open", "other"):
        assert await euis.press_data(encode(FollowUpAction(follow_up_id, action))) == [
            "Tindak lanjut ini sudah ditutup."
        ]
    assert [row[-1] for row in await _rows(store)] == ["phoned"]
