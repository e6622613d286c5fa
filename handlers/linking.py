"""Linking a Telegram user to a household: /start, the programme number, the secret; /putus."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import ReplyKeyboardRemove, Update

from bot.services.enrolment import INVITE_PREFIX
from bot.services.linking import (
    DEEP_LINK_PREFIX,
    LinkOutcome,
    LinkResult,
    link_with_code,
    link_with_secret,
    looks_like_program_number,
    unlink,
)
from bot.services.reachability import set_reachable
from bot.texts.labels import role_label
from handlers import staff
from handlers.common import END, Visitor, linked_household, reply, staff_help, visit
from handlers.flow import current_flow, end_flow, start_flow
from handlers.menu import menu_keyboard

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

LINK_NUMBER, LINK_SECRET = "link_number", "link_secret"
FLOW = "link"


async def start(update: Update, context: SapaContext) -> str | int:
    user_data = context.user_data if context.user_data is not None else {}
    end_flow(user_data)
    visitor = await visit(update, context)
    if visitor.person is not None and not visitor.person.reachable:
        # They had blocked the bot (403 on a reminder); writing to us means they are back.
        await set_reachable(context.services.store, visitor.user_id, True)
    payload = context.args[0] if context.args else ""
    if payload.startswith(INVITE_PREFIX):
        return await staff.enrol_by_link(update, context, visitor, payload)
    if payload.startswith(DEEP_LINK_PREFIX) and not visitor.household:
        return await _link_by_deep_link(update, context, visitor, payload)
    t = visitor.t
    if visitor.household is not None and visitor.household.active:
        await reply(
            update,
            t(
                "Welcome back! This Telegram is linked to household {number}. Choose from the menu."
            ).format(number=escape(visitor.household.program_number)),
            menu_keyboard(t),
        )
        return END
    if visitor.household is not None:  # linked, but the household left the programme
        await _tell_outcome(update, context, LinkResult(LinkOutcome.HOUSEHOLD_INACTIVE))
        return END
    if visitor.person is not None and not visitor.is_household:  # staff: role and commands
        role = visitor.person.role
        lines = [
            t("This Telegram is registered as {role}.").format(role=role_label(role, t)),
            t("What you can do here:"),
            *staff_help(role, t),
        ]
        await reply(update, "\n".join(lines))
        return END
    await reply(update, _greeting(visitor))
    start_flow(user_data, FLOW)
    await reply(
        update,
        t(
            "To begin, please type your household's programme number (nomor peserta), as "
            "written on your programme card."
        ),
    )
    return LINK_NUMBER


def _greeting(visitor: Visitor) -> str:
    t = visitor.t
    return "\n\n".join(
        [
            t("Welcome to <b>Sapa RTS</b>, the Jamsosratu programme's assistant."),
            t(
                "This bot is run by the Jamsosratu programme team of the district. It helps your "
                "household report posyandu visits, send complaints and see payout dates."
            ),
            t(
                "We keep your household's programme data, your Telegram ID and what you send us, "
                "only to run the programme, as the Personal Data Protection Law (UU PDP) requires."
            ),
        ]
    )


async def program_number_given(update: Update, context: SapaContext) -> str | int:
    visitor = await visit(update, context)
    flow = current_flow(context.user_data or {}, FLOW)
    assert update.effective_message is not None and update.effective_message.text is not None
    text = update.effective_message.text.strip()
    if flow is None:
        return END
    if not looks_like_program_number(text):
        await reply(
            update,
            visitor.t(
                "That does not look like a programme number. It is printed on your programme "
                "card, for example RTS-00123. Please type it again, or send /batal to stop."
            ),
        )
        return LINK_NUMBER
    flow.draft["program_number"] = text
    await reply(
        update,
        visitor.t(
            "Thank you. Now type the last 6 digits of the NIK of the head of household, or the "
            "link code your companion gave you."
        ),
    )
    return LINK_SECRET


async def secret_given(update: Update, context: SapaContext) -> str | int:
    services = context.services
    flow = current_flow(context.user_data or {}, FLOW)
    assert update.effective_message is not None and update.effective_message.text is not None
    if flow is None or "program_number" not in flow.draft:
        return END
    assert update.effective_user is not None
    visitor = await visit(update, context)
    result = await link_with_secret(
        services.store,
        update.effective_user.id,
        flow.draft["program_number"],
        update.effective_message.text[:100],
        now=services.clock(),
        nik_key=services.settings.nik_key_bytes,
        language=visitor.person.language if visitor.person else None,
    )
    if result.outcome is LinkOutcome.REFUSED:
        await reply(
            update,
            visitor.t(
                "The programme number and the code do not match our records. Please check both "
                "and try again: type the programme number."
            ),
        )
        flow.draft.clear()
        return LINK_NUMBER
    end_flow(context.user_data or {})
    await _tell_outcome(update, context, result)
    return END


async def _link_by_deep_link(
    update: Update, context: SapaContext, visitor: Visitor, payload: str
) -> int:
    services = context.services
    assert update.effective_user is not None
    result = await link_with_code(
        services.store,
        update.effective_user.id,
        payload.removeprefix(DEEP_LINK_PREFIX),
        now=services.clock(),
        nik_key=services.settings.nik_key_bytes,
        language=visitor.person.language if visitor.person else None,
    )
    await reply(update, _greeting(visitor))  # the privacy notice, whatever the outcome
    if result.outcome is LinkOutcome.REFUSED:
        await reply(
            update,
            visitor.t(
                "This link code is not valid any more (it may have been used or expired). "
                "Please ask your companion for a new one, or send /start to link with your "
                "programme number."
            ),
        )
        return END
    await _tell_outcome(update, context, result)
    return END


async def _tell_outcome(update: Update, context: SapaContext, result: LinkResult) -> None:
    visitor = await visit(update, context, fresh=True)
    t = visitor.t
    if result.outcome is LinkOutcome.LINKED and result.household is not None:
        await reply(
            update,
            t(
                "Done! This Telegram is now linked to household {number}. Use the menu below to "
                "report posyandu visits, send complaints and see your schedule."
            ).format(number=escape(result.household.program_number)),
            menu_keyboard(t),
        )
    elif result.outcome is LinkOutcome.TOO_MANY_ATTEMPTS:
        await reply(
            update,
            t(
                "There were too many attempts. To keep households safe, please wait an hour and "
                "try again, or ask your companion for a link code."
            ),
        )
    elif result.outcome is LinkOutcome.HOUSEHOLD_INACTIVE:
        await reply(
            update,
            t(
                "This household is no longer active in the programme. If you think this is a "
                "mistake, please contact your companion or the kecamatan office."
            ),
        )
    elif result.outcome is LinkOutcome.STAFF_ACCOUNT:
        await reply(
            update,
            t("This Telegram account belongs to programme staff and cannot join a household."),
        )


async def unlink_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    if visitor.household is None or visitor.person is None:
        await linked_household(update, context)  # says why there is nothing to unlink
        return END
    # A household that left the programme may still unlink its Telegram.
    await unlink(context.services.store, visitor.person, now=context.services.clock())
    await reply(
        update,
        visitor.t(
            "This Telegram is no longer linked to household {number}. Send /start whenever you "
            "want to link again."
        ).format(number=escape(visitor.household.program_number)),
        ReplyKeyboardRemove(),
    )
    return END
