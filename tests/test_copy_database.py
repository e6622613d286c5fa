"""`sapa copy-database`: a deployment moves from its SQLite file to PostgreSQL with every row,
times still UTC, and PostgreSQL's ids continuing after the copied ones."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.domain.models import ComplaintCategory, Recipient, Role
from bot.services.complaints import ComplaintPolicy, file_complaint
from bot.texts.i18n import Translator
from storage.copy import COPIED, TargetNotEmpty, copy_database
from storage.database import create_engine
from storage.migrate import upgrade
from storage.schema import complaint
from storage.store import Store
from tests.conftest import NOW
from tests.support.bot_process import postgres_database
from tests.support.helpers import import_valid_files

POLICY = ComplaintPolicy(ZoneInfo("Asia/Jakarta"), companion_days=3, coordinator_days=5)


async def fill(store: Store, t: Translator) -> None:
    """The example registry, a linked mother, her complaint (with its history) and a reminder."""
    await import_valid_files(store, t)
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        mother = await repo.people.add(51_001, Role.HOUSEHOLD, NOW, household_id=household.id)
        await repo.notifications.queue(
            Recipient(person_id=mother.id), "complaint.status",
            {"ticket": "KLH-1", "status": "closed"}, due_at=NOW, dedup_key="copy-1", now=NOW,
        )  # fmt: skip
    await file_complaint(store, mother, household, ComplaintCategory.PAYOUT,
                         "Uang belum diterima.", None, now=NOW, policy=POLICY)  # fmt: skip


async def counts(store: Store) -> dict[str, int]:
    async with store.read() as repo:
        return {
            table.name: int(
                (
                    await repo.connection.execute(select(func.count()).select_from(table))
                ).scalar_one()
            )
            for table in COPIED
        }


async def test_everything_moves_from_sqlite_to_postgresql(tmp_path: Path, t_id: Translator) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    source = await Store.open(url)
    await fill(source, t_id)
    async with postgres_database() as target_url:
        engine = create_engine(target_url)
        await upgrade(engine)
        target = Store(engine)
        try:
            report = await copy_database(source.engine, target.engine)
            assert await counts(target) == await counts(source) == report.rows
            assert report.rows["household"] == 6 and report.rows["complaint"] == 1
            assert report.rows["complaint_event"] >= 1 and report.rows["notification"] >= 1

            query = select(complaint).order_by(complaint.c.id)
            async with source.read() as before, target.read() as after:
                [old] = (await before.connection.execute(query)).mappings().all()
                [new] = (await after.connection.execute(query)).mappings().all()
            assert dict(new) == dict(old)
            assert new["created_at"] == NOW and new["created_at"].utcoffset() is not None

            async with target.write() as repo:  # PostgreSQL's next id comes after the copied ones
                person = await repo.people.add(51_002, Role.HOUSEHOLD, NOW)
            assert person.id > max(1, report.rows["person"])

            with pytest.raises(TargetNotEmpty, match="household"):
                await copy_database(source.engine, target.engine)
        finally:
            await target.close()
    await source.close()
