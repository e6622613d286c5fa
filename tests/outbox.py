"""Test helpers for the outbox: a clock and a pacer that tests move by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Translations
from bot.settings import QuietHours
from jobs.dispatch import DeliveryPolicy, Dispatcher, Pacer
from storage.store import Store
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
        "max_attempts": 5,
        "retry_seconds": 30,
        **policy,
    }
    return Dispatcher(
        store, bot, translations, DeliveryPolicy(**settings), clock,  # type: ignore[arg-type]
        Pacer(float(settings["messages_per_second"]), clock.sleep, clock.monotonic),  # type: ignore[arg-type]
    )  # fmt: skip
