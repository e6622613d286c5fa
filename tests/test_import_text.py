"""Registry import of text as offices really save it: invisible characters pasted into codes and
names, Excel's UTF-16 "Unicode text", and files with hundreds of bad rows."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.cli.registry import print_report
from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.texts.i18n import Translator
from storage.store import Store
from tests.conftest import NOW, TEST_NIK_KEY

HEADER = "code,name,kecamatan,desa,schedule"


def write_text(folder: Path, name: str, lines: list[str], encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


async def run_import(store: Store, t: Translator, kind: ImportKind, path: Path) -> ImportReport:
    return await import_file(store, kind, path, t, now=NOW, nik_key=TEST_NIK_KEY, progress=False)


async def test_a_code_with_invisible_characters_is_the_same_code(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    repeated = write_text(
        tmp_path,
        "posyandu.csv",
        [
            HEADER,
            "P-MKJ-01,Posyandu Anggrek,Mekarjaya,Sukamulya,tanggal 10",
            "P-MKJ-01\u200b,Posyandu Anggrek,Mekarjaya,Sukamulya,tanggal 10",
        ],
    )
    report = await run_import(store, t_id, ImportKind.POSYANDU, repeated)
    assert [(p.line, p.column, p.reason) for p in report.problems] == [
        (3, "code", "sudah ada di baris 2")
    ]

    first = write_text(
        tmp_path, "first.csv", [HEADER, "P-MKJ-01,Posyandu Anggrek,Mekarjaya,Sukamulya,tanggal 10"]
    )
    assert (await run_import(store, t_id, ImportKind.POSYANDU, first)).inserted == 1
    # The same posyandu again, with a word joiner, a soft hyphen, a zero-width space, a stray
    # byte-order mark, a right-to-left mark and a no-break space pasted in.
    again = write_text(
        tmp_path,
        "again.csv",
        [
            HEADER,
            "\u2060P-MKJ\u00ad-01\u200b,Posyandu\u00a0Anggrek\ufeff,Mekar\u200fjaya,Sukamulya,"
            "tanggal 10",
        ],
    )
    report = await run_import(store, t_id, ImportKind.POSYANDU, again)
    assert report.ok and (report.inserted, report.updated) == (0, 1)
    async with store.read() as repo:
        assert list(await repo.geography.posyandu_refs()) == ["P-MKJ-01"]
        assert list(await repo.geography.kecamatan_ids()) == ["mekarjaya"]
        anggrek = await repo.geography.get_posyandu("P-MKJ-01")
    assert anggrek is not None and anggrek.name == "Posyandu Anggrek"


async def test_a_head_name_is_stored_without_invisible_characters(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    posyandu = write_text(
        tmp_path, "posyandu.csv", [HEADER, "P-001,Posyandu Mawar,Pandeglang,Kadomas,tanggal 10"]
    )
    assert (await run_import(store, t_id, ImportKind.POSYANDU, posyandu)).ok
    households = write_text(
        tmp_path,
        "households.csv",
        [
            "program_number,head_name,nik,kecamatan,desa,posyandu_code,companion_code",
            "RTS-0001,Uja\u200dng Sukmana,3601014506900001,Pandeglang,Kadomas,P-001,",
            # "é" typed as "e" and a combining accent, and a soft hyphen.
            "RTS-0002,Andre\u0301 Sukma\u00adna,3601014506900002,Pandeglang,Kadomas,P-001,",
        ],
    )
    report = await run_import(store, t_id, ImportKind.HOUSEHOLDS, households)
    assert report.ok, report.problems
    async with store.read() as repo:
        ujang = await repo.households.get_by_program_number("RTS-0001")
        andre = await repo.households.get_by_program_number("RTS-0002")
    assert ujang is not None and ujang.head_name == "Ujang Sukmana"
    assert andre is not None and andre.head_name == "Andr\u00e9 Sukmana"


@pytest.mark.parametrize(
    ("bom", "encoding", "separator"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "\t"),  # Excel: Save As "Unicode Text"
        (codecs.BOM_UTF16_BE, "utf-16-be", ","),
        (codecs.BOM_UTF8, "utf-8", ";"),
        (b"", "utf-8", ","),
    ],
)
async def test_utf16_and_utf8_files_are_read(
    store: Store, t_id: Translator, tmp_path: Path, bom: bytes, encoding: str, separator: str
) -> None:
    lines = [
        HEADER,
        "P-001,Posyandu Désa,Pandeglang,Kadomas,tanggal 10",
        "P-002,Posyandu Melati,Pandeglang,Karaton,selasa minggu ke-2",
    ]
    path = tmp_path / "posyandu.txt"
    path.write_bytes(bom + "\r\n".join(lines).replace(",", separator).encode(encoding))

    report = await run_import(store, t_id, ImportKind.POSYANDU, path)

    assert report.ok and report.inserted == 2, report.problems
    async with store.read() as repo:
        desa = await repo.geography.get_posyandu("P-001")
    assert desa is not None and desa.name == "Posyandu Désa"


async def test_350_bad_rows_list_the_first_100_problems_and_count_the_rest(
    store: Store, t_id: Translator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [f"P-{n:03d},Posyandu {n},Pandeglang,Kadomas,setiap purnama" for n in range(350)]
    path = write_text(tmp_path, "bad.csv", [HEADER, *rows])

    report = await run_import(store, t_id, ImportKind.POSYANDU, path)

    assert not report.ok and not report.applied
    assert [p.line for p in report.problems] == list(range(2, 102))
    assert report.more_problems == 250 and report.problem_count == 350
    print_report(report, t_id)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "bad.csv: ditemukan 350 masalah, tidak ada yang diubah."
    assert printed[1].startswith("  baris 2, kolom schedule: setiap purnama bukan jadwal")
    assert printed[100].startswith("  baris 101, kolom schedule: ")
    assert printed[101:] == ["  … dan 250 masalah lainnya."]
    async with store.read() as repo:
        assert await repo.geography.kecamatan_ids() == {}
