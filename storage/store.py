"""The store: one handle on the database, handing out repositories inside a transaction.

    async with store.write() as repo:
        await repo.households.upsert(records, now)
        await repo.audit.record(now, "cli", "import", "household")

Everything in one `write()` block commits together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.attendance import AttendanceRepository, VerificationRepository
from storage.audit import AuditRepository
from storage.complaints import ComplaintRepository
from storage.conversations import ConversationRepository
from storage.data_rights import DataRightsRepository
from storage.database import (
    DatabaseUnreachable,
    create_engine,
    read_transaction,
    write_transaction,
)
from storage.follow_ups import FollowUpRepository
from storage.geography import GeographyRepository
from storage.households import HouseholdRepository
from storage.invites import InviteRepository
from storage.linking import LinkRepository
from storage.migrate import check_current
from storage.notifications import NotificationRepository
from storage.payouts import PayoutRepository
from storage.people import PersonRepository
from storage.planning import PlanningRepository
from storage.recap import RecapRepository
from storage.register import RegisterRepository
from storage.school import SchoolAttendanceRepository
from storage.secrets import SecretRepository, erase_legacy_nik_key
from storage.sequences import SequenceRepository
from storage.staff import StaffRepository
from storage.stats import StatsRepository


class Repositories:
    """All repositories, sharing one connection and its transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.geography = GeographyRepository(connection)
        self.staff = StaffRepository(connection)
        self.households = HouseholdRepository(connection)
        self.payouts = PayoutRepository(connection)
        self.people = PersonRepository(connection)
        self.audit = AuditRepository(connection)
        self.secrets = SecretRepository(connection)
        self.sequences = SequenceRepository(connection)
        self.stats = StatsRepository(connection)
        self.links = LinkRepository(connection)
        self.attendance = AttendanceRepository(connection)
        self.complaints = ComplaintRepository(connection)
        self.notifications = NotificationRepository(connection)
        self.planning = PlanningRepository(connection)
        self.invites = InviteRepository(connection)
        self.verification = VerificationRepository(connection)
        self.recap = RecapRepository(connection)
        self.register = RegisterRepository(connection)
        self.follow_ups = FollowUpRepository(connection)
        self.data_rights = DataRightsRepository(connection)
        self.conversations = ConversationRepository(connection)
        self.school = SchoolAttendanceRepository(connection)


__all__ = ["DatabaseUnreachable", "Repositories", "Store"]


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

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
        async with write_transaction(self.engine) as connection:
            yield Repositories(connection)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repositories]:
        async with read_transaction(self.engine) as connection:
            yield Repositories(connection)

    async def erase_legacy_nik_key(self) -> None:
        await erase_legacy_nik_key(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()
