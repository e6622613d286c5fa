"""Companions and their households: the list with filters (/rumahtangga) and one-time link codes
for a household they serve (/kodetautan)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.buttons import CaseloadFilter, decode, encode
from bot.domain.models import Role
from bot.services.caseload import FILTERS, household_list
from bot.services.linking import DEEP_LINK_PREFIX, format_code, issue_link_code
from handlers.common import refuse, reply, stale_button, take_button, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext


async def households_command(update: Update, context: SapaContext) -> None:
    visitor = await visit(update, context)
    t = visitor.t
    if visitor.person is None or visitor.person.role is not Role.COMPANION:
        await refuse(update, t, "caseload", visitor.person)
        return
    buttons = [
        [InlineKeyboardButton(t(label), callback_data=encode(CaseloadFilter(key)))]
        for key, label in FILTERS.items()
    ]
    await reply(update, t("Which households?"), InlineKeyboardMarkup(buttons))


async def filter_pressed(update: Update, context: SapaContext) -> None:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, CaseloadFilter) or pressed.key not in FILTERS:
        await stale_button(update, context)
        return
    await take_button(update)
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if person is None or person.role is not Role.COMPANION or person.staff_id is None:
        await refuse(update, t, "caseload", person)
        return
    services = context.services
    now = services.clock()
    today = now.astimezone(services.settings.zone).date()
    async with services.store.read() as repo:
        lines = await household_list(repo, person.staff_id, pressed.key, today, now)
    title = f"<b>{t(FILTERS[pressed.key])}</b> ({len(lines)})"
    shown = [escape(line) for line in lines]  # all of them: a long list goes in several messages
    await reply(update, "\n".join([title, *shown]) if lines else title + "\n" + t("Nothing now."))


async def link_code_command(update: Update, context: SapaContext) -> None:
    """/kodetautan RTS-…: a one-time code for a household the companion serves."""
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if person is None or person.role is not Role.COMPANION or person.staff_id is None:
        await refuse(update, t, "caseload", person)
        return
    if not context.args:
        await reply(
            update,
            t("Write the programme number after the command, for example: /kodetautan RTS-00123"),
        )
        return
    number = context.args[0][:40].upper()
    services = context.services
    async with services.store.read() as repo:
        household = await repo.households.get_by_program_number(number)
    if household is None or household.companion_id != person.staff_id:
        target = {"household": household.id} if household is not None else {}
        await refuse(update, t, "caseload", person, **target)
        return
    code = await issue_link_code(
        services.store,
        number,
        now=services.clock(),
        actor=f"person:{person.id}",
        nik_key=services.settings.nik_key_bytes,
    )
    assert code is not None
    link = f"https://t.me/{context.bot.username}?start={DEEP_LINK_PREFIX}{code}"
    await reply(
        update,
        t("One-time link code for household {number}: {code} (valid for 14 days).").format(
            number=escape(number), code=format_code(code)
        )
        + "\n"
        + link,
    )
