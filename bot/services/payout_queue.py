"""Payout day queues: each household's slot in its round's queue, and the lists printed from them.

Slots are given out by `settle_queue`, the one place that does it: the planner calls it for the
rounds of the next three days (their reminders name the slot), and the lists below call it for
any round still to come that someone asks for, so the list a coordinator prints a week ahead is
the queue the households are told later. Giving out is stable (`bot.domain.slots`): a household
keeps its slot; households added later go to the emptiest slots. Whoever gives out the first
slots of a round also queues one notice to each companion with households in it (dedup key per
round and companion), in the same transaction: her households with their times, and a button
for the file to print.

`payout_lists` is what /antrean and `sapa payout-list` ask for: the lists of one round or of the
rounds of the next `UPCOMING_DAYS`, in the asker's scope (a companion: her households of her
kecamatan; a coordinator: her kecamatan; the district team: every kecamatan, or one it names).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.models import PayoutRound, Recipient, Role, name_key
from bot.domain.slots import (
    QueuedHousehold,
    RoundList,
    Slot,
    assign_slots,
    cut_window,
    round_list,
    slot_label,
    stable_order,
)
from bot.settings import Settings
from bot.texts.notices import PAYOUT_SLOTS_READY
from bot.texts.register_sheet import short_name
from storage.notifications import QueuedMessage
from storage.store import Store

UPCOMING_DAYS = 14  # /antrean without a round: the rounds of today and the next 14 days
# The households' payout reminders (16:00 WIB), so many days before the payout day. The planner
# gives out a round's slots at the latest on the day of the first, and each names the slot.
REMINDER_DAYS_BEFORE = (3, 1)

LIST_ROLES = (Role.COMPANION, Role.COORDINATOR, Role.ADMIN)


@dataclass(frozen=True)
class QueuePolicy:
    zone: ZoneInfo
    slot_minutes: int = 30
    slot_capacity: int = 100  # households per slot where the round sets none

    @classmethod
    def from_settings(cls, settings: Settings) -> QueuePolicy:
        return cls(settings.zone, settings.queue_slot_minutes, settings.queue_slot_capacity)

    def capacity(self, payout: PayoutRound) -> int:
        """Households per slot at the round's place: the round's own, else the default."""
        return payout.slot_capacity or self.slot_capacity

    def slots(self, payout: PayoutRound) -> list[Slot]:
        return cut_window(payout.start_time, payout.end_time, self.slot_minutes)


@dataclass(frozen=True)
class RoundQueue:
    households: list[QueuedHousehold]  # the kecamatan's active households, slots as stored
    assigned: int  # slots this call gave out


async def settle_queue(
    store: Store, payout: PayoutRound, policy: QueuePolicy, now: datetime
) -> RoundQueue:
    """The round's queue, with a slot given to each newcomer that fits. Read first; only when
    there are slots to give, a short write transaction (holding the round's row) reads the
    stored slots again and adds the new ones, so what is returned is what is stored."""
    async with store.read() as repo:
        households = await repo.payouts.queue(payout.id, payout.kecamatan_id)
    stored = {h.household_id: h.slot_index for h in households if h.slot_index is not None}
    slot_count, capacity = len(policy.slots(payout)), policy.capacity(payout)
    new = _new_slots(payout, households, stored, slot_count, capacity)
    if not new:
        return RoundQueue(households, 0)
    async with store.write() as repo:
        await repo.payouts.lock(payout.id)
        existing = await repo.planning.slots(payout.id)
        new = _new_slots(payout, households, existing, slot_count, capacity)
        await repo.planning.assign_slots(payout.id, new)
        slot_of = {**existing, **new}
        settled = [replace(h, slot_index=slot_of.get(h.household_id)) for h in households]
        if new and not existing:  # the round's first slots
            notices = _companion_notices(payout, settled, policy, now)
            await repo.notifications.queue_many(notices, now)
    return RoundQueue(settled, len(new))


def _new_slots(
    payout: PayoutRound,
    households: list[QueuedHousehold],
    existing: dict[int, int],
    slot_count: int,
    capacity: int,
) -> dict[int, int]:
    """Slot index by household for the newcomers that fit (`bot.domain.slots`)."""
    number_of = {h.household_id: h.program_number for h in households}
    new_numbers = [n for h, n in number_of.items() if h not in existing]
    if not new_numbers:
        return {}
    id_of = {number: id_ for id_, number in number_of.items()}
    assigned, _unplaced = assign_slots(
        slot_count,
        capacity,
        {number_of[h]: s for h, s in existing.items() if h in number_of},
        stable_order(payout.round_code, new_numbers),
    )
    return {id_of[number]: index for number, index in assigned.items()}


def _companion_notices(
    payout: PayoutRound, households: list[QueuedHousehold], policy: QueuePolicy, now: datetime
) -> list[QueuedMessage]:
    """One notice to each companion with households in the round: her households with their
    queue times (by time; those without one last), names shortened as on the printed list, and
    a button for that list. No use once the payout has begun."""
    expires = datetime.combine(payout.payout_date, payout.start_time, tzinfo=policy.zone)
    if now >= expires:
        return []
    slots = policy.slots(payout)
    hers: dict[int, list[QueuedHousehold]] = {}
    for household in households:
        if household.companion_id is not None:
            hers.setdefault(household.companion_id, []).append(household)
    messages = []
    for companion_id, own in sorted(hers.items()):
        timed = sorted(
            (
                (h.slot_index, h)
                for h in own
                if h.slot_index is not None and h.slot_index < len(slots)
            ),
            key=lambda pair: (pair[0], pair[1].program_number),
        )
        placed = {h.household_id for _index, h in timed}
        lines = [
            {"time": slot_label(slots[index]), "program_number": h.program_number,
             "name": short_name(h.head_name), "telegram": h.telegram}
            for index, h in timed
        ] + [
            {"time": None, "program_number": h.program_number, "name": short_name(h.head_name),
             "telegram": h.telegram}
            for h in own  # by programme number, as read
            if h.household_id not in placed
        ]  # fmt: skip
        messages.append(
            QueuedMessage(
                Recipient(staff_id=companion_id),
                PAYOUT_SLOTS_READY,
                {
                    "round": payout.round_code,
                    "date": payout.payout_date.isoformat(),
                    "place": payout.place,
                    "households": len(own),
                    "placed": len(timed),
                    "round_id": payout.id,
                    "lines": lines,
                    "expires_at": expires.isoformat(),
                },
                now,
                f"slots-ready:{payout.id}:{companion_id}",
            )
        )
    return messages


class ListOutcome(StrEnum):
    LISTED = "listed"
    REFUSED = "refused"  # not a role that may, or a kecamatan or round outside the scope
    UNKNOWN_ROUND = "unknown_round"
    UNKNOWN_KECAMATAN = "unknown_kecamatan"


@dataclass(frozen=True)
class PayoutLists:
    outcome: ListOutcome
    lists: list[RoundList] = field(default_factory=list)
    # The asker's rounds still to come (code, date), soonest first: what she may ask for.
    coming: list[tuple[str, date]] = field(default_factory=list)
    companion: bool = False  # the lists hold only the asker's households


async def payout_lists(
    store: Store,
    staff_id: int | None,
    round_code: str | None,
    kecamatan_name: str | None,
    *,
    today: date,
    now: datetime,
    policy: QueuePolicy,
    round_id: int | None = None,
) -> PayoutLists:
    """The lists of one round (`round_code`, or the one round `round_id`: a button's) or of the
    rounds from today to `UPCOMING_DAYS` ahead, in the scope of staff member `staff_id` (None:
    the district, for `sapa`). A round still to come gets its slots first (`settle_queue`)."""
    async with store.read() as repo:
        staff = await repo.staff.get(staff_id) if staff_id is not None else None
        if staff_id is not None and (
            staff is None or not staff.active or staff.role not in LIST_ROLES
        ):
            return PayoutLists(ListOutcome.REFUSED)
        scope = None if staff is None or staff.role is Role.ADMIN else staff.kecamatan_id
        if staff is not None and staff.role is not Role.ADMIN and scope is None:
            return PayoutLists(ListOutcome.REFUSED)
        named = None
        if kecamatan_name:
            named = (await repo.geography.kecamatan_ids()).get(name_key(kecamatan_name))
            if named is None:
                return PayoutLists(ListOutcome.UNKNOWN_KECAMATAN)
            if scope is not None and named != scope:
                return PayoutLists(ListOutcome.REFUSED)
            scope = named
        coming = await repo.payouts.from_day(today, scope)
        codes = list(dict.fromkeys((r.round_code, r.payout_date) for r in coming))
        one = bool(round_code) or round_id is not None
        if one:
            if round_id is not None:
                found = [r for r in [await repo.payouts.get(round_id)] if r is not None]
            else:
                found = await repo.payouts.with_code(round_code or "")
            rounds = [r for r in found if scope is None or r.kecamatan_id == scope]
            if not rounds:
                outside = found and named is None  # the round exists, but elsewhere
                outcome = ListOutcome.REFUSED if outside else ListOutcome.UNKNOWN_ROUND
                return PayoutLists(outcome, coming=codes)
        else:
            last = today + timedelta(days=UPCOMING_DAYS)
            rounds = [r for r in coming if r.payout_date <= last]
        names = await repo.geography.kecamatan_names()
    companion = staff is not None and staff.role is Role.COMPANION
    lists = []
    for payout in sorted(rounds, key=lambda r: (r.payout_date, names.get(r.kecamatan_id, ""))):
        if payout.payout_date >= today:
            households = (await settle_queue(store, payout, policy, now)).households
        else:  # a round gone by: its queue as it was
            async with store.read() as repo:
                households = await repo.payouts.queue(payout.id, payout.kecamatan_id)
        listed = round_list(
            payout.round_code,
            names.get(payout.kecamatan_id, ""),
            payout.place,
            payout.payout_date,
            (payout.start_time, payout.end_time),
            policy.slot_minutes,
            policy.capacity(payout),
            households,
        )
        if companion and staff is not None:
            listed = listed.only(staff.id)
            if not one and not listed.household_count:
                continue  # none of hers in this round
        lists.append(listed)
    return PayoutLists(ListOutcome.LISTED, lists, codes, companion)


def household_slot(payout: PayoutRound, slot_index: int | None, slot_minutes: int) -> Slot | None:
    """The slot a stored index names; None when there is none (or it is past the window, which
    was shortened after the slots were given)."""
    slots = cut_window(payout.start_time, payout.end_time, slot_minutes)
    if slot_index is None or not 0 <= slot_index < len(slots):
        return None
    return slots[slot_index]
