"""An outbox that stays small: queueing counts the rows it adds without counting the outbox, a
prefix cancel reads only the keys it names, and sent rows past SAPA_OUTBOX_RETENTION_DAYS leave
the outbox for its archive (with what the recap counts kept)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update

from bot.domain.models import Recipient, Role
from bot.services.attendance import AttendanceDraft, ReportOutcome, report_attendance
from bot.texts.i18n import Translator
from jobs.planner import PlanPolicy, plan
from jobs.retention import archive_outbox
from storage.database import create_engine
from storage.migrate import upgrade
from storage.notifications import QueuedMessage
from storage.schema import audit_log, notification, notification_archive
from storage.store import Store
from tests.conftest import NOW
from tests.support.scenes import link_everyone

WIB = ZoneInfo("Asia/Jakarta")


def message(person_id: int, key: str, ticket: str = "KLH-2612-0001") -> QueuedMessage:
    params = {"ticket": ticket, "status": "in_progress"}
    return QueuedMessage(Recipient(person_id=person_id), "complaint.status", params, NOW, key)


async def outbox(store: Store) -> list[dict[str, Any]]:
    async with store.read() as repo:
        result = await repo.connection.execute(select(notification).order_by(notification.c.id))
        return [dict(row._mapping) for row in result]


async def add_person(store: Store, telegram_user_id: int = 555) -> int:
    async with store.write() as repo:
        return (await repo.people.add(telegram_user_id, Role.ADMIN, NOW)).id


async def test_queue_many_counts_the_new_rows(store: Store) -> None:
    person = await add_person(store)
    async with store.write() as repo:
        assert await repo.notifications.queue_many([message(person, "a")], NOW) == 1
        assert await repo.notifications.queue_many([], NOW) == 0
        # One already there ("a"), one twice in the batch ("b": the first is kept), one new.
        batch = [
            message(person, "a", "KLH-X"),
            message(person, "b", "KLH-B1"),
            message(person, "b", "KLH-B2"),
            message(person, "c"),
        ]
        assert await repo.notifications.queue_many(batch, NOW) == 2
        assert await repo.notifications.queue_many(batch, NOW) == 0
        one = message(person, "d")
        assert await repo.notifications.queue(
            one.recipient, one.template_key, one.params, due_at=NOW, dedup_key="d", now=NOW
        )
        assert not await repo.notifications.queue(
            one.recipient, one.template_key, one.params, due_at=NOW, dedup_key="d", now=NOW
        )
    rows = await outbox(store)
    assert [(r["dedup_key"], r["params"]["ticket"]) for r in rows] == [
        ("a", "KLH-2612-0001"),
        ("b", "KLH-B1"),
        ("c", "KLH-2612-0001"),
        ("d", "KLH-2612-0001"),
    ]


async def test_cancel_by_prefix_takes_exactly_the_keys_that_start_with_it(store: Store) -> None:
    person = await add_person(store)
    keys = [
        "missed:12:2026-11-30:1",
        "missed:12:2026-11-30:2",
        "missed:12:2026-11-30",  # the prefix without its colon: not of it
        "missed:12:2026-11-300:1",
        "missed:123:2026-11-30:1",
        "missed:12:2026-11-3",
        "missed:12:2026-11-30;1",  # the character after ':'
        "missed%12:2026-11-30:1",  # LIKE's wildcards are not wildcards here
    ]
    async with store.write() as repo:
        await repo.notifications.queue_many([message(person, key) for key in keys], NOW)
        await repo.notifications.mark_sent((await outbox_ids(repo))["missed:12:2026-11-30:2"], NOW)
        cancelled = await repo.notifications.cancel_pending(dedup_prefix="missed:12:2026-11-30:")
        assert cancelled == 1  # the sent one stays sent
        assert await repo.notifications.cancel_pending(dedup_prefix="missed_12") == 0
    status = {r["dedup_key"]: r["status"] for r in await outbox(store)}
    assert status == {
        **{key: "pending" for key in keys},
        "missed:12:2026-11-30:1": "cancelled",
        "missed:12:2026-11-30:2": "sent",
    }


async def outbox_ids(repo: Any) -> dict[str, int]:
    result = await repo.connection.execute(select(notification.c.dedup_key, notification.c.id))
    return {key: id_ for key, id_ in result}


async def archive(store: Store) -> list[dict[str, Any]]:
    async with store.read() as repo:
        query = select(notification_archive).order_by(notification_archive.c.id)
        return [dict(row._mapping) for row in await repo.connection.execute(query)]


OLD = NOW - timedelta(days=100)  # past the 90 days
RECENT = NOW - timedelta(days=10)


async def old_and_recent_rows(store: Store, t: Translator) -> tuple[int, dict[str, int]]:
    """Outbox rows of every kind, old and recent, for households of two kecamatan and a
    companion; the kecamatan of RTS-2026-0001 and the row ids by dedup key."""
    people = await link_everyone(store, t)
    async with store.write() as repo:
        home = await repo.households.get_by_program_number("RTS-2026-0001")
        away = [
            h
            for number in people
            if (h := await repo.households.get_by_program_number(number)) is not None
            and home is not None
            and h.kecamatan_id != home.kecamatan_id
        ]
        assert home is not None and home.companion_id is not None and away
        person, stranger = people["RTS-2026-0001"], people[away[0].program_number]
        rows = [
            ("old-sent", person, None, "sent", None, OLD),
            ("old-expired", person, None, "cancelled", "expired: TimedOut", OLD),
            ("old-out-of-service", person, None, "cancelled", "recipient out of service", OLD),
            ("old-failed", person, None, "failed", "NetworkError: reset", OLD),
            ("old-pending", person, None, "pending", None, OLD),
            ("old-sending", person, None, "sending", None, OLD),
            ("recent-sent", person, None, "sent", None, RECENT),
            ("recent-expired", person, None, "cancelled", "expired: TimedOut", RECENT),
            ("companion-expired", None, home.companion_id, "cancelled", "expired: BadRequest", OLD),
            ("elsewhere-expired", stranger, None, "cancelled", "expired: TimedOut", OLD),
        ]
        for key, person_id, staff_id, status, error, due in rows:
            await repo.connection.execute(
                notification.insert().values(
                    person_id=person_id, staff_id=staff_id, template_key="complaint.status",
                    params={"ticket": "KLH-2608-0001", "status": "closed"}, due_at=due,
                    status=status, attempts=3 if error else 1, last_error=error, dedup_key=key,
                    created_at=due, sent_at=due if status == "sent" else None,
                )
            )  # fmt: skip
        return home.kecamatan_id, await outbox_ids(repo)


async def undelivered_counts(store: Store, kecamatan_id: int) -> list[int]:
    """The recap's figure for the month of OLD and for the month of RECENT, for the kecamatan
    and the whole district."""
    counts = []
    async with store.read() as repo:
        for due in (OLD, RECENT):
            start, end = due - timedelta(days=15), due + timedelta(days=15)
            for scope in (kecamatan_id, None):
                counts.append(await repo.recap.undelivered_messages(scope, start, end))
    return counts


async def test_retention_moves_old_finished_rows_to_the_archive(
    store: Store, t_id: Translator
) -> None:
    kecamatan_id, ids = await old_and_recent_rows(store, t_id)
    recap_before = await undelivered_counts(store, kecamatan_id)
    # Old month: failed + expired (the household's, its companion's) here, + elsewhere overall.
    assert recap_before == [3, 4, 1, 1]
    batches: list[int] = []

    report = await archive_outbox(store, NOW, 90, batch_size=2, on_batch=batches.append)

    assert report.cutoff == NOW - timedelta(days=90)
    assert report.archived == 5 and batches == [2, 2, 1]  # a transaction per batch
    moved = ["old-sent", "old-expired", "old-out-of-service", "companion-expired",
             "elsewhere-expired"]  # fmt: skip
    assert sorted(r["dedup_key"] for r in await outbox(store)) == sorted(set(ids) - set(moved))
    archived = await archive(store)
    assert sorted(r["dedup_key"] for r in archived) == sorted(moved)
    for row in archived:  # the same row, its parameters (names, texts) left behind
        assert row["id"] == ids[row["dedup_key"]]
        assert row["due_at"] == OLD and row["archived_at"] == NOW
        assert "params" not in row
    errors = {r["dedup_key"]: (r["status"], r["last_error"], r["attempts"]) for r in archived}
    assert errors["old-sent"] == ("sent", None, 1)
    assert errors["old-expired"] == ("cancelled", "expired: TimedOut", 3)
    assert await undelivered_counts(store, kecamatan_id) == recap_before

    # Idempotent: the next night (or a second process) finds nothing more to move.
    again = await archive_outbox(store, NOW, 90, batch_size=2)
    assert again.archived == 0
    assert len(await archive(store)) == 5
    async with store.read() as repo:
        query = select(audit_log).where(audit_log.c.action == "archive_outbox")
        audits = [dict(row._mapping) for row in await repo.connection.execute(query)]
    assert [a["detail"]["archived"] for a in audits] == [5, 0]
    assert "KLH-2608-0001" not in str(audits)


async def test_an_archived_message_is_not_planned_again(store: Store, t_id: Translator) -> None:
    await link_everyone(store, t_id)
    policy = PlanPolicy(WIB)
    assert (await plan(store, NOW, policy)).queued > 0
    async with store.write() as repo:  # everything planned was sent
        await repo.connection.execute(update(notification).values(status="sent", sent_at=NOW))
    later = NOW + timedelta(days=40)  # every planned row is 30 days old (the shortest setting)
    assert (await archive_outbox(store, later, 30)).archived == len(await archive(store)) > 0
    archived = {r["dedup_key"] for r in await archive(store)}

    for day in range(3):  # the planner's next runs plan only what lies ahead
        await plan(store, later + timedelta(days=day), policy)
    assert not archived & {r["dedup_key"] for r in await outbox(store)}


async def test_a_save_and_the_dispatcher_never_scan_the_outbox(
    tmp_path: Path, t_id: Translator
) -> None:
    """Every statement over the outbox that a /hadir save or a dispatcher run makes reads a
    range of an index (SQLite's plans: SQLite has no statistics, so its choices are fixed);
    the save's cancel of the "did you go?" questions reads its keys' range, not every pending
    row. What the outbox holds does not matter: the plans are the same with a million rows."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'plans.db'}")
    await upgrade(engine)
    store = Store(engine)
    try:
        people = await link_everyone(store, t_id)
        async with store.read() as repo:
            household = await repo.households.get_by_program_number("RTS-2026-0001")
            assert household is not None
            [person] = await repo.people.linked_to_household(household.id)
            member = (await repo.households.members(household.id))[0]
        statements: list[tuple[str, Any]] = []

        def capture(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "notification" in statement and not statement.startswith("EXPLAIN"):
                statements.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        yesterday = (NOW.astimezone(WIB) - timedelta(days=1)).date()
        draft = AttendanceDraft(member.id, yesterday, household.posyandu_id)
        result = await report_attendance(
            store, person, household, draft, now=NOW, today=yesterday + timedelta(days=1)
        )
        assert result.outcome is ReportOutcome.SAVED
        async with store.write() as repo:
            await repo.notifications.claim_due(NOW, 50, NOW - timedelta(minutes=5))
            await repo.notifications.backlog(NOW)
            await repo.notifications.cancel_pending(person_id=people["RTS-2026-0002"])
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
        assert len(statements) >= 5

        plans = []
        async with store.read() as repo:
            for statement, parameters in statements:
                result = await repo.connection.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {statement}", parameters
                )
                plans.append((statement, [row[-1] for row in result]))
        for statement, plan_lines in plans:
            assert not any(line.startswith("SCAN notification") for line in plan_lines), (
                statement,
                plan_lines,
            )
        [cancel] = [p for s, p in plans if s.startswith("UPDATE") and "dedup_key >=" in s]
        assert any("(dedup_key>? AND dedup_key<?)" in line for line in cancel), cancel
    finally:
        await store.close()
