"""Data-subject rights (UU PDP): what is held about a household, its deletion requests, the
erasure of its chat-derived data, and the retention sweep over everything too old to keep.

Erasing never deletes programme records (households, members, reports, complaints and their
codes stay, for the programme's audits): it clears what the chat added to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, delete, func, or_, select, update
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import ComplaintCategory, ComplaintStatus, ReportStatus
from storage.database import upsert
from storage.schema import (
    attendance_report,
    complaint,
    complaint_event,
    deletion_request,
    desa,
    follow_up,
    household,
    kecamatan,
    link_attempt,
    member,
    notification,
    person,
    posyandu,
    school_attendance,
    staff,
)

PENDING, DONE, REJECTED = "pending", "done", "rejected"
FINISHED_COMPLAINTS = (ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value)
OPEN_COMPLAINTS = (ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value)
# Outbox rows that will not be sent any more: their parameters are no longer needed.
FINISHED_MESSAGES = ("sent", "failed", "cancelled")
# What an erased complaint's text becomes (the complaint, its code and history stay).
ERASED_ON_REQUEST = "[dihapus atas permintaan]"
ERASED_AFTER_RETENTION = "[dihapus: masa simpan habis]"
ERASED_MARKERS = (ERASED_ON_REQUEST, ERASED_AFTER_RETENTION)


@dataclass(frozen=True)
class DeletionRequest:
    id: int
    household_id: int
    requested_by: int
    requested_at: datetime
    status: str
    decided_by: int | None
    decided_at: datetime | None
    reject_reason: str | None


@dataclass(frozen=True)
class HouseholdPlace:
    """Names of the places and the companion of a household, for `/datasaya`."""

    desa: str
    kecamatan: str
    posyandu: str
    companion: str | None


@dataclass(frozen=True)
class ReportEntry:
    member: str
    session_date: date
    status: ReportStatus


@dataclass(frozen=True)
class SchoolEntry:
    """A school child's month at school, as the school reported it."""

    member: str
    month: date
    days_present: int
    days_school: int


@dataclass(frozen=True)
class ComplaintEntry:
    ticket_code: str
    category: ComplaintCategory
    status: ComplaintStatus
    created_at: datetime


@dataclass(frozen=True)
class AccountState:
    telegram_user_id: int
    household_id: int | None
    language: str | None


@dataclass(frozen=True)
class ErasureCounts:
    """What one erasure changed, in rows (never what the rows said)."""

    proof_photos: int = 0
    complaints: int = 0
    complaint_notes: int = 0
    outbox_rows: int = 0
    accounts: int = 0
    link_attempts: int = 0
    follow_up_notes: int = 0

    def as_detail(self) -> dict[str, int]:
        return {
            "proof_photos": self.proof_photos,
            "complaints": self.complaints,
            "complaint_notes": self.complaint_notes,
            "outbox_rows": self.outbox_rows,
            "accounts": self.accounts,
            "link_attempts": self.link_attempts,
            "follow_up_notes": self.follow_up_notes,
        }


def _request(row: Row[Any]) -> DeletionRequest:
    mapping = row._mapping
    return DeletionRequest(**{name: mapping[name] for name in DeletionRequest.__annotations__})


def _count(result: CursorResult[Any]) -> int:
    return int(result.rowcount or 0)


class DataRightsRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # What is held about a household

    async def place(self, household_id: int) -> HouseholdPlace | None:
        query = (
            select(
                desa.c.name.label("desa"),
                kecamatan.c.name.label("kecamatan"),
                posyandu.c.name.label("posyandu"),
                staff.c.name.label("companion"),
            )
            .select_from(household)
            .join(desa, desa.c.id == household.c.desa_id)
            .join(kecamatan, kecamatan.c.id == desa.c.kecamatan_id)
            .join(posyandu, posyandu.c.id == household.c.posyandu_id)
            .outerjoin(staff, staff.c.id == household.c.companion_id)
            .where(household.c.id == household_id)
        )
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return HouseholdPlace(row.desa, row.kecamatan, row.posyandu, row.companion)

    async def reports(self, household_id: int, limit: int) -> tuple[list[ReportEntry], int]:
        """The household's latest attendance reports (newest session first) and how many there
        are in all."""
        of_household = member.c.household_id == household_id
        query = (
            select(member.c.name, attendance_report.c.session_date, attendance_report.c.status)
            .join(member, member.c.id == attendance_report.c.member_id)
            .where(of_household)
            .order_by(attendance_report.c.session_date.desc(), attendance_report.c.id.desc())
            .limit(limit)
        )
        entries = [
            ReportEntry(row.name, row.session_date, ReportStatus(row.status))
            for row in await self._connection.execute(query)
        ]
        total = (
            select(func.count())
            .select_from(attendance_report)
            .join(member, member.c.id == attendance_report.c.member_id)
            .where(of_household)
        )
        return entries, int((await self._connection.execute(total)).scalar_one())

    async def school_months(self, household_id: int, limit: int) -> tuple[list[SchoolEntry], int]:
        """The household's latest school attendance months (newest first, then by member) and
        how many there are in all."""
        of_household = member.c.household_id == household_id
        query = (
            select(
                member.c.name,
                school_attendance.c.month,
                school_attendance.c.days_present,
                school_attendance.c.days_school,
            )
            .join(member, member.c.id == school_attendance.c.member_id)
            .where(of_household)
            .order_by(school_attendance.c.month.desc(), member.c.name, member.c.id)
            .limit(limit)
        )
        entries = [SchoolEntry(*row) for row in await self._connection.execute(query)]
        total = (
            select(func.count())
            .select_from(school_attendance)
            .join(member, member.c.id == school_attendance.c.member_id)
            .where(of_household)
        )
        return entries, int((await self._connection.execute(total)).scalar_one())

    async def complaints(self, household_id: int, limit: int) -> tuple[list[ComplaintEntry], int]:
        """The household's latest complaints (newest first) and how many there are in all."""
        of_household = complaint.c.household_id == household_id
        query = (
            select(
                complaint.c.ticket_code,
                complaint.c.category,
                complaint.c.status,
                complaint.c.created_at,
            )
            .where(of_household)
            .order_by(complaint.c.created_at.desc(), complaint.c.id.desc())
            .limit(limit)
        )
        entries = [
            ComplaintEntry(
                row.ticket_code,
                ComplaintCategory(row.category),
                ComplaintStatus(row.status),
                row.created_at,
            )
            for row in await self._connection.execute(query)
        ]
        total = select(func.count()).select_from(complaint).where(of_household)
        return entries, int((await self._connection.execute(total)).scalar_one())

    async def open_complaints(self, household_id: int) -> int:
        query = (
            select(func.count())
            .select_from(complaint)
            .where(
                complaint.c.household_id == household_id,
                complaint.c.status.in_(OPEN_COMPLAINTS),
            )
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def linked_accounts(self, household_id: int) -> list[int]:
        """Ids of the people (Telegram accounts) linked to the household."""
        query = select(person.c.id).where(person.c.household_id == household_id)
        rows = await self._connection.execute(query.order_by(person.c.id))
        return [int(i) for i in rows.scalars()]

    async def account_state(self, person_id: int) -> AccountState | None:
        """The household an account is linked to and the language it chose."""
        query = select(person.c.telegram_user_id, person.c.household_id, person.c.language).where(
            person.c.id == person_id
        )
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return AccountState(row.telegram_user_id, row.household_id, row.language)

    # Deletion requests

    async def add_request(
        self, household_id: int, person_id: int, now: datetime
    ) -> DeletionRequest | None:
        """A new pending request; None when the household already has one pending."""
        statement = (
            upsert(self._connection, deletion_request)
            .values(
                household_id=household_id,
                requested_by=person_id,
                requested_at=now,
                status=PENDING,
            )
            .on_conflict_do_nothing(
                index_elements=[deletion_request.c.household_id],
                index_where=deletion_request.c.status == PENDING,
            )
            .returning(deletion_request)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _request(row)

    async def pending_request(self, household_id: int) -> DeletionRequest | None:
        query = select(deletion_request).where(
            deletion_request.c.household_id == household_id,
            deletion_request.c.status == PENDING,
        )
        row = (await self._connection.execute(query)).first()
        return None if row is None else _request(row)

    async def get_request(self, request_id: int) -> DeletionRequest | None:
        query = select(deletion_request).where(deletion_request.c.id == request_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _request(row)

    async def decide(
        self,
        request_id: int,
        status: str,
        person_id: int,
        now: datetime,
        reject_reason: str | None = None,
    ) -> bool:
        """Close a pending request; False when it was no longer pending (someone was first)."""
        result = await self._connection.execute(
            update(deletion_request)
            .where(deletion_request.c.id == request_id, deletion_request.c.status == PENDING)
            .values(
                status=status, decided_by=person_id, decided_at=now, reject_reason=reject_reason
            )
        )
        return _count(result) == 1

    # Erasure of one household's chat data

    async def erase_household(
        self, household_id: int, marker: str, accounts: Sequence[int]
    ) -> ErasureCounts:
        """Clear proof photos, finished complaints' texts, photos and history notes, and the
        finished outbox rows of these accounts; then unlink the accounts and forget their
        language and reachability. Open complaints are left alone (still being handled)."""
        members = select(member.c.id).where(member.c.household_id == household_id)
        photos = await self._connection.execute(
            update(attendance_report)
            .where(
                attendance_report.c.member_id.in_(members),
                attendance_report.c.proof_file_id.is_not(None),
            )
            .values(proof_file_id=None)
        )
        finished = and_(
            complaint.c.household_id == household_id, complaint.c.status.in_(FINISHED_COMPLAINTS)
        )
        complaints, notes = await self._erase_complaints(finished, marker)
        follow_up_notes = await self._erase_follow_up_notes(
            and_(follow_up.c.household_id == household_id, follow_up.c.closed_at.is_not(None))
        )
        outbox = (
            await self._clear_finished_messages(notification.c.person_id.in_(accounts))
            if accounts
            else 0
        )
        unlinked = 0
        if accounts:
            result = await self._connection.execute(
                update(person)
                .where(
                    person.c.id.in_(accounts),
                    or_(person.c.household_id == household_id, person.c.household_id.is_(None)),
                )
                .values(household_id=None, language=None, reachable=True, last_seen_at=None)
            )
            unlinked = _count(result)
        return ErasureCounts(
            proof_photos=_count(photos),
            complaints=complaints,
            complaint_notes=notes,
            outbox_rows=outbox,
            accounts=unlinked,
            follow_up_notes=follow_up_notes,
        )

    async def _erase_complaints(self, chosen: ColumnElement[bool], marker: str) -> tuple[int, int]:
        """Replace the texts and drop the photos and voice notes of the complaints meeting
        `chosen`, and the notes (staff replies, the household's answers) and files (its photos
        and voice notes) of their history; (complaints, notes) changed."""
        notes = await self._connection.execute(
            update(complaint_event)
            .where(
                complaint_event.c.complaint_id.in_(select(complaint.c.id).where(chosen)),
                or_(complaint_event.c.note.is_not(None), complaint_event.c.file_id.is_not(None)),
            )
            .values(note=None, file_id=None, file_kind=None)
        )
        texts = await self._connection.execute(
            update(complaint)
            .where(
                chosen,
                or_(
                    complaint.c.text.not_in(ERASED_MARKERS),
                    complaint.c.photo_file_id.is_not(None),
                    complaint.c.voice_file_id.is_not(None),
                ),
            )
            .values(text=marker, photo_file_id=None, voice_file_id=None)
        )
        return _count(texts), _count(notes)

    async def _erase_follow_up_notes(self, chosen: ColumnElement[bool]) -> int:
        """Drop the companion's notes ("other: ...") of the follow-ups meeting `chosen`; the
        outcome and the dates stay, as the recap counts them."""
        result = await self._connection.execute(
            update(follow_up).where(chosen, follow_up.c.note.is_not(None)).values(note=None)
        )
        return _count(result)

    async def _clear_finished_messages(self, chosen: ColumnElement[bool]) -> int:
        """Empty the parameters (names, reply texts) of outbox rows that will not be sent."""
        result = await self._connection.execute(
            update(notification)
            .where(
                chosen,
                notification.c.status.in_(FINISHED_MESSAGES),
                cast(notification.c.params, String) != "{}",
            )
            .values(params={})
        )
        return _count(result)

    # Retention

    async def erase_before(self, cutoff: datetime, marker: str) -> ErasureCounts:
        """Erase chat-derived data older than `cutoff`: proof photos of reports made before it,
        texts, photos and notes of complaints resolved or closed before it, finished outbox
        rows created before it, and failed link attempts before it. Running it twice changes
        nothing the second time."""
        photos = await self._connection.execute(
            update(attendance_report)
            .where(
                attendance_report.c.reported_at < cutoff,
                attendance_report.c.proof_file_id.is_not(None),
            )
            .values(proof_file_id=None)
        )
        finished = and_(
            complaint.c.status.in_(FINISHED_COMPLAINTS),
            complaint.c.resolved_at.is_not(None),
            complaint.c.resolved_at < cutoff,
        )
        complaints, notes = await self._erase_complaints(finished, marker)
        outbox = await self._clear_finished_messages(notification.c.created_at < cutoff)
        follow_up_notes = await self._erase_follow_up_notes(
            and_(follow_up.c.closed_at.is_not(None), follow_up.c.closed_at < cutoff)
        )
        attempts = await self._connection.execute(
            delete(link_attempt).where(link_attempt.c.at < cutoff)
        )
        return ErasureCounts(
            proof_photos=_count(photos),
            complaints=complaints,
            complaint_notes=notes,
            outbox_rows=outbox,
            link_attempts=_count(attempts),
            follow_up_notes=follow_up_notes,
        )
