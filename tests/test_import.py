"""Registry import, on SQLite and PostgreSQL: good files, re-imports, and every kind of bad file."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from bot.domain.models import MemberKind
from bot.services.demo import IMPORT_ORDER, write_demo_files
from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.texts.i18n import Translator
from storage.schema import audit_log, household
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY
from tests.support.helpers import write_csv

POSYANDU = """
code,name,kecamatan,desa,schedule
P-001,Posyandu Mawar,Pandeglang,Kadomas,tanggal 10
P-002,Posyandu Melati,Pandeglang,Karaton,selasa minggu ke-2
P-017,Posyandu Anggrek,Mekarjaya,Sukamulya,2nd tuesday
"""
PEOPLE = """
code,name,role,kecamatan,posyandu
PD-1,Dadang Suryana,pendamping,Pandeglang,
PD-2,Euis Rohmah,pendamping,Mekarjaya,
KO-1,Asep Hidayat,koordinator,Pandeglang,
BD-1,Bidan Nining,bidan,Pandeglang,P-001
TPJK,Agus Permana,admin,,
"""
HOUSEHOLDS = """
program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
RTS-0001,Ujang Sukmana,3601014506900001,Pandeglang,Kadomas,P-001,PD-1
RTS-0002,Siti Nurhayati,3601015107850002,Pandeglang,Karaton,P-002,PD-1
RTS-0003,Encep Maulana,3601291203880003,Mekarjaya,Sukamulya,P-017,PD-2
"""


async def run_import(
    store: Store, t: Translator, kind: ImportKind, path: Path, dry_run: bool = False
) -> ImportReport:
    return await import_file(
        store, kind, path, t, now=NOW, dry_run=dry_run, nik_key=TEST_NIK_KEY, progress=False
    )


async def load_base(store: Store, t: Translator, folder: Path) -> None:
    for kind, text in (
        (ImportKind.POSYANDU, POSYANDU),
        (ImportKind.PEOPLE, PEOPLE),
        (ImportKind.HOUSEHOLDS, HOUSEHOLDS),
    ):
        report = await run_import(store, t, kind, write_csv(folder, f"{kind}.csv", text))
        assert report.ok, report.problems


async def household_count(store: Store) -> int:
    async with store.read() as repo:
        return await repo.households.count()


async def test_demo_province_imports_and_reimport_changes_nothing(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    paths = write_demo_files(tmp_path, households=60, today=date(2026, 12, 1))
    first = [await run_import(store, t_id, kind, paths[kind]) for kind in IMPORT_ORDER]
    assert all(r.ok and r.applied for r in first)
    assert first[2].inserted == 60 and first[2].updated == 0
    members_first = first[3].inserted

    again = [await run_import(store, t_id, kind, paths[kind]) for kind in IMPORT_ORDER]
    assert all(r.ok for r in again)
    assert [r.inserted for r in again] == [0, 0, 0, 0, 0]
    assert again[2].updated == 60 and again[3].updated == members_first
    async with store.read() as repo:
        lines = await repo.stats.per_kecamatan()
    assert sum(line.households for line in lines) == 60
    assert sum(line.members for line in lines) == members_first
    assert {line.kecamatan for line in lines} == {"Pandeglang", "Mekarjaya"}


async def test_households_are_linked_to_their_places(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await load_base(store, t_id, tmp_path)
    async with store.read() as repo:
        found = await repo.households.get_by_program_number("RTS-0003")
        posyandu = await repo.geography.get_posyandu("P-017")
        companion = await repo.staff.get_by_code("PD-2")
    assert found is not None and posyandu is not None and companion is not None
    assert found.head_name == "Encep Maulana"
    assert found.posyandu_id == posyandu.id
    assert found.companion_id == companion.id
    assert found.kecamatan_id == posyandu.kecamatan_id
    assert str(posyandu.schedule) == "2nd tuesday"


async def test_nik_is_never_stored_in_full(store: Store, t_id: Translator, tmp_path: Path) -> None:
    await load_base(store, t_id, tmp_path)
    async with store.read() as repo:
        rows = (await repo.connection.execute(select(household))).all()
        found = await repo.households.get_by_program_number("RTS-0001")
    assert found is not None and found.nik_masked == "3601************"
    for row in rows:
        for value in row:
            assert "3601014506900001" not in str(value)
            assert "014506900001" not in str(value)


async def test_bad_household_rows_are_all_reported_and_nothing_changes(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await load_base(store, t_id, tmp_path)
    bad = write_csv(
        tmp_path,
        "bad.csv",
        """
        program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
        RTS-0100,Ade Permana,360101450690001,Pandeglang,Kadomas,P-001,PD-1
        RTS-0101,Dede Nugraha,3601014506900101,Pandeglang,Kadomas,P-099,PD-1
        RTS-0102,Iwan Saputra,3601014506900102,Pandeglang,Kadomas,P-001,PD-1
        RTS-0102,Iwan Saputra,3601014506900103,Pandeglang,Kadomas,P-001,PD-1
        RTS-0103,,3601014506900104,Cibaliung,Kadomas,P-001,PD-1
        RTS-0104,Mamat Ramdani,3601014506900105,Pandeglang,Kadomas,P-017,PD-1
        RTS-0105,Oman Hermawan,3601014506900106,Pandeglang,Kadomas,P-001,PD-2
        RTS-0106,Udin Gunawan,3601014506900001,Pandeglang,Kadomas,P-001,PD-1
        RTS-0107,Rahmat Setiawan,3601014506900107,Pandeglang,Kadomas,P-001,PD-1
    """,
    )
    before = await household_count(store)
    report = await run_import(store, t_id, ImportKind.HOUSEHOLDS, bad)

    assert not report.applied
    found = {(p.line, p.column, p.reason) for p in report.problems}
    assert (2, "nik", "NIK harus 16 digit") in found
    assert (3, "posyandu_code", "posyandu P-099 tidak dikenal") in found
    assert (5, "program_number", "sudah ada di baris 4") in found
    assert (6, "head_name", "tidak boleh kosong") in found
    assert (7, "posyandu_code", "posyandu P-017 tidak berada di kecamatan Pandeglang") in found
    assert (8, "companion_code", "pendamping PD-2 tidak bertugas di kecamatan Pandeglang") in found
    assert (9, "nik", "NIK ini sudah menjadi kepala rumah tangga RTS-0001") in found
    assert not any(p.line == 10 for p in report.problems)
    assert await household_count(store) == before


async def test_unknown_kecamatan_is_reported(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await load_base(store, t_id, tmp_path)
    bad = write_csv(
        tmp_path,
        "bad.csv",
        """
        program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
        RTS-0200,Ade Permana,3601014506900200,Cibaliung,Kadomas,P-001,PD-1
        RTS-0201,Ade Permana,3601014506900201,Pandeglang,Cikole,P-001,PD-1
    """,
    )
    report = await run_import(store, t_id, ImportKind.HOUSEHOLDS, bad)
    reasons = [(p.line, p.column, p.reason) for p in report.problems]
    assert reasons == [
        (
            2,
            "kecamatan",
            "kecamatan Cibaliung tidak dikenal (impor berkas posyandu terlebih dahulu)",
        ),
        (3, "desa", "desa Cikole tidak dikenal di kecamatan Pandeglang"),
    ]


async def test_wrong_columns_are_named(store: Store, t_id: Translator, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "households.csv",
        """
        program,head_name,nik,kecamatan,desa,posyandu
        RTS-1,Ujang,3601014506900001,Pandeglang,Kadomas,P-001
    """,
    )
    report = await run_import(store, t_id, ImportKind.HOUSEHOLDS, path)
    assert len(report.problems) == 1
    reason = report.problems[0].reason
    assert reason.startswith("kolom tidak ada: program_number, posyandu_code, companion_code")


async def test_empty_binary_and_headerless_files(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\n \n")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("code;name\nP-1;Posyandu Désa\n".encode("latin-1"))
    header_only = write_csv(tmp_path, "header.csv", "code,name,kecamatan,desa,schedule")

    expectations = {
        empty: "berkas kosong",
        blank: "berkas kosong",
        binary: "ini bukan berkas teks CSV (berisi data biner)",
        header_only: "berkas hanya berisi judul kolom, tanpa baris data",
    }
    for path, reason in expectations.items():
        report = await run_import(store, t_id, ImportKind.POSYANDU, path)
        assert [p.reason for p in report.problems] == [reason], path.name
    report = await run_import(store, t_id, ImportKind.POSYANDU, latin)
    assert "UTF-8" in report.problems[0].reason
    missing = await run_import(store, t_id, ImportKind.POSYANDU, tmp_path / "nope.csv")
    assert missing.problems[0].reason == "berkas nope.csv tidak ada"


async def test_semicolons_bom_and_header_case_are_accepted(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "posyandu.csv",
        """
        Code ; Name ;KECAMATAN;Desa;Schedule
        P-001;Posyandu Mawar;Pandeglang;Kadomas;Tanggal 10
        P-002;"Posyandu Melati; Karaton";Pandeglang;Karaton;Selasa minggu ke-2
    """,
        bom=True,
    )
    report = await run_import(store, t_id, ImportKind.POSYANDU, path)
    assert report.ok and report.inserted == 2
    async with store.read() as repo:
        melati = await repo.geography.get_posyandu("P-002")
    assert melati is not None and melati.name == "Posyandu Melati; Karaton"
    assert str(melati.schedule) == "2nd tuesday"


async def test_dry_run_reports_but_changes_nothing(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "posyandu.csv", POSYANDU)
    report = await run_import(store, t_id, ImportKind.POSYANDU, path, dry_run=True)
    assert report.ok and not report.applied and report.rows == 3
    async with store.read() as repo:
        assert await repo.geography.kecamatan_ids() == {}


async def test_members_dates_and_kinds(store: Store, t_id: Translator, tmp_path: Path) -> None:
    await load_base(store, t_id, tmp_path)
    bad = write_csv(
        tmp_path,
        "members.csv",
        """
        program_number,name,kind,birth_date,due_date
        RTS-0001,Aditya Sukmana,balita,2025-02-30,
        RTS-0001,Bunga Sukmana,balita,,
        RTS-0001,Cahya Sukmana,anak,2024-01-01,
        RTS-0001,Neneng,hamil,1995-01-01,
        RTS-0001,Dimas Sukmana,balita,2027-01-01,
        RTS-9999,Fajar,balita,2024-01-01,
        RTS-0002,Gita,lainnya,1990-01-01,2027-01-01
    """,
    )
    report = await run_import(store, t_id, ImportKind.MEMBERS, bad)
    found = {(p.line, p.column, p.reason) for p in report.problems}
    assert found == {
        (2, "birth_date", "2025-02-30 bukan tanggal (gunakan YYYY-MM-DD atau DD/MM/YYYY)"),
        (3, "birth_date", "balita harus punya tanggal lahir"),
        (4, "kind", "anak bukan jenis anggota (gunakan hamil, balita, anak_sekolah atau lainnya)"),
        (5, "due_date", "ibu hamil harus punya hari perkiraan lahir (HPL)"),
        (6, "birth_date", "tanggal lahir ada di masa depan"),
        (
            7,
            "program_number",
            "nomor peserta RTS-9999 tidak dikenal (impor berkas rumah tangga terlebih dahulu)",
        ),
        (8, "due_date", "hanya ibu hamil yang punya hari perkiraan lahir"),
    }

    good = write_csv(
        tmp_path,
        "members-good.csv",
        """
        program_number,name,kind,birth_date,due_date
        RTS-0001,Aditya Sukmana,Balita,28/02/2025,
        RTS-0001,Neneng Sukmana,hamil,,2027-03-01
    """,
    )
    report = await run_import(store, t_id, ImportKind.MEMBERS, good)
    assert report.ok and report.inserted == 2
    async with store.read() as repo:
        found_household = await repo.households.get_by_program_number("RTS-0001")
        assert found_household is not None
        members = await repo.households.members(found_household.id)
    assert [(m.name, m.kind, m.birth_date, m.due_date) for m in members] == [
        ("Aditya Sukmana", MemberKind.CHILD, date(2025, 2, 28), None),
        ("Neneng Sukmana", MemberKind.PREGNANT, None, date(2027, 3, 1)),
    ]


async def test_people_roles_and_scopes(store: Store, t_id: Translator, tmp_path: Path) -> None:
    await run_import(store, t_id, ImportKind.POSYANDU, write_csv(tmp_path, "p.csv", POSYANDU))
    bad = write_csv(
        tmp_path,
        "people.csv",
        """
        code,name,role,kecamatan,posyandu
        X-1,Admin Salah,admin,Pandeglang,
        X-2,Bidan Tanpa Posyandu,bidan,Pandeglang,
        X-3,Bidan Jauh,kader,Pandeglang,P-017
        X-4,Entah,lurah,Pandeglang,
        X-5,Pendamping Baru,Pendamping,Pandeglang,
    """,
    )
    report = await run_import(store, t_id, ImportKind.PEOPLE, bad)
    found = {(p.line, p.column, p.reason) for p in report.problems}
    assert found == {
        (2, "kecamatan", "admin kabupaten tidak punya kecamatan: kosongkan kolom ini"),
        (3, "posyandu", "bidan atau kader harus diisi kode posyandunya"),
        (4, "posyandu", "posyandu P-017 tidak berada di kecamatan Pandeglang"),
        (
            5,
            "role",
            "lurah bukan peran (gunakan pendamping, koordinator, operator, admin, bidan atau kader)",
        ),
    }


async def test_payout_rounds(store: Store, t_id: Translator, tmp_path: Path) -> None:
    await run_import(store, t_id, ImportKind.POSYANDU, write_csv(tmp_path, "p.csv", POSYANDU))
    path = write_csv(
        tmp_path,
        "payouts.csv",
        """
        round;kecamatan;date;place;start_time;end_time;amount
        2026-T4;Pandeglang;15/12/2026;Kantor Pos Pandeglang;08.00;14:00;Rp 2.250.000
        2026-T4;Mekarjaya;2026-12-16;Kantor Pos Mekarjaya;08:00;07:00;750000
        2026-T4;Mekarjaya;2026-12-16;Kantor Pos Mekarjaya;08:00;12:00;tujuh ratus
    """,
    )
    report = await run_import(store, t_id, ImportKind.PAYOUTS, path)
    found = {(p.line, p.column, p.reason) for p in report.problems}
    assert found == {
        (3, "end_time", "jam selesai harus sesudah jam mulai"),
        (4, "amount", "tujuh ratus bukan jumlah rupiah (misalnya 2250000)"),
    }
    fixed = write_csv(
        tmp_path,
        "payouts2.csv",
        """
        round;kecamatan;date;place;start_time;end_time;amount
        2026-T4;Pandeglang;15/12/2026;Kantor Pos Pandeglang;08.00;14:00;Rp 2.250.000
    """,
    )
    assert (await run_import(store, t_id, ImportKind.PAYOUTS, fixed)).ok
    async with store.read() as repo:
        kecamatan = await repo.geography.kecamatan_ids()
        rounds = await repo.payouts.for_kecamatan(kecamatan["pandeglang"])
    assert [(r.round_code, r.payout_date, r.amount) for r in rounds] == [
        ("2026-T4", date(2026, 12, 15), 2_250_000)
    ]


async def test_english_reasons(store: Store, t_en: Translator, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "p.csv",
        """
        code,name,kecamatan,desa,schedule
        P-1,Posyandu Mawar,Pandeglang,Kadomas,every full moon
    """,
    )
    report = await run_import(store, t_en, ImportKind.POSYANDU, path)
    assert report.problems[0].reason.startswith("every full moon is not a schedule")


async def test_empty_choice_cells_and_unclosed_quotes(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "p.csv",
        """
        code,name,kecamatan,desa,schedule
        P-1,Posyandu Mawar,Pandeglang,Kadomas,
    """,
    )
    report = await run_import(store, t_id, ImportKind.POSYANDU, path)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (2, "schedule", "tidak boleh kosong")
    ]
    unclosed = write_csv(
        tmp_path,
        "q.csv",
        """
        code,name,kecamatan,desa,schedule
        P-1,"Posyandu Mawar,Pandeglang,Kadomas,tanggal 10
        P-2,Posyandu Melati,Pandeglang,Karaton,tanggal 12
    """,
    )
    report = await run_import(store, t_id, ImportKind.POSYANDU, unclosed)
    assert [p.reason for p in report.problems] == ["berkas bukan tabel CSV yang sah"]


# Streaming: the file is checked and written a chunk at a time; these use chunks of two rows or
# one, so a few rows cross several chunk boundaries.


async def chunked_import(
    store: Store, t: Translator, kind: ImportKind, path: Path, chunk_rows: int
) -> ImportReport:
    return await import_file(
        store, kind, path, t, now=NOW, nik_key=TEST_NIK_KEY, progress=False, chunk_rows=chunk_rows
    )


async def test_a_problem_on_the_last_line_after_written_chunks_writes_nothing(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await load_base(store, t_id, tmp_path)
    path = write_csv(
        tmp_path,
        "more.csv",
        """
        program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
        RTS-0001,Ujang Sukmana Baru,3601014506900001,Pandeglang,Kadomas,P-001,PD-1
        RTS-0010,Ade Permana,3601014506900010,Pandeglang,Kadomas,P-001,PD-1
        RTS-0011,Dede Nugraha,3601014506900011,Pandeglang,Karaton,P-002,PD-1
        RTS-0012,Iwan Saputra,3601014506900012,Pandeglang,Kadomas,P-001,PD-1
        RTS-0013,Mamat Ramdani,3601014506900013,Pandeglang,Kadomas,P-099,PD-1
    """,
    )
    report = await chunked_import(store, t_id, ImportKind.HOUSEHOLDS, path, chunk_rows=2)

    assert not report.applied and report.rows == 5
    assert [(p.line, p.column) for p in report.problems] == [(6, "posyandu_code")]
    assert report.inserted == report.updated == 0
    assert await household_count(store) == 3
    async with store.read() as repo:
        kept = await repo.households.get_by_program_number("RTS-0001")
        numbers = await repo.connection.execute(select(household.c.program_number))
    assert kept is not None and kept.head_name == "Ujang Sukmana"
    assert sorted(n for (n,) in numbers) == ["RTS-0001", "RTS-0002", "RTS-0003"]


async def test_checks_across_chunk_boundaries(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await load_base(store, t_id, tmp_path)
    path = write_csv(
        tmp_path,
        "boundaries.csv",
        """
        program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code
        RTS-0001,Ujang Sukmana,3601014506900099,Pandeglang,Kadomas,P-001,PD-1
        RTS-0002,Siti Nurhayati,3601014506900001,Pandeglang,Karaton,P-002,PD-1
        RTS-0020,Ade Permana,3601014506900020,Pandeglang,Kadomas,P-001,PD-1
        RTS-0021,Dede Nugraha,36010145069,Pandeglang,Karaton,P-002,PD-1
        RTS-0020,Ade Permana,3601014506900022,Pandeglang,Kadomas,P-001,PD-1
        RTS-0023,Iwan Saputra,3601014506900020,Pandeglang,Kadomas,P-001,PD-1
    """,
    )
    report = await chunked_import(store, t_id, ImportKind.HOUSEHOLDS, path, chunk_rows=1)

    # RTS-0001 gave up its NIK on line 2, yet the NIK still counts as RTS-0001's, as it did
    # before the import; the duplicates point back to lines of earlier chunks; the problems are
    # listed in line order whatever check found them.
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (3, "nik", "NIK ini sudah menjadi kepala rumah tangga RTS-0001"),
        (5, "nik", "NIK harus 16 digit"),
        (6, "program_number", "sudah ada di baris 4"),
        (7, "nik", "sudah ada di baris 4"),
    ]
    assert not report.applied and report.inserted == report.updated == 0
    async with store.read() as repo:
        rows = (await repo.connection.execute(select(household))).all()
    assert len(rows) == 3
    assert len({row.nik_digest for row in rows}) == 3


async def test_chunked_import_and_reimport_count_and_update_in_place(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    paths = write_demo_files(tmp_path, households=7, today=date(2026, 12, 1))
    first = [await chunked_import(store, t_id, k, paths[k], 2) for k in IMPORT_ORDER]
    assert all(r.ok and r.applied for r in first), [r.problems for r in first]
    assert (first[2].inserted, first[2].updated) == (7, 0)
    members = first[3].inserted
    assert members > 7 and first[3].rows == members

    again = [await chunked_import(store, t_id, k, paths[k], 3) for k in IMPORT_ORDER]
    assert [r.inserted for r in again] == [0, 0, 0, 0, 0]
    assert again[2].updated == 7 and again[3].updated == members
    async with store.read() as repo:
        assert await repo.households.count() == 7
        entries = await repo.connection.execute(
            select(audit_log.c.detail)
            .where(audit_log.c.action == "import")
            .order_by(audit_log.c.id)
        )
        details = [row.detail for row in entries]
    assert len(details) == 10
    assert details[3]["rows"] == members and details[3]["inserted"] == members
    assert len(details[3]["sha256"]) == 64


async def test_members_of_an_unknown_household_in_a_late_chunk_write_nothing(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await load_base(store, t_id, tmp_path)
    path = write_csv(
        tmp_path,
        "members.csv",
        """
        program_number,name,kind,birth_date,due_date
        RTS-0001,Siti,lainnya,1990-01-01,
        RTS-0002,Rina,balita,2024-05-01,
        RTS-0001,SITI,lainnya,1990-01-01,
        RTS-0404,Dewi,balita,2024-05-01,
    """,
    )
    report = await chunked_import(store, t_id, ImportKind.MEMBERS, path, chunk_rows=1)

    assert [(p.line, p.column) for p in report.problems] == [(4, "name"), (5, "program_number")]
    async with store.read() as repo:
        first = await repo.households.get_by_program_number("RTS-0001")
        assert first is not None and await repo.households.members(first.id) == []
