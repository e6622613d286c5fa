"""Staff reporting for a household (issue 16): in a private chat a companion, for the households
she serves, or a health worker (bidan, kader), for the households of the posyandu she serves,
reports a posyandu visit (/hadiruntuk) or files a complaint (/keluhanuntuk) for a household,
with the same steps and the same checks as the household's own flow. Households without
Telegram are the point: nobody needs to be linked.

Who may: read from the registry as it is now, on every step and again when saving (a companion:
`household.companion_id`; a health worker: her posyandu, `staff_posyandu`). A number outside the
scope and an unknown number get the same answer.

What it counts as:
- A companion's report counts like the household's own report (`reported_by` is her): it waits
  for verification, a health worker can confirm it at the session (cross-checked) or dispute it.
  She never verifies it herself: it stays out of her /verifikasi queue, so the coordinator
  verifies it, or a health worker's confirmation settles it.
- A health worker's report is her confirmation of the visit, as her tick in /konfirmasi: the
  attendance is verified on her word (`confirmed_by_health_worker`), only at a posyandu she
  serves, with her proof photo. When the household or its companion had already reported that
  visit, hers cross-checks that report instead; when the household reports it later, its report
  joins hers (cross-checked), as after /konfirmasi.
- Either way the row says who reported it for the household (`assisted_by`, `assisted_role`),
  the recap counts it apart from the households' own reports, and the household's linked
  accounts, if any, are told through the outbox.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.domain.models import (
    Complaint,
    ComplaintCategory,
    Household,
    Member,
    Person,
    Posyandu,
    Role,
)
from bot.services.attendance import (
    AttendanceDraft,
    ReportOutcome,
    ReportResult,
    checked_members,
    missed_question_prefix,
    overall_outcome,
    record_report,
)
from bot.services.complaints import ComplaintPolicy, record_complaint
from bot.services.family import household_in_scope
from bot.services.household_messages import tell_household
from bot.texts.notices import ATTENDANCE_BY_COMPANION, ATTENDANCE_BY_HEALTH_WORKER
from storage.store import Repositories, Store

ASSISTING_ROLES = (Role.COMPANION, Role.HEALTH_WORKER)
NOT_ALLOWED = ReportResult(ReportOutcome.NOT_ALLOWED, None, [])


def may_assist(person: Person | None) -> bool:
    """Whether this person's role reports for households at all (her scope is checked apart)."""
    return person is not None and person.staff_id is not None and person.role in ASSISTING_ROLES


async def household_to_assist(store: Store, person: Person, number: str) -> Household | None:
    """The household of this programme number, when it is active and in the person's scope now;
    None otherwise (the same answer for a number nobody has)."""
    if not may_assist(person):
        return None
    async with store.read() as repo:
        return await household_in_scope(repo, person, number[:40])


async def _in_scope(repo: Repositories, person: Person, household_id: int) -> Household | None:
    if not may_assist(person):
        return None
    household = await repo.households.get(household_id)
    if household is None:
        return None
    return await household_in_scope(repo, person, household.program_number)


async def assisted_household(store: Store, person: Person, household_id: int) -> Household | None:
    """The household a flow reports for, read again at each step: None once it is no longer in
    the person's scope (moved to another companion or posyandu, left the programme)."""
    async with store.read() as repo:
        return await _in_scope(repo, person, household_id)


async def posyandu_choices(store: Store, person: Person, household: Household) -> list[Posyandu]:
    """The posyandu a visit may be reported at: the household's kecamatan's; for a health
    worker only those she serves (her word confirms a visit only where she works)."""
    async with store.read() as repo:
        places = await repo.geography.posyandu_in_kecamatan(household.kecamatan_id)
        if person.role is Role.HEALTH_WORKER and person.staff_id is not None:
            served = set(await repo.staff.posyandu_ids(person.staff_id))
            places = [place for place in places if place.id in served]
    return places


async def report_for_household(
    store: Store,
    person: Person,
    household_id: int,
    draft: AttendanceDraft,
    *,
    now: datetime,
    today: date,
) -> ReportResult:
    """Save a visit reported by staff for the household, after checking the scope and the
    draft again; the household's linked accounts are told."""
    async with store.write() as repo:
        household = await _in_scope(repo, person, household_id)
        if household is None:
            return NOT_ALLOWED
        if person.role is Role.COMPANION:
            result = await record_report(
                repo, person, household, draft, now=now, today=today, assisted=Role.COMPANION
            )
        else:
            result = await _health_worker_report(repo, person, household, draft, now, today)
        recorded = [
            member
            for member, outcome in result.members
            if outcome in (ReportOutcome.SAVED, ReportOutcome.CROSS_CHECKED)
        ]
        if recorded:
            await _tell_household(repo, person, household, recorded, draft, now)
    return result


async def _health_worker_report(
    repo: Repositories,
    person: Person,
    household: Household,
    draft: AttendanceDraft,
    now: datetime,
    today: date,
) -> ReportResult:
    """A health worker's report: her confirmation of each member's visit, at a posyandu she
    serves (SAVED: verified on her word; CROSS_CHECKED: it confirmed a report already made)."""
    assert person.staff_id is not None
    if draft.posyandu_id not in await repo.staff.posyandu_ids(person.staff_id):
        return NOT_ALLOWED
    chosen = await checked_members(repo, household, draft, today)
    if chosen is None:
        return NOT_ALLOWED
    results: list[tuple[Member, ReportOutcome]] = []
    for member in chosen:
        visit = (member.id, draft.posyandu_id, draft.session_date)
        report = await repo.attendance.add_health_worker_report(
            *visit, draft.proof_file_id, person.id, now
        )
        if report is not None:
            outcome = ReportOutcome.SAVED
        elif await repo.attendance.confirm_by_health_worker(*visit, person.id, now):
            outcome = ReportOutcome.CROSS_CHECKED
        else:
            outcome = ReportOutcome.ALREADY_RECORDED
        results.append((member, outcome))
        if outcome is not ReportOutcome.ALREADY_RECORDED:
            await repo.audit.record(
                now,
                f"person:{person.id}",
                "report_attendance",
                "member",
                str(member.id),
                {
                    "date": draft.session_date.isoformat(),
                    "outcome": outcome.value,
                    "assisted": Role.HEALTH_WORKER.value,
                },
            )
    if any(outcome is not ReportOutcome.ALREADY_RECORDED for _, outcome in results):
        await repo.notifications.cancel_pending(
            dedup_prefix=missed_question_prefix(household.id, draft.session_date)
        )
    return ReportResult(overall_outcome(results), None, results)


async def _tell_household(
    repo: Repositories,
    person: Person,
    household: Household,
    members: list[Member],
    draft: AttendanceDraft,
    now: datetime,
) -> None:
    """Each linked account of the household hears who reported which visit for it."""
    staff = await repo.staff.get(person.staff_id) if person.staff_id is not None else None
    template = (
        ATTENDANCE_BY_COMPANION if person.role is Role.COMPANION else ATTENDANCE_BY_HEALTH_WORKER
    )
    params = {
        "reporter": staff.name if staff is not None else "",
        "member": ", ".join(member.name for member in members),
        "date": draft.session_date.isoformat(),
    }
    visit = f"{'-'.join(str(m.id) for m in members)}:{draft.posyandu_id}:{draft.session_date}"
    await tell_household(repo, household.id, template, params, f"attendance:assisted:{visit}", now)


async def complaint_for_household(
    store: Store,
    person: Person,
    household_id: int,
    category: ComplaintCategory,
    text: str,
    photo_file_id: str | None,
    *,
    now: datetime,
    policy: ComplaintPolicy,
    voice_file_id: str | None = None,
) -> Complaint | None:
    """File a complaint for the household, as the household's own flow does (the same owner,
    deadline and ticket code); None when the household is not in the person's scope now (read
    in the transaction that files it). The household's linked accounts are told."""
    async with store.write() as repo:
        household = await _in_scope(repo, person, household_id)
        if household is None:
            return None
        return await record_complaint(
            repo,
            person,
            household,
            category,
            text,
            photo_file_id,
            now=now,
            policy=policy,
            voice_file_id=voice_file_id,
            assisted=person.role,
        )
