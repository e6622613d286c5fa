"""The household's rights over its personal data (UU PDP No. 27/2022): to see what the programme
holds (`/datasaya`) and to have its Telegram links and chat-derived data erased (`/hapusdata`).

An erasure is a request first: the kecamatan coordinator (or, when the kecamatan has no active
coordinator, the district team) approves or rejects it with the buttons of an outbox alert.
Approving erases, in one transaction: the proof photos' file ids of the household's reports;
the texts, photos and history notes of its resolved or closed complaints (open ones are still
being handled and stay); the finished outbox rows of its accounts; and the accounts' links,
language choice and reachability. The programme record itself stays (a public programme must
stay auditable). Who decides is checked here every time: button data is never trusted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.models import Household, Member, Person, Recipient, RejectReason, Role
from bot.texts.notices import (
    DATA_REQUEST_ALERT,
    DATA_REQUEST_DONE,
    DATA_REQUEST_DONE_OPEN,
    DATA_REQUEST_REJECTED,
)
from storage.data_rights import (
    DONE,
    ERASED_ON_REQUEST,
    PENDING,
    REJECTED,
    ComplaintEntry,
    DeletionRequest,
    ErasureCounts,
    HouseholdPlace,
    ReportEntry,
    SchoolEntry,
)
from storage.notifications import QueuedMessage
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

REPORT_LIMIT = 20
COMPLAINT_LIMIT = 20
SCHOOL_MONTH_LIMIT = 24  # member-months: two school children over a year


# What the programme holds (/datasaya)


@dataclass(frozen=True)
class HouseholdData:
    household: Household
    place: HouseholdPlace
    members: list[Member]
    reports: list[ReportEntry]
    report_count: int
    complaints: list[ComplaintEntry]
    complaint_count: int
    accounts: int
    pending_request: DeletionRequest | None
    # The school children's months at school (latest first), from the school's monthly files.
    school_months: list[SchoolEntry] = field(default_factory=list)
    school_month_count: int = 0

    @property
    def older_reports(self) -> int:
        return self.report_count - len(self.reports)

    @property
    def older_complaints(self) -> int:
        return self.complaint_count - len(self.complaints)

    @property
    def older_school_months(self) -> int:
        return self.school_month_count - len(self.school_months)


async def household_data(store: Store, household: Household) -> HouseholdData | None:
    async with store.read() as repo:
        place = await repo.data_rights.place(household.id)
        if place is None:
            return None
        reports, report_count = await repo.data_rights.reports(household.id, REPORT_LIMIT)
        complaints, complaint_count = await repo.data_rights.complaints(
            household.id, COMPLAINT_LIMIT
        )
        school_months, school_month_count = await repo.data_rights.school_months(
            household.id, SCHOOL_MONTH_LIMIT
        )
        return HouseholdData(
            household=household,
            place=place,
            members=await repo.households.members(household.id),
            reports=reports,
            report_count=report_count,
            complaints=complaints,
            complaint_count=complaint_count,
            accounts=len(await repo.data_rights.linked_accounts(household.id)),
            pending_request=await repo.data_rights.pending_request(household.id),
            school_months=school_months,
            school_month_count=school_month_count,
        )


# Asking for an erasure (/hapusdata)


@dataclass(frozen=True)
class ErasurePreview:
    """What the household is told before it confirms."""

    accounts: int
    open_complaints: int
    pending_request: DeletionRequest | None


async def erasure_preview(store: Store, household: Household) -> ErasurePreview:
    async with store.read() as repo:
        return ErasurePreview(
            accounts=len(await repo.data_rights.linked_accounts(household.id)),
            open_complaints=await repo.data_rights.open_complaints(household.id),
            pending_request=await repo.data_rights.pending_request(household.id),
        )


class RequestOutcome(StrEnum):
    SENT = "sent"
    ALREADY_WAITING = "already_waiting"


async def reviewers_of(repo: Repositories, household: Household) -> list[int]:
    """Staff ids who decide the household's requests: the kecamatan's active coordinators, or
    the district team when the kecamatan has none."""
    coordinators = await repo.staff.active_with_role(Role.COORDINATOR, household.kecamatan_id)
    if coordinators:
        return [s.id for s in coordinators]
    return [s.id for s in await repo.staff.active_with_role(Role.ADMIN)]


async def request_erasure(
    store: Store, person: Person, household: Household, *, now: datetime, zone: ZoneInfo
) -> tuple[RequestOutcome, DeletionRequest]:
    """Record the request and alert its reviewers; a request already waiting is not repeated."""
    async with store.write() as repo:
        request = await repo.data_rights.add_request(household.id, person.id, now)
        if request is None:
            waiting = await repo.data_rights.pending_request(household.id)
            assert waiting is not None  # the insert met it under the write transaction
            return RequestOutcome.ALREADY_WAITING, waiting
        reviewers = await reviewers_of(repo, household)
        params = {
            "program_number": household.program_number,
            "date": now.astimezone(zone).date().isoformat(),
            "request_id": request.id,
        }
        await repo.notifications.queue_many(
            [
                QueuedMessage(
                    Recipient(staff_id=staff_id),
                    DATA_REQUEST_ALERT,
                    params,
                    now,
                    f"{_alert_prefix(request.id)}{staff_id}",
                )
                for staff_id in reviewers
            ],
            now,
        )
        if not reviewers:
            log.warning("data_request_without_reviewer request=%s", request.id)
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "request_erasure",
            "household",
            str(household.id),
            {"request": request.id, "reviewers": len(reviewers)},
        )
    log.info("data_request_created request=%s household=%s", request.id, household.id)
    return RequestOutcome.SENT, request


def _alert_prefix(request_id: int) -> str:
    return f"datarequest:{request_id}:alert:"


# Deciding (coordinator, or district team)


class DecisionOutcome(StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"
    NOT_PENDING = "not_pending"  # decided already, or no such request: an old or forged button


@dataclass(frozen=True)
class HouseholdNotice:
    """A message for the person who asked, sent at once rather than through the outbox: after
    the erasure their account is no longer linked, and the outbox sends nothing to an unlinked
    household account. Rendered in the language they had chosen, which is erased by now."""

    telegram_user_id: int
    language: str | None
    template_key: str
    params: dict[str, object]


@dataclass(frozen=True)
class Decision:
    outcome: DecisionOutcome
    program_number: str = ""
    erased: ErasureCounts | None = None
    open_complaints: int = 0
    notice: HouseholdNotice | None = None


async def may_review(repo: Repositories, person: Person, household: Household) -> bool:
    if person.staff_id is None or not person.active:
        return False
    staff = await repo.staff.get(person.staff_id)
    if staff is None or not staff.active:
        return False
    if person.role is Role.ADMIN:
        return True
    return person.role is Role.COORDINATOR and staff.kecamatan_id == household.kecamatan_id


async def _checked(
    repo: Repositories, person: Person, request_id: int
) -> tuple[DecisionOutcome, DeletionRequest | None, Household | None]:
    request = await repo.data_rights.get_request(request_id)
    household = None if request is None else await repo.households.get(request.household_id)
    if request is None or household is None:
        return DecisionOutcome.NOT_PENDING, None, None
    if not await may_review(repo, person, household):
        return DecisionOutcome.NOT_ALLOWED, None, None
    if request.status != PENDING:
        return DecisionOutcome.NOT_PENDING, request, household
    return DecisionOutcome.DONE, request, household


async def review(store: Store, person: Person, request_id: int) -> Decision:
    """Whether this person may decide this request now (before asking for a reason)."""
    async with store.read() as repo:
        outcome, _request, household = await _checked(repo, person, request_id)
    if outcome is not DecisionOutcome.DONE or household is None:
        return Decision(outcome)
    return Decision(outcome, household.program_number)


async def approve(store: Store, person: Person, request_id: int, *, now: datetime) -> Decision:
    """Erase the household's chat data and record counts only; the decision carries the message
    for the person who asked (the caller sends it)."""
    async with store.write() as repo:
        outcome, request, household = await _checked(repo, person, request_id)
        if outcome is not DecisionOutcome.DONE or request is None or household is None:
            return Decision(outcome)
        if not await repo.data_rights.decide(request.id, DONE, person.id, now):
            return Decision(DecisionOutcome.NOT_PENDING)
        accounts = await repo.data_rights.linked_accounts(household.id)
        requester = await repo.data_rights.account_state(request.requested_by)
        if requester is not None and requester.household_id in (None, household.id):
            accounts = sorted({*accounts, request.requested_by})
        # Nothing more is sent to these accounts, about this household or anything else.
        for account in accounts:
            await repo.notifications.cancel_pending(person_id=account)
        await repo.notifications.cancel_pending(dedup_prefix=_alert_prefix(request.id))
        erased = await repo.data_rights.erase_household(household.id, ERASED_ON_REQUEST, accounts)
        still_open = await repo.data_rights.open_complaints(household.id)
        notice = None
        if requester is not None:
            notice = HouseholdNotice(
                requester.telegram_user_id,
                requester.language,
                DATA_REQUEST_DONE_OPEN if still_open else DATA_REQUEST_DONE,
                {"program_number": household.program_number, "open": still_open},
            )
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "erase_household_data",
            "household",
            str(household.id),
            {"request": request.id, **erased.as_detail(), "open_complaints_kept": still_open},
        )
        await repo.people.touch(person.id, now)
    log.info("data_request_done request=%s household=%s", request.id, household.id)
    return Decision(DecisionOutcome.DONE, household.program_number, erased, still_open, notice)


async def reject(
    store: Store, person: Person, request_id: int, reason: RejectReason, *, now: datetime
) -> Decision:
    """Close the request without erasing; the person who asked is told the reason."""
    async with store.write() as repo:
        outcome, request, household = await _checked(repo, person, request_id)
        if outcome is not DecisionOutcome.DONE or request is None or household is None:
            return Decision(outcome)
        if not await repo.data_rights.decide(request.id, REJECTED, person.id, now, reason.value):
            return Decision(DecisionOutcome.NOT_PENDING)
        await repo.notifications.cancel_pending(dedup_prefix=_alert_prefix(request.id))
        await repo.notifications.queue(
            Recipient(person_id=request.requested_by),
            DATA_REQUEST_REJECTED,
            {"program_number": household.program_number, "refusal": reason.value},
            due_at=now,
            dedup_key=f"datarequest:{request.id}:rejected",
            now=now,
        )
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "reject_erasure",
            "household",
            str(household.id),
            {"request": request.id, "reason": reason.value},
        )
        await repo.people.touch(person.id, now)
    log.info("data_request_rejected request=%s household=%s", request.id, household.id)
    return Decision(DecisionOutcome.DONE, household.program_number)
