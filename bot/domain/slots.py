"""Payout queue slots: the round's time window cut into slots, households spread evenly.

The study found crowds at the post office on payout day. Each household gets a time slot. A
slot never holds more than its capacity; when the window is too small, the households that do
not fit get no slot and the coordinator and operator are told (never an overfilled slot).

Assignment is stable: a household keeps its slot when the planner runs again, and households
added later go to the emptiest slots. Among new households the order is a hash of the round and
the programme number, so it is the same on every run and on every machine.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class Slot:
    index: int
    start: time
    end: time


def cut_window(start: time, end: time, minutes: int) -> list[Slot]:
    """Slots of `minutes` from start to end; the last one may be shorter."""
    day = date(2000, 1, 1)
    cursor, finish = datetime.combine(day, start), datetime.combine(day, end)
    slots: list[Slot] = []
    while cursor < finish:
        slot_end = min(cursor + timedelta(minutes=minutes), finish)
        slots.append(Slot(len(slots), cursor.time(), slot_end.time()))
        cursor = slot_end
    return slots


def slot_label(slot: Slot) -> str:
    """A slot's time as people read it: "08.00–08.30"."""
    return f"{slot.start:%H.%M}–{slot.end:%H.%M}"


def stable_order(round_code: str, program_numbers: list[str]) -> list[str]:
    def key(number: str) -> str:
        return hashlib.sha256(f"{round_code}:{number}".encode()).hexdigest()

    return sorted(program_numbers, key=key)


def assign_slots(
    slot_count: int,
    capacity: int,
    existing: dict[str, int],
    newcomers: list[str],
) -> tuple[dict[str, int], list[str]]:
    """Slots for newcomers (in their given order), keeping existing ones.

    Returns the new assignments and the newcomers that did not fit.
    """
    load = [0] * slot_count
    for index in existing.values():
        if 0 <= index < slot_count:
            load[index] += 1
    assigned: dict[str, int] = {}
    unplaced: list[str] = []
    for number in newcomers:
        index = min(range(slot_count), key=lambda i: (load[i], i)) if slot_count else -1
        if index < 0 or load[index] >= capacity:
            unplaced.append(number)
            continue
        load[index] += 1
        assigned[number] = index
    return assigned, unplaced


@dataclass(frozen=True)
class QueuedHousehold:
    """A household of a payout round's kecamatan and its place in the round's queue."""

    household_id: int
    program_number: str
    head_name: str
    companion_id: int | None
    slot_index: int | None  # None: no slot (not given yet, or the slots were too few)
    telegram: bool = True  # the bot can reach someone of the household (else the companion tells)


@dataclass(frozen=True)
class SlotList:
    slot: Slot
    households: list[QueuedHousehold]  # by programme number


@dataclass(frozen=True)
class RoundList:
    """A payout round at one place: each queue slot with its households, and the households
    without a slot. What the venue's printed list and a companion's list show."""

    round_code: str
    kecamatan: str
    place: str
    payout_date: date
    start: time
    end: time
    capacity: int  # households per slot
    slots: list[SlotList]  # every slot of the window, empty ones too
    unplaced: list[QueuedHousehold]

    @property
    def filled(self) -> list[SlotList]:
        """The slots that hold a household."""
        return [s for s in self.slots if s.households]

    @property
    def household_count(self) -> int:
        return sum(len(s.households) for s in self.slots) + len(self.unplaced)

    def only(self, companion_id: int) -> RoundList:
        """The same list with only the households of one companion."""

        def hers(households: list[QueuedHousehold]) -> list[QueuedHousehold]:
            return [h for h in households if h.companion_id == companion_id]

        return RoundList(
            self.round_code,
            self.kecamatan,
            self.place,
            self.payout_date,
            self.start,
            self.end,
            self.capacity,
            [SlotList(s.slot, hers(s.households)) for s in self.slots],
            hers(self.unplaced),
        )


def round_list(
    round_code: str,
    kecamatan: str,
    place: str,
    payout_date: date,
    window: tuple[time, time],
    slot_minutes: int,
    capacity: int,
    households: list[QueuedHousehold],
) -> RoundList:
    """The round's slots with their households; a household whose slot is past the window (the
    window was shortened after the slots were given) counts as without a slot, as in the
    reminders."""
    slots = cut_window(window[0], window[1], slot_minutes)
    ordered = sorted(households, key=lambda h: h.program_number)
    placed: list[list[QueuedHousehold]] = [[] for _ in slots]
    unplaced: list[QueuedHousehold] = []
    for household in ordered:
        index = household.slot_index
        if index is not None and 0 <= index < len(slots):
            placed[index].append(household)
        else:
            unplaced.append(household)
    return RoundList(
        round_code,
        kecamatan,
        place,
        payout_date,
        window[0],
        window[1],
        capacity,
        [SlotList(slot, members) for slot, members in zip(slots, placed, strict=True)],
        unplaced,
    )
