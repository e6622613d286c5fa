"""`sapa import <kind> FILE.csv`: check every row, report the problems, then write all or nothing.

The steps for each file:
1. read the table (`csvfile`), refuse a file that is empty, binary or lacks required columns;
2. validate each row on its own (`rows`), and look for duplicates inside the file (the report
   lists the first MAX_LISTED_PROBLEMS problems and counts the rest);
3. in one write transaction (`apply`), check references against the database (kecamatan, desa,
   posyandu, companion, household) and, only when no row has a problem and this is not a dry
   run, upsert.
Re-importing the same file updates rows in place: programme numbers, codes and (household, member
name) pairs are unique keys.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from bot.services.registry.apply import APPLY
from bot.services.registry.csvfile import CsvFileError, CsvTable, read_table
from bot.services.registry.report import MAX_LISTED_PROBLEMS as MAX_LISTED_PROBLEMS
from bot.services.registry.report import ImportContext
from bot.services.registry.report import ImportKind as ImportKind
from bot.services.registry.report import ImportReport as ImportReport
from bot.services.registry.report import Problem as Problem
from bot.services.registry.report import StaffChange as StaffChange
from bot.services.registry.rows import (
    HouseholdRow,
    MemberRow,
    PayoutRow,
    PeopleRow,
    PosyanduRow,
    Row,
)
from bot.texts.i18n import Translator
from storage.store import Store

ROW_MODELS: dict[ImportKind, type[Row]] = {
    ImportKind.POSYANDU: PosyanduRow,
    ImportKind.PEOPLE: PeopleRow,
    ImportKind.HOUSEHOLDS: HouseholdRow,
    ImportKind.MEMBERS: MemberRow,
    ImportKind.PAYOUTS: PayoutRow,
}


def required_columns(kind: ImportKind) -> list[str]:
    return [name for name in ROW_MODELS[kind].model_fields if name != "line"]


class _Rollback(Exception):
    """Leave the import transaction without committing (dry run, or problems found)."""


RowT = TypeVar("RowT", bound=Row)


async def import_file(
    store: Store,
    kind: ImportKind,
    path: Path,
    t: Translator,
    *,
    now: datetime,
    dry_run: bool = False,
    nik_key: bytes | None = None,
    actor: str = "cli",
    progress: bool = True,
) -> ImportReport:
    """Import one file; the report lists its problems, and nothing is written if there is one."""
    report = ImportReport(kind=kind, file=path.name, dry_run=dry_run)
    context = ImportContext(t=t, now=now, nik_key=nik_key, report=report, progress=progress)
    table = _read(path, kind, context)
    if table is None:
        return report
    rows = _validate(table, ROW_MODELS[kind], context)
    report.rows = len(table.rows)
    apply = APPLY[kind]
    try:
        async with store.write() as repo:
            if kind is ImportKind.HOUSEHOLDS:  # the only file with NIKs in it
                context.nik_key = await repo.secrets.nik_key(context.nik_key)
            await apply(repo, rows, context, report.ok and not dry_run)
            if not report.ok or dry_run:
                raise _Rollback
            await repo.audit.record(
                now,
                actor,
                "import",
                kind.value,
                None,
                {
                    "file": path.name,
                    "sha256": _sha256(path),
                    "rows": report.rows,
                    "inserted": report.inserted,
                    "updated": report.updated,
                },
            )
        report.applied = True
    except _Rollback:
        pass
    return report


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path, kind: ImportKind, context: ImportContext) -> CsvTable | None:
    t = context.t
    try:
        table = read_table(path)
    except FileNotFoundError:
        context.problem(None, None, t("the file {name} does not exist").format(name=path.name))
        return None
    except CsvFileError as error:
        reasons = {
            "empty": t("the file is empty"),
            "binary": t("this is not a CSV text file (it contains binary data)"),
            "encoding": t("the file is not UTF-8 text; in Excel use 'CSV UTF-8' when saving"),
            "too_big": t("the file is too big (at most 200 MB)"),
            "malformed": t("the file is not a valid CSV table"),
        }
        context.problem(None, None, reasons[error.problem])
        return None
    missing = [column for column in required_columns(kind) if column not in table.columns]
    if missing:
        message = t("missing columns: {missing} (required: {required})")
        context.problem(
            1,
            None,
            message.format(missing=", ".join(missing), required=", ".join(required_columns(kind))),
        )
        return None
    if not table.rows:
        context.problem(None, None, t("the file has a header but no rows"))
        return None
    return table


def _validate(table: CsvTable, model: type[RowT], context: ImportContext) -> list[RowT]:
    valid: list[RowT] = []
    validation_context = {"t": context.t, "today": context.now.date()}
    with context.bar(len(table.rows), context.t("checking")) as bar:
        for row in table.rows:
            try:
                valid.append(
                    model.model_validate(
                        {**row.values, "line": row.line}, context=validation_context
                    )
                )
            except ValidationError as error:
                for item in error.errors():
                    column = (item.get("ctx") or {}).get("column") or (
                        str(item["loc"][0]) if item["loc"] else None
                    )
                    context.problem(row.line, column, str(item["msg"]))
            bar.update()
    return valid
