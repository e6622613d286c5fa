"""Retention: chat-derived data older than SAPA_RETENTION_MONTHS is erased by a daily job that
is idempotent, audited with counts only, and scheduled in a running bot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.follow_ups import FollowUpOutcome
from bot.domain.models import ComplaintCategory, ComplaintStatus, EscalationLevel, Role
from bot.runtime.app import Services, build_application
from bot.settings import SettingsError, load_settings
from bot.texts.i18n import Translations, Translator
from jobs.retention import erase_expired, months_before
from storage.schema import (
    attendance_report,
    audit_log,
    complaint,
    complaint_event,
    follow_up,
    link_attempt,
    notification,
)
from storage.store import Store
from tests.conftest import NOW, TOKEN
from tests.support.fake_bot_api import FakeBotApi
from tests.support.helpers import import_valid_files

OLD = NOW - timedelta(days=2 * 365 + 40)  # before the 24-month cutoff (2024-12-01)
RECENT = NOW - timedelta(days=45)


async def rows(store: Store, table: Any) -> list[dict[str, Any]]:
    async with store.read() as repo:
        result = await repo.connection.execute(select(table).order_by(table.c.id))
        return [dict(row._mapping) for row in result]


async def add_complaint(
    store: Store, household_id: int, person_id: int, code: str, at: datetime, *, closed: bool
) -> int:
    async with store.write() as repo:
        made = await repo.complaints.add(
            ticket_code=code, household_id=household_id, filed_by=person_id,
            category=ComplaintCategory.PAYOUT, text=f"teks keluhan {code}",
            photo_file_id=f"photo-{code}", level=EscalationLevel.COMPANION,
            deadline_at=at + timedelta(days=3), now=at,
        )  # fmt: skip
        await repo.complaints.add_event(made.id, "reply", at, note=f"balasan untuk {code}")
        if closed:
            await repo.complaints.set_status(made.id, ComplaintStatus.CLOSED, at)
        return made.id


async def scene(store: Store, t_id: Translator) -> None:
    """Old and recent data of household RTS-2026-0001 and its linked account."""
    await import_valid_files(store, t_id)
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        person = await repo.people.add(81001, Role.HOUSEHOLD, OLD, household_id=household.id)
        neneng, aditya = await repo.households.members(household.id)
        for member_id, when, proof in (
            (neneng.id, OLD, "proof-old"),
            (aditya.id, OLD, None),
            (aditya.id, RECENT, "proof-recent"),
        ):
            await repo.attendance.add_reported(
                member_id, household.posyandu_id, when.date(), proof, person.id, when
            )
        await repo.links.record_failure(81009, OLD, household.id)
        await repo.links.record_failure(81009, RECENT, household.id)
        for when in (OLD, RECENT):  # a companion's note on a follow-up she closed
            await repo.follow_ups.open_absence(
                household.id, household.companion_id, when.date(), None, when, when.date()
            )
            opened = select(follow_up.c.id).where(follow_up.c.about_date == when.date())
            await repo.follow_ups.close(
                (await repo.connection.execute(opened)).scalar_one(),
                FollowUpOutcome.OTHER,
                f"catatan {when:%Y}",
                person.id,
                when,
            )
        for key, status, at in (
            ("old-sent", "sent", OLD),
            ("old-pending", "pending", OLD),
            ("recent-sent", "sent", RECENT),
        ):
            await repo.connection.execute(
                notification.insert().values(
                    person_id=person.id, template_key="complaint.reply",
                    params={"ticket": "KLH-2411-0001", "text": "balasan"}, due_at=at,
                    status=status, attempts=0, dedup_key=key, created_at=at,
                )
            )  # fmt: skip
    await add_complaint(store, household.id, person.id, "KLH-2411-0001", OLD, closed=True)
    await add_complaint(store, household.id, person.id, "KLH-2411-0002", OLD, closed=False)
    await add_complaint(store, household.id, person.id, "KLH-2611-0001", RECENT, closed=True)


async def test_retention_erases_only_what_is_past_the_cutoff(
    store: Store, t_id: Translator
) -> None:
    await scene(store, t_id)

    report = await erase_expired(store, NOW, 24)

    assert report.cutoff == datetime(2024, 12, 1, 3, 0, tzinfo=UTC)
    assert report.erased.as_detail() == {
        "proof_photos": 1, "complaints": 1, "complaint_notes": 1, "outbox_rows": 1,
        "accounts": 0, "link_attempts": 1, "follow_up_notes": 1,
    }  # fmt: skip
    follow_ups = await rows(store, follow_up)
    assert [(f["outcome"], f["note"]) for f in follow_ups] == [
        ("other", None),
        ("other", "catatan 2026"),
    ]
    reports = await rows(store, attendance_report)
    assert [r["proof_file_id"] for r in reports] == [None, None, "proof-recent"]
    assert [r["status"] for r in reports] == ["reported"] * 3  # the reports themselves stay
    complaints = await rows(store, complaint)
    assert [(c["ticket_code"], c["status"], c["text"], c["photo_file_id"]) for c in complaints] == [
        ("KLH-2411-0001", "closed", "[dihapus: masa simpan habis]", None),
        # Still open: it is being handled, whatever its age.
        ("KLH-2411-0002", "open", "teks keluhan KLH-2411-0002", "photo-KLH-2411-0002"),
        ("KLH-2611-0001", "closed", "teks keluhan KLH-2611-0001", "photo-KLH-2611-0001"),
    ]  # fmt: skip
    notes = [e["note"] for e in await rows(store, complaint_event) if e["kind"] == "reply"]
    assert notes == [None, "balasan untuk KLH-2411-0002", "balasan untuk KLH-2611-0001"]
    assert [a["at"] for a in await rows(store, link_attempt)] == [RECENT]
    outbox = {n["dedup_key"]: n["params"] for n in await rows(store, notification)}
    assert outbox["old-sent"] == {}
    assert outbox["old-pending"]["text"] == "balasan"  # still to be sent: left alone
    assert outbox["recent-sent"]["text"] == "balasan"

    # A second run (another process, or the next day) finds nothing more to erase.
    again = await erase_expired(store, NOW, 24)
    assert set(again.erased.as_detail().values()) == {0}
    audits = [a for a in await rows(store, audit_log) if a["action"] == "erase_expired"]
    assert [(a["actor"], a["entity"]) for a in audits] == [("retention", "retention")] * 2
    assert audits[0]["detail"] == {
        "months": 24,
        "cutoff": "2024-12-01T03:00:00+00:00",
        **report.erased.as_detail(),
    }
    assert "teks keluhan" not in str(audits) and "proof-old" not in str(audits)


async def test_a_shorter_retention_reaches_further(store: Store, t_id: Translator) -> None:
    await scene(store, t_id)
    report = await erase_expired(store, NOW, 1)
    assert report.cutoff == datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    assert report.erased.proof_photos == 2
    assert report.erased.complaints == 2
    assert report.erased.link_attempts == 2


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (date(2026, 12, 1), 24, date(2024, 12, 1)),
        (date(2027, 3, 31), 1, date(2027, 2, 28)),
        (date(2028, 3, 31), 1, date(2028, 2, 29)),
        (date(2027, 1, 15), 13, date(2025, 12, 15)),
    ],
)
def test_months_before(moment: date, months: int, expected: date) -> None:
    start = datetime.combine(moment, datetime.min.time(), tzinfo=UTC)
    assert months_before(start, months).date() == expected


def test_retention_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("SAPA_RETENTION_MONTHS", raising=False)
    assert load_settings().retention_months == 24
    monkeypatch.setenv("SAPA_RETENTION_MONTHS", "36")
    assert load_settings().retention_months == 36
    monkeypatch.setenv("SAPA_RETENTION_MONTHS", "1")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert "SAPA_RETENTION_MONTHS is invalid" in str(error.value)


async def test_a_running_bot_schedules_the_retention_job_daily(
    store: Store, translations: Translations
) -> None:
    services = Services(
        settings=load_settings(database_url="sqlite+aiosqlite:///unused.db"),
        store=store,
        translations=translations,
        clock=lambda: NOW,
    )
    application = build_application(services, request=FakeBotApi(), token=TOKEN, jobs=True)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("retention")
    trigger = str(job.job.trigger)
    assert "hour='2'" in trigger and "minute='30'" in trigger
