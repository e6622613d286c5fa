"""Escalation: a complaint left unresolved past its deadline goes up a level.

The companion has `companion_days` working days, then the kecamatan coordinator has
`coordinator_days`, then the complaint goes to the district team (TPJK), the last level. Each step
is an event in the complaint's history, an alert to the new owner (with buttons to take it over,
reply or resolve), one calm sentence to the household, and a notice to the household's companion,
who keeps following it (unless it is about her).

The sweep is idempotent: it only moves complaints whose deadline has passed, and moving one sets a
new deadline, so a second run finds nothing. It runs in one transaction under a job lock, so a
crash leaves nothing half-done and two processes never escalate the same complaint twice.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.models import Complaint, EscalationLevel, Recipient
from bot.services.complaints import ComplaintPolicy, companion_notice, owner_of
from bot.texts.notices import COMPLAINT_COMPANION_UP, COMPLAINT_ESCALATED, COMPLAINT_LEVEL_UP
from storage.locks import hold_job_lock
from storage.notifications import QueuedMessage
from storage.store import Store

NEXT_LEVEL = {
    EscalationLevel.COMPANION: EscalationLevel.COORDINATOR,
    EscalationLevel.COORDINATOR: EscalationLevel.DISTRICT,
}


async def overdue_by(store: Store, moment: datetime) -> list[Complaint]:
    """The complaints a sweep at `moment` would move up a level (a drill: nothing changes)."""
    async with store.read() as repo:
        return [c for c in await repo.complaints.overdue(moment) if c.level in NEXT_LEVEL]


async def sweep(
    store: Store, now: datetime, policy: ComplaintPolicy, *, overdue_at: datetime | None = None
) -> int:
    """Escalate every complaint overdue at `overdue_at` (default `now`) one level; returns how
    many moved. The history, the new deadlines and the alerts are dated `now`, never later:
    `sapa escalate --at ... --apply` moves early what would be overdue then.
    """
    moved = 0
    async with store.write() as repo:
        await hold_job_lock(repo.connection, "escalation")
        for complaint in await repo.complaints.overdue(overdue_at or now):
            level = NEXT_LEVEL.get(complaint.level)
            household = await repo.households.get(complaint.household_id)
            if level is None or household is None:
                continue
            deadline = policy.deadline(now, policy.days_at(level))
            await repo.complaints.escalate(complaint.id, level, deadline, now)
            await repo.complaints.add_event(
                complaint.id, "escalated", now, level=level, status=complaint.status
            )
            params = {
                "ticket": complaint.ticket_code,
                "program_number": household.program_number,
                "category": complaint.category.value,
                "deadline": deadline.astimezone(policy.zone).date().isoformat(),
                "complaint_id": complaint.id,
            }
            messages = []
            owner = await owner_of(repo, level, household)
            if owner is not None:
                messages.append(
                    QueuedMessage(
                        owner,
                        COMPLAINT_ESCALATED,
                        params,
                        now,
                        f"complaint:escalated:{complaint.id}:{level.value}",
                    )
                )
            for person in await repo.people.linked_to_household(household.id):
                messages.append(
                    QueuedMessage(
                        Recipient(person_id=person.id),
                        COMPLAINT_LEVEL_UP,
                        {"ticket": complaint.ticket_code, "level": level.value},
                        now,
                        f"complaint:level-up:{complaint.id}:{level.value}:{person.id}",
                    )
                )
            companion = companion_notice(
                complaint,
                household,
                COMPLAINT_COMPANION_UP,
                level,
                f"complaint:companion-up:{complaint.id}:{level.value}",
                now,
            )
            if companion is not None:
                messages.append(companion)
            await repo.notifications.queue_many(messages, now)
            await repo.audit.record(
                now,
                "escalation",
                "escalate",
                "complaint",
                complaint.ticket_code,
                {"level": level.value},
            )
            moved += 1
    return moved
