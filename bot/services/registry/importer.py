"""`sapa import <kind> FILE.csv`: check every row, report the problems, then write all or nothing.

The steps for each file:
1. read the table (`csvfile`), refuse a file that is empty, binary or lacks required columns;
2. validate each row on its own (`rows`), and look for duplicates inside the file (the report
   lists the first MAX_LISTED_PROBLEMS problems and counts the rest);
3. in one write transaction, check references against the database (kecamatan, desa, posyandu,
   companion, household) and, only when no row has a problem and this is not a dry run, upsert.
Re-importing the same file updates rows in place: programme numbers, codes and (household, member
name) pairs are unique keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from tqdm import tqdm

from bot.domain.models import (
    HouseholdRecord,
    MemberRecord,
    PayoutRoundRecord,
    PosyanduRecord,
    PosyanduRef,
    Role,
    StaffRecord,
    name_key,
)
from bot.domain.nik import link_tail_digest, mask_nik, nik_digest
from bot.services.registry.csvfile import CsvFileError, CsvTable, read_table
from bot.services.registry.rows import (
    HouseholdRow,
    MemberRow,
    PayoutRow,
    PeopleRow,
    PosyanduRow,
    Row,
)
from bot.texts.i18n import Translator
from storage.store import Repositories, Store

BATCH = 1_000
# A report lists this many problems; past that it only counts them (a file with thousands of bad
# rows usually has one mistake repeated, and a screenful is enough to find it).
MAX_LISTED_PROBLEMS = 100


class ImportKind(StrEnum):
    POSYANDU = "posyandu"
    PEOPLE = "people"
    HOUSEHOLDS = "households"
    MEMBERS = "members"
    PAYOUTS = "payouts"


ROW_MODELS: dict[ImportKind, type[Row]] = {
    ImportKind.POSYANDU: PosyanduRow,
    ImportKind.PEOPLE: PeopleRow,
    ImportKind.HOUSEHOLDS: HouseholdRow,
    ImportKind.MEMBERS: MemberRow,
    ImportKind.PAYOUTS: PayoutRow,
}


def required_columns(kind: ImportKind) -> list[str]:
    return [name for name in ROW_MODELS[kind].model_fields if name != "line"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (line, column) and why, in plain words."""

    line: int | None
    column: str | None
    reason: str


@dataclass(frozen=True)
class StaffChange:
    """A staff member whose role or kecamatan a re-import changed (listed in the summary; it
    takes effect at their next message, since authorization reads the registry every time)."""

    code: str
    name: str
    role_before: Role
    role_after: Role
    kecamatan_before: str | None
    kecamatan_after: str | None


@dataclass
class ImportReport:
    """What an import found and did. `problems` holds the first MAX_LISTED_PROBLEMS problems, in
    the order they were found; `more_problems` counts the ones found after them."""

    kind: ImportKind
    file: str
    dry_run: bool
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0
    applied: bool = False
    staff_changes: list[StaffChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.more_problems

    @property
    def problem_count(self) -> int:
        """All the problems found, listed or not."""
        return len(self.problems) + self.more_problems

    def add_problem(self, problem: Problem) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more_problems += 1


class _Rollback(Exception):
    """Leave the import transaction without committing (dry run, or problems found)."""


RowT = TypeVar("RowT", bound=Row)


@dataclass
class ImportContext:
    t: Translator
    now: datetime
    nik_key: bytes | None
    report: ImportReport
    progress: bool

    def problem(self, line: int | None, column: str | None, reason: str) -> None:
        self.report.add_problem(Problem(line, column, reason))

    def bar(self, total: int, description: str) -> tqdm[Any]:
        return tqdm(
            total=total,
            desc=description,
            unit=" rows",
            disable=not self.progress or None,
            leave=False,
        )


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
    apply = _APPLY[kind]
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


KeyT = TypeVar("KeyT")


def _unique(
    rows: Sequence[RowT], key: Callable[[RowT], KeyT], column: str, context: ImportContext
) -> list[RowT]:
    """Report rows whose key repeats an earlier row of the file; return the first of each."""
    first_line: dict[KeyT, int] = {}
    kept: list[RowT] = []
    for row in rows:
        seen = first_line.setdefault(key(row), row.line)
        if seen != row.line:
            message = context.t("already given on line {line}").format(line=seen)
            context.problem(row.line, column, message)
        else:
            kept.append(row)
    return kept


def _count(context: ImportContext, keys: Iterable[object], existing: Container[object]) -> None:
    """Tally which of the keys about to be written are new and which update a known row."""
    for key in keys:
        if key in existing:
            context.report.updated += 1
        else:
            context.report.inserted += 1


async def _apply_posyandu(
    repo: Repositories, rows: list[PosyanduRow], context: ImportContext, write: bool
) -> None:
    rows = _unique(rows, lambda r: r.code, "code", context)
    if not write:
        return
    kecamatan_ids = await repo.geography.ensure_kecamatan(r.kecamatan for r in rows)
    desa_ids = await repo.geography.ensure_desa(
        (kecamatan_ids[name_key(r.kecamatan)], r.desa) for r in rows
    )
    existing = await repo.geography.posyandu_refs()
    _count(context, (r.code for r in rows), set(existing))
    records = [
        PosyanduRecord(
            code=r.code,
            name=r.name,
            desa_id=desa_ids[(kecamatan_ids[name_key(r.kecamatan)], name_key(r.desa))],
            schedule=r.schedule,
        )
        for r in rows
    ]
    await repo.geography.upsert_posyandu(records)


async def _apply_people(
    repo: Repositories, rows: list[PeopleRow], context: ImportContext, write: bool
) -> None:
    rows = _unique(rows, lambda r: r.code, "code", context)
    kecamatan_ids = await repo.geography.kecamatan_ids()
    posyandu = await repo.geography.posyandu_refs()
    records: list[StaffRecord] = []
    for r in rows:
        kecamatan_id = kecamatan_ids.get(name_key(r.kecamatan)) if r.kecamatan else None
        if r.kecamatan and kecamatan_id is None:
            _unknown_kecamatan(context, r.line, r.kecamatan)
            continue
        posyandu_id = None
        if r.role is Role.HEALTH_WORKER:
            ref = _posyandu_in(
                context, posyandu, r.line, "posyandu", r.posyandu, r.kecamatan, kecamatan_id
            )
            if ref is None:
                continue
            posyandu_id = ref.id
        records.append(
            StaffRecord(
                code=r.code,
                name=r.name,
                role=r.role,
                kecamatan_id=kecamatan_id,
                posyandu_id=posyandu_id,
            )
        )
    if not write or not context.report.ok:
        return
    before = await repo.staff.refs()
    _count(context, (r.code for r in records), set(before))
    names = await repo.geography.kecamatan_names()
    for record in records:
        old = before.get(record.code)
        if old is not None and (old.role, old.kecamatan_id) != (record.role, record.kecamatan_id):
            context.report.staff_changes.append(
                StaffChange(
                    code=record.code,
                    name=record.name,
                    role_before=old.role,
                    role_after=record.role,
                    kecamatan_before=names.get(old.kecamatan_id or 0),
                    kecamatan_after=names.get(record.kecamatan_id or 0),
                )
            )
    await repo.staff.upsert(records)


def _posyandu_in(
    context: ImportContext,
    posyandu: dict[str, PosyanduRef],
    line: int,
    column: str,
    code: str,
    kecamatan: str,
    kecamatan_id: int | None,
) -> PosyanduRef | None:
    """The posyandu of that code if it is known and in the row's kecamatan; else report why."""
    ref = posyandu.get(code)
    if ref is None:
        context.problem(line, column, context.t("posyandu {code} is not known").format(code=code))
    elif ref.kecamatan_id != kecamatan_id:
        message = context.t("posyandu {code} is not in kecamatan {name}")
        context.problem(line, column, message.format(code=code, name=kecamatan))
        return None
    return ref


def _unknown_kecamatan(context: ImportContext, line: int, name: str) -> None:
    message = context.t("kecamatan {name} is not known (import the posyandu file first)")
    context.problem(line, "kecamatan", message.format(name=name))


async def _apply_households(
    repo: Repositories, rows: list[HouseholdRow], context: ImportContext, write: bool
) -> None:
    t = context.t
    assert context.nik_key is not None
    key = context.nik_key
    rows = _unique(rows, lambda r: r.program_number, "program_number", context)
    rows = _unique(rows, lambda r: r.nik, "nik", context)
    kecamatan_ids = await repo.geography.kecamatan_ids()
    desa_ids = await repo.geography.desa_ids()
    posyandu = await repo.geography.posyandu_refs()
    staff = await repo.staff.refs()
    heads = await repo.households.program_numbers_by_nik_digest()
    records: list[HouseholdRecord] = []
    with context.bar(len(rows), t("checking references")) as bar:
        for r in rows:
            bar.update()
            kecamatan_id = kecamatan_ids.get(name_key(r.kecamatan))
            if kecamatan_id is None:
                _unknown_kecamatan(context, r.line, r.kecamatan)
                continue
            desa_id = desa_ids.get((kecamatan_id, name_key(r.desa)))
            if desa_id is None:
                context.problem(
                    r.line,
                    "desa",
                    t("desa {desa} is not known in kecamatan {name}").format(
                        desa=r.desa, name=r.kecamatan
                    ),
                )
                continue
            ref = _posyandu_in(
                context,
                posyandu,
                r.line,
                "posyandu_code",
                r.posyandu_code,
                r.kecamatan,
                kecamatan_id,
            )
            if ref is None:
                continue
            companion_id = None
            if r.companion_code:
                companion = staff.get(r.companion_code)
                if companion is None or companion.role is not Role.COMPANION:
                    context.problem(
                        r.line,
                        "companion_code",
                        t("companion {code} is not known").format(code=r.companion_code),
                    )
                    continue
                if companion.kecamatan_id != kecamatan_id:
                    context.problem(
                        r.line,
                        "companion_code",
                        t("companion {code} does not work in kecamatan {name}").format(
                            code=r.companion_code, name=r.kecamatan
                        ),
                    )
                    continue
                companion_id = companion.id
            digest = nik_digest(key, r.nik)
            head_of = heads.get(digest)
            if head_of is not None and head_of != r.program_number:
                context.problem(
                    r.line,
                    "nik",
                    t("this NIK already heads household {number}").format(number=head_of),
                )
                continue
            records.append(
                HouseholdRecord(
                    program_number=r.program_number,
                    head_name=r.head_name,
                    nik_masked=mask_nik(r.nik),
                    nik_digest=digest,
                    nik_tail_digest=link_tail_digest(key, r.program_number, r.nik[-6:]),
                    desa_id=desa_id,
                    posyandu_id=ref.id,
                    companion_id=companion_id,
                )
            )
    if not write or not context.report.ok:
        return
    _count(context, (r.program_number for r in records), set(heads.values()))
    with context.bar(len(records), t("saving")) as bar:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            await repo.households.upsert(batch, context.now)
            bar.update(len(batch))


async def _apply_members(
    repo: Repositories, rows: list[MemberRow], context: ImportContext, write: bool
) -> None:
    rows = _unique(rows, lambda r: (r.program_number, name_key(r.name)), "name", context)
    households = await repo.households.ids_by_program_number(r.program_number for r in rows)
    records: list[MemberRecord] = []
    for r in rows:
        household_id = households.get(r.program_number)
        if household_id is None:
            message = context.t("programme number {number} is not known (import households first)")
            context.problem(r.line, "program_number", message.format(number=r.program_number))
            continue
        records.append(
            MemberRecord(
                household_id=household_id,
                name=r.name,
                kind=r.kind,
                birth_date=r.birth_date,
                due_date=r.due_date,
            )
        )
    if not write or not context.report.ok:
        return
    existing = await repo.households.member_keys(households.values())
    _count(context, ((m.household_id, name_key(m.name)) for m in records), existing)
    with context.bar(len(records), context.t("saving")) as bar:
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            await repo.households.upsert_members(batch)
            bar.update(len(batch))


async def _apply_payouts(
    repo: Repositories, rows: list[PayoutRow], context: ImportContext, write: bool
) -> None:
    rows = _unique(rows, lambda r: (r.round, name_key(r.kecamatan)), "round", context)
    kecamatan_ids = await repo.geography.kecamatan_ids()
    records: list[PayoutRoundRecord] = []
    for r in rows:
        kecamatan_id = kecamatan_ids.get(name_key(r.kecamatan))
        if kecamatan_id is None:
            _unknown_kecamatan(context, r.line, r.kecamatan)
            continue
        records.append(
            PayoutRoundRecord(
                round_code=r.round,
                kecamatan_id=kecamatan_id,
                payout_date=r.date,
                place=r.place,
                start_time=r.start_time,
                end_time=r.end_time,
                amount=r.amount,
            )
        )
    if not write or not context.report.ok:
        return
    existing = await repo.payouts.keys()
    _count(context, ((r.round_code, r.kecamatan_id) for r in records), existing)
    await repo.payouts.upsert(records)


_APPLY: dict[ImportKind, Callable[[Repositories, Any, ImportContext, bool], Awaitable[None]]] = {
    ImportKind.POSYANDU: _apply_posyandu,
    ImportKind.PEOPLE: _apply_people,
    ImportKind.HOUSEHOLDS: _apply_households,
    ImportKind.MEMBERS: _apply_members,
    ImportKind.PAYOUTS: _apply_payouts,
}
