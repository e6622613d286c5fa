"""`sapa import <kind> FILE.csv`: check every row, report the problems, then write all or nothing.

The steps for each file:
1. open the table (`csvfile`), refuse a file that is empty, binary or lacks required columns;
2. then, in one write transaction, one chunk of rows at a time (the file is never held whole):
   validate each row on its own (`rows`); look for duplicates inside the file and check
   references against the database (kecamatan, desa, posyandu, companion, household) (`apply`);
   upsert the chunk while no row so far has a problem and this is not a dry run;
3. roll everything back if any row had a problem: all or nothing. The report lists the first
   MAX_LISTED_PROBLEMS problems in line order and counts the rest.
Re-importing the same file updates rows in place: programme numbers, codes and (household, member
name) pairs are unique keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from bot.services.registry.apply import APPLIERS
from bot.services.registry.csvfile import CsvFileError, CsvRow, open_table
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
    SchoolAttendanceRow,
)
from bot.texts.i18n import Translator
from storage.store import Store

ROW_MODELS: dict[ImportKind, type[Row]] = {
    ImportKind.POSYANDU: PosyanduRow,
    ImportKind.PEOPLE: PeopleRow,
    ImportKind.HOUSEHOLDS: HouseholdRow,
    ImportKind.MEMBERS: MemberRow,
    ImportKind.PAYOUTS: PayoutRow,
    ImportKind.SCHOOL_ATTENDANCE: SchoolAttendanceRow,
}


def required_columns(kind: ImportKind) -> list[str]:
    """The columns a file's header must name: every column, optional ones too, except those
    with a default (a column added later, which older files do not have)."""
    fields = ROW_MODELS[kind].model_fields
    return [name for name, info in fields.items() if name != "line" and info.is_required()]


class _Rollback(Exception):
    """Leave the import transaction without committing (dry run, or problems found)."""


RowT = TypeVar("RowT", bound=Row)

# Rows checked and written at a time: enough that a statement's round trip is paid by thousands of
# rows, few enough that a chunk's rows and records take a few megabytes.
CHUNK_ROWS = 5_000


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
    chunk_rows: int = CHUNK_ROWS,
    zone: tzinfo | None = None,
) -> ImportReport:
    """Import one file; the report lists its problems, and nothing is written if there is one.

    The file is read, checked and written one chunk of `chunk_rows` rows at a time, in one write
    transaction: chunks are written while no row so far has a problem, and the transaction is
    rolled back at the end if any row of the file has one (or on a dry run). One pass, so every
    row is validated once; a problem on the last line costs the writes of the chunks before it,
    which the rollback undoes. "Today" (birth dates, months still to come) is `now`'s day in
    `zone`, the programme's calendar (WIB when not given)."""
    report = ImportReport(kind=kind, file=path.name, dry_run=dry_run)
    context = ImportContext(t=t, now=now, nik_key=nik_key, report=report, progress=progress)
    if zone is not None:
        context.zone = zone
    try:
        with open_table(path) as table:
            if not _has_columns(table.columns, kind, context):
                return report
            async with store.write() as repo:
                if kind is ImportKind.HOUSEHOLDS:  # the only file with NIKs in it
                    context.nik_key = await repo.secrets.nik_key(context.nik_key)
                applier = APPLIERS[kind](context)
                await applier.start(repo)
                model = ROW_MODELS[kind]
                writing: asyncio.Task[None] | None = None
                try:
                    with context.bar(None, t("checking")) as bar:
                        for chunk in _chunks(table.rows, chunk_rows):
                            # ...while the database writes the chunk before this one
                            report.rows += len(chunk)
                            rows = _validate(chunk, model, context)
                            if writing is not None:
                                await writing
                                writing = None
                            write = await applier.chunk(repo, rows, not dry_run and context.clean)
                            if write is not None:
                                writing = asyncio.create_task(write)
                                await asyncio.sleep(0)  # let it send the statement
                            context.flush()
                            bar.update(len(chunk))
                    if writing is not None:
                        await writing
                        writing = None
                finally:
                    if writing is not None:  # leaving on an error: the transaction rolls back
                        writing.cancel()
                        with contextlib.suppress(BaseException):
                            await writing
                if not report.rows:
                    context.problem(None, None, t("the file has a header but no rows"))
                    context.flush()
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
                        "sha256": table.sha256,
                        "rows": report.rows,
                        "inserted": report.inserted,
                        "updated": report.updated,
                    },
                )
            report.applied = True
    except _Rollback:
        pass
    except FileNotFoundError:
        context.problem(None, None, t("the file {name} does not exist").format(name=path.name))
    except CsvFileError as error:
        # A file that is not a table at all: its other problems would only be noise.
        report.problems.clear()
        report.more_problems = 0
        report.rows = 0
        context.pending.clear()
        context.problem(None, None, _file_problem(t, error))
    finally:
        context.flush()
        if not report.applied:  # what the rolled-back chunks counted did not happen
            report.inserted = report.updated = 0
            report.staff_changes.clear()
    return report


def _chunks(rows: Iterator[CsvRow], size: int) -> Iterator[list[CsvRow]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


def _file_problem(t: Translator, error: CsvFileError) -> str:
    reasons = {
        "empty": t("the file is empty"),
        "binary": t("this is not a CSV text file (it contains binary data)"),
        "encoding": t("the file is not UTF-8 text; in Excel use 'CSV UTF-8' when saving"),
        "too_big": t("the file is too big (at most 200 MB)"),
        "malformed": t("the file is not a valid CSV table"),
    }
    return reasons[error.problem]


def _has_columns(columns: list[str], kind: ImportKind, context: ImportContext) -> bool:
    missing = [column for column in required_columns(kind) if column not in columns]
    if missing:
        message = context.t("missing columns: {missing} (required: {required})")
        context.problem(
            1,
            None,
            message.format(missing=", ".join(missing), required=", ".join(required_columns(kind))),
        )
    return not missing


def _validate(rows: list[CsvRow], model: type[RowT], context: ImportContext) -> list[RowT]:
    valid: list[RowT] = []
    validation_context = {"t": context.t, "today": context.today}
    validate = model.model_validate
    for row in rows:
        values = row.values
        values["line"] = row.line  # type: ignore[assignment]  # the row is not used again
        try:
            valid.append(validate(values, context=validation_context))
        except ValidationError as error:
            for item in error.errors():
                column = (item.get("ctx") or {}).get("column") or (
                    str(item["loc"][0]) if item["loc"] else None
                )
                context.problem(row.line, column, str(item["msg"]))
    return valid
