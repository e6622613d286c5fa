"""A message to a household: queued in the outbox for each Telegram account linked to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.models import Recipient
from storage.notifications import QueuedMessage
from storage.store import Repositories


async def tell_household(
    repo: Repositories,
    household_id: int,
    template: str,
    params: dict[str, Any],
    key: str,
    now: datetime,
) -> None:
    """Queue `template` for each linked account, once each (dedup key `key:<person id>`)."""
    await repo.notifications.queue_many(
        [
            QueuedMessage(Recipient(person_id=p.id), template, params, now, f"{key}:{p.id}")
            for p in await repo.people.linked_to_household(household_id)
        ],
        now,
    )
