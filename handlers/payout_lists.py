"""/antrean: the payout queue lists. A companion gets her households' queue times for the rounds
of the next 14 days (or of one round), in the chat and as a PDF; a coordinator gets her
kecamatan's list for the post office or bank, the district team every kecamatan's (or one it
names), as a workbook and a PDF with a page per queue slot. Anyone else is refused.

When a round's slots are set, each companion is sent her households' times (`settle_queue`);
that message's button sends the same list as a file to print (`print_pressed`)."""

from __future__ import annotations

from functools import partial
from html import escape
from io import BytesIO
from typing import TYPE_CHECKING

from telegram import Update

from bot.domain.buttons import QueueListFile, decode
from bot.domain.models import Role
from bot.services.payout_queue import (
    LIST_ROLES,
    UPCOMING_DAYS,
    ListOutcome,
    PayoutLists,
    QueuePolicy,
    payout_lists,
)
from bot.texts.payout_list import (
    companion_pdf,
    companion_text,
    file_stem,
    venue_pdf,
    venue_summary,
    venue_workbook,
)
from handlers.common import refuse, reply, stale_button, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext
    from bot.texts.i18n import Translator


async def queue_command(update: Update, context: SapaContext) -> None:
    """/antrean [ROUND] [KECAMATAN]."""
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or person.staff_id is None or person.role not in LIST_ROLES:
        await refuse(update, t, "payout_list", person)
        return
    args = context.args or []
    round_code = args[0][:40] if args else None
    kecamatan = " ".join(args[1:])[:100] or None
    answer = await _lists(context, person.staff_id, round_code, kecamatan)
    if answer.outcome is ListOutcome.REFUSED:
        await refuse(update, t, "payout_list", person, staff=person.staff_id)
    elif answer.outcome is ListOutcome.UNKNOWN_KECAMATAN:
        await reply(
            update, t("There is no kecamatan named {name}.").format(name=escape(kecamatan or ""))
        )
    elif answer.outcome is ListOutcome.UNKNOWN_ROUND:
        text = t("There is no payout round {code}.").format(code=escape(round_code or ""))
        await reply(update, text + "\n" + _coming(answer, t))
    elif not answer.lists:
        text = t("No payout round in the next {days} days.").format(days=UPCOMING_DAYS)
        if person.role is Role.COMPANION:
            text = t("None of your households has a payout round in the next {days} days.").format(
                days=UPCOMING_DAYS
            )
        await reply(update, text + "\n" + _coming(answer, t))
    elif answer.companion:
        await _send_companion_list(update, context, answer, t)
    else:
        await _send_venue_lists(update, context, answer, t)


async def print_pressed(update: Update, context: SapaContext) -> None:
    """The button of the notice that a round's slots are set: the companion's list of that round
    as a file to print (her households only; the round re-checked against her kecamatan)."""
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, QueueListFile):
        await stale_button(update, context)
        return
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or person.staff_id is None or person.role not in LIST_ROLES:
        await refuse(update, t, "payout_list", person, round=pressed.round_id)  # answers it
        return
    answer = await _lists(context, person.staff_id, None, None, round_id=pressed.round_id)
    if answer.outcome is ListOutcome.REFUSED:
        await refuse(update, t, "payout_list", person, round=pressed.round_id)
        return
    await update.callback_query.answer()  # the buttons stay: she may want the file again
    if answer.outcome is not ListOutcome.LISTED or not answer.lists:
        await reply(
            update, t("That payout round is no longer on record.") + "\n" + _coming(answer, t)
        )
    elif not answer.companion:
        await _send_venue_lists(update, context, answer, t)
    elif not any(listed.household_count for listed in answer.lists):
        await reply(update, companion_text(answer.lists, t))
    else:
        await _send_companion_pdf(update, context, answer, t)


async def _lists(
    context: SapaContext,
    staff_id: int,
    round_code: str | None,
    kecamatan: str | None,
    *,
    round_id: int | None = None,
) -> PayoutLists:
    services = context.services
    now = services.clock()
    policy = QueuePolicy.from_settings(services.settings)
    return await payout_lists(
        services.store,
        staff_id,
        round_code,
        kecamatan,
        today=now.astimezone(policy.zone).date(),
        now=now,
        policy=policy,
        round_id=round_id,
    )


def _coming(answer: PayoutLists, t: Translator) -> str:
    if not answer.coming:
        return t("No later payout round is on record.")
    rounds = ", ".join(f"{escape(code)} ({t.long_date(day)})" for code, day in answer.coming[:6])
    example = escape(answer.coming[0][0])
    return t("Rounds still to come: {rounds}. Send for example /antrean {example}").format(
        rounds=rounds, example=example
    )


async def _send_companion_list(
    update: Update, context: SapaContext, answer: PayoutLists, t: Translator
) -> None:
    await reply(update, companion_text(answer.lists, t))
    if any(listed.household_count for listed in answer.lists):
        await _send_companion_pdf(update, context, answer, t)


async def _send_companion_pdf(
    update: Update, context: SapaContext, answer: PayoutLists, t: Translator
) -> None:
    pdf = await context.services.render(partial(companion_pdf, answer.lists, t))
    codes = dict.fromkeys(listed.round_code for listed in answer.lists)
    assert update.effective_chat is not None
    await update.effective_chat.send_document(
        BytesIO(pdf),
        filename=f"{file_stem('sapa-antrean', *codes)}.pdf",
        caption=t("Your households' queue times, to print."),
    )


async def _send_venue_lists(
    update: Update, context: SapaContext, answer: PayoutLists, t: Translator
) -> None:
    lists, services = answer.lists, context.services
    await reply(update, venue_summary(lists, t))
    # Off the event loop: a district's list is thousands of rows and many pages.
    workbook = await services.render(partial(venue_workbook, lists, t))
    pdf = await services.render(partial(venue_pdf, lists, t))
    codes = dict.fromkeys(listed.round_code for listed in lists)
    places = dict.fromkeys(listed.kecamatan for listed in lists)
    stem = file_stem("sapa-antrean", *codes, *(places if len(places) == 1 else []))
    assert update.effective_chat is not None
    await update.effective_chat.send_document(
        BytesIO(workbook),
        filename=f"{stem}.xlsx",
        caption=t("The queue list as a spreadsheet: one row per household, with its queue slot."),
    )
    await update.effective_chat.send_document(
        BytesIO(pdf),
        filename=f"{stem}.pdf",
        caption=t(
            "The queue list to print for the post office or bank: a page per queue slot, "
            "with a box to tick when a household has collected."
        ),
    )
