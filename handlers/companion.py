"""Companion screens (more come with the staff issue): the full lists behind the digest buttons."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from telegram import Update

from bot.domain.models import Role
from bot.services.digest import build_digest
from bot.texts.digest import LIST_TITLES, list_lines
from handlers.common import refuse, reply, stale_button, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

_LIST = re.compile(r"^dg:\d{4}-\d{2}-\d{2}:([a-z]{1,12})$")


async def digest_list(update: Update, context: SapaContext) -> None:
    """Show one list of the digest, computed afresh (the digest itself may be hours old)."""
    assert update.callback_query is not None
    match = _LIST.match(update.callback_query.data or "")
    if match is None or match[1] not in LIST_TITLES:
        await stale_button(update, context)
        return
    visitor = await visit(update, context)
    person = visitor.person
    t = visitor.t
    await update.callback_query.answer()
    if person is None or person.role is not Role.COMPANION or person.staff_id is None:
        await refuse(update, t, "digest_list", person)
        return
    services = context.services
    now = services.clock()
    async with services.store.read() as repo:
        params = await build_digest(repo, person.staff_id, now.astimezone(services.settings.zone)
                                    .date(), now)  # fmt: skip
    lines = list_lines(match[1], params, t) if params else []
    title = f"<b>{t(LIST_TITLES[match[1]])}</b>"
    await reply(update, "\n".join([title, *lines]) if lines else title + "\n" + t("Nothing now."))
