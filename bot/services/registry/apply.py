"""The database half of an import, one function per kind of file: check every reference
against the registry (kecamatan, desa, posyandu, companion, household) and, when `write` is
true, upsert the rows. Called by `importer.import_file` inside its one write transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Iterable, Sequence
from typing import Any, TypeVar

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
from bot.services.registry.report import ImportContext, ImportKind, StaffChange
from bot.services.registry.rows import (
    HouseholdRow,
    MemberRow,
    PayoutRow,
    PeopleRow,
    PosyanduRow,
    Row,
)
from storage.store import Repositories

BATCH = 1_000
RowT = TypeVar("RowT", bound=Row)
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


APPLY: dict[ImportKind, Callable[[Repositories, Any, ImportContext, bool], Awaitable[None]]] = {
    ImportKind.POSYANDU: _apply_posyandu,
    ImportKind.PEOPLE: _apply_people,
    ImportKind.HOUSEHOLDS: _apply_households,
    ImportKind.MEMBERS: _apply_members,
    ImportKind.PAYOUTS: _apply_payouts,
}
