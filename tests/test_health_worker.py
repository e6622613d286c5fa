"""Health workers confirm attendance: the cross-check the study found missing."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.models import Role
from bot.runtime.app import build_application
from bot.runtime.console import ConsoleBotApi, ConsoleChat
from bot.services.enrolment import INVITE_PREFIX, issue_invite
from jobs.planner import PlanPolicy, plan
from storage.schema import attendance_report, member, notification, person
from storage.store import Store
from tests.conftest import NOW, TOKEN
from tests.support.chat import Chat
from tests.support.outbox import WIB
from tests.support.scenes import enrolled, report_visit


async def test_confirming_cross_checks_and_creates(mother: Chat, store: Store) -> None:
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)  # 30 November
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7601)  # Posyandu Anggrek, met 30 November

    [ask] = await bidan.send("/konfirmasi")
    assert ask == "Posyandu Anggrek, Senin, 30 November 2026: ketuk nama yang datang, lalu Simpan."
    assert bidan.buttons() == [
        "▫️ Neneng Sukmana (RTS-2026-0001)", "▫️ Aditya Sukmana (RTS-2026-0001)", "Simpan (0)", "Batal",
    ]  # fmt: skip
    assert await bidan.press("Simpan (0)") == ["Ketuk paling sedikit satu nama dulu."]
    # Toggling edits the same message's buttons (no new message).
    await bidan.press("▫️ Neneng Sukmana (RTS-2026-0001)")
    await bidan.press("▫️ Aditya Sukmana (RTS-2026-0001)")
    edits = [c.params for c in bidan.api.calls if c.method == "editMessageReplyMarkup"]
    last = edits[-1]["reply_markup"]["inline_keyboard"]
    assert [row[0]["text"] for row in last][:3] == [
        "✅ Neneng Sukmana (RTS-2026-0001)", "✅ Aditya Sukmana (RTS-2026-0001)", "Simpan (2)",
    ]  # fmt: skip
    save = last[2][0]["callback_data"]
    [saved] = await bidan.press_data(save)
    assert saved == (
        "Tersimpan. 1 cocok dengan laporan rumah tangga sendiri (tercek silang); 1 dicatat "
        "berdasarkan keterangan Anda."
    )
    async with store.read() as repo:
        rows = {r.name: r for r in (await repo.connection.execute(
            select(member.c.name, attendance_report.c.status, attendance_report.c.reported_by,
                   attendance_report.c.confirmed_by_health_worker).join(member))).all()}  # fmt: skip
    assert rows["Aditya Sukmana"].status == "cross_checked"
    assert rows["Aditya Sukmana"].reported_by is not None  # the household's own report
    assert rows["Neneng Sukmana"].status == "verified"
    assert rows["Neneng Sukmana"].reported_by is None  # on the bidan's word alone
    assert rows["Neneng Sukmana"].confirmed_by_health_worker is not None


async def test_household_reporting_after_the_bidan_cross_checks(mother: Chat, store: Store) -> None:
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7606)  # Posyandu Anggrek, met 30 November
    await bidan.send("/konfirmasi")
    await bidan.press("▫️ Aditya Sukmana (RTS-2026-0001)")
    edits = [c.params for c in bidan.api.calls if c.method == "editMessageReplyMarkup"]
    save = edits[-1]["reply_markup"]["inline_keyboard"][2][0]
    assert save["text"] == "Simpan (1)"
    assert await bidan.press_data(save["callback_data"]) == [
        "Tersimpan. 0 cocok dengan laporan rumah tangga sendiri (tercek silang); 1 dicatat "
        "berdasarkan keterangan Anda."
    ]

    # The household reports the same visit afterwards, with its photo of the KMS card.
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")  # 30 November
    await mother.send_photo("AgACkms-after-bidan")
    assert await mother.press("✅ Simpan") == [
        "Terima kasih! Laporan Anda sudah disimpan. Kunjungan ini sudah dikonfirmasi oleh "
        "petugas posyandu, jadi sudah tercatat dan tidak perlu apa-apa lagi."
    ]
    # Reporting it once more changes nothing and is answered politely.
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    assert mother.bot_messages()[-1]["text"] == (
        "Kunjungan ini sudah tercatat, jadi tidak perlu dilaporkan lagi. Terima kasih!"
    )

    async with store.read() as repo:
        [row] = (await repo.connection.execute(select(attendance_report))).all()
        household_person = (await repo.connection.execute(
            select(person.c.id).where(person.c.telegram_user_id == mother.user_id))).scalar()  # fmt: skip
        bidan_person = (await repo.connection.execute(
            select(person.c.id).where(person.c.telegram_user_id == bidan.user_id))).scalar()  # fmt: skip
        asked = (await repo.connection.execute(select(notification.c.id).where(
            notification.c.template_key == "attendance.reported"))).all()  # fmt: skip
    assert row.status == "cross_checked"
    assert row.session_date.isoformat() == "2026-11-30"
    assert (row.reported_by, row.proof_file_id) == (household_person, "AgACkms-after-bidan")
    assert row.confirmed_by_health_worker == row.verified_by == bidan_person
    assert asked == []  # nothing for the companion to verify

    euis = await enrolled(store, mother, "PD-MKJ-1", 7607)
    assert await euis.send("/verifikasi") == ["Tidak ada laporan yang menunggu verifikasi."]


async def test_others_cannot_confirm(mother: Chat, store: Store) -> None:
    assert await mother.send("/konfirmasi") == ["Maaf, Anda tidak diizinkan melakukan itu."]
    euis = await enrolled(store, mother, "PD-MKJ-1", 7602)
    assert await euis.send("/konfirmasi") == ["Maaf, Anda tidak diizinkan melakukan itu."]
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7603)
    await bidan.send("/konfirmasi")
    nonce = bidan.bot_messages()[-1]["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ].split(":")[1]
    async with store.read() as repo:
        stranger = (await repo.connection.execute(
            select(member.c.id).where(member.c.name == "Bunga Setiawan"))).scalar()  # fmt: skip
    # A member of another posyandu's household, forged into the button data: refused, and the
    # list is not changed.
    assert await bidan.press_data(f"hw:{nonce}:toggle:{stranger}") == [
        "Maaf, Anda tidak diizinkan melakukan itu."
    ]
    assert not [c for c in bidan.api.calls if c.method == "editMessageReplyMarkup"]


async def test_the_planner_asks_health_workers_after_the_session(
    mother: Chat, store: Store
) -> None:
    async with store.write() as repo:
        bidan = await repo.staff.get_by_code("BD-MKJ-1")
        assert bidan is not None
        await repo.people.add(7604, Role.HEALTH_WORKER, datetime(2026, 11, 1, tzinfo=UTC),
                              staff_id=bidan.id)  # fmt: skip
    session_day = datetime(2026, 11, 30, 13, 0, tzinfo=WIB)
    await plan(store, session_day.astimezone(UTC), PlanPolicy(WIB))
    async with store.read() as repo:
        prompts = (await repo.connection.execute(select(notification).where(
            notification.c.template_key == "posyandu.confirm_prompt"))).all()  # fmt: skip
    assert [(p.staff_id, p.due_at) for p in prompts] == [(bidan.id, session_day.astimezone(UTC))]


async def test_a_second_confirmation_changes_nothing_and_a_report_in_between_is_kept(
    mother: Chat, store: Store
) -> None:
    """Confirming twice does not make the bidan's own attendance 'cross-checked'; a household
    report saved just before her confirmation (a race) is cross-checked, not an error."""
    from datetime import date

    from tests.conftest import NOW

    async with store.write() as repo:
        anggrek = await repo.geography.get_posyandu("P-MKJ-01")
        bidan = await repo.people.add(7950, Role.HEALTH_WORKER, NOW)
        found = await repo.connection.execute(select(member.c.id, member.c.name))
        ids = {name: member_id for member_id, name in found}
        mother_person = await repo.people.by_telegram_id(mother.user_id)
    assert anggrek is not None and mother_person is not None
    aditya, neneng = ids["Aditya Sukmana"], ids["Neneng Sukmana"]
    day = date(2026, 11, 30)
    for _ in range(2):
        async with store.write() as repo:
            assert not await repo.attendance.confirm_by_health_worker(
                aditya, anggrek.id, day, bidan.id, NOW
            )
    async with store.write() as repo:  # the household's report lands first ...
        assert await repo.attendance.add_reported(
            neneng, anggrek.id, day, None, mother_person.id, NOW
        )
        # ... and the bidan's confirmation right after it, without having seen it
        assert await repo.attendance.confirm_by_health_worker(
            neneng, anggrek.id, day, bidan.id, NOW
        )
    async with store.read() as repo:
        rows = await repo.connection.execute(
            select(attendance_report.c.member_id, attendance_report.c.status)
        )
        statuses = dict(rows.all())
    assert statuses == {aditya: "verified", neneng: "cross_checked"}


async def test_the_console_shows_the_buttons_a_tick_brings(mother: Chat, store: Store) -> None:
    """In `sapa console` a bidan ticks several names: each tick edits the buttons, and the
    console offers the edited ones (it used to drop them after the first tick)."""
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    made = await issue_invite(store, "BD-MKJ-1", now=NOW, actor="test")
    out = io.StringIO()
    api = ConsoleBotApi(out)
    services = mother.application.bot_data["services"]
    application = build_application(services, request=api, token=TOKEN)
    async with application:
        bidan = ConsoleChat(application, api, user_id=7602)
        for line in [f"/start {INVITE_PREFIX}{made.token}", "/konfirmasi", "1", "2"]:
            await bidan.handle(line)
        assert [b.label for b in api.choices()][:3] == [
            "✅ Neneng Sukmana (RTS-2026-0001)", "✅ Aditya Sukmana (RTS-2026-0001)", "Simpan (2)",
        ]  # fmt: skip
        await bidan.handle("3")
    assert "🤖 Tersimpan. 1 cocok dengan laporan rumah tangga sendiri" in out.getvalue()
