"""/konfirmasi: the health worker taps the names of those who came to the session, then saves."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Update

from bot.domain.models import Role
from bot.services.cross_check import confirm, session_to_confirm
from handlers.common import END, cancelled, refuse, reply, visit
from handlers.flow import Flow, button, button_of_flow, current_flow, end_flow, start_flow

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext
    from bot.services.cross_check import SessionToConfirm
    from bot.texts.i18n import Translator

FLOW = "hw"
SELECT = "hw_select"


def _mark(chosen: bool) -> str:
    return "✅ " if chosen else "▫️ "


def _keyboard(t: Translator, flow: Flow, session: SessionToConfirm) -> InlineKeyboardMarkup:
    chosen = set(flow.draft["chosen"])
    rows = [
        [
            button(
                ("✅ " if e.member.id in chosen else "▫️ ")
                + f"{e.member.name} ({e.program_number})",
                flow,
                "toggle",
                e.member.id,
            )
        ]
        for e in session.expected
    ]
    rows.append([button(t("Save ({count})").format(count=len(chosen)), flow, "save")])
    rows.append([button(t("Cancel"), flow, "cancel")])
    return InlineKeyboardMarkup(rows)


async def open_list(update: Update, context: SapaContext) -> str | int:
    end_flow(context.user_data or {})
    if update.callback_query is not None:
        await update.callback_query.answer()
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    services = context.services
    today = services.clock().astimezone(services.settings.zone).date()
    if person is None or person.role is not Role.HEALTH_WORKER:
        await refuse(update, t, "confirm_attendance", person)
        return END
    async with services.store.read() as repo:
        session = await session_to_confirm(repo, person, today)
    if session is None:
        await reply(
            update, t("There is no posyandu session of yours to confirm in the last 7 days.")
        )
        return END
    if not session.expected:
        await reply(update, t("Nobody was expected at this session."))
        return END
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    flow.draft["chosen"] = []
    await reply(
        update,
        t("{posyandu}, {date}: tap the names of those who came, then Save.").format(
            posyandu=escape(session.posyandu), date=t.long_date(session.day)
        ),
        _keyboard(t, flow, session),
    )
    return SELECT


async def pressed(update: Update, context: SapaContext) -> str | int | None:
    query = update.callback_query
    assert query is not None
    flow = current_flow(context.user_data or {}, FLOW)
    pressed_button = button_of_flow(query.data, flow)
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    services = context.services
    today = services.clock().astimezone(services.settings.zone).date()
    if flow is None or pressed_button is None or person is None:
        await query.answer()
        await reply(
            update,
            t(
                "That button is not part of what you are doing now. Please use the "
                "buttons of the last message, or send /batal to stop."
            ),
        )
        return None
    if pressed_button.action == "cancel":
        await query.answer()
        return await cancelled(update, context, visitor)
    async with services.store.read() as repo:
        session = await session_to_confirm(repo, person, today)
    if session is None:
        await query.answer()
        end_flow(context.user_data or {})
        return END
    if pressed_button.action == "toggle" and pressed_button.argument:
        member_id = int(pressed_button.argument) if pressed_button.argument.isdigit() else -1
        chosen = set(flow.draft["chosen"])
        if member_id not in {e.member.id for e in session.expected}:
            # forged data: someone outside this session; the list stays as it was
            await query.answer()
            await refuse(update, t, "confirm_attendance", person, member=member_id)
            return None
        chosen ^= {member_id}
        flow.draft["chosen"] = sorted(chosen)
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=_keyboard(t, flow, session))
        return SELECT
    if pressed_button.action != "save":
        await query.answer()
        return None
    await query.answer()
    chosen = set(flow.draft["chosen"])
    if not chosen:
        await reply(update, t("Tap at least one name first."))
        return SELECT
    await query.edit_message_reply_markup(reply_markup=None)
    result = await confirm(services.store, person, chosen, today=today, now=services.clock())
    end_flow(context.user_data or {})
    if result is None:
        await refuse(update, t, "confirm_attendance", person)
        return END
    crossed, created = result
    await reply(
        update,
        t(
            "Saved. {crossed} matched the household's own report (cross-checked); "
            "{created} recorded on your word."
        ).format(crossed=crossed, created=created),
    )
    return END
