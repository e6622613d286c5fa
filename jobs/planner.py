"""The planner: turns schedules into outbox rows. Run it any number of times: it only adds the rows
whose dedup key is new, so the outbox holds the same rows after one run or ten.

What it plans, all in WIB (Asia/Jakarta):
- posyandu reminders for households with a pregnant member or a child under five: the day before
  the session at 16:00, and the morning of the session at 06:30;
- the missed-session question, the day after a session at 10:00, for households with no
  attendance report (and no "we did not go") for it;
- payout reminders three days and one day before the household's round, at 16:00, with the
  household's queue slot (assigned here, see `bot.slots`); when the slots are too few, a warning
  to the kecamatan's coordinator and operator;
- each companion's digest at 06:45.

Every row carries `expires_at`: a reminder that could not be sent in time (the bot was down,
Telegram failed) is dropped instead of arriving late. A posyandu reminder expires when the session
starts: the eve's at midnight (it says "tomorrow"), the morning's at 08:00, when posyandu open.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.models import Member, Recipient, Role
from bot.domain.schedule import ScheduleRule
from bot.domain.sessions import sessions_between
from bot.domain.slots import assign_slots, cut_window, stable_order
from bot.services.attendance import is_followed, missed_question_prefix
from bot.services.digest import build_digest
from bot.settings import Settings
from bot.texts.notices import (
    COMPANION_DIGEST,
    HEALTH_WORKER_PROMPT,
    PAYOUT_REMINDER,
    PAYOUT_REMINDER_NO_SLOT,
    PAYOUT_SLOTS_SHORT,
    PAYOUT_TOMORROW,
    PAYOUT_TOMORROW_NO_SLOT,
    POSYANDU_DAY,
    POSYANDU_EVE,
    POSYANDU_MISSED,
)
from storage.locks import hold_job_lock
from storage.notifications import QueuedMessage
from storage.planning import LinkedPerson, PosyanduSchedule
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

EVE_AT = time(16, 0)
MORNING_AT = time(6, 30)
SESSION_STARTS = time(8, 0)  # posyandu open in the morning; the schedules give the day only
MISSED_AT = time(10, 0)
MISSED_UNTIL = time(21, 0)
PAYOUT_AT = time(16, 0)
PAYOUT_DAYS_BEFORE = (3, 1)
DIGEST_AT = time(6, 45)
DIGEST_UNTIL = time(12, 0)
HORIZON_DAYS = 8
HEALTH_WORKER_AT = time(13, 0)


@dataclass(frozen=True)
class PlanPolicy:
    zone: ZoneInfo
    slot_minutes: int = 30
    slot_capacity: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanPolicy:
        return cls(settings.zone, settings.queue_slot_minutes, settings.queue_slot_capacity)


@dataclass
class PlanReport:
    queued: int = 0
    slots_assigned: int = 0
    households_without_slot: int = 0
    by_template: dict[str, int] = field(default_factory=dict)


class _Plan:
    """Messages collected during one run, before they go to the outbox in one statement."""

    def __init__(self, zone: ZoneInfo, now: datetime) -> None:
        self.zone = zone
        self.now = now
        self.messages: list[QueuedMessage] = []

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone)

    def add(
        self,
        recipient: Recipient,
        template: str,
        params: Mapping[str, object],
        *,
        due: datetime,
        expires: datetime,
        key: str,
    ) -> None:
        if self.now >= expires:
            return
        params = {**params, "expires_at": expires.isoformat()}
        self.messages.append(QueuedMessage(recipient, template, params, due, key))


async def plan(store: Store, now: datetime, policy: PlanPolicy) -> PlanReport:
    report = PlanReport()
    plan = _Plan(policy.zone, now)
    today = now.astimezone(policy.zone).date()
    async with store.write() as repo:
        await hold_job_lock(repo.connection, "planner")
        people = [p for p in await repo.planning.linked_people() if p.reachable]
        members = await repo.planning.members_of({p.household_id for p in people})
        schedules = await repo.planning.posyandu_schedules()
        changes = await repo.planning.session_changes()
        rules = _rules(schedules)
        _posyandu_reminders(plan, people, members, schedules, rules, changes, today)
        await _missed_questions(plan, repo, people, members, schedules, rules, changes, today)
        await _payout_reminders(plan, repo, people, policy, today, report)
        await _digests(plan, repo, today)
        await _health_worker_prompts(plan, repo, schedules, rules, changes, today)
        report.queued = await repo.notifications.queue_many(plan.messages, now)
    for message in plan.messages:
        report.by_template[message.template_key] = (
            report.by_template.get(message.template_key, 0) + 1
        )
    return report


def _rules(schedules: dict[int, PosyanduSchedule]) -> dict[int, ScheduleRule]:
    return {posyandu_id: place.schedule for posyandu_id, place in schedules.items()}


def _followed_names(household_members: list[Member], day: date) -> list[str]:
    return [m.name for m in household_members if is_followed(m, day)]


def _posyandu_reminders(
    plan: _Plan,
    people: list[LinkedPerson],
    members: dict[int, list[Member]],
    schedules: dict[int, PosyanduSchedule],
    rules: dict[int, ScheduleRule],
    changes: dict[int, dict[date, date | None]],
    today: date,
) -> None:
    upcoming = {
        posyandu_id: sessions_between(
            rule, changes.get(posyandu_id, {}), today, today + timedelta(days=HORIZON_DAYS)
        )
        for posyandu_id, rule in rules.items()
    }
    for person in people:
        for session in upcoming.get(person.posyandu_id, []):
            names = _followed_names(members.get(person.household_id, []), session.day)
            if not names:
                continue
            params = {
                "posyandu": schedules[person.posyandu_id].name,
                "members": names,
                "date": session.day.isoformat(),
            }
            session_key = f"{person.posyandu_id}:{session.original_day}:{session.day}"
            key = f"posyandu:{session_key}:{person.person_id}"
            recipient = Recipient(person_id=person.person_id)
            plan.add(
                recipient,
                POSYANDU_EVE,
                params,
                due=plan.at(session.day - timedelta(days=1), EVE_AT),
                expires=plan.at(session.day, time(0, 0)),
                key=f"{key}:eve",
            )
            plan.add(
                recipient,
                POSYANDU_DAY,
                params,
                due=plan.at(session.day, MORNING_AT),
                expires=plan.at(session.day, SESSION_STARTS),
                key=f"{key}:day",
            )


async def _missed_questions(
    plan: _Plan,
    repo: Repositories,
    people: list[LinkedPerson],
    members: dict[int, list[Member]],
    schedules: dict[int, PosyanduSchedule],
    rules: dict[int, ScheduleRule],
    changes: dict[int, dict[date, date | None]],
    today: date,
) -> None:
    yesterday = today - timedelta(days=1)
    ask_from, ask_until = plan.at(today, MISSED_AT), plan.at(today, MISSED_UNTIL)
    if not ask_from <= plan.now < ask_until:
        return
    by_posyandu: dict[int, list[LinkedPerson]] = defaultdict(list)
    for person in people:
        by_posyandu[person.posyandu_id].append(person)
    for posyandu_id, persons in by_posyandu.items():
        rule = rules.get(posyandu_id)
        if rule is None or not sessions_between(
            rule, changes.get(posyandu_id, {}), yesterday, yesterday
        ):
            continue
        expected = [
            p for p in persons if _followed_names(members.get(p.household_id, []), yesterday)
        ]
        visited = await repo.planning.households_with_visit(
            [p.household_id for p in expected], yesterday
        )
        for person in expected:
            if person.household_id in visited:
                continue
            params = {
                "posyandu": schedules[posyandu_id].name,
                "posyandu_id": posyandu_id,
                "date": yesterday.isoformat(),
            }
            plan.add(
                Recipient(person_id=person.person_id),
                POSYANDU_MISSED,
                params,
                due=ask_from,
                expires=ask_until,
                key=missed_question_prefix(person.household_id, yesterday) + str(person.person_id),
            )


async def _payout_reminders(
    plan: _Plan,
    repo: Repositories,
    people: list[LinkedPerson],
    policy: PlanPolicy,
    today: date,
    report: PlanReport,
) -> None:
    rounds = await repo.planning.rounds_between(
        today, today + timedelta(days=max(PAYOUT_DAYS_BEFORE))
    )
    kecamatan_names = await repo.planning.kecamatan_names()
    for payout in rounds:
        slots = cut_window(payout.start_time, payout.end_time, policy.slot_minutes)
        households = await repo.planning.active_households(payout.kecamatan_id)
        existing = await repo.planning.slots(payout.id)
        id_of = {number: id_ for id_, number in households.items()}
        new_numbers = [n for h, n in households.items() if h not in existing]
        newcomers = stable_order(payout.round_code, new_numbers)
        assigned, _unplaced = assign_slots(
            len(slots),
            policy.slot_capacity,
            {households[h]: s for h, s in existing.items() if h in households},
            newcomers,
        )
        new_slots = {id_of[number]: index for number, index in assigned.items()}
        await repo.planning.assign_slots(payout.id, new_slots)
        report.slots_assigned += len(new_slots)
        slot_of = {**existing, **new_slots}
        unplaced_count = len([h for h in households if h not in slot_of])
        report.households_without_slot += unplaced_count
        base = {
            "date": payout.payout_date.isoformat(),
            "place": payout.place,
            "amount": payout.amount,
        }
        if unplaced_count:
            warn = {
                **base,
                "round": payout.round_code,
                "kecamatan": kecamatan_names.get(payout.kecamatan_id, ""),
                "households": len(households),
                "capacity": len(slots) * policy.slot_capacity,
                "unplaced": unplaced_count,
            }
            # For whoever runs the bot, in the log at every run until the round fits.
            log.warning(
                "payout_slots_short round=%s kecamatan_id=%s households=%s capacity=%s unplaced=%s",
                payout.round_code,
                payout.kecamatan_id,
                len(households),
                warn["capacity"],
                unplaced_count,
            )
            staff_ids = await repo.planning.staff_with_role(Role.COORDINATOR, payout.kecamatan_id)
            staff_ids += await repo.planning.staff_with_role(Role.OPERATOR, payout.kecamatan_id)
            for staff_id in staff_ids:
                plan.add(
                    Recipient(staff_id=staff_id),
                    PAYOUT_SLOTS_SHORT,
                    warn,
                    due=plan.now,
                    expires=plan.at(payout.payout_date, time(0, 0)),
                    key=f"slots-short:{payout.id}:{unplaced_count}:{staff_id}",
                )
        window = {"start": f"{payout.start_time:%H.%M}", "end": f"{payout.end_time:%H.%M}"}
        for person in people:
            if person.kecamatan_id != payout.kecamatan_id:
                continue
            index = slot_of.get(person.household_id)
            has_slot = index is not None and index < len(slots)
            if index is not None and has_slot:
                times = {"start": f"{slots[index].start:%H.%M}", "end": f"{slots[index].end:%H.%M}"}
            else:
                times = window
            for days in PAYOUT_DAYS_BEFORE:
                day = payout.payout_date - timedelta(days=days)
                if days == 1:
                    template = PAYOUT_TOMORROW if has_slot else PAYOUT_TOMORROW_NO_SLOT
                else:
                    template = PAYOUT_REMINDER if has_slot else PAYOUT_REMINDER_NO_SLOT
                plan.add(
                    Recipient(person_id=person.person_id),
                    template,
                    {**base, **times, "days": days},
                    due=plan.at(day, PAYOUT_AT),
                    expires=plan.at(day + timedelta(days=1), time(0, 0)),
                    key=f"payout:{payout.id}:{person.person_id}:H-{days}",
                )


async def _digests(plan: _Plan, repo: Repositories, today: date) -> None:
    start, until = plan.at(today, DIGEST_AT), plan.at(today, DIGEST_UNTIL)
    if not start <= plan.now < until:
        return
    for staff_id, _person_id in await repo.planning.enrolled_companions():
        key = f"digest:{staff_id}:{today}"
        if await repo.notifications.exists(key):
            continue
        digest = await build_digest(repo, staff_id, today, plan.now)
        if digest is not None:
            plan.add(
                Recipient(staff_id=staff_id),
                COMPANION_DIGEST,
                digest.as_params(),
                due=start,
                expires=until,
                key=key,
            )


async def _health_worker_prompts(
    plan: _Plan,
    repo: Repositories,
    schedules: dict[int, PosyanduSchedule],
    rules: dict[int, ScheduleRule],
    changes: dict[int, dict[date, date | None]],
    today: date,
) -> None:
    """After today's session (13:00), each of the posyandu's health workers is asked to confirm."""
    due = plan.at(today, HEALTH_WORKER_AT)
    if plan.now < due:
        return
    for staff_id, posyandu_id in await repo.planning.health_workers():
        rule = rules.get(posyandu_id)
        if rule is None or not sessions_between(rule, changes.get(posyandu_id, {}), today, today):
            continue
        plan.add(
            Recipient(staff_id=staff_id),
            HEALTH_WORKER_PROMPT,
            {"posyandu": schedules[posyandu_id].name},
            due=due,
            expires=plan.at(today + timedelta(days=1), MISSED_UNTIL),
            key=f"confirm-prompt:{posyandu_id}:{today}:{staff_id}",
        )
