"""Exports and backups that are safe to hand on: registry texts never turn into spreadsheet
formulas, and the files `sapa export` and `sapa backup` write are readable by their owner only."""

from __future__ import annotations

import csv
import sqlite3
import stat
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from sqlalchemy import update

from bot.cli import EXIT_OK, EXIT_PROBLEMS
from storage import schema
from storage.store import Store
from tests.conftest import Sapa
from tests.support.chat import Chat
from tests.support.helpers import EXAMPLES, VALID_FILES
from tests.support.scenes import activity, enrolled

# What someone may type into a registry spreadsheet, in the example province's places.
LINK = '=HYPERLINK("http://x","y")'  # desa Kadomas (CLI) / Sukamulya (chat)
COMMAND = "+cmd|' /C calc'!A0"  # kecamatan Pandeglang (CLI)
SUM = "@SUM(1)"  # the name of companion Euis Rohmah (CLI) / Hasan Nugraha (chat)
MINUS = "-2+3"  # the code of companion PD-MKJ-2 (CLI) / the name of kecamatan Mekarjaya (chat)
PLUS = "=1+2"  # programme number RTS-2026-0001 (chat)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def no_formulas(workbook: Workbook) -> list[str]:
    """Every text cell of the workbook, after checking that none is or looks like a formula."""
    texts = []
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s"
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r")), cell.value
                    texts.append(cell.value)
    return texts


def import_hostile_registry(folder: Path, sapa: Sapa) -> None:
    """The example province, with formulas in place of a desa, a kecamatan, a name and a code."""
    quoted_link = '"' + LINK.replace('"', '""') + '"'
    assert sapa(["migrate"]) == EXIT_OK
    for kind, name, _rows in VALID_FILES:
        text = (EXAMPLES / name).read_text("utf-8")
        text = text.replace(",Kadomas,", f",{quoted_link},")
        text = text.replace(",Pandeglang,", f",{COMMAND},").replace(";Pandeglang;", f";{COMMAND};")
        text = text.replace("Euis Rohmah", SUM).replace("PD-MKJ-2", MINUS)
        path = folder / name
        path.write_text(text, "utf-8")
        assert sapa(["import", kind.value, str(path)]) == EXIT_OK


def test_sapa_export_writes_no_formulas_into_private_files(
    sapa_here: Sapa, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_hostile_registry(tmp_path, sapa_here)
    out = tmp_path / "out"
    out.mkdir()
    # A workbook of an earlier run, readable by anyone: the new one is not.
    (out / "sapa-rekap-2026-11.xlsx").write_bytes(b"old")
    (out / "sapa-rekap-2026-11.xlsx").chmod(0o644)
    capsys.readouterr()
    assert sapa_here(["export", "--month", "2026-11", "--output", "out"]) == EXIT_OK
    written = sorted(Path(line) for line in capsys.readouterr().out.splitlines())
    assert [p.name for p in written] == [
        "sapa-rekap-2026-11-attendance.csv", "sapa-rekap-2026-11-companions.csv",
        "sapa-rekap-2026-11-complaints.csv", "sapa-rekap-2026-11-conditions.csv",
        "sapa-rekap-2026-11.xlsx",
    ]  # fmt: skip
    assert {p.name: mode(p) for p in out.iterdir()} == {p.name: 0o600 for p in written}

    workbook = load_workbook(out / "sapa-rekap-2026-11.xlsx")
    texts = no_formulas(workbook)
    for value in (LINK, COMMAND, SUM, MINUS):
        assert "'" + value in texts
    attendance = list(workbook["Kehadiran"].values)
    [kadomas] = [row for row in attendance if row[1] == "'" + LINK]
    assert kadomas[0] == "'" + COMMAND
    assert all(isinstance(n, int) for n in kadomas[2:6])  # the figures stay numbers
    assert workbook["Kehadiran"]["C2"].data_type == "n"

    with (out / "sapa-rekap-2026-11-attendance.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    [kadomas_row] = [row for row in rows if row[1].endswith(LINK)]
    assert kadomas_row[:2] == ["'" + COMMAND, "'" + LINK]
    with (out / "sapa-rekap-2026-11-companions.csv").open(encoding="utf-8-sig") as handle:
        companions = {row[0]: row[1] for row in csv.reader(handle)}
    assert companions["PD-MKJ-1"] == "'" + SUM
    assert companions["'" + MINUS] == "Hasan Nugraha"
    every_cell = [cell for name in written if name.suffix == ".csv"
                  for row in csv.reader(name.open(encoding="utf-8-sig")) for cell in row]  # fmt: skip
    assert not [cell for cell in every_cell if cell.startswith(("=", "+", "-", "@"))]


async def test_ekspor_in_the_chat_writes_no_formulas(mother: Chat, store: Store) -> None:
    await activity(mother, store)
    asep = await enrolled(store, mother, "KO-MKJ", 7703)
    async with store.engine.begin() as connection:
        for table, column, old, new in (
            (schema.desa, "name", "Sukamulya", LINK),
            (schema.staff, "name", "Hasan Nugraha", SUM),
            (schema.kecamatan, "name", "Mekarjaya", MINUS),
            (schema.household, "program_number", "RTS-2026-0001", PLUS),
        ):
            changed = await connection.execute(
                update(table).where(table.c[column] == old).values({column: new})
            )
            assert changed.rowcount == 1
    await asep.send("/ekspor")
    [document] = [c for c in asep.api.calls if c.method == "sendDocument"]
    workbook = load_workbook(BytesIO(document.files["document"]))
    no_formulas(workbook)
    attendance = list(workbook["Kehadiran"].values)
    assert ("'" + MINUS, "'" + LINK) in [row[:2] for row in attendance]
    assert all(isinstance(n, int) for row in attendance[1:] for n in row[2:6])  # still numbers
    complaints = list(workbook["Keluhan"].values)
    assert complaints[1][:3] == ("KLH-2612-0001", "'" + PLUS, "Mekarjaya")
    companions = list(workbook["Pendamping"].values)
    assert [row[:2] for row in companions[1:]] == [
        ("PD-MKJ-1", "Euis Rohmah"),
        ("PD-MKJ-2", "'" + SUM),
    ]


def test_sapa_backup_is_private_and_needs_an_existing_folder(
    sapa_here: Sapa, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sapa_here(["migrate"]) == EXIT_OK
    capsys.readouterr()
    assert sapa_here(["backup", "copy.db"]) == EXIT_OK
    assert capsys.readouterr().out.strip() == "Cadangan ditulis ke copy.db."
    assert mode(tmp_path / "copy.db") == 0o600
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("select count(*) from household").fetchone() == (0,)

    missing = tmp_path / "nowhere" / "deeper"
    assert sapa_here(["backup", str(missing / "x.db")]) == EXIT_PROBLEMS
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == f"Folder {missing} tidak ada; buat dulu atau pilih tempat lain.\n"
    assert not missing.exists()

    assert sapa_here(["backup", "copy.db"]) == EXIT_PROBLEMS
    assert capsys.readouterr().err == "copy.db sudah ada; pilih nama berkas baru.\n"
