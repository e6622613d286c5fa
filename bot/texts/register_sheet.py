"""The verification list of a payout period, as an XLSX workbook and CSV files: one row per
household with its members' conditions and the payout decision, one row per member-period with
its evidence, and a summary per condition.

Members are named by their place in the household and their kind ("2 · balita, lahir 03/2024"),
and the head of household by first name and initials: enough for a programme officer holding the
registry, nothing a stranger could use. NIK is shown masked, as everywhere.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bot.domain.conditions import Decision, Status
from bot.domain.models import Member, MemberKind
from bot.domain.register import HouseholdLine, MemberLine, Register
from bot.texts.conditions import (
    condition_label,
    condition_status_label,
    decision_label,
    evidence_label,
)
from bot.texts.i18n import Translator
from bot.texts.labels import absence_label, member_kind_label
from bot.texts.workbook import Table, neutralised_tables, tables_to_workbook, write_csv_table

STATUS_ORDER = (Status.MET, Status.NOT_MET, Status.UNKNOWN, Status.EXCUSED)
DETAIL_ROWS = 30_000  # member-periods written to the workbook's per-member sheet at most
NOTHING = "—"  # not "-": a spreadsheet would take that for the start of a formula


def short_name(name: str) -> str:
    """ "Siti Nur Aminah" → "Siti N. A.": the first name and initials."""
    first, *rest = name.split() or ["-"]
    return " ".join([first, *(f"{word[0]}." for word in rest)])


def member_label(line: MemberLine, t: Translator) -> str:
    member: Member = line.member
    label = f"{line.number} · {member_kind_label(member.kind, t)}"
    if member.kind is MemberKind.PREGNANT and member.due_date is not None:
        return label + ", " + t("due {date}").format(date=f"{member.due_date:%m/%Y}")
    if member.birth_date is not None:
        return label + ", " + t("born {date}").format(date=f"{member.birth_date:%m/%Y}")
    return label


def _member_summary(line: MemberLine, t: Translator) -> str:
    """ "2 · balita, lahir 05/2022: penimbangan balita: terpenuhi 2, belum diketahui 1"."""
    parts = []
    for condition in dict.fromkeys(p.condition for p in line.periods):
        counts = Counter(p.status for p in line.periods if p.condition is condition)
        figures = ", ".join(
            f"{condition_status_label(status, t)} {counts[status]}"
            for status in STATUS_ORDER
            if counts[status]
        )
        parts.append(f"{condition_label(condition, t)}: {figures}")
    return f"{member_label(line, t)}: " + "; ".join(parts)


def _household_row(line: HouseholdLine, t: Translator) -> list[object]:
    household = line.household
    counts = line.statuses()
    summary = " | ".join(_member_summary(member, t) for member in line.members if member.periods)
    absences = "; ".join(
        f"{t.short_date(day)}: {absence_label(reason, t)}" for day, reason in line.absences
    )
    return [
        household.program_number,
        short_name(household.head_name),
        household.nik_masked,
        household.kecamatan,
        household.desa,
        household.companion or NOTHING,
        sum(1 for member in line.members if member.periods),
        *(counts.get(status, 0) for status in STATUS_ORDER),
        summary or NOTHING,
        absences or NOTHING,
        decision_label(line.decision, t),
    ]


def _raw_tables(register: Register, t: Translator) -> list[Table]:
    status_headers = [condition_status_label(status, t) for status in STATUS_ORDER]
    households = (
        t("Households"),
        [
            t("Programme number"),
            t("Head of household"),
            t("NIK"),
            t("Kecamatan"),
            t("Desa"),
            t("Companion"),
            t("Members with conditions"),
            *status_headers,
            t("Conditions"),
            t("Did not go (reason)"),
            t("Payout decision"),
        ],
        [_household_row(line, t) for line in register.households],
    )
    details = (
        t("Conditions per member"),
        [
            t("Programme number"),
            t("Member"),
            t("Condition"),
            t("From"),
            t("To"),
            t("Required"),
            t("Done"),
            t("Waiting for verification"),
            t("Status"),
            t("Evidence"),
        ],
        [
            [
                line.household.program_number,
                member_label(member, t),
                condition_label(period.condition, t),
                period.start,
                period.end,
                period.days_school or period.required,
                period.done,
                period.waiting,
                condition_status_label(period.status, t),
                evidence_label(period.evidence, t),
            ]
            for line in register.households
            for member in line.members
            for period in member.periods
        ],
    )
    by_condition = register.by_condition()
    decisions = register.decisions()
    summary_rows: list[list[object]] = [
        [condition_label(condition, t), *(counts.get(s, 0) for s in STATUS_ORDER)]
        for condition, counts in sorted(by_condition.items())
    ]
    summary_rows += [[decision_label(d, t), decisions.get(d, 0)] for d in Decision]
    summary = (t("Summary"), [t("Condition"), *status_headers], summary_rows)
    return [households, details, summary]


def register_tables(register: Register, t: Translator) -> list[Table]:
    """(households, conditions per member, summary), every text cell `neutralised`."""
    return neutralised_tables(_raw_tables(register, t))


def register_workbook(register: Register, t: Translator) -> bytes:
    return workbook_of(register_tables(register, t), t)


def workbook_of(tables: list[Table], t: Translator) -> bytes:
    """The workbook of the register's tables. The per-member sheet, one row per member-period,
    comes along up to DETAIL_ROWS rows (a kecamatan); a district's has over a hundred thousand,
    and is in the CSV file only: the households sheet says each member's conditions already."""
    households, details, summary = tables
    name, header, rows = details
    if len(rows) > DETAIL_ROWS:
        note = t(
            "{count} rows: too many for this workbook. They are in the CSV file of the "
            "conditions per member (sapa export --period)."
        ).format(count=len(rows))
        details = (name, header, [[note]])
    return tables_to_workbook([households, details, summary])


def write_register_csv(tables: list[Table], folder: Path, stem: str) -> list[Path]:
    """The households and the per-member tables as CSV files (the summary is in the workbook)."""
    households, details, _summary = tables
    return [
        write_csv_table(folder / f"{stem}-households.csv", households),
        write_csv_table(folder / f"{stem}-members.csv", details),
    ]
