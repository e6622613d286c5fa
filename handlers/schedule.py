"""“My schedule”: the next posyandu day for the members it concerns, and the next payout round
with the household's own queue time, or when it will be told it, or that there is none (the
round's slots are full) and the companion tells it when to come."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from bot.services.agenda import SlotState, household_agenda
from bot.services.payout_queue import QueuePolicy
from bot.texts.labels import member_kind_label
from handlers.common import END, linked_household, reply
from handlers.flow import end_flow
from handlers.menu import menu_keyboard

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext


async def schedule_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t = visitor.t
    services = context.services
    today = services.clock().astimezone(services.settings.zone).date()
    agenda = await household_agenda(
        services.store, visitor.household, today, QueuePolicy.from_settings(services.settings)
    )
    blocks = []
    if agenda.posyandu is not None and agenda.posyandu_day is not None:
        lines = [
            t("<b>Next posyandu</b>: {date}").format(date=t.long_date(agenda.posyandu_day)),
            t("Place: {place}").format(place=escape(agenda.posyandu.name)),
        ]
        if agenda.members:
            names = ", ".join(
                f"{escape(m.name)} ({member_kind_label(m.kind, t)})" for m in agenda.members
            )
            lines.append(t("For: {names}").format(names=names))
            lines.append(t("Bring the buku KIA / KMS card."))
        blocks.append("\n".join(lines))
    else:
        blocks.append(t("No posyandu schedule is on record for your household yet."))
    payout, slot = agenda.payout, agenda.slot
    if payout is not None:
        lines = [t("<b>Next payout</b>: {date}").format(date=t.long_date(payout.payout_date))]
        if slot is not None:  # the household's own time, never the whole window
            lines.append(
                t("Your queue: {start}–{end} WIB at {place}").format(
                    start=f"{slot.start:%H.%M}", end=f"{slot.end:%H.%M}", place=escape(payout.place)
                )
            )
        elif agenda.slot_state is SlotState.COMING and agenda.told_on is not None:
            lines += [
                t("Place: {place}").format(place=escape(payout.place)),
                t(
                    "Your queue time is not set yet. You will get a message with it on {date} "
                    "in the afternoon."
                ).format(date=t.long_date(agenda.told_on)),
            ]
        else:  # the slots are full: the companion tells the household when to come
            lines += [
                t("Place: {place}, {start}–{end} WIB").format(
                    place=escape(payout.place),
                    start=f"{payout.start_time:%H.%M}",
                    end=f"{payout.end_time:%H.%M}",
                ),
                t(
                    "There is no queue time for your household in this round. Your companion "
                    "will tell you when to come."
                ),
            ]
        lines += [
            t("Amount: {amount}").format(amount=t.rupiah(payout.amount)),
            t("Bring: KTP, KK and the programme card."),
        ]
        blocks.append("\n".join(lines))
    else:
        blocks.append(t("The next payout date has not been announced yet."))
    await reply(update, "\n\n".join(blocks), menu_keyboard(t))
    return END
