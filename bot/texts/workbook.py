"""Exports of the recap: one XLSX workbook (attendance, complaints, companions, programme
conditions) and the same four tables as CSV files, for coordinators who report upward.

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
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import xlsxwriter  # type: ignore[import-untyped]

from bot.domain.conditions import Status
from bot.domain.models import ComplaintCategory, ComplaintStatus, EscalationLevel
from bot.domain.recap import Recap
from bot.texts.conditions import condition_label, condition_status_label
from bot.texts.i18n import Translator
from bot.texts.labels import (
    absence_label,
    category_label,
    level_label,
    role_label,
    status_label,
)

Table = tuple[str, list[str], list[list[object]]]

# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return
# because some programs skip them before looking for `=`).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WIDTH_SAMPLE = 200  # rows looked at to size the columns


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
    return neutralised_tables(_raw_tables(recap, t, zone))


def neutralised_tables(raw: list[Table]) -> list[Table]:
    return [
        (
            name,
            [str(neutralised(cell)) for cell in header],
            [[neutralised(cell) for cell in row] for row in rows],
        )
        for name, header, rows in raw
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
            r.sources.self_reported,
            r.sources.by_companion,
            r.sources.by_health_worker,
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
            role_label(c.filed_by, t),
        ]
        for c in recap.complaint_rows
    ]
    companions: list[list[object]] = [
        [
            c.code,
            c.name,
            local(c.last_active),
            c.verifications,
            c.complaints_handled,
            c.overdue,
            c.follow_ups_closed,
            round(c.median_days_to_close, 1) if c.median_days_to_close is not None else "",
            c.visits_for_households,
        ]
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
                t("Reported by the household"),
                t("Reported by a companion"),
                t("Reported by a health worker"),
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
                t("Filed by"),
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
                t("Follow-ups closed"),
                t("Median days to close"),
                t("Visits reported for households"),
            ],
            companions,
        ),
        _conditions_table(recap, t),
    ]


def _conditions_table(recap: Recap, t: Translator) -> Table:
    """Member-periods ending this month, per desa and per companion, condition and status
    (docs/conditions.md); the households' reasons for not going, per desa."""
    statuses = (Status.MET, Status.NOT_MET, Status.UNKNOWN, Status.EXCUSED)
    rows: list[list[object]] = []
    for kind, groups in ((t("Desa"), recap.conditions_by_desa),
                         (t("Companion"), recap.conditions_by_companion)):  # fmt: skip
        for name, counts in groups.items():
            for condition, found in sorted(counts.items()):
                figures = [found[s] for s in statuses]
                rows.append([kind, name or "—", condition_label(condition, t), *figures])
    for kind, places in ((t("Desa"), recap.absence_reasons),
                         (t("Posyandu"), recap.absence_reasons_by_posyandu)):  # fmt: skip
        for place, reasons in places.items():
            for reason, count in reasons.most_common():
                rows.append([kind, place, absence_label(reason, t), "", count, "", ""])
    header = [
        t("Per"),
        t("Name"),
        t("Condition"),
        *(condition_status_label(s, t) for s in statuses),
    ]
    return t("Conditions"), header, rows


def workbook_bytes(recap: Recap, t: Translator, zone: ZoneInfo) -> bytes:
    return tables_to_workbook(tables(recap, t, zone))


def tables_to_workbook(sheets: list[Table]) -> bytes:
    """One sheet per table, the header bold and frozen, columns as wide as their texts (judged
    from the first rows), dates as dates. Written row by row with XlsxWriter's constant-memory
    mode: a district's verification list has over a hundred thousand rows. Texts are never read
    as formulas, links or numbers (they come from registry files; see `neutralised`)."""
    buffer = BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    bold = workbook.add_format({"bold": True})
    day_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, header, rows in sheets:
        sheet = workbook.add_worksheet(name[:31])
        sample: list[list[object]] = [list(header), *rows[:WIDTH_SAMPLE]]
        for index in range(len(header)):
            width = max(len(str(row[index] if index < len(row) else "")) for row in sample)
            sheet.set_column(index, index, min(max(width + 2, 8), 40))
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, header, bold)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row):
                if isinstance(value, str):
                    if value:
                        sheet.write_string(number, column, value)
                elif isinstance(value, int | float):
                    sheet.write_number(number, column, value)
                elif isinstance(value, datetime):
                    sheet.write_datetime(number, column, value, moment_format)
                elif isinstance(value, date):
                    sheet.write_datetime(number, column, value, day_format)
                elif value is not None:
                    sheet.write(number, column, value)
    workbook.close()
    return buffer.getvalue()


def write_csv_files(
    recap: Recap, t: Translator, zone: ZoneInfo, folder: Path, stem: str
) -> list[Path]:
    """The three tables as UTF-8 CSV files with a BOM (Excel in Indonesia opens them right)."""
    keys = ("attendance", "complaints", "companions", "conditions")
    return [
        write_csv_table(folder / f"{stem}-{key}.csv", table)
        for table, key in zip(tables(recap, t, zone), keys, strict=True)
    ]


def write_csv_table(path: Path, table: Table) -> Path:
    """One table as a UTF-8 CSV file with a BOM, readable by its owner only."""
    _name, header, rows = table
    with open(path, "w", encoding="utf-8-sig", newline="", opener=private_opener) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
