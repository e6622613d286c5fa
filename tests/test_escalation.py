"""Escalation on working days, across Independence Day and Lebaran 2026 (Nyepi, Idul Fitri and the
cuti bersama around them), with a controllable clock; idempotent and complete (history, alert with
buttons, one sentence to the household)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain.models import ComplaintCategory, EscalationLevel, Role
from bot.domain.workdays import add_working_days, is_working_day, working_deadline
from bot.runtime.app import SapaContext
from bot.services.complaints import ComplaintPolicy, file_complaint
from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render_notice
from jobs.escalation import sweep
from jobs.schedule import run_escalation
from storage.database import create_engine
from storage.schema import complaint, complaint_event, notification
from storage.store import Store
from tests.conftest import NOW, running_bot
from tests.support.helpers import import_valid_files
from tests.support.outbox import ManualClock, make_dispatcher

WIB = ZoneInfo("Asia/Jakarta")
POLICY = ComplaintPolicy(WIB, companion_days=3, coordinator_days=5)
MOTHER_USER = 51_001  # Telegram ids
COORDINATOR_USER = 61_001


def wib(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime.combine(datetime(year, month, day).date(), time(hour), tzinfo=WIB).astimezone(
        UTC
    )


async def file_one(
    store: Store, t: Translator, filed_at: datetime, policy: ComplaintPolicy = POLICY
) -> int:
    await import_valid_files(store, t)
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        mother = await repo.people.add(MOTHER_USER, Role.HOUSEHOLD, NOW, household_id=household.id)
    filed = await file_complaint(store, mother, household, ComplaintCategory.PAYOUT,
                                 "Uang belum diterima.", None, now=filed_at, policy=policy)  # fmt: skip
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
        "Keluhan Ibu/Bapak KLH-2608-0001 sudah diteruskan ke koordinator kecamatan, supaya lebih "
        "cepat ditanggapi."
    )


# Lebaran 2026 in the `holidays` package: public holidays (Nyepi, and Idul Fitri on a weekend)
# and the cuti bersama of the SKB 3 Menteri, when government offices are closed.
DAYS_OFF_AROUND_LEBARAN_2026 = {
    date(2026, 3, 18): "cuti bersama (Nyepi)",
    date(2026, 3, 19): "Nyepi",
    date(2026, 3, 20): "cuti bersama (Idul Fitri)",
    date(2026, 3, 21): "Idul Fitri, a Saturday",
    date(2026, 3, 22): "second day of Idul Fitri, a Sunday",
    date(2026, 3, 23): "cuti bersama (Idul Fitri)",
    date(2026, 3, 24): "cuti bersama (Idul Fitri)",
    date(2026, 3, 28): "weekend",
    date(2026, 3, 29): "weekend",
}
CUTI_BERSAMA = [day for day, why in DAYS_OFF_AROUND_LEBARAN_2026.items() if "cuti" in why]


def test_deadline_across_lebaran_2026_skips_holidays_and_cuti_bersama() -> None:
    filed = date(2026, 3, 17)  # a Tuesday
    fortnight = [filed + timedelta(days=n) for n in range(1, 14)]
    assert {day: is_working_day(day) for day in fortnight} == {
        day: day not in DAYS_OFF_AROUND_LEBARAN_2026 for day in fortnight
    }
    # The companion's three working days are Wednesday 25, Thursday 26 and Friday 27 March.
    assert add_working_days(filed, 3) == date(2026, 3, 27)
    assert working_deadline(wib(2026, 3, 17), 3, WIB) == wib(2026, 3, 27)
    # With SAPA_SLA_SKIP_CUTI_BERSAMA=false only Nyepi, Idul Fitri and the weekends are skipped:
    # Wednesday 18, Friday 20 and Monday 23 March count.
    assert [d for d in fortnight if not is_working_day(d, skip_cuti_bersama=False)] == [
        date(2026, 3, 19), date(2026, 3, 21), date(2026, 3, 22),
        date(2026, 3, 28), date(2026, 3, 29),
    ]  # fmt: skip
    assert all(is_working_day(day, skip_cuti_bersama=False) for day in CUTI_BERSAMA)
    assert add_working_days(filed, 3, skip_cuti_bersama=False) == date(2026, 3, 23)


async def test_across_idul_fitri(
    store: Store, translations: Translations, t_id: Translator
) -> None:
    """Filed Tuesday 17 March 2026 at 10:00 WIB, just before Lebaran. The escalation job runs every
    hour with our clock, and the outbox delivers; the complaint must stay with the companion
    through the seven days off (18-24 March) and the first two working days after them, and go
    to the coordinator on Friday 27 March at 10:00, the end of its third working day; then to
    the district on Monday 6 April (Good Friday, 3 April, is a holiday)."""
    async with running_bot(store, translations) as (application, api):
        complaint_id = await file_one(store, t_id, wib(2026, 3, 17))
        async with store.write() as repo:
            coordinator = await repo.staff.get_by_code("KO-MKJ")
            assert coordinator is not None
            await repo.people.add(COORDINATOR_USER, Role.COORDINATOR, NOW, staff_id=coordinator.id)
        assert await state(store, complaint_id) == ("companion", wib(2026, 3, 27))

        clock = ManualClock(now=wib(2026, 3, 17))
        application.bot_data["services"].clock = clock
        dispatcher = make_dispatcher(store, application.bot, translations, clock)
        arrived: dict[int, list[tuple[datetime, dict[str, Any]]]] = {}
        api.after_call = lambda call: arrived.setdefault(int(call.params["chat_id"]), []).append(
            (clock.now.replace(second=0, microsecond=0), call.params)  # the pacer's sleeps add ms
        )
        level_each_evening: dict[date, str] = {}
        moves: list[tuple[datetime, str]] = []
        level = "companion"
        moment = wib(2026, 3, 17, 11)
        while moment < wib(2026, 4, 8):
            clock.now = moment
            await run_escalation(SapaContext(application))
            await dispatcher.run_once()
            now_level, _deadline = await state(store, complaint_id)
            if now_level != level:
                moves.append((moment, now_level))
                level = now_level
            level_each_evening[moment.astimezone(WIB).date()] = level
            moment += timedelta(hours=1)

    assert moves == [(wib(2026, 3, 27), "coordinator"), (wib(2026, 4, 6), "district")]
    for day in (date(2026, 3, 17) + timedelta(days=n) for n in range(10)):  # 17 to 26 March
        assert level_each_evening[day] == "companion", day
    assert level_each_evening[date(2026, 3, 27)] == "coordinator"

    async with store.read() as repo:
        history = (await repo.connection.execute(
            select(complaint_event.c.kind, complaint_event.c.level, complaint_event.c.at)
            .where(complaint_event.c.complaint_id == complaint_id).order_by(complaint_event.c.id)
        )).all()  # fmt: skip
    assert [tuple(row) for row in history] == [
        ("filed", "companion", wib(2026, 3, 17)),
        ("escalated", "coordinator", wib(2026, 3, 27)),
        ("escalated", "district", wib(2026, 4, 6)),
    ]

    # The coordinator is alerted at once, with the buttons to act; the deadline is Monday 6 April.
    [(when, alert)] = arrived[COORDINATOR_USER]
    assert when == wib(2026, 3, 27)
    assert alert["text"].startswith("Keluhan KLH-2603-0001 dari rumah tangga RTS-2026-0001")
    assert t_id.long_date(date(2026, 4, 6)) in alert["text"]
    buttons = [key["text"] for row in alert["reply_markup"]["inline_keyboard"] for key in row]
    assert buttons == ["Ambil alih", "Balas ke rumah tangga", "Tandai selesai"]
    # The household hears one sentence per level, and nothing during the holidays.
    told = [(when, params["text"]) for when, params in arrived[MOTHER_USER]]
    assert told == [
        (wib(2026, 3, 27), "Keluhan Ibu/Bapak KLH-2603-0001 sudah diteruskan ke koordinator kecamatan, "
                           "supaya lebih cepat ditanggapi."),
        (wib(2026, 4, 6), "Keluhan Ibu/Bapak KLH-2603-0001 sudah diteruskan ke tim kabupaten (TPJK), "
                          "supaya lebih cepat ditanggapi."),
    ]  # fmt: skip


async def test_cuti_bersama_count_when_the_setting_is_off(
    store: Store, translations: Translations, t_id: Translator
) -> None:
    """SAPA_SLA_SKIP_CUTI_BERSAMA=false: the same complaint is due on Monday 23 March (a cuti
    bersama day), and the escalation job gives the coordinator until Monday 30 March."""
    async with running_bot(store, translations, sla_skip_cuti_bersama=False) as (application, _):
        services = application.bot_data["services"]
        policy = ComplaintPolicy.from_settings(services.settings)
        complaint_id = await file_one(store, t_id, wib(2026, 3, 17), policy)
        assert await state(store, complaint_id) == ("companion", wib(2026, 3, 23))
        services.clock = lambda: wib(2026, 3, 23)
        await run_escalation(SapaContext(application))
    assert await state(store, complaint_id) == ("coordinator", wib(2026, 3, 30))


async def test_resolved_complaints_are_not_escalated(store: Store, t_id: Translator) -> None:
    from bot.domain.models import ComplaintStatus
    from bot.services.complaints import change_status

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
