"""/hadiruntuk and /keluhanuntuk: a companion or health worker reports a posyandu visit or files
a complaint for a household she serves (`bot.services.assisted`). The household's own steps run
with the household fixed; every step checks her scope again (`handlers.common.acting_for`)."""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from bot.services.assisted import household_to_assist, may_assist
from bot.texts.i18n import N_
from handlers import attendance, complaints
from handlers.common import END, Visitor, refuse, refuse_household, reply, visit
from handlers.flow import end_flow

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

REPORT, COMPLAINT = "hadiruntuk", "keluhanuntuk"
USAGE = {
    REPORT: N_(
        "Write the programme number of the household after the command, for example: "
        "/hadiruntuk RTS-2026-0001"
    ),
    COMPLAINT: N_(
        "Write the programme number of the household after the command, for example: "
        "/keluhanuntuk RTS-2026-0001"
    ),
}


async def report_command(update: Update, context: SapaContext) -> str | int:
    """/hadiruntuk RTS-…: report a posyandu visit for the household."""
    acting = await _acting(update, context, REPORT)
    if acting is None:
        return END
    return await attendance.begin(update, context, acting=acting)


async def complaint_command(update: Update, context: SapaContext) -> str | int:
    """/keluhanuntuk RTS-…: file a complaint for the household."""
    acting = await _acting(update, context, COMPLAINT)
    if acting is None:
        return END
    return await complaints.begin(update, context, acting=acting)


async def _acting(update: Update, context: SapaContext, command: str) -> Visitor | None:
    """The staff visitor carrying the household named after the command, when she may report
    for it; otherwise the reason, politely, and None."""
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or not may_assist(person):
        await refuse(update, t, "report_for_household", person)
        return None
    if not context.args:
        await reply(update, t(USAGE[command]))
        return None
    household = await household_to_assist(context.services.store, person, context.args[0])
    if household is None:
        await refuse_household(update, visitor, None)
        return None
    await reply(
        update,
        t(
            "You are filling this in for household {number} ({head}). Nothing is saved until "
            "you confirm; /batal stops."
        ).format(number=escape(household.program_number), head=escape(household.head_name)),
    )
    return replace(visitor, household=household)
