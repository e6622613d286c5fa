"""The planner: turns schedules into outbox rows. Run it any number of times: it only adds the rows
whose dedup key is new, so the outbox holds the same rows after one run or ten.

What it plans, all in WIB (Asia/Jakarta):
- posyandu reminders for households with a pregnant member or a child under five: the day before
  the session at 16:00, and the morning of the session at 06:30;
- the missed-session question, the day after a session at 10:00, for households with no
  attendance report (and no "we did not go") for it;
- neither of these two (the optional reminders) for an account that muted them (/pengingat),
  nor one due before the moment an account turned them on again;
- payout reminders three days and one day before the household's round, at 16:00, with the
  household's queue slot (given out here at the latest, `bot.services.payout_queue`, with the
  round's own slot capacity when the payouts file sets one; the companions are told when a
  round's first slots are given); when the slots are too few, a warning to the kecamatan's
  coordinator and operator;
- each companion's digest at 06:45.

Every row carries `expires_at`: a reminder that could not be sent in time (the bot was down,
Telegram failed) is dropped instead of arriving late. A posyandu reminder expires when the session
starts: the eve's at midnight (it says "tomorrow"), the morning's at 08:00, when posyandu open.

Incremental passes. The work is in four parts, each done at most once per local day unless the
registry changes:
- "reminders": posyandu reminders for the sessions of the next 8 days and payout reminders (with
  the queue slots) for the rounds of the next 3 days. What a session's or a round's reminders say
  depends on the registry only, so the first pass of a day plans only the days that entered the
  windows since the day the part was last done for (the horizon's new last day, the payout
  window's), reading the registry of the posyandu and kecamatan concerned only; after a change
  (its progress forgotten, see below) a pass plans both windows whole again;
- "missed": the missed-session questions, by the first pass from 10:00 (until 21:00);
- "prompts": the health workers' prompts, by the first pass from 13:00;
- "digests": the companions' digests, from 06:45 (until 12:00) on every pass until each enrolled
  companion has one for the day (a companion with nothing to say is asked again at the next pass,
  as before), built for all of them at once (`build_digests`, a fixed number of queries).
`planner_progress` keeps the day each part was last done for. What changes the plan is seen by
database triggers (migration 0012): any write to households, members, linked accounts, staff,
posyandu, desa, kecamatan, moved sessions or payout rounds leaves a mark in `planner_change` in
the writing transaction, whoever writes it. A pass looks for marks (a read); when there are some,
it removes those it sees and forgets the progress (in one write transaction), then reads: whatever
changed before the marks were removed is in what it reads, and a change committed later leaves a
new mark for the next pass. Reports and answers ("we did not go") need no mark: the missed-session
question reads them when it is planned, and a report made afterwards cancels a queued question
(`report_attendance`). So a pass with nothing to do reads two small tables, and a change (a member
added, a session moved with /sesi, a round imported) is planned by the next pass, five minutes
later at most.

Short transactions. The pass reads in read transactions (which never block a writer) and writes
the outbox rows in batches of `BATCH`, each in a write transaction of its own, so a household's
save never waits behind a whole pass. The event loop is given back between batches, between
chunks of what is read (`PEOPLE_PER_FLUSH` accounts or households at a time) and while planning
them, so the bot's updates run; members are read as plain values, not models. A payout round's
queue slots are read first; only new slots are written, in one short write transaction that
reads the stored ones again, so a reminder names the stored slot.
Two processes never plan at once: on PostgreSQL the planner holds its advisory lock (a session
lock on a connection of its own, `job_session_lock`) for the whole pass; on SQLite there is one
machine.
Each part is marked done only after all its rows are written, so a pass that fails half-way is
done again by the next one (the dedup keys make that harmless).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.models import PayoutRound, Recipient, Role
from bot.domain.schedule import ScheduleRule
from bot.domain.sessions import Session, sessions_between
from bot.services.attendance import missed_question_prefix
from bot.services.digest import build_digests, member_followed_until
from bot.services.follow_ups import open_after_session
from bot.services.payout_queue import REMINDER_DAYS_BEFORE, QueuePolicy, settle_queue
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
from storage.notifications import QueuedMessage
from storage.planning import LinkedPerson, PosyanduSchedule, job_session_lock
from storage.store import Store

log = logging.getLogger(__name__)

EVE_AT = time(16, 0)
MORNING_AT = time(6, 30)
SESSION_STARTS = time(8, 0)  # posyandu open in the morning; the schedules give the day only
MISSED_AT = time(10, 0)
MISSED_UNTIL = time(21, 0)
PAYOUT_AT = time(16, 0)
PAYOUT_DAYS_BEFORE = REMINDER_DAYS_BEFORE  # (3, 1): the slots are given by the first
DIGEST_AT = time(6, 45)
DIGEST_UNTIL = time(12, 0)
HORIZON_DAYS = 8
HEALTH_WORKER_AT = time(13, 0)
BATCH = 100  # outbox rows per write transaction
PEOPLE_PER_FLUSH = 100  # linked accounts planned between two turns given to the event loop
POSYANDU_PER_READ = 50  # posyandu whose accounts and members a full pass reads at a time
COMPANIONS_PER_DIGEST_READ = 500  # companions whose digests are built from one set of queries

# The parts of a pass, as `planner_progress` names them.
REMINDERS = "reminders"
MISSED = "missed"
PROMPTS = "prompts"
DIGESTS = "digests"


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
    by_template: dict[str, int] = field(default_factory=dict)  # rows planned (new or not)
    parts: list[str] = field(default_factory=list)  # the parts of the work this pass did


class _Plan:
    """Messages collected during a pass, written to the outbox in batches."""

    def __init__(self, store: Store, zone: ZoneInfo, now: datetime, report: PlanReport) -> None:
        self.store = store
        self.zone = zone
        self.now = now
        self.report = report
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
        self.report.by_template[template] = self.report.by_template.get(template, 0) + 1

    async def flush(self, *, whole: bool = True) -> None:
        """Write the collected rows in batches, each in its own short write transaction (only
        full batches unless `whole`). Rows already in the outbox (planned by an earlier pass)
        are left out first, with a read; the insert still ignores a key that is not new."""
        while len(self.messages) >= BATCH or (whole and self.messages):
            batch, self.messages = self.messages[:BATCH], self.messages[BATCH:]
            async with self.store.read() as repo:
                known = await repo.planning.existing_keys([m.dedup_key for m in batch])
            batch = [m for m in batch if m.dedup_key not in known]
            if batch:
                async with self.store.write() as repo:
                    self.report.queued += await repo.notifications.queue_many(batch, self.now)
            await asyncio.sleep(0)  # let the bot's updates run between batches


@dataclass(frozen=True)
class _Places:
    """The posyandu with their schedules and moved sessions."""

    schedules: dict[int, PosyanduSchedule]
    changes: dict[int, dict[date, date | None]]

    @property
    def rules(self) -> dict[int, ScheduleRule]:
        return _rules(self.schedules)


@dataclass(frozen=True)
class _Registry:
    """The reachable linked accounts of active households, with their members."""

    people: list[LinkedPerson]
    # The names of the members a posyandu can follow, with the last day each is followed.
    members: dict[int, list[tuple[str, date]]]


async def plan(store: Store, now: datetime, policy: PlanPolicy) -> PlanReport:
    """One pass: whatever part of the work is due now or was undone by a change (see above)."""
    report = PlanReport()
    plan = _Plan(store, policy.zone, now, report)
    today = now.astimezone(policy.zone).date()
    async with job_session_lock(store.engine, "planner"):
        async with store.read() as repo:
            changed = await repo.planning.has_changes()
            done = await repo.planning.progress()
        if changed:
            async with store.write() as repo:
                if await repo.planning.take_changes():
                    await repo.planning.forget_progress()
                done = await repo.planning.progress()
        todo = [part for part in _due_parts(plan, today) if done.get(part) != today]
        if not todo:
            return report
        async with store.read() as repo:
            places = _Places(
                await repo.planning.posyandu_schedules(), await repo.planning.session_changes()
            )
        finished: list[str] = []
        if REMINDERS in todo:
            done_for = done.get(REMINDERS)
            first_session = _first_unplanned_day(done_for, today, HORIZON_DAYS)
            await _posyandu_reminders(plan, places, first_session, today)
            first_round = _first_unplanned_day(done_for, today, max(PAYOUT_DAYS_BEFORE))
            await _payout_reminders(plan, policy, first_round, today)
            finished.append(REMINDERS)
        if MISSED in todo:
            await _missed_questions(plan, places, today)
            finished.append(MISSED)
        if PROMPTS in todo:
            await _health_worker_prompts(plan, places, today)
            finished.append(PROMPTS)
        if DIGESTS in todo and await _digests(plan, today):
            finished.append(DIGESTS)
        await plan.flush()
        async with store.write() as repo:
            for part in finished:
                await repo.planning.mark_done(part, today, now)
        report.parts = todo
    return report


async def _read_registry(store: Store, posyandu_ids: list[int]) -> _Registry:
    """The reachable linked accounts of these posyandu with the members a posyandu can follow,
    in one read transaction."""
    async with store.read() as repo:
        people = [
            p for p in await repo.planning.linked_people(posyandu_ids=posyandu_ids) if p.reachable
        ]
        found = await repo.planning.followable_members({p.household_id for p in people})
    members: dict[int, list[tuple[str, date]]] = {}
    for index, household_id in enumerate(list(found)):
        if index % PEOPLE_PER_FLUSH == 0:
            await asyncio.sleep(0)  # a turn for the bot's updates
        household_members = found.pop(household_id)  # read rows freed as they are converted
        members[household_id] = [
            (m.name, until)
            for m in household_members
            if (until := member_followed_until(m)) is not None
        ]
    return _Registry(people, members)


def _first_unplanned_day(done_for: date | None, today: date, window_days: int) -> date:
    """The first day whose sessions (or payout rounds) the reminders must be planned for, in a
    window of today and the next `window_days`: the first day beyond the window of the pass of
    `done_for` when that pass was on an earlier day and nothing changed since; today (the whole
    window) otherwise. The reminders of a session or a round depend on the registry only, never on
    the day they are planned, so what an earlier pass planned needs no second look."""
    if done_for is None or done_for >= today:
        return today
    return max(today, done_for + timedelta(days=window_days + 1))


def _due_parts(plan: _Plan, today: date) -> list[str]:
    """The parts of the work whose time has come today (done or not)."""
    parts = [REMINDERS]
    if plan.at(today, MISSED_AT) <= plan.now < plan.at(today, MISSED_UNTIL):
        parts.append(MISSED)
    if plan.now >= plan.at(today, HEALTH_WORKER_AT):
        parts.append(PROMPTS)
    if plan.at(today, DIGEST_AT) <= plan.now < plan.at(today, DIGEST_UNTIL):
        parts.append(DIGESTS)
    return parts


async def next_pass_with_work(store: Store, now: datetime, zone: ZoneInfo) -> datetime:
    """The earliest moment from `now` at which a pass may have work, if nothing changes first
    (`now` itself when the registry changed or a part is due and not done). For the benchmark's
    month of planning, which jumps over the passes with nothing to do."""
    async with store.read() as repo:
        changed = await repo.planning.has_changes()
        done = await repo.planning.progress()
    local = now.astimezone(zone)
    today = local.date()

    def at(day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=zone)

    if changed or done.get(REMINDERS) != today:
        return now
    candidates = [at(today + timedelta(days=1), time(0, 0))]
    windows = {
        MISSED: (MISSED_AT, MISSED_UNTIL),
        PROMPTS: (HEALTH_WORKER_AT, time(23, 59, 59)),
        DIGESTS: (DIGEST_AT, DIGEST_UNTIL),
    }
    for part, (start, until) in windows.items():
        if done.get(part) == today or now >= at(today, until):
            continue
        candidates.append(max(now, at(today, start)))
    return min(candidates)


def _rules(schedules: dict[int, PosyanduSchedule]) -> dict[int, ScheduleRule]:
    return {posyandu_id: place.schedule for posyandu_id, place in schedules.items()}


def _followed_names(household_members: list[tuple[str, date]], day: date) -> list[str]:
    """The names of those followed on that day (`bot.services.attendance.is_followed`)."""
    return [name for name, until in household_members if day <= until]


async def _posyandu_reminders(plan: _Plan, places: _Places, first: date, today: date) -> None:
    """The reminders of the sessions from `first` to the horizon's last day, for the posyandu
    with such sessions, their registry read `POSYANDU_PER_READ` posyandu at a time: the memory
    of a pass is that of a group, not of the whole registry (at ten times Pandeglang the whole
    registry took about 190 MB)."""
    last = today + timedelta(days=HORIZON_DAYS)
    upcoming = {
        posyandu_id: found
        for posyandu_id, rule in places.rules.items()
        if (found := sessions_between(rule, places.changes.get(posyandu_id, {}), first, last))
    }
    ids = sorted(upcoming)
    for start in range(0, len(ids), POSYANDU_PER_READ):
        registry = await _read_registry(plan.store, ids[start : start + POSYANDU_PER_READ])
        await _remind_of_sessions(plan, registry, places, upcoming)
    await plan.flush(whole=False)


async def _remind_of_sessions(
    plan: _Plan, registry: _Registry, places: _Places, upcoming: dict[int, list[Session]]
) -> None:
    """The eve and morning reminders of the upcoming sessions, for the accounts of `registry`."""
    for index, person in enumerate(registry.people):
        if index % PEOPLE_PER_FLUSH == 0:
            await plan.flush(whole=False)
            await asyncio.sleep(0)  # a turn for the bot's updates
        if person.muted:  # /pengingat: this account muted the posyandu reminders
            continue
        for session in upcoming.get(person.posyandu_id, []):
            names = _followed_names(registry.members.get(person.household_id, []), session.day)
            if not names:
                continue
            params = {
                "posyandu": places.schedules[person.posyandu_id].name,
                "members": names,
                "date": session.day.isoformat(),
            }
            session_key = f"{person.posyandu_id}:{session.original_day}:{session.day}"
            key = f"posyandu:{session_key}:{person.person_id}"
            recipient = Recipient(person_id=person.person_id)
            eve, morning = (
                plan.at(session.day - timedelta(days=1), EVE_AT),
                plan.at(session.day, MORNING_AT),
            )
            if person.wants_optional(eve):
                plan.add(
                    recipient,
                    POSYANDU_EVE,
                    params,
                    due=eve,
                    expires=plan.at(session.day, time(0, 0)),
                    key=f"{key}:eve",
                )
            if person.wants_optional(morning):
                plan.add(
                    recipient,
                    POSYANDU_DAY,
                    params,
                    due=morning,
                    expires=plan.at(session.day, SESSION_STARTS),
                    key=f"{key}:day",
                )


async def _missed_questions(plan: _Plan, places: _Places, today: date) -> None:
    """The missed-session question to the households expected at yesterday's sessions without a
    report or an answer (the registry of those posyandu only)."""
    yesterday = today - timedelta(days=1)
    ask_from, ask_until = plan.at(today, MISSED_AT), plan.at(today, MISSED_UNTIL)
    rules = places.rules
    met = {
        posyandu_id
        for posyandu_id, rule in rules.items()
        if sessions_between(rule, places.changes.get(posyandu_id, {}), yesterday, yesterday)
    }
    async with plan.store.write() as repo:  # every household, with Telegram or without
        await open_after_session(repo, sorted(met), yesterday, plan.now)
    ids = sorted(met)
    for first in range(0, len(ids), POSYANDU_PER_READ):  # a group's registry at a time
        registry = await _read_registry(plan.store, ids[first : first + POSYANDU_PER_READ])
        await _ask_the_missing(plan, registry, places, yesterday, (ask_from, ask_until))
    await plan.flush(whole=False)


async def _ask_the_missing(
    plan: _Plan,
    registry: _Registry,
    places: _Places,
    yesterday: date,
    asked: tuple[datetime, datetime],
) -> None:
    """The question, asked from and until `asked`, to this registry's accounts expected at
    yesterday's sessions that reported no visit."""
    ask_from, ask_until = asked
    expected = [
        p
        for p in registry.people
        if p.wants_optional(ask_from)  # not muted (/pengingat)
        and _followed_names(registry.members.get(p.household_id, []), yesterday)
    ]
    if not expected:
        return
    await asyncio.sleep(0)
    async with plan.store.read() as repo:
        visited = await repo.planning.households_with_visit(
            [p.household_id for p in expected], yesterday
        )
    for person in expected:
        if person.household_id in visited:
            continue
        params = {
            "posyandu": places.schedules[person.posyandu_id].name,
            "posyandu_id": person.posyandu_id,
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
    await plan.flush(whole=False)


@dataclass(frozen=True)
class _RoundSlots:
    """A payout round's queue as stored: slot index by household, and who must be told that the
    slots are too few."""

    households: dict[int, str]  # programme number by household id
    slot_of: dict[int, int]
    assigned: int
    staff_to_warn: list[int]


async def _round_slots(
    store: Store, payout: PayoutRound, policy: QueuePolicy, now: datetime
) -> _RoundSlots:
    """The round's queue, with a slot given to each newcomer that fits (`settle_queue`, which
    also tells the companions when it gives out the round's first slots), and who must be told
    that the slots are too few."""
    queue = await settle_queue(store, payout, policy, now)
    households = {h.household_id: h.program_number for h in queue.households}
    slot_of = {h.household_id: h.slot_index for h in queue.households if h.slot_index is not None}
    staff_ids: list[int] = []
    if any(h not in slot_of for h in households):
        async with store.read() as repo:
            staff_ids = await repo.planning.staff_with_role(Role.COORDINATOR, payout.kecamatan_id)
            staff_ids += await repo.planning.staff_with_role(Role.OPERATOR, payout.kecamatan_id)
    return _RoundSlots(households, slot_of, queue.assigned, staff_ids)


async def _payout_reminders(plan: _Plan, policy: PlanPolicy, first: date, today: date) -> None:
    """The reminders of the payout rounds from `first` to the last day of the payout window, the
    linked accounts read one kecamatan at a time."""
    report = plan.report
    async with plan.store.read() as repo:
        rounds = await repo.planning.rounds_between(
            first, today + timedelta(days=max(PAYOUT_DAYS_BEFORE))
        )
        kecamatan_names = await repo.planning.kecamatan_names() if rounds else {}
    queue_policy = QueuePolicy(policy.zone, policy.slot_minutes, policy.slot_capacity)
    people: list[LinkedPerson] = []
    people_of: int | None = None  # the kecamatan whose accounts `people` holds
    for payout in sorted(rounds, key=lambda r: r.kecamatan_id):
        if payout.kecamatan_id != people_of:
            async with plan.store.read() as repo:
                found = await repo.planning.linked_people(kecamatan_id=payout.kecamatan_id)
            people, people_of = [p for p in found if p.reachable], payout.kecamatan_id
        slots = queue_policy.slots(payout)
        capacity = queue_policy.capacity(payout)
        queue = await _round_slots(plan.store, payout, queue_policy, plan.now)
        households, slot_of = queue.households, queue.slot_of
        report.slots_assigned += queue.assigned
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
                "capacity": len(slots) * capacity,
                "unplaced": unplaced_count,
            }
            # For whoever runs the bot, in the log at every full pass until the round fits.
            log.warning(
                "payout_slots_short round=%s kecamatan_id=%s households=%s capacity=%s unplaced=%s",
                payout.round_code,
                payout.kecamatan_id,
                len(households),
                warn["capacity"],
                unplaced_count,
            )
            for staff_id in queue.staff_to_warn:
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
        await plan.flush(whole=False)


async def _digests(plan: _Plan, today: date) -> bool:
    """Queue the digest of each enrolled companion without one today, built for
    `COMPANIONS_PER_DIGEST_READ` companions at a time (a constant number of queries each: one
    group at Pandeglang's 200 companions; the memory of a group, not of every caseload); True
    when every enrolled companion has one (none had nothing to say)."""
    start, until = plan.at(today, DIGEST_AT), plan.at(today, DIGEST_UNTIL)
    async with plan.store.read() as repo:
        key_of = {
            staff_id: f"digest:{staff_id}:{today}"
            for staff_id, _person_id in await repo.planning.enrolled_companions()
        }
        existing = await repo.planning.existing_keys(list(key_of.values()))
    wanted = [staff_id for staff_id, key in key_of.items() if key not in existing]
    built = 0
    for first in range(0, len(wanted), COMPANIONS_PER_DIGEST_READ):
        group = wanted[first : first + COMPANIONS_PER_DIGEST_READ]
        async with plan.store.read() as repo:
            digests = await build_digests(repo, group, today, plan.now)
        built += len(digests)
        for staff_id in group:
            digest = digests.get(staff_id)
            if digest is not None:
                plan.add(
                    Recipient(staff_id=staff_id),
                    COMPANION_DIGEST,
                    digest.as_params(),
                    due=start,
                    expires=until,
                    key=key_of[staff_id],
                )
        await plan.flush(whole=False)
    return built == len(wanted)


async def _health_worker_prompts(plan: _Plan, places: _Places, today: date) -> None:
    """After today's session (13:00), each of the posyandu's health workers is asked to confirm."""
    due = plan.at(today, HEALTH_WORKER_AT)
    rules = places.rules
    async with plan.store.read() as repo:
        workers = await repo.planning.health_workers()
    for staff_id, posyandu_id in workers:
        rule = rules.get(posyandu_id)
        if rule is None or not sessions_between(
            rule, places.changes.get(posyandu_id, {}), today, today
        ):
            continue
        plan.add(
            Recipient(staff_id=staff_id),
            HEALTH_WORKER_PROMPT,
            {"posyandu": places.schedules[posyandu_id].name},
            due=due,
            expires=plan.at(today + timedelta(days=1), MISSED_UNTIL),
            key=f"confirm-prompt:{posyandu_id}:{today}:{staff_id}",
        )
