"""Health workers confirm attendance: the cross-check the study found missing.

/konfirmasi through the real Application: a bidan with several posyandu picks one; the list is
paged and searchable, shows what the household reported and what was confirmed before; she
confirms or disputes a report; "Selesai" flags the reports she left to their companions.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from bot.domain.models import Role
from bot.runtime.app import build_application
from bot.runtime.console import ConsoleBotApi, ConsoleChat
from bot.services.enrolment import INVITE_PREFIX, issue_invite
from bot.services.registry.importer import ImportKind, import_file
from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render
from jobs.planner import PlanPolicy, plan
from storage.schema import (
    attendance_report,
    audit_log,
    member,
    notification,
    person,
    posyandu,
    staff,
    staff_posyandu,
)
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY, TOKEN
from tests.support.chat import Chat
from tests.support.helpers import add_households_for_euis, write_csv
from tests.support.outbox import WIB
from tests.support.scenes import enrolled, report_visit

OLD_BUTTON = "Itu tombol lama. Silakan mulai lagi dari menu."
REFUSED = "Maaf, itu tidak bisa dilakukan dari akun ini."
LIST_HEAD = (
    "Posyandu Anggrek, Senin, 30 November 2026: ketuk nama untuk mengonfirmasi kehadirannya.\n"
    "📋 dilaporkan keluarga · ✅ dikonfirmasi · ❌ tidak hadir menurut bidan\n"
)
TYPE_TO_SEARCH = "Ketik sebagian nama untuk mencari. Ketuk Selesai jika sudah semua."
NENENG, ADITYA = "Neneng Sukmana (RTS-2026-0001)", "Aditya Sukmana (RTS-2026-0001)"


async def _rows(store: Store) -> dict[str, object]:
    async with store.read() as repo:
        found = await repo.connection.execute(
            select(member.c.name, attendance_report)
            .select_from(attendance_report)
            .join(member, member.c.id == attendance_report.c.member_id)
        )
        return {row.name: row for row in found.all()}


async def _people_file(store: Store, t: Translator, folder: Path, posyandu_codes: str) -> object:
    """The example people file, with Bidan Nining's posyandu column replaced."""
    text = (Path(__file__).resolve().parents[1] / "examples" / "people.csv").read_text("utf-8")
    text = text.replace(";bidan;Mekarjaya;P-MKJ-01", f';bidan;Mekarjaya;"{posyandu_codes}"')
    path = folder / "people.csv"
    path.write_text(text, "utf-8")
    return await import_file(
        store, ImportKind.PEOPLE, path, t, now=NOW, nik_key=TEST_NIK_KEY, progress=False
    )


async def _served(store: Store, code: str) -> tuple[list[str], str | None]:
    """The codes of the posyandu a staff member serves, and the one in staff.posyandu_id."""
    async with store.read() as repo:
        connection = repo.connection
        codes = (await connection.execute(
            select(posyandu.c.code).select_from(staff_posyandu).join(posyandu)
            .join(staff, staff.c.id == staff_posyandu.c.staff_id)
            .where(staff.c.code == code).order_by(posyandu.c.code))).scalars().all()  # fmt: skip
        primary = (await connection.execute(
            select(posyandu.c.code).join(staff, staff.c.posyandu_id == posyandu.c.id)
            .where(staff.c.code == code))).scalar()  # fmt: skip
    return list(codes), primary


async def test_confirming_cross_checks_and_creates(mother: Chat, store: Store) -> None:
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)  # 30 November
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7601)  # Posyandu Anggrek, met 30 November

    [shown] = await bidan.send("/konfirmasi")
    assert shown == LIST_HEAD + TYPE_TO_SEARCH
    assert bidan.screen()[1] == [f"▫️ {NENENG}", f"📋 {ADITYA}", "Selesai"]
    # A name the household reported: confirm or dispute (each tap edits the same message).
    assert await bidan.tap(f"📋 {ADITYA}") == []
    text, buttons = bidan.screen()
    assert text == (
        "<b>Aditya Sukmana</b> (RTS-2026-0001), balita\n"
        "Sesi posyandu: Posyandu Anggrek, Senin, 30 November 2026\n"
        "📋 Dilaporkan keluarga (foto bukti: tidak).\nApakah dia datang ke posyandu?"
    )
    assert buttons == ["✅ Hadir", "❌ Tidak hadir", "◀ Kembali ke daftar"]
    await bidan.tap("✅ Hadir")
    assert bidan.screen()[1] == [f"▫️ {NENENG}", f"✅ {ADITYA}", "Selesai"]
    # A name without a report: only confirming (on her word); nothing to dispute.
    await bidan.tap(f"▫️ {NENENG}")
    assert bidan.screen()[1] == ["✅ Hadir", "◀ Kembali ke daftar"]
    assert "▫️ Belum dilaporkan keluarga." in bidan.screen()[0]
    await bidan.tap("✅ Hadir")
    assert bidan.screen()[1] == [f"✅ {NENENG}", f"✅ {ADITYA}", "Selesai"]

    rows = await _rows(store)
    assert rows["Aditya Sukmana"].status == "cross_checked"  # type: ignore[attr-defined]
    assert rows["Aditya Sukmana"].reported_by is not None  # type: ignore[attr-defined]
    assert rows["Neneng Sukmana"].status == "verified"  # type: ignore[attr-defined]
    assert rows["Neneng Sukmana"].reported_by is None  # type: ignore[attr-defined]
    assert rows["Neneng Sukmana"].confirmed_by_health_worker is not None  # type: ignore[attr-defined]

    # Reopened: her ticks are remembered, and a confirmed name offers no confirmation again.
    await bidan.send("/konfirmasi")
    assert bidan.screen()[1] == [f"✅ {NENENG}", f"✅ {ADITYA}", "Selesai"]
    await bidan.tap(f"✅ {ADITYA}")
    text, buttons = bidan.screen()
    assert "✅ Sudah dikonfirmasi petugas kesehatan." in text
    assert buttons == ["◀ Kembali ke daftar"]
    await bidan.tap("◀ Kembali ke daftar")
    assert bidan.screen() == (
        LIST_HEAD + TYPE_TO_SEARCH,
        [f"✅ {NENENG}", f"✅ {ADITYA}", "Selesai"],
    )


async def test_household_reporting_after_the_bidan_cross_checks(mother: Chat, store: Store) -> None:
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7606)  # Posyandu Anggrek, met 30 November
    await bidan.send("/konfirmasi")
    await bidan.tap(f"▫️ {ADITYA}")
    await bidan.tap("✅ Hadir")
    assert f"✅ {ADITYA}" in bidan.screen()[1]

    # The household reports the same visit afterwards, with its photo of the KMS card.
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")  # 30 November
    await mother.send_photo("AgACkms-after-bidan")
    assert await mother.press("✅ Simpan") == [
        "Terima kasih! Laporan Ibu/Bapak sudah disimpan. Kunjungan ini sudah dikonfirmasi oleh "
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
    assert await mother.send("/konfirmasi") == [REFUSED]
    euis = await enrolled(store, mother, "PD-MKJ-1", 7602)
    assert await euis.send("/konfirmasi") == [REFUSED]
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7603)
    await bidan.send("/konfirmasi")
    nonce = bidan.bot_messages()[-1]["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ].split(":")[1]
    async with store.read() as repo:
        stranger = (await repo.connection.execute(
            select(member.c.id).where(member.c.name == "Bunga Setiawan"))).scalar()  # fmt: skip
    # A member of another posyandu's household, forged into the button data: refused, and
    # neither the list nor the database changes.
    for action in ("open", "yes", "no"):
        assert await bidan.press_data(f"hw:{nonce}:{action}:{stranger}") == [REFUSED]
    assert not [c for c in bidan.api.calls if c.method.startswith("editMessage")]
    assert await _rows(store) == {}


async def test_a_bidan_with_two_posyandu_picks_one(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    report = await _people_file(store, t_id, tmp_path, "P-MKJ-02;P-MKJ-01")
    assert report.ok, report.problems  # type: ignore[attr-defined]
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7610)
    assert await bidan.send("/konfirmasi") == ["Posyandu yang mana?"]
    assert bidan.screen()[1] == [
        "Posyandu Anggrek (Sen 30 Nov)",
        "Posyandu Dahlia (tidak ada sesi dalam 7 hari terakhir)",
    ]
    # Dahlia met on 10 November: nothing to confirm, and she can still pick the other one.
    assert await bidan.tap("Posyandu Dahlia (tidak ada sesi dalam 7 hari terakhir)") == [
        "Posyandu Dahlia tidak mengadakan sesi dalam 7 hari terakhir. Pilih posyandu lain."
    ]
    assert await bidan.tap("Posyandu Anggrek (Sen 30 Nov)") == [LIST_HEAD + TYPE_TO_SEARCH]
    await bidan.tap(f"▫️ {ADITYA}")
    await bidan.tap("✅ Hadir")
    assert (await _rows(store))["Aditya Sukmana"].confirmed_by_health_worker is not None  # type: ignore[attr-defined]


async def test_a_forged_posyandu_is_an_old_button(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await _people_file(store, t_id, tmp_path, "P-MKJ-01;P-MKJ-02")
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7611)
    await bidan.send("/konfirmasi")
    nonce = bidan.bot_messages()[-1]["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ].split(":")[1]
    async with store.read() as repo:
        flamboyan = await repo.geography.get_posyandu("P-MKJ-03")  # same kecamatan, not hers
        audited = len((await repo.connection.execute(select(audit_log))).all())
    assert flamboyan is not None
    assert await bidan.press_data(f"hw:{nonce}:pick:{flamboyan.id}") == [OLD_BUTTON]
    # The flow is over: its other buttons are old too, and nothing was written.
    assert await bidan.press_data(f"hw:{nonce}:done") != []
    assert await _rows(store) == {}
    async with store.read() as repo:
        assert len((await repo.connection.execute(select(audit_log))).all()) == audited
        assert (await repo.connection.execute(select(notification.c.id).where(
            notification.c.template_key == "attendance.not_confirmed"))).all() == []  # fmt: skip

    # Taken away by a re-import while her list is open: the next tap is an old button.
    await bidan.send("/konfirmasi")
    await bidan.tap("Posyandu Anggrek (Sen 30 Nov)")
    await _people_file(store, t_id, tmp_path, "P-MKJ-02")
    assert await bidan.tap(f"▫️ {ADITYA}") == [OLD_BUTTON]
    assert await _rows(store) == {}


async def test_the_list_is_paged_and_searchable(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await add_households_for_euis(store, t_id, tmp_path, 20)  # Anak 0 .. Anak 19, at Anggrek
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7612)
    await bidan.send("/konfirmasi")
    assert bidan.screen()[1] == [f"▫️ {NENENG}", f"▫️ {ADITYA}",
                       *(f"▫️ Anak {n} (RTS-2026-{n + 100:04d})" for n in range(6)),
                       "1/3", "▶", "Selesai"]  # fmt: skip
    await bidan.tap("▶")
    assert bidan.screen()[1][-4:] == ["◀", "2/3", "▶", "Selesai"]
    assert bidan.screen()[1][0] == "▫️ Anak 6 (RTS-2026-0106)"
    await bidan.tap("▶")
    assert bidan.screen()[1] == [*(f"▫️ Anak {n} (RTS-2026-{n + 100:04d})" for n in range(14, 20)),
                                 "◀", "3/3", "Selesai"]  # fmt: skip
    # Typing part of a name: the names that contain it, on pages of their own.
    [found] = await bidan.send("anak 1")
    assert found.endswith("Nama yang memuat “anak 1”: 11.")
    assert bidan.screen()[1] == [*(f"▫️ Anak {n} (RTS-2026-{n + 100:04d})" for n in (1, *range(10, 17))),
                                 "1/2", "▶", "Semua nama", "Selesai"]  # fmt: skip
    await bidan.tap("▫️ Anak 12 (RTS-2026-0112)")
    await bidan.tap("✅ Hadir")  # back on the same page of the search
    assert "✅ Anak 12 (RTS-2026-0112)" in bidan.screen()[1]
    assert await bidan.send("<zzz>") == [
        "Tidak ada nama yang memuat “&lt;zzz&gt;”. Ketik bagian nama yang lain."
    ]
    await bidan.tap("Semua nama")
    assert bidan.screen()[0] == LIST_HEAD + TYPE_TO_SEARCH
    assert bidan.screen()[1][-3:] == ["1/3", "▶", "Selesai"]
    [anak12] = [r for name, r in (await _rows(store)).items() if name == "Anak 12"]
    assert anak12.status == "verified"  # type: ignore[attr-defined]


async def test_a_disputed_report_is_flagged_to_the_companion(mother: Chat, store: Store) -> None:
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)  # 30 November
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7613)
    await bidan.send("/konfirmasi")
    await bidan.tap(f"📋 {ADITYA}")
    await bidan.tap("❌ Tidak hadir")
    assert bidan.screen()[1] == [f"▫️ {NENENG}", f"❌ {ADITYA}", "Selesai"]
    await bidan.tap(f"❌ {ADITYA}")  # she may still change her mind, but not dispute twice
    assert bidan.screen()[1] == ["✅ Hadir", "◀ Kembali ke daftar"]
    assert "❌ Tidak hadir menurut bidan. Pendamping dapat melihatnya." in bidan.screen()[0]

    row = (await _rows(store))["Aditya Sukmana"]
    assert row.status == "reported"  # type: ignore[attr-defined]  # the companion decides
    assert row.disputed_by is not None and row.disputed_at is not None  # type: ignore[attr-defined]
    euis = await enrolled(store, mother, "PD-MKJ-1", 7614)
    [_count, card] = await euis.send("/verifikasi")
    assert card.startswith("<b>RTS-2026-0001</b> · Aditya Sukmana")
    assert card.endswith("\n⚠️ Dibantah: tidak hadir menurut bidan")


async def test_done_flags_the_reports_she_left_to_their_companion(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)  # 30 November
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=False)
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7615)
    await bidan.send("/konfirmasi")
    await bidan.tap(f"📋 {NENENG}")
    await bidan.tap("✅ Hadir")
    assert await bidan.tap("Selesai") == [
        "Selesai: Posyandu Anggrek, Senin, 30 November 2026. Dikonfirmasi: 1. Tidak hadir: 0. "
        "Laporan rumah tangga yang belum dikonfirmasi: 1.\n"
        "Pendamping mereka diberi tahu agar memeriksanya."
    ]
    async with store.read() as repo:
        euis_staff = await repo.staff.get_by_code("PD-MKJ-1")
        [notice] = (await repo.connection.execute(select(notification).where(
            notification.c.template_key == "attendance.not_confirmed"))).all()  # fmt: skip
    assert euis_staff is not None
    assert (notice.staff_id, notice.person_id) == (euis_staff.id, None)  # queued, never sent now
    assert render(notice.template_key, notice.params, translations.for_language("id")) == (
        "Bidan Nining Kurniasih sudah selesai mengonfirmasi kehadiran di Posyandu Anggrek pada "
        "Senin, 30 November 2026. Laporan rumah tangga yang belum dikonfirmasi bidan: 1 "
        "(Aditya Sukmana (RTS-2026-0001)). Mohon periksa sebelum Anda memverifikasinya."
    )
    rows = await _rows(store)
    assert rows["Aditya Sukmana"].not_confirmed_at is not None  # type: ignore[attr-defined]
    assert rows["Neneng Sukmana"].not_confirmed_at is None  # type: ignore[attr-defined]

    # Done again: nothing new is flagged, no second notice.
    await bidan.send("/konfirmasi")
    await bidan.tap("Selesai")
    async with store.read() as repo:
        notices = (await repo.connection.execute(select(notification.c.id).where(
            notification.c.template_key == "attendance.not_confirmed"))).all()  # fmt: skip
    assert len(notices) == 1

    euis = await enrolled(store, mother, "PD-MKJ-1", 7616)
    [_count, card] = await euis.send("/verifikasi")
    assert card.startswith("<b>RTS-2026-0001</b> · Aditya Sukmana")
    assert card.endswith("\n⚠️ Belum dikonfirmasi bidan")


async def test_staff_import_takes_several_posyandu(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    assert await _served(store, "BD-MKJ-1") == (["P-MKJ-01"], "P-MKJ-01")
    report = await _people_file(store, t_id, tmp_path, "P-MKJ-02; P-MKJ-01;P-MKJ-02")
    assert report.ok, report.problems  # type: ignore[attr-defined]
    assert await _served(store, "BD-MKJ-1") == (["P-MKJ-01", "P-MKJ-02"], "P-MKJ-02")
    # A re-import replaces the set.
    await _people_file(store, t_id, tmp_path, "P-MKJ-03")
    assert await _served(store, "BD-MKJ-1") == (["P-MKJ-03"], "P-MKJ-03")
    # Each code is checked, with its line; a file with a bad one changes nothing.
    bad = write_csv(tmp_path, "people-bad.csv", """
        code,name,role,kecamatan,posyandu
        BD-MKJ-1,Bidan Nining Kurniasih,bidan,Mekarjaya,P-MKJ-01;P-MKJ-09
        KD-MKJ-2,Kader Dua,kader,Mekarjaya,P-MKJ-02;P-PDG-01
    """)  # fmt: skip
    report = await import_file(
        store, ImportKind.PEOPLE, bad, t_id, now=NOW, nik_key=TEST_NIK_KEY, progress=False
    )
    assert {(p.line, p.column, p.reason) for p in report.problems} == {
        (2, "posyandu", "posyandu P-MKJ-09 tidak dikenal"),
        (3, "posyandu", "posyandu P-PDG-01 tidak berada di kecamatan Mekarjaya"),
    }
    assert await _served(store, "BD-MKJ-1") == (["P-MKJ-03"], "P-MKJ-03")


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


async def test_the_planner_asks_at_each_of_her_posyandu(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await _people_file(store, t_id, tmp_path, "P-MKJ-01;P-MKJ-02")
    async with store.write() as repo:
        bidan = await repo.staff.get_by_code("BD-MKJ-1")
        assert bidan is not None
        await repo.people.add(7605, Role.HEALTH_WORKER, NOW, staff_id=bidan.id)
    prompted = []
    for day in (date(2026, 11, 30), date(2026, 12, 8)):  # Anggrek's session, then Dahlia's
        await plan(store, datetime(day.year, day.month, day.day, 14, tzinfo=WIB), PlanPolicy(WIB))
        async with store.read() as repo:
            prompted = (await repo.connection.execute(select(notification.c.dedup_key).where(
                notification.c.template_key == "posyandu.confirm_prompt"))).scalars().all()  # fmt: skip
    async with store.read() as repo:
        anggrek = await repo.geography.get_posyandu("P-MKJ-01")
        dahlia = await repo.geography.get_posyandu("P-MKJ-02")
    assert anggrek is not None and dahlia is not None
    assert sorted(prompted) == [
        f"confirm-prompt:{anggrek.id}:2026-11-30:{bidan.id}",
        f"confirm-prompt:{dahlia.id}:2026-12-08:{bidan.id}",
    ]


async def test_a_second_confirmation_changes_nothing_and_a_report_in_between_is_kept(
    mother: Chat, store: Store
) -> None:
    """Confirming twice does not make the bidan's own attendance 'cross-checked'; a household
    report saved just before her confirmation (a race) is cross-checked, not an error."""
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


async def test_the_console_shows_the_list_a_tap_brings(mother: Chat, store: Store) -> None:
    """In `sapa console` a bidan opens a name and confirms it: each tap shows the message anew
    with its buttons, and the console offers those."""
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    made = await issue_invite(store, "BD-MKJ-1", now=NOW, actor="test")
    out = io.StringIO()
    api = ConsoleBotApi(out)
    services = mother.application.bot_data["services"]
    application = build_application(services, request=api, token=TOKEN)
    async with application:
        bidan = ConsoleChat(application, api, user_id=7602)
        for line in [f"/start {INVITE_PREFIX}{made.token}", "/konfirmasi", "2"]:
            await bidan.handle(line)
        assert [b.label for b in api.choices()][:3] == [
            "✅ Hadir", "❌ Tidak hadir", "◀ Kembali ke daftar",
        ]  # fmt: skip
        await bidan.handle("1")
        assert [b.label for b in api.choices()][:3] == [f"▫️ {NENENG}", f"✅ {ADITYA}", "Selesai"]
        await bidan.handle("3")
    assert "🤖 Selesai: Posyandu Anggrek, Senin, 30 November 2026. Dikonfirmasi: 1." in (
        out.getvalue()
    )
    assert "🤖 📋 Dilaporkan keluarga (foto bukti: tidak)." in out.getvalue()
