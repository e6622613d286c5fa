"""Whether the bot can reach a person: false once they block the bot, true again when they
unblock it or write to it. The outbox sends nothing to an unreachable person."""

from __future__ import annotations

from storage.store import Store


async def set_reachable(store: Store, telegram_user_id: int, reachable: bool) -> bool:
    """Mark the person behind this Telegram account; False when the bot does not know them."""
    async with store.write() as repo:
        person = await repo.people.by_telegram_id(telegram_user_id)
        if person is None:
            return False
        if person.reachable != reachable:
            await repo.people.set_reachable(person.id, reachable)
        return True
