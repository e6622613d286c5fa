"""A companion's households, filtered: due at the posyandu this week, missed the last session,
cannot be reached, or have an open complaint.

A complaint about the companion goes to the coordinator, and the household is told it does not
go to the companion: it never shows in the companion's own lists.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.domain.models import EscalationLevel
from bot.domain.sessions import last_session_before, sessions_between
from bot.services.attendance import is_followed
from bot.texts.i18n import N_
from storage.store import Repositories

FILTERS = {
    "due_week": N_("Due at the posyandu this week"),
    "missed": N_("Missed the last posyandu"),
    "unreachable": N_("Households the bot cannot reach"),
    "open_complaints": N_("With an open complaint"),
    "all": N_("All my households"),
}


async def household_list(
    repo: Repositories, companion_id: int, kind: str, today: date, now: datetime
) -> list[str]:
    """Lines `RTS-00012 Ujang Sukmana` (with the date where it helps), for one filter."""
    households = await repo.planning.caseload(companion_id)
    ids = [h.id for h in households]
    label = {h.id: f"{h.program_number} {h.head_name}" for h in households}
    if kind == "all":
        return [label[h] for h in ids]
    if kind == "unreachable":
        return [label[h] for h in sorted(await repo.planning.unreachable_households(ids))]
    if kind == "open_complaints":
        waiting = await repo.complaints.waiting_for(ids, list(EscalationLevel))
        open_ids = {c.household_id for c in waiting if not c.is_about(companion_id)}
        return [label[h] for h in ids if h in open_ids]
    schedules = await repo.planning.posyandu_schedules()
    changes = await repo.planning.session_changes()
    members = await repo.planning.members_of(ids)
    lines: list[str] = []
    for household in households:
        place = schedules.get(household.posyandu_id)
        if place is None:
            continue
        rule = place.schedule
        own = changes.get(place.id, {})
        if kind == "due_week":
            week_end = today + timedelta(days=6 - today.weekday())
            for session in sessions_between(rule, own, today, week_end):
                if any(is_followed(m, session.day) for m in members.get(household.id, [])):
                    lines.append(f"{label[household.id]} ({session.day:%d/%m})")
        elif kind == "missed":
            last = last_session_before(rule, own, today)
            if last is not None and any(
                is_followed(m, last.day) for m in members.get(household.id, [])
            ):
                visited = await repo.planning.households_with_visit(
                    [household.id], last.day, with_answers=False
                )
                if not visited:
                    lines.append(f"{label[household.id]} ({last.day:%d/%m})")
    return lines
