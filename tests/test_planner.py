"""The planner on the example province: which outbox rows it writes, and that it is idempotent."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.services.registry.importer import ImportKind, import_file
from bot.texts.i18n import Translator
from bot.texts.notices import render_notice
from jobs.planner import PlanPolicy, plan
from storage.schema import notification, queue_slot
from storage.store import Store
from tests.conftest import NOW
from tests.support.helpers import write_csv
from tests.support.scenes import link_everyone

WIB = ZoneInfo("Asia/Jakarta")
POLICY = PlanPolicy(WIB)


def wib(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=WIB).astimezone(UTC)


async def outbox(store: Store) -> dict[str, dict[str, object]]:
    async with store.read() as repo:
        return {r.dedup_key: dict(r._mapping)
                for r in await repo.connection.execute(select(notification))}  # fmt: skip


async def test_first_run_plans_reminders_missed_questions_and_nothing_else(
    store: Store, t_id: Translator
) -> None:
    people = await link_everyone(store, t_id)
    report = await plan(store, NOW, POLICY)  # Tuesday 1 December 2026, 10:00 WIB
    rows = await outbox(store)
    assert report.queued == len(rows)
    by_template: dict[str, list[dict[str, object]]] = {}
    for row in rows.values():
        by_template.setdefault(str(row["template_key"]), []).append(row)

    # Posyandu Anggrek (last Monday) met yesterday, 30 November: RTS-2026-0001 reported nothing.
    [missed] = by_template["posyandu.missed"]
    assert missed["person_id"] == people["RTS-2026-0001"]
    assert missed["params"]["date"] == "2026-11-30"  # type: ignore[index]
    assert missed["due_at"] == wib(date(2026, 12, 1), time(10, 0))

    # Posyandu Dahlia and Melati (both 2nd Tuesday) meet on 8 December: Bunga (born 2023) of
    # RTS-2026-0002 and Rizky (born 2022) of RTS-2026-0005; each household gets two reminders.
    reminders = by_template["posyandu.eve"] + by_template["posyandu.day"]
    planned = sorted(
        (r["person_id"], r["template_key"], r["due_at"], tuple(r["params"]["members"]))  # type: ignore[index]
        for r in reminders
    )
    eve, morning = wib(date(2026, 12, 7), time(16, 0)), wib(date(2026, 12, 8), time(6, 30))
    bunga, rizky = people["RTS-2026-0002"], people["RTS-2026-0005"]
    assert planned == sorted([
        (bunga, "posyandu.eve", eve, ("Bunga Setiawan",)),
        (bunga, "posyandu.day", morning, ("Bunga Setiawan",)),
        (rizky, "posyandu.eve", eve, ("Rizky Hermawan",)),
        (rizky, "posyandu.day", morning, ("Rizky Hermawan",)),
    ])  # fmt: skip
    # Posyandu Flamboyan (day 15), Mawar (day 10) and Kenanga are beyond the 8-day horizon.
    assert set(by_template) == {"posyandu.missed", "posyandu.eve", "posyandu.day"}
    # Both name the member, the posyandu and the date, and say what to bring.
    texts = {
        str(r["template_key"]): render_notice(str(r["template_key"]), r["params"], t_id).text  # type: ignore[arg-type]
        for r in reminders if r["person_id"] == bunga
    }  # fmt: skip
    assert texts == {
        "posyandu.eve": "Pengingat: besok, Selasa, 8 Desember 2026, jadwal Posyandu Dahlia "
        "untuk Bunga Setiawan. Jangan lupa bawa buku KIA / kartu KMS.",
        "posyandu.day": "Hari ini, Selasa, 8 Desember 2026, jadwal Posyandu Dahlia untuk Bunga "
        "Setiawan. Jangan lupa bawa buku KIA / kartu KMS.",
    }


async def test_planning_ten_times_leaves_the_same_outbox(store: Store, t_id: Translator) -> None:
    await link_everyone(store, t_id)
    moments = [NOW + timedelta(minutes=5 * n) for n in range(10)]
    for moment in moments:
        await plan(store, moment, POLICY)
    once = await outbox(store)
    for moment in moments:
        await plan(store, moment, POLICY)
    assert await outbox(store) == once


async def test_a_report_means_no_missed_question_and_cancels_a_queued_one(
    store: Store, t_id: Translator
) -> None:
    people = await link_everyone(store, t_id)
    await plan(store, NOW, POLICY)
    [missed_key] = [k for k in await outbox(store) if k.startswith("missed:")]

    from bot.services.attendance import AttendanceDraft, report_attendance

    async with store.read() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        person = await repo.people.by_telegram_id(60_000)
        assert household is not None and person is not None
        [neneng, _aditya] = await repo.households.members(household.id)
    draft = AttendanceDraft(neneng.id, date(2026, 11, 30), household.posyandu_id)
    await report_attendance(store, person, household, draft, now=NOW, today=date(2026, 12, 1))
    assert (await outbox(store))[missed_key]["status"] == "cancelled"
    assert person.id == people["RTS-2026-0001"]


async def test_payout_slots_stay_within_capacity_and_a_short_window_is_reported(
    store: Store, t_id: Translator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    people = await link_everyone(store, t_id)
    operators = write_csv(
        tmp_path,
        "people.csv",
        """
        code;name;role;kecamatan;posyandu
        OP-MKJ;Rina Operator;operator;Mekarjaya;
        OP-PDG;Yayan Operator;operator;Pandeglang;
    """,
    )
    await import_file(store, ImportKind.PEOPLE, operators, t_id, now=NOW, progress=False)
    # Mekarjaya's round: 16 December, 08.00-13.00 (10 slots of 30 minutes). Three households.
    h3 = wib(date(2026, 12, 13), time(10, 0))
    report = await plan(store, h3, PlanPolicy(WIB, slot_minutes=150, slot_capacity=1))
    rows = await outbox(store)
    # Mekarjaya's window holds two slots of 150 minutes, Pandeglang's (08.00-14.00) three.
    assert [count for _slot, count in await _slot_counts(store)] == [1, 1, 1, 1, 1]  # never more
    assert report.households_without_slot == 1  # the third Mekarjaya household
    warnings = [r for r in rows.values() if r["template_key"] == "payout.slots_short"]
    async with store.read() as repo:
        told = {await repo.staff.get_by_code(code) for code in ("KO-MKJ", "OP-MKJ")}
    # Mekarjaya's coordinator and operator, not Pandeglang's operator (its round fits).
    assert {w["staff_id"] for w in warnings} == {s.id for s in told if s is not None}
    assert len(warnings) == 2
    assert all(w["params"]["unplaced"] == 1 for w in warnings)  # type: ignore[index]
    [logged] = [r.getMessage() for r in caplog.records if "payout_slots_short" in r.getMessage()]
    assert (
        "round=2026-T4" in logged
        and "unplaced=1" in logged
        and logged.endswith("capacity=2 unplaced=1")
    )
    reminders = [r for r in rows.values()
                 if str(r["template_key"]).startswith(("payout.reminder", "payout.tomorrow"))]  # fmt: skip
    assert {r["person_id"] for r in reminders} == set(people.values())
    # Mekarjaya (16 December): H-3 today and H-1. Pandeglang (15 December): its H-3 was
    # yesterday and is not sent late; H-1 only.
    assert len(reminders) == 3 * 2 + 3 * 1
    templates = Counter(str(r["template_key"]) for r in reminders)
    assert templates["payout.reminder.no_slot"] + templates["payout.tomorrow.no_slot"] == 2
    slot_texts = {r["params"]["start"] for r in reminders  # type: ignore[index]
                  if r["template_key"] in ("payout.reminder", "payout.tomorrow")}  # fmt: skip
    assert slot_texts == {"08.00", "10.30", "13.00"}

    # Re-planning keeps every household's slot.
    before = await _slots(store)
    await plan(store, h3 + timedelta(hours=30), PlanPolicy(WIB, slot_minutes=150, slot_capacity=1))
    assert await _slots(store) == before


async def _slots(store: Store) -> list[tuple[int, int]]:
    async with store.read() as repo:
        query = select(queue_slot.c.household_id, queue_slot.c.slot_index)
        return sorted((h, s) for h, s in await repo.connection.execute(query))


@pytest.mark.parametrize("enough", [True])
async def test_slots_balance_a_full_kecamatan(store: Store, t_id: Translator, enough: bool) -> None:
    await link_everyone(store, t_id)
    await plan(store, wib(date(2026, 12, 13), time(10, 0)), PlanPolicy(WIB, 30, 100))
    counts = [c for _s, c in await _slot_counts(store)]
    assert max(counts) - min(counts) <= 1 and max(counts) <= 100


async def _slot_counts(store: Store) -> list[tuple[tuple[int, int], int]]:
    """Households per (round, slot)."""
    async with store.read() as repo:
        query = select(queue_slot.c.round_id, queue_slot.c.slot_index, func.count()).group_by(
            queue_slot.c.round_id, queue_slot.c.slot_index
        )
        return sorted(((r, s), c) for r, s, c in await repo.connection.execute(query))
