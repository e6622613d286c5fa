"""Payout day for everyone: a household's own queue time in /jadwal, a venue's slot capacity from
the payouts file, a companion's list of her households' times (with a notice when a round's
first slots are given), and the post office's list as a workbook and a printable PDF (a page per
queue slot, masked names, a box to tick), opened here as a reader would open them."""

from __future__ import annotations

import logging
import re
import stat
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.domain.models import Role
from bot.domain.slots import QueuedHousehold, cut_window, round_list
from bot.services.registry.importer import ImportKind, import_file
from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render_notice
from bot.texts.payout_list import ROWS_PER_PAGE, companion_pdf, venue_pages, venue_pdf
from jobs.planner import PlanPolicy, plan
from storage.schema import notification, payout_round, queue_slot
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.helpers import add_households_for_euis, import_examples, sapa, write_csv
from tests.support.outbox import ManualClock, make_dispatcher
from tests.support.scenes import enrolled, link_everyone

WIB = ZoneInfo("Asia/Jakarta")
# Two answers many features share, in Indonesian as the catalog has them.
REFUSED = Translations().for_language("id")("Sorry, you are not allowed to do that.")
STALE = Translations().for_language("id")(
    "That button is no longer active. Please start again from the menu."
)
PAYOUTS_HEADER = "round,kecamatan,date,place,start_time,end_time,amount,slot_capacity"


def wib(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=WIB).astimezone(UTC)


async def import_payouts(store: Store, t: Translator, folder: Path, *rows: str) -> None:
    path = write_csv(folder, "payouts-more.csv", "\n".join([PAYOUTS_HEADER, *rows]))
    report = await import_file(store, ImportKind.PAYOUTS, path, t, now=NOW, progress=False)
    assert report.ok, report.problems


def documents(chat: Chat, since: int = 0) -> tuple[list[bytes], list[bytes]]:
    """The PDFs and workbooks the bot sent to this chat."""
    sent = [call.files["document"] for call in chat.api.calls[since:]
            if call.method == "sendDocument" and int(call.params["chat_id"]) == chat.user_id]  # fmt: skip
    return [d for d in sent if d.startswith(b"%PDF")], [d for d in sent if d.startswith(b"PK")]


def captions(chat: Chat, since: int = 0) -> list[str]:
    return [str(call.params.get("caption", "")) for call in chat.api.calls[since:]
            if call.method == "sendDocument" and int(call.params["chat_id"]) == chat.user_id]  # fmt: skip


def file_names(chat: Chat, since: int = 0) -> list[str]:
    return [call.file_names.get("document", "") for call in chat.api.calls[since:]
            if call.method == "sendDocument" and int(call.params["chat_id"]) == chat.user_id]  # fmt: skip


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(pdf)).pages]


async def slot_sizes(store: Store, round_code: str, kecamatan: str) -> dict[int, int]:
    """Households per slot index of one round, as stored."""
    async with store.read() as repo:
        kecamatan_id = (await repo.geography.kecamatan_ids())[kecamatan]
        query = (
            select(queue_slot.c.slot_index, func.count())
            .join(payout_round, payout_round.c.id == queue_slot.c.round_id)
            .where(payout_round.c.round_code == round_code,
                   payout_round.c.kecamatan_id == kecamatan_id)
            .group_by(queue_slot.c.slot_index)
        )  # fmt: skip
        return {index: count for index, count in await repo.connection.execute(query)}


async def slot_count(store: Store) -> int:
    async with store.read() as repo:
        query = select(func.count()).select_from(queue_slot)
        return int((await repo.connection.execute(query)).scalar_one())


async def outbox_rows(store: Store, prefix: str) -> list[dict[str, object]]:
    async with store.read() as repo:
        query = select(notification).where(notification.c.dedup_key.startswith(prefix))
        return [dict(r._mapping) for r in await repo.connection.execute(query)]


async def test_my_schedule_shows_the_households_own_queue_time(mother: Chat, store: Store) -> None:
    [before] = await mother.send("/jadwal")
    assert "<b>Pencairan berikutnya</b>: Rabu, 16 Desember 2026" in before
    assert (  # the first payout reminder (three days before, at 16:00) names the slot
        "Waktu antrean Ibu/Bapak belum ditentukan. Ibu/Bapak akan menerima pesan berisi waktu "
        "antrean pada Minggu, 13 Desember 2026 sore." in before
    )
    assert "08.00" not in before and "13.00" not in before  # never the whole window as hers

    asep = await enrolled(store, mother, "KO-MKJ", 7801)
    await asep.send("/antrean 2026-T4")  # the coordinator prints the list: slots are given
    async with store.read() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        query = select(queue_slot.c.slot_index).where(queue_slot.c.household_id == household.id)
        index = (await repo.connection.execute(query)).scalar_one()
    slot = cut_window(time(8, 0), time(13, 0), 30)[index]
    mother.seen = len(mother.api.calls)
    [after] = await mother.send("/jadwal")
    assert (
        f"Antrean Ibu/Bapak: pukul {slot.start:%H.%M}–{slot.end:%H.%M} WIB di Kantor Pos Mekarjaya"
        in after
    )
    assert "belum ditentukan" not in after and "Jumlah: Rp2.250.000" in after


def set_clock(chat: Chat, moment: datetime) -> None:
    chat.application.bot_data["services"].clock = lambda: moment


async def test_the_household_is_told_its_slot_on_the_day_my_schedule_names(
    mother: Chat, store: Store
) -> None:
    [before] = await mother.send("/jadwal")
    assert "pada Minggu, 13 Desember 2026 sore" in before
    # The planner's first pass of 13 December gives out the round's slots and queues the
    # reminder of 16:00 with her own slot; /jadwal shows the same time from then on.
    await plan(store, wib(date(2026, 12, 13), time(0, 5)), PlanPolicy(WIB, 30, 100))
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(mother.user_id)
    assert found is not None
    [reminder] = [r for r in await outbox_rows(store, "payout:") if r["person_id"] == found.id
                  and r["dedup_key"].endswith(":H-3")]  # type: ignore[attr-defined]  # fmt: skip
    assert reminder["template_key"] == "payout.reminder"
    assert reminder["due_at"] == wib(date(2026, 12, 13), time(16, 0))
    params: dict[str, str] = reminder["params"]  # type: ignore[assignment]
    set_clock(mother, wib(date(2026, 12, 13), time(9, 0)))
    mother.seen = len(mother.api.calls)
    [after] = await mother.send("/jadwal")
    assert (
        f"Antrean Ibu/Bapak: pukul {params['start']}–{params['end']} WIB di Kantor Pos Mekarjaya"
        in after
    )


async def test_my_schedule_says_plainly_when_the_slots_are_full(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    # Two half-hour slots of one household each: the other two households of Mekarjaya have them.
    row = "2026-T4,Mekarjaya,16/12/2026,Kantor Pos Mekarjaya,08:00,09:00,2250000,{capacity}"
    await import_payouts(store, t_id, tmp_path, row.format(capacity=1))
    async with store.write() as repo:
        ids = await repo.households.ids_by_program_number()
        [payout] = [r for r in await repo.payouts.with_code("2026-T4") if r.slot_capacity == 1]
        await repo.planning.assign_slots(
            payout.id, {ids["RTS-2026-0002"]: 0, ids["RTS-2026-0003"]: 1}
        )
    [full] = await mother.send("/jadwal")
    assert (
        "Tempat: Kantor Pos Mekarjaya, pukul 08.00–09.00 WIB\n"
        "Tidak ada waktu antrean untuk rumah tangga Ibu/Bapak pada tahap ini. Pendamping akan "
        "memberi tahu kapan Ibu/Bapak datang." in full
    )
    assert "akan menerima pesan" not in full
    # Two a slot: there is room, and the planner gives her one by the first reminder.
    await import_payouts(store, t_id, tmp_path, row.format(capacity=2))
    mother.seen = len(mother.api.calls)
    [room] = await mother.send("/jadwal")
    assert "akan menerima pesan berisi waktu antrean pada Minggu, 13 Desember 2026 sore" in room
    # On the payout day itself, without a slot, no message is promised any more.
    set_clock(mother, wib(date(2026, 12, 16), time(7, 0)))
    mother.seen = len(mother.api.calls)
    [today] = await mother.send("/jadwal")
    assert "<b>Pencairan berikutnya</b>: Rabu, 16 Desember 2026" in today
    assert "Tidak ada waktu antrean untuk rumah tangga Ibu/Bapak" in today


async def test_a_venues_slot_capacity_from_the_payouts_file_holds_in_the_planner(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await link_everyone(store, t_id)
    # Mekarjaya's post office serves one household per half hour; Pandeglang's bank the default.
    await import_payouts(
        store, t_id, tmp_path,
        "2026-T4,Mekarjaya,16/12/2026,Kantor Pos Mekarjaya,08:00,09:00,2250000,1",
        "2026-T4,Pandeglang,2026-12-15,Bank BJB Pandeglang,08:00,09:00,2250000,",
    )  # fmt: skip
    async with store.read() as repo:
        query = select(payout_round.c.place, payout_round.c.slot_capacity)
        assert dict((await repo.connection.execute(query)).all()) == {
            "Kantor Pos Mekarjaya": 1, "Bank BJB Pandeglang": None, "Balai Desa Mekarjaya": 40,
            "Kantor Pos Pandeglang": None,
        }  # fmt: skip
    report = await plan(store, wib(date(2026, 12, 13), time(10, 0)), PlanPolicy(WIB, 30, 100))
    # Two slots of one household at the post office: its third household has none.
    assert await slot_sizes(store, "2026-T4", "mekarjaya") == {0: 1, 1: 1}
    assert report.households_without_slot == 1
    # The bank takes the default (100 a slot): Pandeglang's three households, spread evenly.
    assert sorted((await slot_sizes(store, "2026-T4", "pandeglang")).values()) == [1, 2]
    [warning] = [r for r in await outbox_rows(store, "slots-short:")
                 if r["template_key"] == "payout.slots_short" and r["params"]["kecamatan"] == "Mekarjaya"]  # type: ignore[index]  # fmt: skip
    assert warning["params"]["capacity"] == 2  # type: ignore[index]
    # The companions are told once per round that the slots are given.
    told = {r["staff_id"]: r["params"] for r in await outbox_rows(store, "slots-ready:")}
    async with store.read() as repo:
        codes = {s.id: s.code for s in await repo.staff.active_with_role(Role.COMPANION)}
    mine = {codes[staff]: (p["households"], p["placed"]) for staff, p in told.items()}  # type: ignore[index]
    assert mine["PD-MKJ-1"][0] == 2 and mine["PD-MKJ-2"][0] == 1 and mine["PD-PDG-1"] == (2, 2)
    assert mine["PD-MKJ-1"][1] + mine["PD-MKJ-2"][1] == 2
    again = await plan(store, wib(date(2026, 12, 14), time(10, 0)), PlanPolicy(WIB, 30, 100))
    assert again.slots_assigned == 0 and len(await outbox_rows(store, "slots-ready:")) == 3


async def test_a_wrong_slot_capacity_is_a_problem_of_its_line(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await import_examples_into(store, t_id)
    path = write_csv(tmp_path, "payouts-bad.csv", "\n".join([
        PAYOUTS_HEADER,
        "2026-T4,Mekarjaya,16/12/2026,Kantor Pos Mekarjaya,08:00,13:00,2250000,enam puluh",
        "2026-T4,Pandeglang,2026-12-15,Kantor Pos Pandeglang,08:00,14:00,2250000,0",
    ]))  # fmt: skip
    report = await import_file(store, ImportKind.PAYOUTS, path, t_id, now=NOW, progress=False)
    assert {(p.line, p.column, p.reason) for p in report.problems} == {
        (2, "slot_capacity", "enam puluh bukan jumlah rumah tangga (misalnya 60)"),
        (3, "slot_capacity", "satu slot antrean berisi paling sedikit satu rumah tangga"),
    }


async def import_examples_into(store: Store, t: Translator) -> None:
    from tests.support.helpers import import_valid_files

    await import_valid_files(store, t)


async def link_ujang(store: Store) -> None:
    """Ujang's household links Telegram; Encep's has none (his companion tells him)."""
    async with store.write() as repo:
        ids = await repo.households.ids_by_program_number()
        await repo.people.add(7990, Role.HOUSEHOLD, NOW, household_id=ids["RTS-2026-0001"])


async def test_a_companion_gets_her_households_queue_times_and_is_told_once(
    chat: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    euis = await enrolled(store, chat, "PD-MKJ-1", 7901)
    await link_ujang(store)
    [later] = await euis.send("/antrean")  # Mekarjaya's round is on 16 December: 15 days ahead
    assert later == (
        "Tidak ada rumah tangga dampingan Anda yang menerima pencairan dalam 14 hari ke depan.\n"
        "Tahap yang akan datang: 2026-T4 (Rabu, 16 Desember 2026), 2027-T1 (Rabu, 17 Maret "
        "2027). Kirim misalnya /antrean 2026-T4"
    )
    assert await slot_count(store) == 0
    # The round moves to Thursday 10 December.
    await import_payouts(
        store, t_id, tmp_path,
        "2026-T4,Mekarjaya,10/12/2026,Kantor Pos Mekarjaya,08:00,13:00,2250000,",
    )  # fmt: skip
    euis.seen = len(euis.api.calls)
    calls = len(euis.api.calls)
    [listed] = await euis.send("/antrean")
    [caption] = captions(euis, calls)
    sizes = await slot_sizes(store, "2026-T4", "mekarjaya")
    assert sum(sizes.values()) == 3  # the whole kecamatan has its slots now
    lines = listed.split("\n")
    assert (
        lines[:2]
        == [
            "<b>Waktu antrean rumah tangga dampingan Anda</b>",
            "",
        ]
        and lines[2] == "<b>2026-T4</b> · Kamis, 10 Desember 2026, Kantor Pos Mekarjaya"
    )
    mine = [line for line in lines if "RTS-" in line]
    assert sorted(line.split(" · ", 1)[1] for line in mine) == [
        "RTS-2026-0001 Ujang S.",
        "RTS-2026-0003 Encep M. · 📵 tanpa Telegram",  # she tells him herself
    ]
    assert all(re.fullmatch(r"\d\d\.\d\d–\d\d\.\d\d · RTS-.*", line) for line in mine)
    assert "RTS-2026-0002" not in listed and "Sukmana" not in listed
    assert caption == "Waktu antrean rumah tangga dampingan Anda, untuk dicetak."
    [pdf], workbooks = documents(euis, calls)
    assert workbooks == []
    [page] = pages_of(pdf)
    assert page.count("RTS-") == 2 and "RTS-2026-0002" not in page and "Sukmana" not in page
    assert "Halaman 1 dari 1" in page

    # One notice to each companion of the kecamatan when the first slots were given; asking
    # again gives no slot and no notice.
    ready = await outbox_rows(store, "slots-ready:")
    async with store.read() as repo:
        hasan = await repo.staff.get_by_code("PD-MKJ-2")
    assert hasan is not None and len(ready) == 2 and hasan.id in {r["staff_id"] for r in ready}
    [his] = [r for r in ready if r["staff_id"] == hasan.id]
    notice = render_notice("payout.slots_ready", his["params"], t_id)  # type: ignore[arg-type]
    [[(label, _data)]] = notice.buttons
    assert label == "📄 Daftar untuk dicetak"
    assert re.fullmatch(
        "Waktu antrean pencairan tahap 2026-T4 pada Kamis, 10 Desember 2026 di Kantor Pos "
        "Mekarjaya sudah ditentukan: 1 dari 1 rumah tangga dampingan Anda sudah mendapat waktu "
        "antrean. Rumah tangga yang memakai Telegram menerima waktunya dari bot sebelum hari "
        "pencairan; mohon beri tahu yang lain.\n\n"
        r"\d\d\.\d\d–\d\d\.\d\d · RTS-2026-0002 [^\n]+\n\n"
        "/antrean menampilkan daftar ini lagi, dengan perubahan terbarunya.",
        notice.text,
    ), notice.text
    # A row queued before the list came into the notice still renders, pointing to /antrean.
    old = {k: v for k, v in his["params"].items() if k not in ("round_id", "lines")}  # type: ignore[union-attr]
    assert render_notice("payout.slots_ready", old, t_id).text.endswith(
        "Kirim /antrean untuk melihat daftarnya, juga sebagai berkas untuk dicetak."
    )
    await euis.send("/antrean 2026-T4")
    assert len(await outbox_rows(store, "slots-ready:")) == 2
    assert await slot_sizes(store, "2026-T4", "mekarjaya") == sizes


async def test_the_companion_is_sent_her_households_times_with_a_button_for_the_file(
    chat: Chat, store: Store, translations: Translations, caplog: pytest.LogCaptureFixture
) -> None:
    euis = await enrolled(store, chat, "PD-MKJ-1", 7911)
    await link_ujang(store)
    # The planner's first pass of 13 December gives out Mekarjaya's slots (16 December).
    moment = wib(date(2026, 12, 13), time(6, 5))
    await plan(store, moment, PlanPolicy(WIB, 30, 100))
    clock = ManualClock(now=moment)
    euis.seen = len(euis.api.calls)
    await make_dispatcher(store, euis.application.bot, translations, clock).run_once()
    [pushed] = [m for m in euis.bot_messages() if m["text"].startswith("Waktu antrean pencairan")]
    lines = pushed["text"].split("\n")
    assert lines[0].startswith(
        "Waktu antrean pencairan tahap 2026-T4 pada Rabu, 16 Desember 2026 di Kantor Pos "
        "Mekarjaya sudah ditentukan: 2 dari 2 rumah tangga dampingan Anda"
    )
    mine = [line for line in lines if "RTS-" in line]
    assert len(mine) == 2 and all(re.fullmatch(r"\d\d\.\d\d–\d\d\.\d\d · RTS-.*", x) for x in mine)
    assert sorted(x.split(" · ", 1)[1] for x in mine) == [
        "RTS-2026-0001 Ujang S.", "RTS-2026-0003 Encep M. · 📵 tanpa Telegram"]  # fmt: skip
    assert "RTS-2026-0002" not in pushed["text"]  # Hasan's household
    # The times are the stored ones, the same as the households' own reminders say.
    async with store.read() as repo:
        ids = await repo.households.ids_by_program_number()
        [payout] = [
            r for r in await repo.payouts.with_code("2026-T4") if r.place.endswith("Mekarjaya")
        ]
        stored = await repo.planning.slots(payout.id)
    window = cut_window(time(8, 0), time(13, 0), 30)
    ujang = window[stored[ids["RTS-2026-0001"]]]
    assert f"{ujang.start:%H.%M}–{ujang.end:%H.%M} · RTS-2026-0001 Ujang S." in mine

    calls = euis.seen = len(euis.api.calls)
    assert await euis.press("📄 Daftar untuk dicetak") == []  # the file only
    [pdf], workbooks = documents(euis, calls)
    [page] = pages_of(pdf)
    assert workbooks == [] and page.count("RTS-") == 2 and "RTS-2026-0002" not in page
    assert file_names(euis, calls) == ["sapa-antrean-2026-T4.pdf"]

    # Forged: another kecamatan's round is refused; a round no longer on record is said so.
    async with store.read() as repo:
        [other] = [r for r in await repo.payouts.with_code("2026-T4") if r.id != payout.id]
    with caplog.at_level(logging.WARNING):
        assert await euis.press_data(f"aqf:{other.id}") == [REFUSED]
    assert any("action=payout_list" in r.getMessage() for r in caplog.records)
    [gone] = await euis.press_data("aqf:999999")
    assert gone.startswith("Tahap pencairan itu sudah tidak tercatat.\nTahap yang akan datang:")
    assert await euis.press_data("aqf:x") == [STALE]  # data we never made
    # Someone who is not staff (forged data) is refused, and is sent no file.
    calls = len(chat.api.calls)
    assert await chat.press_data(f"aqf:{payout.id}", {"message_id": 1}) == [REFUSED]
    assert documents(chat, calls) == ([], [])


async def test_the_coordinator_gets_the_venue_list_as_a_workbook_and_a_pdf_page_per_slot(
    chat: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await add_households_for_euis(store, t_id, tmp_path, 40)  # 43 households in Mekarjaya
    asep = await enrolled(store, chat, "KO-MKJ", 7902)
    calls = len(asep.api.calls)
    [summary] = await asep.send("/antrean 2026-T4")
    [workbook_caption, pdf_caption] = captions(asep, calls)
    assert file_names(asep, calls) == [
        "sapa-antrean-2026-T4-Mekarjaya.xlsx",
        "sapa-antrean-2026-T4-Mekarjaya.pdf",
    ]
    assert summary == (
        "<b>Antrean pencairan 2026-T4 · Mekarjaya</b>\n"
        "Rabu, 16 Desember 2026, Kantor Pos Mekarjaya, pukul 08.00–13.00 WIB\n"
        "Rumah tangga: 43. Slot antrean terpakai: 10 dari 10, paling banyak 100 rumah tangga per "
        "slot. Belum mendapat waktu antrean: 0."
    )
    assert workbook_caption == (
        "Daftar antrean sebagai berkas Excel: satu baris per rumah tangga, dengan slot antreannya."
    )
    assert pdf_caption == (
        "Daftar antrean untuk dicetak bagi kantor pos atau bank: satu halaman per slot antrean, "
        "dengan kotak untuk dicentang bila rumah tangga sudah mengambil bantuannya."
    )
    sizes = await slot_sizes(store, "2026-T4", "mekarjaya")
    assert sum(sizes.values()) == 43 and len(sizes) == 10

    [pdf], [workbook] = documents(asep, calls)
    pages = pages_of(pdf)
    assert len(pages) == len(sizes)  # a page per slot with households
    slots = cut_window(time(8, 0), time(13, 0), 30)
    for number, (index, page) in enumerate(zip(sorted(sizes), pages, strict=True), start=1):
        slot = slots[index]
        assert page.startswith("Antrean pencairan 2026-T4 · Mekarjaya\n"
                               "Kantor Pos Mekarjaya · Rabu, 16 Desember 2026\n"
                               f"Slot antrean {index + 1}: pukul {slot.start:%H.%M}–{slot.end:%H.%M} WIB"
                               f" · Rumah tangga: {sizes[index]}\nNo. Nomor peserta Nama Sudah diambil")  # fmt: skip
        assert page.count("RTS-") == sizes[index]  # a row per household of the slot
        assert f"Halaman {number} dari {len(pages)}" in page
        assert "Hidayatullah" not in page and "Sukmana" not in page  # names shortened
    assert "Ujang S." in "".join(pages) and "Ma'ruf H. 7." in "".join(pages)

    book = load_workbook(BytesIO(workbook), read_only=True)
    [sheet] = book.worksheets
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Tahap", "Kecamatan", "Tempat", "Tanggal", "Slot antrean", "Waktu (WIB)",
                       "Nomor peserta", "Nama", "Sudah diambil")  # fmt: skip
    assert Counter(row[4] for row in rows[1:]) == {index + 1: n for index, n in sizes.items()}
    ujang = next(row for row in rows if row[6] == "RTS-2026-0001")
    assert ujang[:4] == ("2026-T4", "Mekarjaya", "Kantor Pos Mekarjaya", datetime(2026, 12, 16))
    assert ujang[7] == "Ujang S." and ujang[8] is None


async def test_the_district_team_gets_every_kecamatan_and_bad_requests_are_answered_politely(
    chat: Chat, store: Store
) -> None:
    agus = await enrolled(store, chat, "TPJK-1", 7903)
    [unknown] = await agus.send("/antrean 2099-T9")
    assert unknown == (
        "Tidak ada tahap pencairan 2099-T9.\nTahap yang akan datang: 2026-T4 (Selasa, 15 Desember "
        "2026), 2026-T4 (Rabu, 16 Desember 2026), 2027-T1 (Selasa, 16 Maret 2027), 2027-T1 (Rabu, "
        "17 Maret 2027). Kirim misalnya /antrean 2026-T4"
    )
    assert await agus.send("/antrean 2026-T4 Atlantis") == ["Tidak ada kecamatan bernama Atlantis."]
    assert await slot_count(store) == 0
    calls = len(agus.api.calls)
    [summary] = await agus.send("/antrean 2026-T4")
    assert summary.startswith("<b>Antrean pencairan 2026-T4 · Pandeglang</b>")  # the 15th first
    assert "<b>Antrean pencairan 2026-T4 · Mekarjaya</b>" in summary
    [pdf], [_workbook] = documents(agus, calls)
    pages = pages_of(pdf)
    assert len(pages) == 6  # three households a kecamatan, each alone in a slot
    assert [p.split("\n")[0] for p in pages] == ["Antrean pencairan 2026-T4 · Pandeglang"] * 3 + [
        "Antrean pencairan 2026-T4 · Mekarjaya"
    ] * 3
    [one] = await agus.send("/antrean 2026-T4 Mekarjaya")
    assert one.startswith("<b>Antrean pencairan 2026-T4 · Mekarjaya</b>")


async def test_households_other_roles_and_other_kecamatan_are_refused(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await import_payouts(
        store, t_id, tmp_path,
        "2026-X,Pandeglang,2026-12-09,Kantor Pos Pandeglang,08:00,12:00,600000,",
    )  # fmt: skip
    with caplog.at_level(logging.WARNING):
        assert await mother.send("/antrean") == [REFUSED]
        euis = await enrolled(store, mother, "PD-MKJ-1", 7904)
        assert await euis.send("/antrean 2026-T4 Pandeglang") == [REFUSED]
        assert await euis.send("/antrean 2026-X") == [REFUSED]  # a round of Pandeglang only
        bidan = await enrolled(store, mother, "BD-MKJ-1", 7905)
        assert await bidan.send("/antrean 2026-T4") == [REFUSED]
        asep = await enrolled(store, mother, "KO-MKJ", 7906)
        assert await asep.send("/antrean 2026-T4 Pandeglang") == [REFUSED]
        assert await asep.send("/antrean 2026-X") == [REFUSED]
    refusals = [r.getMessage() for r in caplog.records if "authorization_refused" in r.getMessage()]
    assert len(refusals) == 6 and all("action=payout_list" in r for r in refusals)
    assert await slot_count(store) == 0  # a refused request gives no slot
    assert await outbox_rows(store, "slots-ready:") == []


def test_a_long_slot_goes_on_over_more_pages(t_id: Translator) -> None:
    households = [
        QueuedHousehold(n, f"RTS-2027-{n:04d}", "Siti Nur Aminah", 1, 0 if n <= 40 else 1)
        for n in range(1, 46)
    ]
    listed = round_list("2027-T1", "Mekarjaya", "Balai Desa", date(2027, 3, 17),
                        (time(9, 0), time(10, 0)), 30, 40, households)  # fmt: skip
    pages = venue_pages([listed], t_id)
    assert [len(p.rows) for p in pages] == [ROWS_PER_PAGE, 40 - ROWS_PER_PAGE, 5]
    assert (
        pages[1].title[-1] == "Slot antrean 1: pukul 09.00–09.30 WIB (lanjutan) · Rumah tangga: 40"
    )
    assert pages[1].rows[0][:3] == [str(ROWS_PER_PAGE + 1), "RTS-2027-0033", "Siti N. A."]


def test_sapa_payout_list_writes_both_files_readable_by_the_owner_only(tmp_path: Path) -> None:
    import_examples(tmp_path)
    day = date.today() + timedelta(days=20)
    extra = write_csv(tmp_path, "next.csv", "\n".join([
        PAYOUTS_HEADER, f"T-NEXT,Mekarjaya,{day.isoformat()},Kantor Pos Mekarjaya,08:00,09:00,600000,2",
    ]))  # fmt: skip
    assert sapa("import", "payouts", str(extra), cwd=tmp_path).returncode == 0
    result = sapa("payout-list", "T-NEXT", "--kecamatan", "Mekarjaya", "--output", "out",
                  cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    names = sorted(p.name for p in out.iterdir())
    assert names == ["sapa-antrean-T-NEXT-Mekarjaya.pdf", "sapa-antrean-T-NEXT-Mekarjaya.xlsx"]
    assert {stat.S_IMODE((out / n).stat().st_mode) for n in names} == {0o600}
    pages = pages_of((out / names[0]).read_bytes())
    assert len(pages) == 2 and sorted(p.count("RTS-") for p in pages) == [1, 2]  # 2 a slot
    rows = list(
        load_workbook(out / names[1], read_only=True).worksheets[0].iter_rows(values_only=True)
    )
    assert len(rows) == 1 + 3
    unknown = sapa("payout-list", "2099-T9", cwd=tmp_path)
    assert unknown.returncode == 1 and "2099-T9" in unknown.stderr


def test_the_printed_lists_speak_the_readers_language(translations: Translations) -> None:
    households = [
        QueuedHousehold(n, f"RTS-2027-{n:04d}", "Siti Nur Aminah", 1, n % 2) for n in range(1, 6)
    ]
    listed = round_list("2027-T1", "Mekarjaya", "Balai Desa", date(2027, 3, 17),
                        (time(9, 0), time(10, 0)), 30, 40, households)  # fmt: skip
    venue = pages_of(venue_pdf([listed], translations.for_language("su")))
    assert len(venue) == 2  # a page per slot: two households in the first, three in the second
    assert venue[0].startswith(
        "Antrian pencairan 2027-T1 · Mekarjaya\nBalai Desa · Rebo, 17 Maret 2027\n"
        "Slot antrian 1: jam 09.00–09.30 WIB · Rumah tangga: 2\nNo. Nomer pésérta Nami Parantos dicandak"
    )
    assert [p.count("RTS-") for p in venue] == [2, 3] and "Kaca 2 tina 2" in venue[1]
    [mine] = pages_of(companion_pdf([listed.only(1)], translations.for_language("en")))
    assert mine.startswith("Queue times of your households, 2027-T1\nBalai Desa · ")
    assert mine.count("Siti N. A.") == 5 and "Page 1 of 1" in mine


async def test_a_refused_print_button_is_answered_once(chat: Chat, store: Store) -> None:
    # Review of issue 16: a refused press of "📄 Daftar untuk dicetak" was answered twice (the
    # second answer refused by Telegram); every other button is answered exactly once.
    async with store.read() as repo:
        rounds = await repo.payouts.with_code("2026-T4")
        kecamatan = await repo.geography.kecamatan_ids()
    [mekarjaya] = [r for r in rounds if r.kecamatan_id == kecamatan["mekarjaya"]]
    wati = await enrolled(store, chat, "PD-PDG-1", 7912)  # a companion of Pandeglang
    for presser in (wati, chat):
        first = len(presser.api.calls)
        assert await presser.press_data(f"aqf:{mekarjaya.id}", {"message_id": 1}) == [REFUSED]
        answers = [c for c in presser.api.calls[first:] if c.method == "answerCallbackQuery"]
        assert len(answers) == 1
