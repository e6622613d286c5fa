"""The database half of an import, one class per kind of file, fed one chunk of rows at a time:
check every reference against the registry (kecamatan, desa, posyandu, companion, household) and,
while nothing in the file so far has a problem and this is not a dry run, upsert the chunk.

What a chunk's checks need from the rest of the file is kept compact: the line where each key
(code, programme number, NIK, member) was first given, for duplicates; for household heads, the
digests this import took away from a household (rare). The places, posyandu and staff are small
tables and are read once. Households, heads and members are looked up per chunk.

All chunks are written in the one transaction `importer.import_file` holds; it is rolled back
when any row of the file has a problem, so a file is still written all or nothing. The database a
chunk is checked against is the one before the import plus the chunks before it, which gives the
same answers as checking the whole file against the database before the import: every key is
unique within the file, so an earlier chunk can only have written other keys (the one exception,
a NIK an earlier chunk took away from its household, is what `_Households.released` remembers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container, Coroutine, Iterable
from datetime import date
from typing import Any, Generic, TypeVar

from bot.domain.models import (
    HouseholdRecord,
    MemberKind,
    MemberRecord,
    PayoutRoundRecord,
    PosyanduRecord,
    PosyanduRef,
    Role,
    SchoolMonth,
    StaffRecord,
    StaffRef,
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
    SchoolAttendanceRow,
)
from bot.texts.labels import member_kind_label
from storage.store import Repositories

RowT = TypeVar("RowT", bound=Row)
KeyT = TypeVar("KeyT")


class FirstLines(Generic[RowT, KeyT]):
    """The line of the file where each key was first given (keys kept as small as they can be:
    an int for a NIK, a 128-bit hash for a member)."""

    def __init__(self, key: Callable[[RowT], KeyT], column: str) -> None:
        self._key = key
        self._column = column
        self._lines: dict[KeyT, int] = {}

    def unique(self, rows: list[RowT], context: ImportContext) -> list[RowT]:
        """Report rows whose key repeats an earlier row of the file; return the others."""
        kept: list[RowT] = []
        lines = self._lines
        for row in rows:
            seen = lines.setdefault(self._key(row), row.line)
            if seen != row.line:
                message = context.t("already given on line {line}").format(line=seen)
                context.problem(row.line, self._column, message)
            else:
                kept.append(row)
        return kept


def member_key(program_number: str, name: str) -> int:
    """A member's key in the file as a 128-bit number: 420,000 of them fit in about 50 MB, where
    the (programme number, name) pairs would take three times as much. Two different members
    share one with a probability of about 1e-27 per file."""
    text = f"{program_number}\x1f{name_key(name)}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "big")


def member_month_key(program_number: str, name: str, month: date) -> int:
    """A member's month in a school attendance file, as a 128-bit number (see `member_key`)."""
    text = f"{program_number}\x1f{name_key(name)}\x1f{month.isoformat()}".encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=16).digest(), "big")


def _count(context: ImportContext, keys: Iterable[object], existing: Container[object]) -> None:
    """Tally which of the keys about to be written are new and which update a known row."""
    for key in keys:
        if key in existing:
            context.report.updated += 1
        else:
            context.report.inserted += 1


def _unknown_kecamatan(context: ImportContext, line: int, name: str) -> None:
    message = context.t("kecamatan {name} is not known (import the posyandu file first)")
    context.problem(line, "kecamatan", message.format(name=name))


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


# A chunk's write, handed back by `Applier.chunk` to be awaited before the next chunk's checks.
Write = Coroutine[Any, Any, None]


class Applier(Generic[RowT]):
    """Checks and writes one file's chunks: `start` once, `chunk` for each chunk in file order.
    `chunk` writes only when `write` is true (nothing wrong so far, not a dry run). For the big
    files it does not write itself but returns the write: the importer runs it while it reads
    and validates the next chunk, so that the database works while Python does."""

    def __init__(self, context: ImportContext) -> None:
        self.context = context

    async def start(self, repo: Repositories) -> None:
        """Read what every chunk needs (small tables only)."""

    async def chunk(self, repo: Repositories, rows: list[RowT], write: bool) -> Write | None:
        raise NotImplementedError


class _Posyandu(Applier[PosyanduRow]):
    def __init__(self, context: ImportContext) -> None:
        super().__init__(context)
        self.codes: FirstLines[PosyanduRow, str] = FirstLines(lambda r: r.code, "code")
        self.existing: set[str] = set()

    async def start(self, repo: Repositories) -> None:
        self.existing = set(await repo.geography.posyandu_refs())

    async def chunk(self, repo: Repositories, rows: list[PosyanduRow], write: bool) -> Write | None:
        rows = self.codes.unique(rows, self.context)
        if not write or not self.context.clean:
            return None
        kecamatan_ids = await repo.geography.ensure_kecamatan(r.kecamatan for r in rows)
        desa_ids = await repo.geography.ensure_desa(
            (kecamatan_ids[name_key(r.kecamatan)], r.desa) for r in rows
        )
        _count(self.context, (r.code for r in rows), self.existing)
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
        return None


class _People(Applier[PeopleRow]):
    def __init__(self, context: ImportContext) -> None:
        super().__init__(context)
        self.codes: FirstLines[PeopleRow, str] = FirstLines(lambda r: r.code, "code")
        self.kecamatan_ids: dict[str, int] = {}
        self.kecamatan_names: dict[int, str] = {}
        self.posyandu: dict[str, PosyanduRef] = {}
        self.before: dict[str, StaffRef] = {}

    async def start(self, repo: Repositories) -> None:
        self.kecamatan_ids = await repo.geography.kecamatan_ids()
        self.kecamatan_names = await repo.geography.kecamatan_names()
        self.posyandu = await repo.geography.posyandu_refs()
        self.before = await repo.staff.refs()

    async def chunk(self, repo: Repositories, rows: list[PeopleRow], write: bool) -> Write | None:
        context = self.context
        rows = self.codes.unique(rows, context)
        records: list[StaffRecord] = []
        for r in rows:
            kecamatan_id = self.kecamatan_ids.get(name_key(r.kecamatan)) if r.kecamatan else None
            if r.kecamatan and kecamatan_id is None:
                _unknown_kecamatan(context, r.line, r.kecamatan)
                continue
            served: list[int] = []
            if r.role is Role.HEALTH_WORKER:
                # Each code is checked: every unknown one, or one of another kecamatan, is named.
                refs = [
                    _posyandu_in(
                        context, self.posyandu, r.line, "posyandu", code, r.kecamatan, kecamatan_id
                    )
                    for code in r.posyandu
                ]
                if None in refs:
                    continue
                served = [ref.id for ref in refs if ref is not None]
            records.append(
                StaffRecord(
                    code=r.code,
                    name=r.name,
                    role=r.role,
                    kecamatan_id=kecamatan_id,
                    posyandu_id=served[0] if served else None,
                    posyandu_ids=tuple(served),
                )
            )
        if not write or not context.clean:
            return None
        _count(context, (r.code for r in records), self.before)
        names = self.kecamatan_names
        for record in records:
            old = self.before.get(record.code)
            if old is not None and (old.role, old.kecamatan_id) != (
                record.role,
                record.kecamatan_id,
            ):
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
        return None


class _Households(Applier[HouseholdRow]):
    def __init__(self, context: ImportContext) -> None:
        super().__init__(context)
        self.numbers: FirstLines[HouseholdRow, str] = FirstLines(
            lambda r: r.program_number, "program_number"
        )
        self.niks: FirstLines[HouseholdRow, int] = FirstLines(lambda r: int(r.nik), "nik")
        self.kecamatan_ids: dict[str, int] = {}
        self.desa_ids: dict[tuple[int, str], int] = {}
        self.posyandu: dict[str, PosyanduRef] = {}
        self.staff: dict[str, StaffRef] = {}
        # NIK digest -> programme number, for the heads an earlier chunk gave another NIK: the
        # database no longer says they headed their household before this import.
        self.released: dict[str, str] = {}

    async def start(self, repo: Repositories) -> None:
        self.kecamatan_ids = await repo.geography.kecamatan_ids()
        self.desa_ids = await repo.geography.desa_ids()
        self.posyandu = await repo.geography.posyandu_refs()
        self.staff = await repo.staff.refs()

    async def chunk(
        self, repo: Repositories, rows: list[HouseholdRow], write: bool
    ) -> Write | None:
        context = self.context
        t = context.t
        assert context.nik_key is not None
        key = context.nik_key
        rows = self.numbers.unique(rows, context)
        rows = self.niks.unique(rows, context)
        digests = [nik_digest(key, r.nik) for r in rows]
        known = await repo.households.nik_digests_by_program_number(r.program_number for r in rows)
        heads = await repo.households.program_numbers_by_nik_digest(digests)
        records: list[HouseholdRecord] = []
        for r, digest in zip(rows, digests, strict=True):
            kecamatan_id = self.kecamatan_ids.get(name_key(r.kecamatan))
            if kecamatan_id is None:
                _unknown_kecamatan(context, r.line, r.kecamatan)
                continue
            desa_id = self.desa_ids.get((kecamatan_id, name_key(r.desa)))
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
                self.posyandu,
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
                companion = self.staff.get(r.companion_code)
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
            head_of = heads.get(digest) or self.released.get(digest)
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
        if not write or not context.clean:
            return None
        _count(context, (r.program_number for r in records), known)
        for record in records:
            before = known.get(record.program_number)
            if before is not None and before != record.nik_digest:
                self.released[before] = record.program_number
        return repo.households.upsert(records, context.now)


class _Members(Applier[MemberRow]):
    def __init__(self, context: ImportContext) -> None:
        super().__init__(context)
        self.keys: FirstLines[MemberRow, int] = FirstLines(
            lambda r: member_key(r.program_number, r.name), "name"
        )

    async def chunk(self, repo: Repositories, rows: list[MemberRow], write: bool) -> Write | None:
        context = self.context
        rows = self.keys.unique(rows, context)
        households = await repo.households.ids_by_program_number(r.program_number for r in rows)
        records: list[MemberRecord] = []
        for r in rows:
            household_id = households.get(r.program_number)
            if household_id is None:
                message = context.t(
                    "programme number {number} is not known (import households first)"
                )
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
        if not write or not context.clean:
            return None
        existing = await repo.households.member_keys(households.values())
        _count(context, ((m.household_id, m.name_key) for m in records), existing)
        return repo.households.upsert_members(records)


class _Payouts(Applier[PayoutRow]):
    def __init__(self, context: ImportContext) -> None:
        super().__init__(context)
        self.rounds: FirstLines[PayoutRow, tuple[str, str]] = FirstLines(
            lambda r: (r.round, name_key(r.kecamatan)), "round"
        )
        self.kecamatan_ids: dict[str, int] = {}
        self.existing: set[tuple[str, int]] = set()

    async def start(self, repo: Repositories) -> None:
        self.kecamatan_ids = await repo.geography.kecamatan_ids()
        self.existing = await repo.payouts.keys()

    async def chunk(self, repo: Repositories, rows: list[PayoutRow], write: bool) -> Write | None:
        context = self.context
        rows = self.rounds.unique(rows, context)
        records: list[PayoutRoundRecord] = []
        for r in rows:
            kecamatan_id = self.kecamatan_ids.get(name_key(r.kecamatan))
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
                    slot_capacity=r.slot_capacity,
                )
            )
        if not write or not context.clean:
            return None
        _count(context, ((r.round_code, r.kecamatan_id) for r in records), self.existing)
        await repo.payouts.upsert(records)
        return None


class _SchoolAttendance(Applier[SchoolAttendanceRow]):
    """School children's months at school: each row names a school child of a known household
    (by programme number and name); a member-month already imported is replaced."""

    def __init__(self, context: ImportContext) -> None:
        super().__init__(context)
        self.keys: FirstLines[SchoolAttendanceRow, int] = FirstLines(
            lambda r: member_month_key(r.program_number, r.member, r.month), "month"
        )

    async def chunk(
        self, repo: Repositories, rows: list[SchoolAttendanceRow], write: bool
    ) -> Write | None:
        context = self.context
        t = context.t
        rows = self.keys.unique(rows, context)
        households = await repo.households.ids_by_program_number(r.program_number for r in rows)
        members = await repo.school.members_by_name(households.values())
        months: list[SchoolMonth] = []
        for r in rows:
            household_id = households.get(r.program_number)
            if household_id is None:
                message = t("programme number {number} is not known (import households first)")
                context.problem(r.line, "program_number", message.format(number=r.program_number))
                continue
            found = members.get((household_id, name_key(r.member)))
            if found is None:
                message = t("household {number} has no member called {name} (import members first)")
                context.problem(
                    r.line, "member", message.format(number=r.program_number, name=r.member)
                )
                continue
            member_id, kind = found
            if kind is not MemberKind.SCHOOL_CHILD:
                message = t("{name} is registered as {kind}, not as a school child (anak_sekolah)")
                context.problem(
                    r.line, "member", message.format(name=r.member, kind=member_kind_label(kind, t))
                )
                continue
            months.append(
                SchoolMonth(
                    member_id=member_id,
                    month=r.month,
                    days_present=r.days_present,
                    days_school=r.days_school,
                )
            )
        if not write or not context.clean:
            return None
        existing = await repo.school.known((m.member_id, m.month) for m in months)
        _count(context, ((m.member_id, m.month) for m in months), existing)
        return repo.school.upsert(months, context.now)


APPLIERS: dict[ImportKind, Callable[[ImportContext], Applier[Row]]] = {
    ImportKind.POSYANDU: _Posyandu,  # type: ignore[dict-item]
    ImportKind.PEOPLE: _People,  # type: ignore[dict-item]
    ImportKind.HOUSEHOLDS: _Households,  # type: ignore[dict-item]
    ImportKind.MEMBERS: _Members,  # type: ignore[dict-item]
    ImportKind.PAYOUTS: _Payouts,  # type: ignore[dict-item]
    ImportKind.SCHOOL_ATTENDANCE: _SchoolAttendance,  # type: ignore[dict-item]
}
