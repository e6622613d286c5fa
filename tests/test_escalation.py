"""Escalation on working days, across Independence Day and Idul Fitri 2026, with a controllable
clock; idempotent and complete (history, alert with buttons, one sentence to the household)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.complaints import ComplaintPolicy, file_complaint
from bot.escalation import sweep
from bot.i18n import Translations, Translator
from bot.models import ComplaintCategory, EscalationLevel, Role
from bot.notices import render_notice
from storage.database import create_engine
from storage.schema import complaint, complaint_event, notification
from storage.store import Store
from tests.conftest import NOW
from tests.helpers import import_valid_files

WIB = ZoneInfo("Asia/Jakarta")
POLICY = ComplaintPolicy(WIB, companion_days=3, coordinator_days=5)


def wib(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime.combine(datetime(year, month, day).date(), time(hour), tzinfo=WIB).astimezone(
        UTC
    )


async def file_one(store: Store, t: Translator, filed_at: datetime) -> int:
    await import_valid_files(store, t)
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        mother = await repo.people.add(51_001, Role.HOUSEHOLD, NOW, household_id=household.id)
    filed = await file_complaint(store, mother, household, ComplaintCategory.PAYOUT,
                                 "Uang belum diterima.", None, now=filed_at, policy=POLICY)  # fmt: skip
    return filed.id


async def state(store: Store, complaint_id: int) -> tuple[str, datetime]:
    async with store.read() as repo:
        row = (await repo.connection.execute(
            select(complaint.c.level, complaint.c.deadline_at).where(complaint.c.id == complaint_id)
        )).one()  # fmt: skip
    return row.level, row.deadline_at


async def test_across_independence_day(store: Store, t_id: Translator) -> None:
    # Filed Friday 14 August 2026, 10:00 WIB. Monday 17 August is a holiday.
    complaint_id = await file_one(store, t_id, wib(2026, 8, 14))
    assert await state(store, complaint_id) == ("companion", wib(2026, 8, 20))
    assert await sweep(store, wib(2026, 8, 20, 9), POLICY) == 0  # an hour early
    assert await sweep(store, wib(2026, 8, 20), POLICY) == 1
    assert await sweep(store, wib(2026, 8, 20), POLICY) == 0  # a second run changes nothing
    # The coordinator has 5 working days from Thursday 20 August; Tuesday 25 August (Maulid Nabi)
    # is a holiday too: until Friday 28 August.
    assert await state(store, complaint_id) == ("coordinator", wib(2026, 8, 28))
    assert await sweep(store, wib(2026, 8, 28), POLICY) == 1
    level, _deadline = await state(store, complaint_id)
    assert level == "district"
    assert await sweep(store, wib(2026, 12, 31), POLICY) == 0  # the last level stays

    async with store.read() as repo:
        events = [(e.kind, e.level) for e in (await repo.connection.execute(
            select(complaint_event).order_by(complaint_event.c.id))).all()]  # fmt: skip
        alerts = {
            r.dedup_key: r for r in (await repo.connection.execute(select(notification))).all()
        }
        coordinator = await repo.staff.get_by_code("KO-MKJ")
        admin = await repo.staff.get_by_code("TPJK-1")
    assert events == [
        ("filed", "companion"),
        ("escalated", "coordinator"),
        ("escalated", "district"),
    ]
    alert = alerts[f"complaint:escalated:{complaint_id}:coordinator"]
    assert coordinator is not None and alert.staff_id == coordinator.id
    assert (
        admin is not None
        and alerts[f"complaint:escalated:{complaint_id}:district"].staff_id == admin.id
    )
    told = [k for k in alerts if k.startswith(f"complaint:level-up:{complaint_id}:")]
    assert len(told) == 2  # one sentence per level to the one linked person

    t = Translations("id").for_language("id")
    notice = render_notice(alert.template_key, alert.params, t)
    assert notice.text.startswith("Keluhan KLH-2608-0001 dari rumah tangga RTS-2026-0001")
    assert [label for row in notice.buttons for label, _ in row] == [
        "Ambil alih", "Balas ke rumah tangga", "Tandai selesai",
    ]  # fmt: skip
    level_up = alerts[f"complaint:level-up:{complaint_id}:coordinator:1"]
    assert render_notice(level_up.template_key, level_up.params, t).text == (
        "Keluhan Anda KLH-2608-0001 sudah diteruskan ke koordinator kecamatan, supaya lebih "
        "cepat ditanggapi."
    )


async def test_across_idul_fitri(store: Store, t_id: Translator) -> None:
    # Filed Wednesday 18 March 2026. Nyepi (19 March) and Idul Fitri (21-22 March) are skipped.
    complaint_id = await file_one(store, t_id, wib(2026, 3, 18))
    assert await state(store, complaint_id) == ("companion", wib(2026, 3, 24))
    assert await sweep(store, wib(2026, 3, 23, 23), POLICY) == 0


async def test_resolved_complaints_are_not_escalated(store: Store, t_id: Translator) -> None:
    from bot.complaints import change_status
    from bot.models import ComplaintStatus

    complaint_id = await file_one(store, t_id, wib(2026, 8, 14))
    await change_status(store, complaint_id, ComplaintStatus.RESOLVED, actor_person_id=None,
                        now=wib(2026, 8, 18))  # fmt: skip
    assert await sweep(store, wib(2026, 9, 30), POLICY) == 0
    assert (await state(store, complaint_id))[0] == EscalationLevel.COMPANION.value


async def test_two_processes_sweeping_at_once_escalate_once(
    store: Store, t_id: Translator, database_url: tuple[str, dict[str, object]]
) -> None:
    """Two bot processes (two engines, two connection pools) run the sweep at the same moment:
    the job lock (PostgreSQL) or the single writer (SQLite) lets one do the work."""
    complaint_id = await file_one(store, t_id, wib(2026, 8, 14))
    url, options = database_url
    other = Store(create_engine(url, **options))  # type: ignore[arg-type]
    try:
        moved = await asyncio.gather(
            sweep(store, wib(2026, 8, 20), POLICY), sweep(other, wib(2026, 8, 20), POLICY)
        )
    finally:
        await other.close()
    assert sorted(moved) == [0, 1]
    async with store.read() as repo:
        kinds = (await repo.connection.execute(
            select(complaint_event.c.kind).where(complaint_event.c.complaint_id == complaint_id)
        )).scalars().all()  # fmt: skip
        alerts = (await repo.connection.execute(
            select(notification.c.dedup_key).where(notification.c.dedup_key.like("complaint:escalated:%"))
        )).scalars().all()  # fmt: skip
    assert sorted(kinds) == ["escalated", "filed"]
    assert alerts == [f"complaint:escalated:{complaint_id}:coordinator"]
