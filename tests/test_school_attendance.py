"""School children (anak sekolah) and the monthly school attendance import, on SQLite and
PostgreSQL: the member kind in the members file, `sapa import school-attendance` (every problem
with its line, all or nothing, a month imported again replaces it, --dry-run), the repository the
register reads, the migration on a database with data, and that the posyandu side (reminders,
recap) keeps leaving school children out."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.models import MemberKind, Role, SchoolMonth
from bot.services.recap import attendance_history, build_recap
from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.texts.i18n import Translator
from jobs.planner import PlanPolicy, plan
from storage.copy import COPIED, copy_database
from storage.database import create_engine
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.schema import audit_log, member, notification, school_attendance
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY
from tests.support.chat import Chat
from tests.support.helpers import import_examples, import_valid_files, sapa, write_csv

WIB = ZoneInfo("Asia/Jakarta")

# Three school children of the example province (NOW is 1 December 2026).
SCHOOL_CHILDREN = """
program_number,name,kind,birth_date,due_date
RTS-2026-0001,Dewi Sukmana,anak_sekolah,2014-07-17,
RTS-2026-0001,Eka Sukmana,Anak  Sekolah,03/01/2016,
RTS-2026-0002,Fajar Setiawan,school_child,2011-02-02,
"""
HEADER = "program_number,member,month,days_present,days_school"


async def run_import(
    store: Store,
    t: Translator,
    kind: ImportKind,
    path: Path,
    *,
    dry_run: bool = False,
    now: datetime = NOW,
    chunk_rows: int = 5_000,
) -> ImportReport:
    return await import_file(
        store,
        kind,
        path,
        t,
        now=now,
        dry_run=dry_run,
        nik_key=TEST_NIK_KEY,
        progress=False,
        chunk_rows=chunk_rows,
        zone=WIB,
    )


async def school_province(store: Store, t: Translator, folder: Path) -> dict[str, int]:
    """The example province with three school children; member ids by name."""
    await import_valid_files(store, t)
    path = write_csv(folder, "school-children.csv", SCHOOL_CHILDREN)
    report = await run_import(store, t, ImportKind.MEMBERS, path)
    assert report.ok and report.inserted == 3, report.problems
    async with store.read() as repo:
        rows = await repo.connection.execute(select(member.c.name, member.c.id))
        return {name: id_ for name, id_ in rows}


async def school_import(
    store: Store, t: Translator, folder: Path, rows: str, **options: object
) -> ImportReport:
    path = write_csv(folder, "sekolah.csv", HEADER + "\n" + rows.strip("\n"))
    return await run_import(store, t, ImportKind.SCHOOL_ATTENDANCE, path, **options)  # type: ignore[arg-type]


async def all_months(store: Store) -> list[tuple[int, date, int, int]]:
    async with store.read() as repo:
        query = select(
            school_attendance.c.member_id,
            school_attendance.c.month,
            school_attendance.c.days_present,
            school_attendance.c.days_school,
        ).order_by(school_attendance.c.member_id, school_attendance.c.month)
        return [tuple(row) for row in await repo.connection.execute(query)]  # type: ignore[misc]


# --- the member kind in the members file ---


async def test_school_children_in_the_members_file(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    ids = await school_province(store, t_id, tmp_path)
    async with store.read() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        members = await repo.households.members(household.id)
    assert [(m.name, m.kind, m.birth_date) for m in members if m.id in
            (ids["Dewi Sukmana"], ids["Eka Sukmana"])] == [
        ("Dewi Sukmana", MemberKind.SCHOOL_CHILD, date(2014, 7, 17)),
        ("Eka Sukmana", MemberKind.SCHOOL_CHILD, date(2016, 1, 3)),
    ]  # fmt: skip

    # Ages on the day of the import (1 December 2026): 5 to 20 are taken, either side refused.
    bad = write_csv(
        tmp_path,
        "members-bad.csv",
        """
        program_number,name,kind,birth_date,due_date
        RTS-2026-0003,Gilang Maulana,anak_sekolah,,
        RTS-2026-0003,Hana Maulana,anak_sekolah,2021-12-02,
        RTS-2026-0003,Indra Maulana,anak_sekolah,2021-12-01,
        RTS-2026-0003,Joko Maulana,anak_sekolah,2005-12-02,
        RTS-2026-0003,Kiki Maulana,anak_sekolah,2005-12-01,
        RTS-2026-0003,Lina Maulana,anak_sekolah,2014-01-01,2027-01-01
        RTS-2026-0003,Maya Maulana,anak_sekolahan,2014-01-01,
    """,
    )
    report = await run_import(store, t_id, ImportKind.MEMBERS, bad)
    assert not report.applied
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (2, "birth_date", "anak sekolah harus punya tanggal lahir"),
        (3, "birth_date", "anak sekolah berusia 5 sampai 20 tahun; menurut tanggal lahir ini "
                          "usianya 4 tahun"),
        (6, "birth_date", "anak sekolah berusia 5 sampai 20 tahun; menurut tanggal lahir ini "
                          "usianya 21 tahun"),
        (7, "due_date", "hanya ibu hamil yang punya hari perkiraan lahir"),
        (8, "kind", "anak_sekolahan bukan jenis anggota (gunakan hamil, balita, anak_sekolah "
                    "atau lainnya)"),
    ]  # fmt: skip
    async with store.read() as repo:
        count = select(func.count()).select_from(member)
        assert (await repo.connection.execute(count)).scalar_one() == 8 + 3


# --- sapa import school-attendance ---


async def test_a_good_file_is_imported_and_audited(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    ids = await school_province(store, t_id, tmp_path)
    report = await school_import(
        store,
        t_id,
        tmp_path,
        """
        RTS-2026-0001,Dewi Sukmana,2026-11,20,22
        RTS-2026-0001,dewi  SUKMANA,10/2026,22,22
        RTS-2026-0001,Eka Sukmana,2026-12,0,1
        RTS-2026-0002,Fajar Setiawan,2026-2,17,20
    """,
    )
    assert report.ok and report.applied, report.problems
    assert (report.rows, report.inserted, report.updated) == (4, 4, 0)
    dewi, eka, fajar = ids["Dewi Sukmana"], ids["Eka Sukmana"], ids["Fajar Setiawan"]
    assert sorted(await all_months(store)) == sorted([
        (dewi, date(2026, 10, 1), 22, 22),
        (dewi, date(2026, 11, 1), 20, 22),
        (eka, date(2026, 12, 1), 0, 1),
        (fajar, date(2026, 2, 1), 17, 20),
    ])  # fmt: skip
    async with store.read() as repo:
        [entry] = [
            row
            for row in await repo.connection.execute(select(audit_log))
            if row.entity == "school-attendance"
        ]
    assert (entry.action, entry.detail["rows"], entry.detail["inserted"]) == ("import", 4, 4)
    assert entry.detail["file"] == "sekolah.csv"


async def test_every_problem_with_its_line_and_nothing_written(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await school_province(store, t_id, tmp_path)
    report = await school_import(
        store,
        t_id,
        tmp_path,
        """
        RTS-9999,Dewi Sukmana,2026-11,20,22
        RTS-2026-0001,Budi Sukmana,2026-11,20,22
        RTS-2026-0001,Aditya Sukmana,2026-11,20,22
        RTS-2026-0001,Dewi Sukmana,2026-11,dua puluh,22
        RTS-2026-0001,Dewi Sukmana,2026-10,23,22
        RTS-2026-0001,Dewi Sukmana,2026-09,20,32
        RTS-2026-0001,Dewi Sukmana,November 2026,20,22
        RTS-2026-0001,Dewi Sukmana,2027-01,20,22
        RTS-2026-0001,Eka Sukmana,11/2026,20,22
        RTS-2026-0001,eka  sukmana,2026-11,19,22
        RTS-2026-0001,Dewi Sukmana,2026-02,20,29
        RTS-2026-0001,Dewi Sukmana,2026-08,,22
        RTS-2026-0001,Dewi Sukmana,2026-07,0,0
        RTS-2026-0002,Fajar Setiawan,2026-11,-1,20
        RTS-2026-0002,Fajar Setiawan,2026-10,18,20
    """,
    )
    assert not report.applied and report.rows == 15
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (2, "program_number",
         "nomor peserta RTS-9999 tidak dikenal (impor berkas rumah tangga terlebih dahulu)"),
        (3, "member", "rumah tangga RTS-2026-0001 tidak punya anggota bernama Budi Sukmana "
                      "(impor berkas anggota terlebih dahulu)"),
        (4, "member", "Aditya Sukmana terdaftar sebagai balita, bukan anak sekolah (anak_sekolah)"),
        (5, "days_present", "dua puluh bukan jumlah hari (tulis bilangan bulat, misalnya 20)"),
        (6, "days_present", "hari hadir (23) lebih banyak dari hari sekolah (22)"),
        (7, "days_school", "hari sekolah harus antara 1 dan 31"),
        (8, "month", "November 2026 bukan bulan (gunakan YYYY-MM atau MM/YYYY, misalnya 2026-11)"),
        (9, "month", "bulan 2027-01 belum tiba"),
        (11, "month", "sudah ada di baris 10"),
        (12, "days_school", "bulan 2026-02 hanya punya 28 hari"),
        (13, "days_present", "tidak boleh kosong"),
        (14, "days_school", "hari sekolah harus antara 1 dan 31"),
        (15, "days_present", "-1 bukan jumlah hari (tulis bilangan bulat, misalnya 20)"),
    ]  # fmt: skip
    assert await all_months(store) == []


async def test_reasons_in_english(store: Store, t_en: Translator, tmp_path: Path) -> None:
    await school_province(store, t_en, tmp_path)
    report = await school_import(
        store,
        t_en,
        tmp_path,
        """
        RTS-2026-0001,Neneng Sukmana,2026-11,20,22
        RTS-2026-0001,Dewi Sukmana,2026-11,21,20
    """,
    )
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (2, "member", "Neneng Sukmana is registered as pregnant, not as a school child "
                      "(anak_sekolah)"),
        (3, "days_present", "days present (21) are more than the school days (20)"),
    ]  # fmt: skip


async def test_this_month_is_the_month_in_wib(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await school_province(store, t_id, tmp_path)
    rows = "RTS-2026-0001,Dewi Sukmana,2026-12,1,1"
    # 30 November 18:00 UTC is already 1 December 01:00 in Banten.
    evening = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    report = await school_import(store, t_id, tmp_path, rows, now=evening)
    assert report.ok, report.problems
    # An hour earlier it was still November in Banten too.
    earlier = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    report = await school_import(store, t_id, tmp_path, rows, now=earlier)
    assert [p.reason for p in report.problems] == ["bulan 2026-12 belum tiba"]


async def test_a_problem_after_written_chunks_writes_nothing(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await school_province(store, t_id, tmp_path)
    good = "\n".join(f"RTS-2026-0001,Dewi Sukmana,2025-{m:02d},18,20" for m in range(1, 13))
    report = await school_import(
        store,
        t_id,
        tmp_path,
        good + "\nRTS-2026-0001,Dewi Sukmana,2025-01,18,20",
        chunk_rows=5,
    )
    assert [(p.line, p.reason) for p in report.problems] == [(14, "sudah ada di baris 2")]
    assert not report.applied and report.inserted == 0
    assert await all_months(store) == []


async def test_a_month_imported_again_replaces_it(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    ids = await school_province(store, t_id, tmp_path)
    dewi = ids["Dewi Sukmana"]
    first = await school_import(store, t_id, tmp_path, "RTS-2026-0001,Dewi Sukmana,2026-11,20,22")
    assert (first.inserted, first.updated) == (1, 0)
    again = await school_import(
        store,
        t_id,
        tmp_path,
        """
        RTS-2026-0001,Dewi Sukmana,11/2026,15,21
        RTS-2026-0001,Dewi Sukmana,2026-10,19,19
    """,
    )
    assert again.ok and (again.inserted, again.updated) == (1, 1)
    assert await all_months(store) == [
        (dewi, date(2026, 10, 1), 19, 19),
        (dewi, date(2026, 11, 1), 15, 21),
    ]


async def test_dry_run_checks_and_changes_nothing(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await school_province(store, t_id, tmp_path)
    rows = "RTS-2026-0001,Dewi Sukmana,2026-11,20,22"
    report = await school_import(store, t_id, tmp_path, rows, dry_run=True)
    assert report.ok and not report.applied and report.rows == 1
    assert await all_months(store) == []
    async with store.read() as repo:
        audited = (
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.entity == "school-attendance")
        )
        assert (await repo.connection.execute(audited)).scalar_one() == 0


def test_the_sapa_command(tmp_path: Path) -> None:
    import_examples(tmp_path)
    children = write_csv(tmp_path, "anak.csv", SCHOOL_CHILDREN)
    assert sapa("import", "members", str(children), cwd=tmp_path).returncode == 0
    good = write_csv(
        tmp_path,
        "sekolah-2026-11.csv",
        f"""
        {HEADER}
        RTS-2026-0001,Dewi Sukmana,2026-11,20,22
        RTS-2026-0001,Eka Sukmana,2026-11,21,22
    """,
    )
    checked = sapa("import", "school-attendance", str(good), "--dry-run", cwd=tmp_path)
    assert (checked.returncode, checked.stdout) == (
        0,
        "sekolah-2026-11.csv: 2 baris diperiksa, tidak ada masalah. Uji coba: tidak ada yang "
        "diubah.\n",
    )
    done = sapa("import", "school-attendance", str(good), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (
        0,
        "sekolah-2026-11.csv: 2 baris diimpor (2 baru, 0 diperbarui).\n",
    )
    again = sapa("import", "school-attendance", str(good), cwd=tmp_path)
    assert again.stdout == "sekolah-2026-11.csv: 2 baris diimpor (0 baru, 2 diperbarui).\n"
    bad = write_csv(
        tmp_path,
        "sekolah-salah.csv",
        f"""
        {HEADER}
        RTS-2026-0001,Dewi Sukmana,2026-11,20,22
        RTS-2026-0001,Aditya Sukmana,2026-11,20,22
    """,
    )
    refused = sapa("import", "school-attendance", str(bad), cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (
        1,
        "sekolah-salah.csv: ditemukan 1 masalah, tidak ada yang diubah.\n"
        "  baris 3, kolom member: Aditya Sukmana terdaftar sebagai balita, bukan anak sekolah "
        "(anak_sekolah)\n",
    )
    missing = write_csv(
        tmp_path, "kolom.csv", "program_number,member,month\nRTS-2026-0001,Dewi,2026-11"
    )
    result = sapa("import", "school-attendance", str(missing), cwd=tmp_path)
    assert result.returncode == 1
    assert "days_present, days_school" in result.stdout


# --- the repository the register reads ---


async def test_the_repository_reads_members_months(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    ids = await school_province(store, t_id, tmp_path)
    dewi, eka, fajar = ids["Dewi Sukmana"], ids["Eka Sukmana"], ids["Fajar Setiawan"]
    await school_import(
        store,
        t_id,
        tmp_path,
        """
        RTS-2026-0001,Dewi Sukmana,2026-08,10,12
        RTS-2026-0001,Dewi Sukmana,2026-09,20,22
        RTS-2026-0001,Dewi Sukmana,2026-11,18,21
        RTS-2026-0001,Eka Sukmana,2026-10,21,22
        RTS-2026-0002,Fajar Setiawan,2026-09,5,22
    """,
    )
    async with store.read() as repo:
        # Any day of a month stands for it; both ends are included.
        found = await repo.school.for_members([eka, dewi], date(2026, 9, 30), date(2026, 11, 2))
        # By member, then month.
        assert found == sorted(
            [
                SchoolMonth(member_id=dewi, month=date(2026, 9, 1), days_present=20,
                            days_school=22),
                SchoolMonth(member_id=dewi, month=date(2026, 11, 1), days_present=18,
                            days_school=21),
                SchoolMonth(member_id=eka, month=date(2026, 10, 1), days_present=21,
                            days_school=22),
            ],
            key=lambda m: (m.member_id, m.month),
        )  # fmt: skip
        assert await repo.school.for_members([], date(2026, 1, 1), date(2026, 12, 1)) == []
        assert await repo.school.for_members([fajar], date(2026, 10, 1), date(2026, 12, 1)) == []


async def test_a_deleted_member_takes_its_months_along(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    ids = await school_province(store, t_id, tmp_path)
    await school_import(
        store,
        t_id,
        tmp_path,
        """
        RTS-2026-0001,Dewi Sukmana,2026-11,20,22
        RTS-2026-0002,Fajar Setiawan,2026-11,5,22
    """,
    )
    async with store.write() as repo:
        await repo.connection.execute(delete(member).where(member.c.id == ids["Dewi Sukmana"]))
    assert [row[0] for row in await all_months(store)] == [ids["Fajar Setiawan"]]


async def test_the_copy_to_another_database_takes_school_months(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    names = [table.name for table in COPIED]
    assert names.index("member") < names.index("school_attendance")
    if store.engine.dialect.name != "sqlite":
        return  # the copy itself: SQLite to SQLite is enough here
    await school_province(store, t_id, tmp_path)
    await school_import(store, t_id, tmp_path, "RTS-2026-0001,Dewi Sukmana,2026-11,20,22")
    target_url = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
    target = create_engine(target_url)
    await upgrade(target)
    report = await copy_database(store.engine, target)
    assert report.rows["school_attendance"] == 1
    await target.dispose()


# --- /datasaya shows the school months ---


async def test_my_data_shows_the_school_months(mother: Chat, store: Store, t_id: Translator,
                                               tmp_path: Path) -> None:  # fmt: skip
    path = write_csv(tmp_path, "school-children.csv", SCHOOL_CHILDREN)
    assert (await run_import(store, t_id, ImportKind.MEMBERS, path)).ok
    [shown] = await mother.send("/datasaya")
    assert "• Dewi Sukmana, anak sekolah, lahir Kamis, 17 Juli 2014\n" in shown
    assert (
        "<b>Kehadiran sekolah (24 terakhir)</b>\nBelum ada data kehadiran sekolah dari sekolah.\n\n"
    ) in shown
    await school_import(
        store,
        t_id,
        tmp_path,
        """
        RTS-2026-0001,Dewi Sukmana,2026-10,22,22
        RTS-2026-0001,Dewi Sukmana,2026-11,20,22
        RTS-2026-0001,Eka Sukmana,2026-11,21,22
        RTS-2026-0002,Fajar Setiawan,2026-11,5,22
    """,
    )
    [shown] = await mother.send("/datasaya")
    assert (
        "<b>Kehadiran sekolah (24 terakhir)</b>\n"
        "• Dewi Sukmana, November 2026: hadir 20 dari 22 hari sekolah\n"
        "• Eka Sukmana, November 2026: hadir 21 dari 22 hari sekolah\n"
        "• Dewi Sukmana, Oktober 2026: hadir 22 dari 22 hari sekolah\n\n"
    ) in shown
    assert "Fajar" not in shown  # another household's child


# --- the posyandu side leaves school children out ---


async def test_a_school_child_gets_no_posyandu_reminder(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await import_valid_files(store, t_id)
    households = write_csv(
        tmp_path,
        "households-more.csv",
        """
        program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
        RTS-2026-0007,Nana Suryana,3601295107880007,Mekarjaya,Sukamulya,P-MKJ-02,PD-MKJ-2
        RTS-2026-0008,Odah Suryani,3601295107880008,Mekarjaya,Mekarjaya,P-MKJ-01,PD-MKJ-1
    """,
    )
    assert (await run_import(store, t_id, ImportKind.HOUSEHOLDS, households)).ok
    children = write_csv(
        tmp_path,
        "members-more.csv",
        """
        program_number,name,kind,birth_date,due_date
        RTS-2026-0002,Fajar Setiawan,anak_sekolah,2011-02-02,
        RTS-2026-0007,Putri Suryana,anak_sekolah,2013-05-05,
        RTS-2026-0008,Rudi Suryana,anak_sekolah,2012-06-06,
    """,
    )
    assert (await run_import(store, t_id, ImportKind.MEMBERS, children)).ok
    people: dict[str, int] = {}
    async with store.write() as repo:
        numbers = await repo.households.ids_by_program_number()
        for n, (number, household_id) in enumerate(sorted(numbers.items())):
            person = await repo.people.add(
                60_000 + n, Role.HOUSEHOLD, NOW, household_id=household_id
            )
            people[number] = person.id

    await plan(store, NOW, PlanPolicy(WIB))  # Tuesday 1 December 2026, 10:00 WIB
    async with store.read() as repo:
        rows = list(await repo.connection.execute(select(notification)))
    # Dahlia meets on 8 December: Siti's household is reminded for Bunga, not for Fajar; the
    # household with only a school child (RTS-2026-0007) is not reminded at all.
    siti = [r for r in rows if r.person_id == people["RTS-2026-0002"]]
    assert sorted(r.template_key for r in siti) == ["posyandu.day", "posyandu.eve"]
    assert all(r.params["members"] == ["Bunga Setiawan"] for r in siti)
    # Anggrek met on 30 November: no "did you go?" for a household with only a school child.
    for number in ("RTS-2026-0007", "RTS-2026-0008"):
        assert [r.template_key for r in rows if r.person_id == people[number]] == []
    assert any(r.template_key == "posyandu.missed" for r in rows)
    assert not any("Putri" in str(r.params) or "Rudi" in str(r.params) for r in rows)


async def test_a_school_child_is_not_expected_at_the_posyandu_in_the_recap(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await import_valid_files(store, t_id)
    async with store.read() as repo:
        mekarjaya = (await repo.geography.kecamatan_ids())["mekarjaya"]

    async def expected() -> tuple[object, object]:
        november = await build_recap(store, mekarjaya, date(2026, 11, 1), now=NOW, zone=WIB)
        history = await attendance_history(store, mekarjaya, date(2026, 12, 1), WIB)
        return (
            [(r.desa, r.expected) for r in november.attendance],
            [[(r.desa, r.expected) for r in rows] for _month, rows in history],
        )

    before = await expected()
    path = write_csv(tmp_path, "school-children.csv", SCHOOL_CHILDREN)
    assert (await run_import(store, t_id, ImportKind.MEMBERS, path)).ok
    assert await expected() == before
    # One window and several windows (the chart) both counted Neneng and Aditya only.
    assert ("Mekarjaya", 2) in before[0]  # type: ignore[operator]


# --- the migration on a database that holds data ---


REGISTRY_0012 = [
    "INSERT INTO kecamatan (id, name, name_key) VALUES (1, 'Mekarjaya', 'mekarjaya')",
    "INSERT INTO desa (id, kecamatan_id, name, name_key) VALUES (1, 1, 'Sukamulya', 'sukamulya')",
    "INSERT INTO posyandu (id, code, name, desa_id, schedule) "
    "VALUES (1, 'P-1', 'Posyandu Dahlia', 1, 'tanggal 10')",
    "INSERT INTO household (id, program_number, head_name, nik_masked, nik_digest, "
    "nik_tail_digest, desa_id, posyandu_id, active, created_at, updated_at) VALUES "
    "(1, 'RTS-1', 'Siti', '3601************', 'd', 't', 1, 1, true, :at, :at)",
    "INSERT INTO member (id, household_id, name, name_key, kind, birth_date) "
    "VALUES (1, 1, 'Bunga', 'bunga', 'child', '2024-01-01')",
    "INSERT INTO member (id, household_id, name, name_key, kind, birth_date) "
    "VALUES (2, 1, 'Siti', 'siti', 'other', '1988-01-01')",
    "INSERT INTO attendance_report (id, member_id, posyandu_id, session_date, status, "
    "reported_at) VALUES (1, 1, 1, '2026-11-10', 'verified', :at)",
]


async def test_the_migration_keeps_the_data_of_a_database_in_use(
    empty_engine: AsyncEngine,
) -> None:
    engine = empty_engine
    await upgrade(engine, "0012")
    at = datetime.combine(date(2026, 11, 10), time(3), tzinfo=UTC).replace(tzinfo=None)
    async with engine.begin() as connection:
        for statement in REGISTRY_0012:
            await connection.execute(text(statement), {"at": at})
        await connection.execute(text("DELETE FROM planner_change"))

    await upgrade(engine, "0013")
    async with engine.begin() as connection:
        # What was there is still there: the members, and the reports that reference them.
        reports = await connection.execute(text("SELECT id, member_id FROM attendance_report"))
        assert list(reports) == [(1, 1)]
        kinds = await connection.execute(text("SELECT id, kind FROM member ORDER BY id"))
        assert list(kinds) == [(1, "child"), (2, "other")]
        # A school child may be added, and the planner still hears of changes to members.
        await connection.execute(
            text(
                "INSERT INTO member (id, household_id, name, name_key, kind, birth_date) "
                "VALUES (3, 1, 'Tono', 'tono', 'school_child', '2014-01-01')"
            )
        )
        marks = await connection.execute(text("SELECT count(*) FROM planner_change"))
        assert marks.scalar_one() == 1
        await connection.execute(
            text(
                "INSERT INTO school_attendance (member_id, month, days_present, days_school, "
                "imported_at) VALUES (3, '2026-11-01', 20, 22, :at)"
            ),
            {"at": at},
        )
    # The checks hold: a kind that is not known, more days present than school days.
    for statement in (
        "UPDATE member SET kind = 'teenager' WHERE id = 3",
        "UPDATE school_attendance SET days_present = 23",
        "UPDATE school_attendance SET days_school = 32, days_present = 1",
        "UPDATE school_attendance SET days_school = 0, days_present = 0",
    ):
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            async with engine.begin() as connection:
                await connection.execute(text(statement))

    # Back to 0012 (a release rolled back): the school child stays, as a family member.
    await downgrade(engine, "0012")
    async with engine.begin() as connection:
        kinds = await connection.execute(text("SELECT id, kind FROM member ORDER BY id"))
        assert list(kinds) == [(1, "child"), (2, "other"), (3, "other")]
        reports = await connection.execute(text("SELECT count(*) FROM attendance_report"))
        assert reports.scalar_one() == 1
    await upgrade(engine)
    assert await current_revision(engine) == head_revision()
