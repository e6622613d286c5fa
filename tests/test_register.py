"""The compliance register: conditions per member and period, judged from what really happened,
and the verification list a payout period is decided on (issue 15)."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli.programme import run_register_export
from bot.domain.conditions import (
    Condition,
    Decision,
    Evidence,
    Status,
    Visit,
    judge_school,
    judge_visits,
    parse_period,
    trimesters,
)
from bot.domain.models import AbsenceReason, ReportStatus, SchoolMonth
from bot.services.register import build_register, judge_register, read_register_facts
from bot.services.session_changes import change_session
from bot.settings import load_settings
from bot.texts import register_sheet
from bot.texts.i18n import Translator
from storage.store import Store
from tests.conftest import TEST_NIK_KEY
from tests.support.chat import Chat
from tests.support.outbox import WIB
from tests.support.scenes import enrolled, link_everyone

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


def _visit(day: date, evidence: Evidence | None, on_session_day: bool = True) -> Visit:
    return Visit(1, day, evidence, on_session_day)


def test_a_month_of_weighing_is_met_unknown_excused_or_not_met() -> None:
    def judge(visits: list[Visit], today: date, held: int = 1) -> Status:
        end = date(2026, 11, 30)
        period = judge_visits(1, Condition.GROWTH, NOV, end, 1, visits, today, sessions_held=held)
        return period.status

    after = date(2026, 12, 2)
    verified = _visit(date(2026, 11, 30), Evidence.HOUSEHOLD)
    assert judge([verified], after) is Status.MET
    assert judge([], date(2026, 11, 20)) is Status.UNKNOWN  # the month still runs
    assert judge([_visit(date(2026, 11, 30), None)], after) is Status.UNKNOWN  # waits
    assert judge([], after, held=0) is Status.EXCUSED  # the posyandu held no session
    assert judge([], after) is Status.NOT_MET
    # Verified by the companion but on a day the posyandu was closed: it does not count...
    off_day = _visit(date(2026, 11, 25), Evidence.HOUSEHOLD, on_session_day=False)
    assert judge([off_day], after) is Status.NOT_MET
    # ...unless a health worker saw it.
    seen = _visit(date(2026, 11, 25), Evidence.HEALTH_WORKER, on_session_day=False)
    assert judge([seen], after) is Status.MET


def test_trimesters_are_counted_back_from_the_due_date() -> None:
    # Due 20 March 2027: the last period began 13 June 2026 (280 days before).
    assert trimesters(date(2027, 3, 20)) == [
        (date(2026, 6, 13), date(2026, 9, 18)),  # weeks 0 to 13+6
        (date(2026, 9, 19), date(2026, 12, 25)),  # weeks 14 to 27+6
        (date(2026, 12, 26), date(2027, 3, 20)),  # week 28 to the birth
    ]


def test_school_attendance_needs_85_percent_of_school_days() -> None:
    def status(present: int, days: int) -> Status:
        figures = SchoolMonth(member_id=1, month=NOV, days_present=present, days_school=days)
        return judge_school(1, NOV, figures, DEC).status

    assert status(17, 20) is Status.MET  # exactly 85%
    assert status(16, 20) is Status.NOT_MET
    assert judge_school(1, NOV, None, DEC).status is Status.UNKNOWN  # no figures yet


def test_payout_periods() -> None:
    quarter = parse_period("2026-T4")
    assert quarter is not None and (quarter.first, quarter.last) == (OCT, date(2026, 12, 31))
    stretch = parse_period("2026-09..2026-12")
    assert stretch is not None and (stretch.first, stretch.last) == (
        date(2026, 9, 1),
        date(2026, 12, 31),
    )
    assert parse_period("2026-T5") is None
    assert parse_period("2026-12..2026-09") is None
    assert parse_period("kemarin") is None


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)  # 10:00 WIB


async def test_the_register_judges_each_member_from_what_happened(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    people = await link_everyone(store, t_id)
    mother = people["RTS-2026-0001"]
    async with store.write() as repo:
        numbers = await repo.households.ids_by_program_number()
        members = {
            m.name: m
            for number in ("RTS-2026-0001", "RTS-2026-0002", "RTS-2026-0003")
            for m in await repo.households.members(numbers[number])
        }
        posyandu = {
            code: await repo.geography.get_posyandu(code) for code in ("P-MKJ-01", "P-MKJ-02")
        }
    anggrek, dahlia = posyandu["P-MKJ-01"], posyandu["P-MKJ-02"]
    assert anggrek is not None and dahlia is not None
    aditya, neneng = members["Aditya Sukmana"], members["Neneng Sukmana"]
    bunga = members["Bunga Setiawan"]

    async with store.write() as repo:
        add = repo.attendance.add_reported
        # Aditya (Anggrek meets on the last Monday): 26 October, verified by the companion.
        october = await add(aditya.id, anggrek.id, date(2026, 10, 26), None, mother, _at(OCT))
        # 25 November, a Wednesday: the posyandu did not meet; verified all the same.
        off_day = await add(aditya.id, anggrek.id, date(2026, 11, 25), None, mother, _at(NOV))
        # Bunga (Dahlia meets on the second Tuesday): 13 October rejected, 10 November waits.
        rejected = await add(bunga.id, dahlia.id, date(2026, 10, 13), None, mother, _at(OCT))
        await add(bunga.id, dahlia.id, date(2026, 11, 10), None, mother, _at(NOV))
        assert october and off_day and rejected
        for report, status in ((october, ReportStatus.VERIFIED), (off_day, ReportStatus.VERIFIED),
                               (rejected, ReportStatus.REJECTED)):  # fmt: skip
            assert await repo.verification.decide(report.id, status, mother, _at(DEC))
        # Neneng (due 20 March 2027) was seen by the bidan at the 30 November session.
        await repo.attendance.confirm_by_health_worker(
            neneng.id, anggrek.id, date(2026, 11, 30), mother, _at(DEC)
        )
        await repo.attendance.add_absence(
            numbers["RTS-2026-0002"], dahlia.id, date(2026, 10, 13), AbsenceReason.TOO_FAR,
            mother, _at(OCT),
        )  # fmt: skip
    # Zahra's posyandu (Flamboyan, the 15th) did not meet in November.
    await change_session(
        store, "P-MKJ-03", date(2026, 11, 15), None, actor="test", now=_at(NOV), zone=WIB
    )

    async with store.read() as repo:
        mekarjaya = (await repo.geography.kecamatan_ids())["mekarjaya"]
    period = parse_period("2026-T4")
    assert period is not None
    register = await build_register(store, mekarjaya, "Mekarjaya", period, date(2026, 12, 1))
    # The bot judges in its rendering process: the facts travel there pickled (as tuples) and
    # arrive the same, judged the same.
    facts = await read_register_facts(store, mekarjaya, period)
    arrived = pickle.loads(pickle.dumps(facts))
    assert arrived == facts and arrived.members and arrived.reports and arrived.absences
    assert judge_register(arrived, "Mekarjaya", date(2026, 12, 1)) == register

    lines = {line.household.program_number: line for line in register.households}
    assert set(lines) == {"RTS-2026-0001", "RTS-2026-0002", "RTS-2026-0003"}

    def judged(name: str) -> list[tuple[Condition, date, Status, Evidence | None]]:
        member = members[name]
        line = next(m for h in lines.values() for m in h.members if m.member.id == member.id)
        return [(p.condition, p.start, p.status, p.evidence) for p in line.periods]

    growth = Condition.GROWTH
    assert judged("Aditya Sukmana") == [
        (growth, OCT, Status.MET, Evidence.HOUSEHOLD),
        (growth, NOV, Status.NOT_MET, None),  # the off-day visit does not count
        (growth, DEC, Status.UNKNOWN, None),  # December still runs
    ]
    assert judged("Neneng Sukmana") == [
        (Condition.ANTENATAL, date(2026, 9, 19), Status.MET, Evidence.HEALTH_WORKER),
        (Condition.ANTENATAL, date(2026, 12, 26), Status.UNKNOWN, None),
    ]
    assert judged("Bunga Setiawan") == [
        (growth, OCT, Status.NOT_MET, None),  # the rejected report never counts
        (growth, NOV, Status.UNKNOWN, None),  # a report waits for verification
        (growth, DEC, Status.UNKNOWN, None),
    ]
    assert judged("Zahra Maulana") == [
        (growth, OCT, Status.NOT_MET, None),
        (growth, NOV, Status.EXCUSED, Evidence.NO_SESSION),
        (growth, DEC, Status.UNKNOWN, None),
    ]
    assert judged("Siti Nurhayati") == []  # no condition for other family members
    assert lines["RTS-2026-0001"].decision is Decision.SOME_NOT_MET
    assert lines["RTS-2026-0002"].absences == [(date(2026, 10, 13), AbsenceReason.TOO_FAR)]

    # The verification list, as the programme receives it.
    settings = load_settings(
        database_url="sqlite+aiosqlite:///unused.db", nik_key=TEST_NIK_KEY.decode()
    )
    code = await run_register_export(store, settings, t_id, "2026-T4", "Mekarjaya", tmp_path)
    assert code == 0
    workbook = load_workbook(tmp_path / "sapa-verifikasi-2026-T4-mekarjaya.xlsx")
    rows = list(workbook.worksheets[0].values)
    by_number = {row[0]: row for row in rows[1:]}
    assert by_number["RTS-2026-0001"][1] == "Ujang S."  # first name and initials only
    assert by_number["RTS-2026-0001"][-1] == "ada syarat yang tidak terpenuhi"
    assert "Terlalu jauh" in str(by_number["RTS-2026-0002"])
    members_sheet = list(workbook.worksheets[1].values)
    assert len(members_sheet) == 1 + 3 + 2 + 3 + 3  # header, then one row per member-period
    assert (
        tmp_path / "sapa-verifikasi-2026-T4-mekarjaya-households.csv"
    ).stat().st_mode & 0o077 == 0


async def test_a_coordinator_gets_the_verification_list_in_the_chat(
    mother: Chat, store: Store
) -> None:
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")
    await mother.press("Lewati")
    await mother.press("✅ Simpan")
    asep = await enrolled(store, mother, "KO-MKJ", 7711)
    await asep.send("/ekspor 2026-T4")
    [document] = [c for c in asep.api.calls if c.method == "sendDocument"]
    assert document.params["caption"].startswith("Daftar verifikasi 2026-T4")
    workbook = load_workbook(BytesIO(document.files["document"]))
    households = list(workbook.worksheets[0].values)
    # Asep's kecamatan only: the three households of Mekarjaya.
    assert [row[0] for row in households[1:]] == ["RTS-2026-0003", "RTS-2026-0001", "RTS-2026-0002"]
    members = list(workbook.worksheets[1].values)
    aditya_november = [
        r for r in members if r[0] == "RTS-2026-0001" and str(r[3]).startswith("2026-11")
    ]
    # Reported yesterday, not verified yet: not known yet, one report waiting.
    assert [(r[2], r[7], r[8]) for r in aditya_november] == [
        ("penimbangan balita", 1, "belum diketahui")
    ]
    # Households and companions may not have it.
    euis = await enrolled(store, mother, "PD-MKJ-1", 7712)
    assert await euis.send("/ekspor 2026-T4") == ["Maaf, itu tidak bisa dilakukan dari akun ini."]
    assert await mother.send("/ekspor 2026-T4") == ["Maaf, itu tidak bisa dilakukan dari akun ini."]


def test_a_district_workbook_points_to_the_csv_for_its_many_member_rows(
    t_id: Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    households = ("Rumah tangga", ["Nomor peserta"], [["RTS-1"], ["RTS-2"]])
    details = ("Syarat per anggota", ["Nomor peserta", "Status"], [["RTS-1", "terpenuhi"]] * 3)
    summary = ("Ringkasan", ["Syarat"], [["penimbangan balita"]])
    monkeypatch.setattr(register_sheet, "DETAIL_ROWS", 2)
    workbook = load_workbook(
        BytesIO(register_sheet.workbook_of([households, details, summary], t_id))
    )
    assert list(workbook.worksheets[0].values) == [("Nomor peserta",), ("RTS-1",), ("RTS-2",)]
    assert list(workbook.worksheets[1].values)[1][0].startswith("3 baris: terlalu banyak")
    monkeypatch.setattr(register_sheet, "DETAIL_ROWS", 3)
    workbook = load_workbook(
        BytesIO(register_sheet.workbook_of([households, details, summary], t_id))
    )
    assert len(list(workbook.worksheets[1].values)) == 4
