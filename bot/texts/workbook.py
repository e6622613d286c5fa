"""Exports of the recap: one XLSX workbook (attendance, complaints, companions) and the same
three tables as CSV files, for coordinators who report upward.

No names of household members and no complaint texts leave the bot: rows carry programme
numbers, desa and figures only.

Every text cell comes from registry CSV files someone else wrote, so a text that a spreadsheet
would read as a formula (`=HYPERLINK(...)`, `@SUM(...)`, `+cmd|...`) is written with a leading `'`
(the OWASP rule against CSV injection), in the workbook and the CSV files alike. The files
`sapa export` writes are readable by their owner only (0600).
"""

from __future__ import annotations

import csv
import os
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font

from bot.domain.models import ComplaintCategory, ComplaintStatus, EscalationLevel
from bot.domain.recap import Recap
from bot.texts.i18n import Translator
from bot.texts.labels import category_label, level_label, status_label

Table = tuple[str, list[str], list[list[object]]]

# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return
# because some programs skip them before looking for `=`).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: object) -> object:
    """A text that a spreadsheet would take for a formula, with a `'` in front; anything else
    (numbers, a negative one included, and plain texts) as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def private_opener(path: str, flags: int) -> int:
    """An `opener` for `open()`: the file is 0600 before a byte is written, also when it existed
    already with a wider mode."""
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, readable and writable by its owner only."""
    with open(path, "wb", opener=private_opener) as handle:
        handle.write(data)


def tables(recap: Recap, t: Translator, zone: ZoneInfo) -> list[Table]:
    """(sheet name, header, rows) for attendance, complaints and companions, every text cell
    `neutralised`."""
    return [
        (
            name,
            [str(neutralised(cell)) for cell in header],
            [[neutralised(cell) for cell in row] for row in rows],
        )
        for name, header, rows in _raw_tables(recap, t, zone)
    ]


def _raw_tables(recap: Recap, t: Translator, zone: ZoneInfo) -> list[Table]:
    """The tables with the texts as the database holds them: never written out as they are."""

    def local(moment: object) -> object:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""  # type: ignore[attr-defined]

    attendance: list[list[object]] = [
        [
            r.kecamatan,
            r.desa,
            r.expected,
            r.reported,
            r.verified,
            r.cross_checked,
            round(r.rate * 100, 1) if r.rate is not None else "",
        ]
        for r in recap.attendance
    ]
    complaints: list[list[object]] = [
        [
            c.ticket_code,
            c.program_number,
            c.desa,
            category_label(ComplaintCategory(c.category), t),
            status_label(ComplaintStatus(c.status), t),
            level_label(EscalationLevel(c.level), t),
            local(c.created_at),
            local(c.deadline_at),
            local(c.resolved_at),
        ]
        for c in recap.complaint_rows
    ]
    companions: list[list[object]] = [
        [c.code, c.name, local(c.last_active), c.verifications, c.complaints_handled, c.overdue]
        for c in recap.companions
    ]
    return [
        (
            t("Attendance"),
            [
                t("Kecamatan"),
                t("Desa"),
                t("Expected"),
                t("Reported"),
                t("Verified"),
                t("Cross-checked"),
                t("Rate (%)"),
            ],
            attendance,
        ),
        (
            t("Complaints"),
            [
                t("Ticket"),
                t("Programme number"),
                t("Desa"),
                t("Category"),
                t("Status"),
                t("Level"),
                t("Filed (WIB)"),
                t("Deadline (WIB)"),
                t("Resolved (WIB)"),
            ],
            complaints,
        ),
        (
            t("Companions"),
            [
                t("Code"),
                t("Name"),
                t("Last active (WIB)"),
                t("Verifications"),
                t("Complaints handled"),
                t("Overdue complaints"),
            ],
            companions,
        ),
    ]


def workbook_bytes(recap: Recap, t: Translator, zone: ZoneInfo) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for name, header, rows in tables(recap, t, zone):
        sheet = workbook.create_sheet(name[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for column in sheet.columns:
            width = max(len(str(cell.value or "")) for cell in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 40)
        sheet.freeze_panes = "A2"
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv_files(
    recap: Recap, t: Translator, zone: ZoneInfo, folder: Path, stem: str
) -> list[Path]:
    """The three tables as UTF-8 CSV files with a BOM (Excel in Indonesia opens them right)."""
    written = []
    for (_name, header, rows), key in zip(
        tables(recap, t, zone), ("attendance", "complaints", "companions"), strict=True
    ):
        path = folder / f"{stem}-{key}.csv"
        with open(path, "w", encoding="utf-8-sig", newline="", opener=private_opener) as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        written.append(path)
    return written
