"""Test helpers for the outbox: a clock and a pacer that tests move by hand, and households to
send to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain.models import Role
from bot.settings import QuietHours
from bot.texts.i18n import Translations
from jobs.dispatch import DeliveryPolicy, Dispatcher, Pacer
from storage.schema import desa, household, kecamatan, posyandu
from storage.store import Repositories, Store
from tests.conftest import NOW

WIB = ZoneInfo("Asia/Jakarta")


@dataclass
class ManualClock:
    """Wall-clock time (UTC) and a monotonic counter; `sleep` advances both, instantly, and by
    `oversleep` more than asked (as the event loop's sleeps overshoot)."""

    now: datetime = NOW
    seconds: float = 0.0
    slept: list[float] = field(default_factory=list)
    oversleep: float = 0.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds + self.oversleep)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds
        self.now += timedelta(seconds=seconds)

    def set_local(self, moment: datetime) -> None:
        """Jump to a WIB wall-clock time (naive datetimes are read as WIB)."""
        self.now = moment.replace(tzinfo=WIB) if moment.tzinfo is None else moment


def make_dispatcher(
    store: Store, bot: object, translations: Translations, clock: ManualClock, **policy: object
) -> Dispatcher:
    settings: dict[str, object] = {
        "zone": WIB,
        "quiet_hours": QuietHours.parse("21:00-06:00"),
        "messages_per_second": 25,
        "retry_seconds": 30,
        **policy,
    }
    return Dispatcher(
        store, bot, translations, DeliveryPolicy(**settings), clock,  # type: ignore[arg-type]
        Pacer(float(settings["messages_per_second"]), clock.sleep, clock.monotonic),  # type: ignore[arg-type]
    )  # fmt: skip


async def add_household(repo: Repositories, number: str, *, kecamatan_name: str = "Outbox") -> int:
    """A bare active household (in a kecamatan, desa and posyandu made on first use)."""
    key = kecamatan_name.lower()
    connection = repo.connection
    found = (
        await connection.execute(select(kecamatan.c.id).where(kecamatan.c.name_key == key))
    ).scalar()
    if found is None:
        found = (
            await connection.execute(
                kecamatan.insert()
                .values(name=kecamatan_name, name_key=key)
                .returning(kecamatan.c.id)
            )
        ).scalar_one()
        desa_id = (
            await connection.execute(
                desa.insert()
                .values(kecamatan_id=found, name=kecamatan_name, name_key=key)
                .returning(desa.c.id)
            )
        ).scalar_one()
        await connection.execute(
            posyandu.insert().values(
                code=f"P-{key}", name=f"Posyandu {kecamatan_name}", desa_id=desa_id,
                schedule="tanggal 10",
            )
        )  # fmt: skip
    desa_id, posyandu_id = (
        await connection.execute(
            select(desa.c.id, posyandu.c.id)
            .join(posyandu, posyandu.c.desa_id == desa.c.id)
            .where(desa.c.kecamatan_id == found)
        )
    ).one()
    return int(
        (
            await connection.execute(
                household.insert()
                .values(
                    program_number=number, head_name="-", nik_masked="-", nik_digest=number,
                    nik_tail_digest=number, desa_id=desa_id, posyandu_id=posyandu_id,
                    active=True, created_at=NOW, updated_at=NOW,
                )
                .returning(household.c.id)
            )
        ).scalar_one()
    )  # fmt: skip


async def add_household_person(
    store: Store, telegram_id: int, language: str = "id", *, kecamatan_name: str = "Outbox"
) -> int:
    """A Telegram account linked to a household of its own (programme number RTS-<telegram id>);
    returns the person's id."""
    async with store.write() as repo:
        household_id = await add_household(
            repo, f"RTS-{telegram_id}", kecamatan_name=kecamatan_name
        )
        found = await repo.people.add(
            telegram_id, Role.HOUSEHOLD, NOW, household_id=household_id, language=language
        )
    return found.id
