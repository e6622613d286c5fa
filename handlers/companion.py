"""Companion screens (more come with the staff issue): the full lists behind the digest buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import Update

from bot.domain.buttons import DigestList, decode
from bot.domain.models import Role
from bot.services.digest import build_digest
from bot.texts.digest import LIST_TITLES, list_lines
from handlers.common import refuse, reply, stale_button, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext


async def digest_list(update: Update, context: SapaContext) -> None:
    """Show one list of the digest, computed afresh (the digest itself may be hours old)."""
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, DigestList) or pressed.kind not in LIST_TITLES:
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
        today = now.astimezone(services.settings.zone).date()
        params = await build_digest(repo, person.staff_id, today, now)
    lines = list_lines(pressed.kind, params, t) if params else []
    title = f"<b>{t(LIST_TITLES[pressed.kind])}</b>"
    await reply(update, "\n".join([title, *lines]) if lines else title + "\n" + t("Nothing now."))
