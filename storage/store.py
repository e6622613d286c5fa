"""The store: one handle on the database, handing out repositories inside a transaction.

    async with store.write() as repo:
        await repo.households.upsert(records, now)
        await repo.audit.record(now, "cli", "import", "household")

Everything in one `write()` block commits together or not at all.

Each repository's module is imported the first time a transaction asks for it, so a CLI verb
loads only the SQL it runs (`sapa stats` starts in about half the time of loading them all).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, cast

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.database import (
    DatabaseUnreachable,
    Transactions,
    create_engine,
)
from storage.loop_reads import LoopConnection, LoopReads
from storage.migrate import check_current

if TYPE_CHECKING:
    from storage.attendance import AttendanceRepository, VerificationRepository
    from storage.audit import AuditRepository
    from storage.complaints import ComplaintRepository
    from storage.conversations import ConversationRepository
    from storage.data_rights import DataRightsRepository
    from storage.follow_ups import FollowUpRepository
    from storage.geography import GeographyRepository
    from storage.households import HouseholdRepository
    from storage.invites import InviteRepository
    from storage.linking import LinkRepository
    from storage.notifications import NotificationRepository
    from storage.payouts import PayoutRepository
    from storage.people import PersonRepository
    from storage.planning import PlanningRepository
    from storage.recap import RecapRepository
    from storage.register import RegisterRepository
    from storage.school import SchoolAttendanceRepository
    from storage.secrets import SecretRepository
    from storage.sequences import SequenceRepository
    from storage.staff import StaffRepository
    from storage.stats import StatsRepository
    from storage.visitors import VisitorRepository


class Repositories:
    """All repositories, sharing one connection and its transaction; each made on first use."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    @cached_property
    def geography(self) -> GeographyRepository:
        from storage.geography import GeographyRepository

        return GeographyRepository(self.connection)

    @cached_property
    def staff(self) -> StaffRepository:
        from storage.staff import StaffRepository

        return StaffRepository(self.connection)

    @cached_property
    def households(self) -> HouseholdRepository:
        from storage.households import HouseholdRepository

        return HouseholdRepository(self.connection)

    @cached_property
    def payouts(self) -> PayoutRepository:
        from storage.payouts import PayoutRepository

        return PayoutRepository(self.connection)

    @cached_property
    def people(self) -> PersonRepository:
        from storage.people import PersonRepository

        return PersonRepository(self.connection)

    @cached_property
    def audit(self) -> AuditRepository:
        from storage.audit import AuditRepository

        return AuditRepository(self.connection)

    @cached_property
    def secrets(self) -> SecretRepository:
        from storage.secrets import SecretRepository

        return SecretRepository(self.connection)

    @cached_property
    def sequences(self) -> SequenceRepository:
        from storage.sequences import SequenceRepository

        return SequenceRepository(self.connection)

    @cached_property
    def stats(self) -> StatsRepository:
        from storage.stats import StatsRepository

        return StatsRepository(self.connection)

    @cached_property
    def links(self) -> LinkRepository:
        from storage.linking import LinkRepository

        return LinkRepository(self.connection)

    @cached_property
    def attendance(self) -> AttendanceRepository:
        from storage.attendance import AttendanceRepository

        return AttendanceRepository(self.connection)

    @cached_property
    def complaints(self) -> ComplaintRepository:
        from storage.complaints import ComplaintRepository

        return ComplaintRepository(self.connection)

    @cached_property
    def notifications(self) -> NotificationRepository:
        from storage.notifications import NotificationRepository

        return NotificationRepository(self.connection)

    @cached_property
    def planning(self) -> PlanningRepository:
        from storage.planning import PlanningRepository

        return PlanningRepository(self.connection)

    @cached_property
    def invites(self) -> InviteRepository:
        from storage.invites import InviteRepository

        return InviteRepository(self.connection)

    @cached_property
    def verification(self) -> VerificationRepository:
        from storage.attendance import VerificationRepository

        return VerificationRepository(self.connection)

    @cached_property
    def recap(self) -> RecapRepository:
        from storage.recap import RecapRepository

        return RecapRepository(self.connection)

    @cached_property
    def register(self) -> RegisterRepository:
        from storage.register import RegisterRepository

        return RegisterRepository(self.connection)

    @cached_property
    def follow_ups(self) -> FollowUpRepository:
        from storage.follow_ups import FollowUpRepository

        return FollowUpRepository(self.connection)

    @cached_property
    def data_rights(self) -> DataRightsRepository:
        from storage.data_rights import DataRightsRepository

        return DataRightsRepository(self.connection)

    @cached_property
    def conversations(self) -> ConversationRepository:
        from storage.conversations import ConversationRepository

        return ConversationRepository(self.connection)

    @cached_property
    def school(self) -> SchoolAttendanceRepository:
        from storage.school import SchoolAttendanceRepository

        return SchoolAttendanceRepository(self.connection)

    @cached_property
    def visitors(self) -> VisitorRepository:
        from storage.visitors import VisitorRepository

        return VisitorRepository(self.connection)


__all__ = ["DatabaseUnreachable", "Repositories", "Store", "load_repositories"]

REPOSITORY_MODULES = (
    "storage.attendance",
    "storage.audit",
    "storage.complaints",
    "storage.conversations",
    "storage.data_rights",
    "storage.follow_ups",
    "storage.geography",
    "storage.households",
    "storage.invites",
    "storage.linking",
    "storage.notifications",
    "storage.payouts",
    "storage.people",
    "storage.planning",
    "storage.recap",
    "storage.register",
    "storage.school",
    "storage.secrets",
    "storage.sequences",
    "storage.staff",
    "storage.stats",
    "storage.visitors",
)


def load_repositories() -> None:
    """Import every repository now: a running bot pays this at start, not in a first update."""
    for name in REPOSITORY_MODULES:
        import_module(name)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._transactions = Transactions(engine)
        self._loop_reads = LoopReads(engine)

    @classmethod
    async def open(cls, url: str, *, check_schema: bool = True) -> Store:
        """Connect; refuse a database that `sapa migrate` has not brought up to date.

        Raises DatabaseUnreachable when the server or file cannot be opened, and
        DatabaseNotMigrated when the schema is missing or old.
        """
        store = cls(create_engine(url))
        if check_schema:
            try:
                await check_current(store.engine)
            except BaseException as error:
                await store.close()
                if isinstance(error, DBAPIError):
                    raise DatabaseUnreachable(str(error.orig).splitlines()[0]) from error
                if isinstance(error, OSError):
                    raise DatabaseUnreachable(str(error) or type(error).__name__) from error
                raise
        return store

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Repositories]:
        async with self._transactions.write() as connection:
            yield Repositories(connection)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repositories]:
        async with self._transactions.read() as connection:
            yield Repositories(connection)

    @asynccontextmanager
    async def single(self) -> AsyncIterator[Repositories]:
        """For one statement that commits by itself (`storage.database.single_statement`): what
        every update does first and last (who is writing, their flow written back), and a read
        that is one statement (it sees one moment of the database by itself, without the BEGIN
        and COMMIT of `read`)."""
        async with self._transactions.single() as connection:
            yield Repositories(connection)

    @asynccontextmanager
    async def quick_read(self) -> AsyncIterator[Repositories]:
        """For a read of a few rows by key, in one statement, that every update of a household
        pays (who is writing, a household's members): on an SQLite file it runs on the event
        loop's own read connection, without the hand-off to aiosqlite's thread and back
        (storage/loop_reads.py); elsewhere, and where SQLite would make it wait, as `single`.
        Only reads: the connection refuses to write."""
        async with self._quick(snapshot=False) as repo:
            yield repo

    @asynccontextmanager
    async def quick_snapshot(self) -> AsyncIterator[Repositories]:
        """As `quick_read`, for several such reads that must see one moment of the database
        (`read` elsewhere). Nothing but these reads inside the block: no other awaits."""
        async with self._quick(snapshot=True) as repo:
            yield repo

    async def warm_quick_reads(self) -> None:
        """Open the event loop's read connection now and prepare the read every update makes
        (who is writing), so that the first update after start does not pay for them (about
        5 ms). Call it on the event loop that will serve the updates. A database that cannot
        answer yet is left to the first update, which says so to its user."""
        with contextlib.suppress(DBAPIError):
            async with self.quick_read() as repo:
                await repo.visitors.load(0)  # no Telegram account has the number 0

    @asynccontextmanager
    async def _quick(self, *, snapshot: bool) -> AsyncIterator[Repositories]:
        """On the loop's read connection; the usual way (`read` for a snapshot, else `single`)
        where there is none, or where SQLite would make the block's first statement wait."""
        usual = self._transactions.read if snapshot else self._transactions.single
        connection = self._loop_reads.connection()
        if connection is None:
            async with usual() as elsewhere:
                yield Repositories(elsewhere)
            return
        reads = LoopConnection(connection, usual, snapshot=snapshot)
        error: BaseException | None = None
        try:
            yield Repositories(cast(AsyncConnection, reads))  # what reads use of one is there
        except BaseException as raised:
            error = raised
            raise
        finally:
            await reads.finish(error)

    async def erase_legacy_nik_key(self) -> None:
        from storage.secrets import erase_legacy_nik_key

        await erase_legacy_nik_key(self.engine)

    async def close(self) -> None:
        try:
            self._loop_reads.close()
        finally:
            await self.engine.dispose()
