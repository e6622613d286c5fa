"""/pengingat: a household account sees whether its posyandu reminders are on, and turns them off
or on again, with a button or with `/pengingat mati` / `/pengingat nyala`.

What is optional and what never is muted is `bot.services.reminders`'s to say; the choice is per
Telegram account. Staff, and accounts not linked to an active household, get the households-only
answer of `linked_household`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.buttons import ReminderChoice, decode, encode
from bot.services.reminders import ReminderChange, mute_reminders, resume_reminders
from handlers.common import (
    END,
    Visitor,
    home_markup,
    linked_household,
    reply,
    stale_button,
    take_button,
)
from handlers.flow import end_flow

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

# What may follow /pengingat (in any of the bot's languages), lower case.
OFF_WORDS = frozenset({"mati", "matikan", "off", "pareum", "pareuman"})
ON_WORDS = frozenset({"nyala", "nyalakan", "hidup", "on", "hurung", "hurungkeun"})


async def reminders_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await linked_household(update, context)
    if visitor is None:
        return END
    word = context.args[0][:20].casefold() if context.args else ""
    if word in OFF_WORDS:
        await _choose(update, context, visitor, "off")
    elif word in ON_WORDS:
        await _choose(update, context, visitor, "on")
    else:
        await _show(update, context, visitor)
    return END


async def choice_pressed(update: Update, context: SapaContext) -> int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, ReminderChoice):
        return await stale_button(update, context)
    end_flow(context.user_data or {})
    await take_button(update)
    visitor = await linked_household(update, context)
    if visitor is None:
        return END
    await _choose(update, context, visitor, pressed.choice)
    return END


async def _show(update: Update, context: SapaContext, visitor: Visitor) -> None:
    """The account's state, what is never muted, and the two buttons."""
    assert visitor.person is not None
    t = visitor.t
    muted_at = visitor.person.reminders_muted_at
    if muted_at is None:
        state = t(
            "Posyandu reminders are <b>on</b> for this Telegram account: the evening before and "
            "the morning of each posyandu day, and the question after it whether you went."
        )
    else:
        since = muted_at.astimezone(context.services.settings.zone).date()
        state = t(
            "Posyandu reminders are <b>off</b> for this Telegram account since {date}."
        ).format(date=t.long_date(since))
    text = "\n\n".join(
        [
            state,
            t(
                "Schedule changes, payout reminders and the answers to your complaints and "
                "reports always come, whatever you choose here. Each family member with their own "
                "Telegram chooses for themselves."
            ),
            t("You can also send /pengingat mati or /pengingat nyala."),
        ]
    )
    buttons = [
        [InlineKeyboardButton(t("🔕 Turn off posyandu reminders"),
                              callback_data=encode(ReminderChoice("off")))],
        [InlineKeyboardButton(t("🔔 Turn them on again"),
                              callback_data=encode(ReminderChoice("on")))],
    ]  # fmt: skip
    await reply(update, text, InlineKeyboardMarkup(buttons))


async def _choose(
    update: Update, context: SapaContext, visitor: Visitor, choice: Literal["off", "on"]
) -> None:
    assert visitor.person is not None
    t = visitor.t
    services = context.services
    change = mute_reminders if choice == "off" else resume_reminders
    outcome = await change(services.store, visitor.person, now=services.clock())
    if outcome is ReminderChange.MUTED:
        text = t(
            "🔕 Posyandu reminders are now off for this Telegram account. Schedule changes, "
            "payout reminders and the answers to your complaints and reports still come. You "
            "can still report each posyandu visit yourself with /hadir. To turn them on again: "
            "/pengingat nyala"
        )
    elif outcome is ReminderChange.ALREADY_MUTED:
        text = t(
            "Posyandu reminders are already off for this Telegram account. To turn them on "
            "again: /pengingat nyala"
        )
    elif outcome is ReminderChange.RESUMED:
        text = t(
            "🔔 Posyandu reminders are on again for this Telegram account, from the next one on."
        )
    elif outcome is ReminderChange.ALREADY_ON:
        text = t("Posyandu reminders are already on for this Telegram account.")
    else:  # not a household account (checked before: `linked_household`)
        text = t("This command is for households in the programme.")
    await reply(update, text, home_markup(visitor))
