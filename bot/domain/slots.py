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
