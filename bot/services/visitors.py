"""Who is writing: the person behind a Telegram account and their household, as the registry
says now (role and active flag included). Read once per update."""

from __future__ import annotations

from bot.domain.models import Household, Person
from storage.store import Repositories


async def who_is(
    repo: Repositories, telegram_user_id: int
) -> tuple[Person | None, Household | None]:
    return await repo.people.with_household(telegram_user_id)
