"""The coordinator's recap, chart and export, on the example province with some activity."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import matplotlib.image
from openpyxl import load_workbook

from bot.domain.models import ComplaintCategory, ComplaintStatus, EscalationLevel, Role
from bot.domain.months import parse_month
from bot.domain.recap import DesaAttendance, Recap
from bot.services.recap import attendance_history, build_recap
from bot.services.registry.importer import ImportKind, import_file
from bot.texts.charts import LOWEST_SHOWN, attendance_lines, recap_chart, recap_figure
from bot.texts.i18n import Translator
from bot.texts.message_parts import MESSAGE_LIMIT
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY
from tests.support.chat import Chat
from tests.support.helpers import import_valid_files, write_csv
from tests.support.outbox import WIB
from tests.support.scenes import activity, enrolled, is_whole_html


async def test_recap_figures(mother: Chat, store: Store) -> None:
    await activity(mother, store)
    async with store.read() as repo:
        mekarjaya = (await repo.geography.kecamatan_ids())["mekarjaya"]
    november = await build_recap(store, mekarjaya, date(2026, 11, 1), now=NOW, zone=WIB)
    anggrek = next(r for r in november.attendance if r.desa == "Mekarjaya")
    # Posyandu Anggrek met once in November (the 30th): Neneng and Aditya were expected.
    assert (anggrek.expected, anggrek.reported, anggrek.verified, anggrek.cross_checked) == (
        2,
        2,
        1,
        0,
    )
    assert anggrek.rate == 0.5
    assert [r.desa for r in november.attendance] == ["Medalsari", "Mekarjaya", "Sukamulya"]
    december = await build_recap(store, mekarjaya, date(2026, 12, 1), now=NOW, zone=WIB)
    assert december.complaints == {("payout", "open"): 1}
    [euis, hasan] = december.companions
    assert (euis.code, euis.verifications, euis.complaints_handled) == ("PD-MKJ-1", 1, 0)
    assert euis.last_active is not None and hasan.last_active is None
    district = await build_recap(store, None, date(2026, 11, 1), now=NOW, zone=WIB)
    assert {r.kecamatan for r in district.attendance} == {"Mekarjaya", "Pandeglang"}


async def test_rekap_in_the_chat_with_a_readable_chart(mother: Chat, store: Store) -> None:
    euis = await activity(mother, store)
    asep = await enrolled(store, mother, "KO-MKJ", 7702)
    [text] = await asep.send("/rekap 2026-11")
    assert text.startswith("<b>Rekap Mekarjaya, November 2026</b>")
    assert "Mekarjaya: 2 / 2 / 1 / 0\n" in text  # a handful: counts, no percentage
    # The conditions: Aditya's weighing waits for verification (Euis verified Neneng's
    # report); Bunga and Zahra missed their sessions.
    assert (
        "<b>Syarat program</b> (terpenuhi / tidak terpenuhi / belum diketahui / dikecualikan)\n"
        "• penimbangan balita: 0 / 2 / 1 / 0, 0 dari 2 terpenuhi\n"
        "Per desa:\n"
        "Medalsari: 0 dari 1 terpenuhi\n"
        "Mekarjaya: belum ada yang bisa dinilai\n"
        "Sukamulya: 0 dari 1 terpenuhi\n"
        "Per pendamping:\n"
        "Euis Rohmah: 0 / 1 / 1 / 0\n"
        "Hasan Nugraha: 0 / 1 / 0 / 0\n"
    ) in text
    assert "Belum ada keluhan yang selesai bulan ini." in text
    # Her verification happened on 1 December, so it counts in December, not November.
    assert "\nPD-MKJ-1 Euis Rohmah: Selasa, 1 Desember 2026 / 0 / 0 / 0 / 0 / 0\n" in text
    [photo] = [c for c in asep.api.calls if c.method == "sendPhoto"]
    image = matplotlib.image.imread(BytesIO(photo.files["photo"]), format="png")
    assert image.shape[:2] == (1200, 900)  # portrait, readable on a phone
    assert image.std() > 0.05  # not a blank picture
    # A companion and a household may not see the recap.
    refused = ["Maaf, itu tidak bisa dilakukan dari akun ini."]
    assert await euis.send("/rekap") == refused
    assert await mother.send("/ekspor") == refused
    assert await asep.send("/rekap kemarin") == [
        "Tulis bulan seperti 2026-11, atau kosongkan untuk bulan ini."
    ]


async def test_ekspor_sends_a_workbook_that_opens(mother: Chat, store: Store) -> None:
    await activity(mother, store)
    asep = await enrolled(store, mother, "KO-MKJ", 7703)
    await asep.send("/ekspor")
    [document] = [c for c in asep.api.calls if c.method == "sendDocument"]
    workbook = load_workbook(BytesIO(document.files["document"]))
    assert workbook.sheetnames == ["Kehadiran", "Keluhan", "Pendamping", "Syarat"]
    conditions = list(workbook["Syarat"].values)
    # /ekspor without a month is this month (December), still running: not known yet.
    assert ("Desa", "Mekarjaya · Sukamulya", "penimbangan balita", 0, 0, 1, 0) in conditions
    complaints = list(workbook["Keluhan"].values)
    assert complaints[0][:6] == ("Tiket", "Nomor peserta", "Desa", "Kategori", "Status", "Tingkat")
    assert complaints[1][:6] == ("KLH-2612-0001", "RTS-2026-0001", "Mekarjaya", "Pencairan bantuan",
                                 "baru", "pendamping")  # fmt: skip
    companions = list(workbook["Pendamping"].values)
    assert [row[0] for row in companions[1:]] == ["PD-MKJ-1", "PD-MKJ-2"]
    assert "Uang bantuan" not in str(complaints)  # complaint texts stay in the bot


def test_month_parsing() -> None:
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert parse_month("11/2026") == date(2026, 11, 1)
    assert parse_month("13/2026") is None
    assert parse_month("November") is None


def test_sapa_export_writes_xlsx_and_csv(tmp_path: Path) -> None:
    from tests.support.helpers import import_examples, sapa

    import_examples(tmp_path)
    result = sapa("export", "--month", "2026-11", "--kecamatan", "Mekarjaya", "--output", "out",
                  cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "sapa-rekap-2026-11-mekarjaya-attendance.csv", "sapa-rekap-2026-11-mekarjaya-companions.csv",
        "sapa-rekap-2026-11-mekarjaya-complaints.csv", "sapa-rekap-2026-11-mekarjaya-conditions.csv",
        "sapa-rekap-2026-11-mekarjaya.xlsx",
    ]  # fmt: skip
    attendance = (tmp_path / "out" / "sapa-rekap-2026-11-mekarjaya-attendance.csv").read_text(
        "utf-8-sig"
    )
    assert (
        attendance.splitlines()[0]
        == "Kecamatan,Desa,Diharapkan,Dilaporkan,Terverifikasi,Dicocokkan dengan catatan bidan,Tingkat (%),"
        "Dilaporkan rumah tangga,Dilaporkan pendamping,Dilaporkan bidan/kader"
    )
    assert "Mekarjaya,Mekarjaya,2,0,0,0,0.0,0,0,0" in attendance
    unknown = sapa("export", "--kecamatan", "Atlantis", cwd=tmp_path)
    assert unknown.returncode == 1 and "Atlantis" in unknown.stderr


# --- the recap at its edges: one pass over the months, scopes by the household's kecamatan ---


async def kecamatan_id(store: Store, name: str) -> int:
    async with store.read() as repo:
        return (await repo.geography.kecamatan_ids())[name.lower()]


def expected_in(history: list[tuple[date, list[DesaAttendance]]], desa: str) -> list[int]:
    return [next(r for r in rows if r.desa == desa).expected for _month, rows in history]


async def test_history_counts_each_month_on_its_own(store: Store, t_id: Translator) -> None:
    await import_valid_files(store, t_id)
    pandeglang = await kecamatan_id(store, "Pandeglang")
    mekarjaya = await kecamatan_id(store, "Mekarjaya")
    # Rizky (Karaton, one session a month) was born on 21 November 2022: five in November 2027.
    history = await attendance_history(store, pandeglang, date(2027, 12, 1), WIB)
    assert [month for month, _rows in history] == [date(2027, m, 1) for m in range(7, 13)]
    assert expected_in(history, "Karaton") == [1, 1, 1, 1, 0, 0]
    # Months with no report at all: nothing reported, no rate where nobody was expected.
    karaton = [next(r for r in rows if r.desa == "Karaton") for _month, rows in history]
    assert [r.reported for r in karaton] == [0] * 6
    assert [r.rate for r in karaton] == [0.0, 0.0, 0.0, 0.0, None, None]
    # Anggrek meets on the last Monday. Neneng is due on 20 March 2027: followed up to 42 days
    # after, so in May (from 1 May, 42 days back is 20 March) but not in June; Aditya throughout.
    async with store.write() as repo:
        anggrek = await repo.geography.get_posyandu("P-MKJ-01")
        assert anggrek is not None
        # May's session (31 May) held on 1 June instead; July's (26 July) cancelled.
        await repo.planning.change_session(
            anggrek.id, date(2027, 5, 31), date(2027, 6, 1), "t", NOW
        )
        await repo.planning.change_session(anggrek.id, date(2027, 7, 26), None, "t", NOW)
    history = await attendance_history(store, mekarjaya, date(2027, 7, 1), WIB, months=4)
    assert expected_in(history, "Mekarjaya") == [2, 0, 2, 0]  # April to July
    # Every month of the chart is that month's recap.
    for month, rows in history:
        assert (await build_recap(store, mekarjaya, month, now=NOW, zone=WIB)).attendance == rows
    assert await attendance_history(store, mekarjaya, date(2027, 7, 1), WIB, months=0) == []
    # /rekap reads the chart's months with the recap, in the same pass.
    july = await build_recap(
        store, mekarjaya, date(2027, 7, 1), now=NOW, zone=WIB, history_months=4
    )
    assert july.history == history and july.attendance == history[-1][1]


async def test_a_household_counts_where_it_lives_now_its_reports_where_they_were_made(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await import_valid_files(store, t_id)
    pandeglang = await kecamatan_id(store, "Pandeglang")
    mekarjaya = await kecamatan_id(store, "Mekarjaya")
    november = date(2026, 11, 1)
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0005")
        karaton = await repo.geography.get_posyandu("P-PDG-02")
        assert household is not None and karaton is not None
        [rizky] = await repo.households.members(household.id)
        account = await repo.people.add(7801, Role.HOUSEHOLD, NOW, household_id=household.id)
        # Rizky at Karaton's November session (the second Tuesday).
        await repo.attendance.add_reported(
            rizky.id, karaton.id, date(2026, 11, 10), None, account.id, NOW
        )

    def row(recap: Recap, desa: str) -> tuple[int, int]:
        found = next(r for r in recap.attendance if r.desa == desa)
        return found.expected, found.reported

    before = await build_recap(store, pandeglang, november, now=NOW, zone=WIB)
    assert row(before, "Karaton") == (1, 1)
    # The household moves to Sukamulya (Mekarjaya), to the Dahlia posyandu.
    moved = write_csv(tmp_path, "households.csv", """
        program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
        RTS-2026-0005,Yuyun Hermawan,3601016402920005,Mekarjaya,Sukamulya,P-MKJ-02,PD-MKJ-2
    """)  # fmt: skip
    report = await import_file(
        store, ImportKind.HOUSEHOLDS, moved, t_id, now=NOW, nik_key=TEST_NIK_KEY, progress=False
    )
    assert report.ok
    after = await build_recap(store, pandeglang, november, now=NOW, zone=WIB)
    assert row(after, "Karaton") == (0, 1)
    sukamulya = row(await build_recap(store, mekarjaya, november, now=NOW, zone=WIB), "Sukamulya")
    assert sukamulya == (2, 0)  # Bunga, and Rizky now
    district = await build_recap(store, None, november, now=NOW, zone=WIB)
    assert (row(district, "Karaton"), row(district, "Sukamulya")) == ((0, 1), (2, 0))
    # A household no longer in the programme is not expected any more.
    async with store.write() as repo:
        await repo.households.set_active(household.id, False, NOW)
    [(_month, rows)] = await attendance_history(store, mekarjaya, november, WIB, months=1)
    assert next(r for r in rows if r.desa == "Sukamulya").expected == 1  # Bunga only


async def test_complaints_and_accounts_count_in_their_households_kecamatan(
    store: Store, t_id: Translator
) -> None:
    await import_valid_files(store, t_id)
    pandeglang = await kecamatan_id(store, "Pandeglang")
    mekarjaya = await kecamatan_id(store, "Mekarjaya")
    november = date(2026, 11, 1)
    day = datetime(2026, 11, 3, 3, tzinfo=UTC)
    async with store.write() as repo:
        ids = await repo.households.ids_by_program_number()
        accounts = {}
        for number, telegram_id, reachable in (
            ("RTS-2026-0001", 7901, False),  # one of two accounts blocked: still reachable
            ("RTS-2026-0001", 7902, True),
            ("RTS-2026-0002", 7903, False),  # Mekarjaya, unreachable
            ("RTS-2026-0004", 7904, False),  # Pandeglang, unreachable
            ("RTS-2026-0005", 7905, True),
        ):
            account = await repo.people.add(
                telegram_id, Role.HOUSEHOLD, NOW, household_id=ids[number]
            )
            await repo.people.set_reachable(account.id, reachable)
            accounts[number] = account.id

        async def complaint(number: str, category: ComplaintCategory, filed: datetime) -> int:
            added = await repo.complaints.add(
                ticket_code=f"KLH-T-{number}", household_id=ids[number],
                filed_by=accounts[number], category=category, text="-", photo_file_id=None,
                level=EscalationLevel.COMPANION, deadline_at=filed + timedelta(days=3), now=filed,
            )  # fmt: skip
            return added.id

        paid = await complaint("RTS-2026-0001", ComplaintCategory.PAYOUT, day)
        await repo.complaints.add_event(paid, "escalated", day + timedelta(days=1))
        await repo.complaints.set_status(paid, ComplaintStatus.RESOLVED, day + timedelta(days=2))
        await complaint("RTS-2026-0002", ComplaintCategory.OTHER, day + timedelta(days=17))
        await complaint("RTS-2026-0004", ComplaintCategory.DATA, day + timedelta(days=7))

    def figures(recap: Recap) -> tuple[object, ...]:
        overdue = {c.code: c.overdue for c in recap.companions}
        return (recap.complaints, recap.median_hours_to_resolve, recap.sla_breaches,
                recap.unreachable_households, overdue)  # fmt: skip

    recaps = [
        await build_recap(store, scope, november, now=NOW, zone=WIB)
        for scope in (mekarjaya, pandeglang, None)
    ]
    assert [figures(recap) for recap in recaps] == [
        ({("payout", "resolved"): 1, ("other", "open"): 1}, 48.0, 1, 1,
         {"PD-MKJ-1": 0, "PD-MKJ-2": 1}),
        ({("data", "open"): 1}, None, 0, 1, {"PD-PDG-1": 1}),
        ({("payout", "resolved"): 1, ("other", "open"): 1, ("data", "open"): 1}, 48.0, 1, 2,
         {"PD-MKJ-1": 0, "PD-MKJ-2": 1, "PD-PDG-1": 1}),
    ]  # fmt: skip


# --- the recap of a whole district at its real size: the text in parts, a chart that stays readable ---

# The kecamatan of Kabupaten Pandeglang besides the two of the examples: 35 in all.
KECAMATAN = [
    "Sumur", "Cimanggu", "Cibaliung", "Cibitung", "Cikeusik", "Cigeulis", "Panimbang", "Sobang",
    "Munjul", "Angsana", "Sindangresmi", "Picung", "Bojong", "Saketi", "Cisata", "Pagelaran",
    "Patia", "Sukaresmi", "Labuan", "Carita", "Jiput", "Cikedal", "Menes", "Pulosari",
    "Mandalawangi", "Cimanuk", "Cipeucang", "Banjar", "Kaduhejo", "Majasari", "Cadasari",
    "Karangtanjung", "Koroncong",
]  # fmt: skip
DESA_PER_KECAMATAN = 10


async def import_the_whole_district(store: Store, t: Translator, folder: Path) -> list[str]:
    """Ten desa with a posyandu in each of 33 more kecamatan, and two companions in each (one
    whose name needs an HTML entity); returns the new desa names."""
    posyandu = ["code,name,kecamatan,desa,schedule"]
    people = ["code,name,role,kecamatan,posyandu"]
    desa_names = []
    for k, kecamatan in enumerate(KECAMATAN):
        for d in range(1, DESA_PER_KECAMATAN + 1):
            desa = f"{kecamatan} Desa {d}"
            desa_names.append(desa)
            posyandu.append(f"P-{k:02d}-{d:02d},Posyandu {desa},{kecamatan},{desa},tanggal 10")
        people.append(f"PD-{k:02d}-1,Ma'ruf Hidayat {kecamatan},pendamping,{kecamatan},")
        people.append(f"PD-{k:02d}-2,Siti Rahmawati {kecamatan},pendamping,{kecamatan},")
    for kind, name, lines in ((ImportKind.POSYANDU, "posyandu.csv", posyandu),
                              (ImportKind.PEOPLE, "people.csv", people)):  # fmt: skip
        path = folder / name
        path.write_text("\n".join(lines) + "\n", "utf-8")
        report = await import_file(
            store, kind, path, t, now=NOW, nik_key=TEST_NIK_KEY, progress=False
        )
        assert report.ok
    return desa_names


async def test_district_rekap_too_long_for_one_message_arrives_in_parts_then_the_chart(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await activity(mother, store)
    desa_names = await import_the_whole_district(store, t_id, tmp_path)
    agus = await enrolled(store, mother, "TPJK-1", 7720)  # the district team
    sent_before = len(agus.api.calls)
    parts = await agus.send("/rekap 2026-11")
    assert len(parts) > 1 and all(len(part) <= MESSAGE_LIMIT for part in parts)
    assert all(is_whole_html(part) for part in parts)
    text = "\n".join(parts)
    assert text.startswith("<b>Rekap seluruh kabupaten, November 2026</b>")
    for desa in desa_names:  # each with its kecamatan
        assert re.search(rf"\n[^\n·]+ · {re.escape(desa)}: 0 / 0 / 0 / 0\n", text), desa
    # Two expected visits are too few for a percentage: the counts say it.
    assert "\nMekarjaya · Mekarjaya: 2 / 2 / 1 / 0\n" in text
    assert "PD-32-1 Ma&#x27;ruf Hidayat Koroncong: belum pernah / 0 / 0 / 0" in text
    assert text.rstrip().endswith("Rumah tangga yang tidak bisa dihubungi bot: 0")
    # Then the chart, in the same size as a kecamatan's.
    methods = [call.method for call in agus.api.calls[sent_before:]]
    assert methods == ["sendMessage"] * len(parts) + ["sendPhoto"]
    photo = agus.api.calls[-1]
    image = matplotlib.image.imread(BytesIO(photo.files["photo"]), format="png")
    assert image.shape[:2] == (1200, 900)


def desa_month(kecamatan: str, desa: str, expected: int, verified: int) -> DesaAttendance:
    return DesaAttendance(kecamatan, desa, expected, verified, verified, 0)


def test_the_district_chart_draws_the_lowest_kecamatan_and_the_whole_district(
    t_id: Translator,
) -> None:
    # 35 kecamatan of 10 desa, each desa with 20 visits expected a month; 18 verified in most
    # kecamatan, fewer in six. Munjul was lowest in the months before, but its latest rate counts.
    months = [date(2026, m, 1) for m in range(6, 12)]
    names = ["Mekarjaya", "Pandeglang", *KECAMATAN]
    low = {"Sobang": 5, "Cikeusik": 8, "Picung": 10, "Carita": 12, "Banjar": 14, "Menes": 16}

    def verified(kecamatan: str, month: date) -> int:
        if kecamatan == "Munjul":
            return 20 if month == months[-1] else 0
        return low.get(kecamatan, 18)

    history = [
        (month, [desa_month(kecamatan, f"{kecamatan} {d}", 20, verified(kecamatan, month))
                 for kecamatan in names for d in range(DESA_PER_KECAMATAN)])
        for month in months
    ]  # fmt: skip
    lines = attendance_lines(history, by_kecamatan=True)
    assert (lines.total, lines.only_the_lowest) == (35, True)
    assert len(lines.places) == LOWEST_SHOWN == 5  # and the dashed line of all: six lines
    assert [s.place for s in lines.places] == ["Sobang", "Cikeusik", "Picung", "Carita", "Banjar"]
    assert lines.places[0].rates == [0.25] * 6  # ten desa added up: 50 of 200 visits
    assert lines.overall is not None and lines.overall.place == ""
    assert lines.overall.latest == (18 * 28 + 5 + 8 + 10 + 12 + 14 + 16 + 20) / (20 * 35)
    # A desa left out of a month (no sessions, nobody expected) leaves a gap, not a zero.
    history[0][1].clear()
    assert attendance_lines(history, by_kecamatan=True).places[0].rates[0] is None
    # A kecamatan's chart: its few desa, all of them, by name of desa.
    mekarjaya = [(month, [r for r in rows if r.kecamatan == "Mekarjaya"][:3])
                 for month, rows in history[1:]]  # fmt: skip
    few = attendance_lines(mekarjaya, by_kecamatan=False)
    assert [s.place for s in few.places] == ["Mekarjaya 0", "Mekarjaya 1", "Mekarjaya 2"]
    assert not few.only_the_lowest
    # The picture stays the phone-sized one.
    recap = Recap(months[-1], "", history[-1][1], {("payout", "open"): 2}, None, 0, [], 0, [])
    image = matplotlib.image.imread(BytesIO(recap_chart(recap, history, t_id)), format="png")
    assert image.shape[:2] == (1200, 900) and image.std() > 0.05
    # Two complaints: the axis counts 0, 1, 2, never 0.5.
    complaints_axis = recap_figure(recap, history, t_id).axes[2]
    ticks = [tick for tick in complaints_axis.get_xticks() if 0 <= tick <= 2.5]
    assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
