"""Reporting a posyandu visit: member, date, optional proof photo, summary, save."""

from __future__ import annotations

import contextlib
from datetime import date
from html import escape
from typing import TYPE_CHECKING, Any

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.domain.models import Member, Posyandu, Role
from bot.domain.typed_dates import parse_typed_date
from bot.services.assisted import posyandu_choices, report_for_household
from bot.services.attendance import (
    AttendanceDraft,
    DateProblem,
    ReportOutcome,
    allowed_dates,
    date_problem,
    members_to_offer,
    report_attendance,
    visit_place,
)
from bot.texts.i18n import N_, Translator
from bot.texts.labels import member_kind_label
from handlers.common import (
    END,
    Visitor,
    cancelled,
    for_household_line,
    linked_household,
    picture_of,
    reply,
    wrong_button,
)
from handlers.flow import FOR_HOUSEHOLD, Flow, button, end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "att"
MEMBER, DAY, PHOTO, CONFIRM = "att_member", "att_day", "att_photo", "att_confirm"


def _today(context: SapaContext) -> date:
    services = context.services
    return services.clock().astimezone(services.settings.zone).date()


def _cancel_row(t: Translator, flow: Flow) -> list[InlineKeyboardButton]:
    return [button(t("Cancel"), flow, "cancel")]


async def begin(
    update: Update,
    context: SapaContext,
    *,
    session: tuple[int, date] | None = None,
    acting: Visitor | None = None,
) -> str | int:
    """Start a report; `session` (posyandu id, day) comes from the missed-session question;
    `acting`: a staff member reports for the household she carries (/hadiruntuk)."""
    visitor = acting or await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t = visitor.t
    async with context.services.store.quick_read() as repo:  # one statement, by key
        members = await repo.households.members(visitor.household.id)
    if not members:
        await reply(
            update,
            t("This household has no members on record yet.")
            if acting is not None
            else t(
                "Your household has no members on record yet. Please ask your companion to "
                "update the data."
            ),
        )
        return END
    offered = members_to_offer(members, _today(context))
    if not offered:
        await reply(
            update,
            t(
                "Nobody in this household has posyandu check-ups at the moment: they are for "
                "pregnant women, mothers in the 42 days after giving birth, and children under "
                "five. A birth or a new pregnancy is recorded with /kelahiran or /kehamilan."
            )
            if acting is not None
            else t(
                "Nobody in your household has posyandu check-ups at the moment: they are for "
                "pregnant women, mothers in the 42 days after giving birth, and children under "
                "five. If someone is newly pregnant or a baby was born, please tell your "
                "companion."
            ),
        )
        return END
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    if acting is not None:
        flow.draft[FOR_HOUSEHOLD] = visitor.household.id
    if session is not None:
        flow.draft["posyandu_id"], day = session
        flow.draft["preset_date"] = day.isoformat()
    rows = [[button(_member_name(m, t), flow, "member", m.id)] for m in offered]
    question = t("Who went to the posyandu? Choose one.")
    if len(offered) > 1:
        rows.append([button(t("👨‍👩‍👧 Several of them together"), flow, "several")])
        question = t("Who went to the posyandu? Choose one, or several if they went together.")
    await reply(update, question, InlineKeyboardMarkup([*rows, _cancel_row(t, flow)]))
    return MEMBER


def _member_name(member: Member, t: Translator) -> str:
    return f"{member.name} ({member_kind_label(member.kind, t)})"


@flow_step(FLOW, takes={"member", "several", "toggle", "together"})
async def member_chosen(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    assert pressed is not None
    if pressed.action in ("several", "toggle"):
        return await _pick_several(update, context, step)
    if pressed.action == "together":
        chosen = await _members(context, visitor, flow.draft.get("together", []))
        if not chosen:
            await reply(update, visitor.t("Please tick at least one name."))
            return await _pick_several(update, context, step)
    else:
        member = await _member(context, visitor, pressed.argument)
        if member is None:
            await wrong_button(update, context)
            return None
        chosen = [member]
    flow.draft["member_id"] = chosen[0].id
    flow.draft["together"] = [m.id for m in chosen[1:]]
    preset = _iso_date(flow.draft.get("preset_date"))
    today = _today(context)
    if preset is not None and all(date_problem(preset, today, m) is None for m in chosen):
        flow.draft["session_date"] = preset.isoformat()
        await _ask_photo(update, visitor.t, flow)
        return PHOTO
    await _ask_day(update, context, visitor, flow, chosen)
    return DAY


async def _pick_several(update: Update, context: SapaContext, step: Step) -> StepResult:
    """Tick the members who went together: each tap ticks or unticks one name."""
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    t = visitor.t
    assert visitor.household is not None
    async with context.services.store.quick_read() as repo:  # one statement, by key
        members = await repo.households.members(visitor.household.id)
    offered = members_to_offer(members, _today(context))
    ticked = {int(i) for i in flow.draft.get("together", [])}
    if pressed is not None and pressed.action == "toggle":
        member = next((m for m in offered if str(m.id) == pressed.argument), None)
        if member is None:
            await wrong_button(update, context)
            return None
        ticked ^= {member.id}
    flow.draft["together"] = [m.id for m in offered if m.id in ticked]
    rows = [
        [button(("☑️ " if m.id in ticked else "⬜ ") + _member_name(m, t), flow, "toggle", m.id)]
        for m in offered
    ]
    rows.append([button(t("Next ({count} chosen)").format(count=len(ticked)), flow, "together")])
    markup = InlineKeyboardMarkup([*rows, _cancel_row(t, flow)])
    query = update.callback_query
    if pressed is not None and pressed.action == "toggle" and query is not None:
        with contextlib.suppress(BadRequest):  # the same message, its ticks updated
            await query.edit_message_reply_markup(reply_markup=markup)
            return None
    await reply(update, t("Tick everyone who went together, then press Next."), markup)
    return None


async def _ask_day(
    update: Update, context: SapaContext, visitor: Visitor, flow: Flow, members: list[Member]
) -> None:
    t = visitor.t
    today = _today(context)
    dates = allowed_dates(today)
    rows = [
        [button(t("Today"), flow, "day", dates[0].isoformat())],
        [button(t("Yesterday"), flow, "day", dates[1].isoformat())],
    ]
    earlier = [
        button(format_date(day, "EEE d/M", locale=t.babel_locale), flow, "day", day.isoformat())
        for day in dates[2:]
    ]
    rows += [earlier[i : i + 3] for i in range(0, len(earlier), 3)]
    await reply(
        update,
        t(
            "When did {name} go to the posyandu? Choose a day, or type the date "
            "(for example {example})."
        ).format(name=escape(_names(members, t)), example=f"{dates[3]:%d/%m/%Y}"),
        InlineKeyboardMarkup([*rows, _cancel_row(t, flow)]),
    )


@flow_step(FLOW, takes={"day"})
async def day_chosen(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    t = visitor.t
    today = _today(context)
    if pressed is not None:
        day = _iso_date(pressed.argument)
        if day is None:
            await wrong_button(update, context)
            return None
    else:
        assert update.effective_message is not None
        day = parse_typed_date((update.effective_message.text or "")[:40], today)
        if day is None:
            await reply(
                update,
                t(
                    "I could not read that date. Please write it like {example}, or choose a "
                    "button."
                ).format(example=f"{today:%d/%m/%Y}"),
            )
            return DAY
    chosen = await _chosen(context, visitor, flow)
    if not chosen:
        return await cancelled(update, context, visitor)
    for member in chosen:
        problem = date_problem(day, today, member)
        if problem is not None:
            await reply(update, _date_problem_text(t, problem, member))
            return DAY
    flow.draft["session_date"] = day.isoformat()
    await _ask_photo(update, t, flow)
    return PHOTO


async def _ask_photo(update: Update, t: Translator, flow: Flow) -> None:
    await reply(
        update,
        t(
            "Do you have a photo of the stamped KMS card or buku KIA page? Send it now as proof. "
            "No photo? Press Skip."
        ),
        InlineKeyboardMarkup([[button(t("Skip"), flow, "skip")], _cancel_row(t, flow)]),
    )


def _date_problem_text(t: Translator, problem: DateProblem, member: Member) -> str:
    if problem is DateProblem.FUTURE:
        return t("That date is in the future. Please report a visit that already happened.")
    if problem is DateProblem.TOO_OLD:
        return t(
            "Visits can be reported up to 14 days later. For an older visit, please talk to "
            "your companion."
        )
    return t("{name} was not yet born on that date. Please choose another date.").format(
        name=escape(member.name)
    )


@flow_step(FLOW, takes={"skip"})
async def photo_given(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    if step.pressed is not None:
        flow.draft["proof_file_id"] = None
    else:
        flow.draft["proof_file_id"] = picture_of(update)
    return await _show_summary(update, context, visitor, flow)


async def _show_summary(
    update: Update, context: SapaContext, visitor: Visitor, flow: Flow
) -> str | int:
    assert visitor.household is not None
    t = visitor.t
    posyandu_id = flow.draft.setdefault("posyandu_id", visitor.household.posyandu_id)
    day = date.fromisoformat(flow.draft["session_date"])
    posyandu, held = await visit_place(context.services.store, posyandu_id, day)
    chosen = await _chosen(context, visitor, flow)
    if not chosen or posyandu is None:
        return await cancelled(update, context, visitor)
    proof = t("yes") if flow.draft.get("proof_file_id") else t("no")
    lines = [
        t("Please check your report:"),
        *for_household_line(visitor, flow),
        t("Member: {name}").format(name=escape(_names(chosen, t))),
        t("Date: {date}").format(date=t.long_date(day)),
        t("Posyandu: {name}").format(name=escape(posyandu.name)),
        t("Proof photo: {answer}").format(answer=proof),
    ]
    if not held.held:
        lines.append(_off_day_warning(t, posyandu.name, held.last_before))
    text = "\n".join(lines)
    await reply(
        update,
        text,
        InlineKeyboardMarkup(
            [
                [button(t("✅ Save"), flow, "save")],
                [button(t("Change posyandu"), flow, "posyandu")],
                _cancel_row(t, flow),
            ]
        ),
    )
    return CONFIRM


@flow_step(FLOW, takes={"posyandu", "pick", "save"})
async def confirm_pressed(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    assert pressed is not None
    if pressed.action == "posyandu":
        return await _offer_posyandu(update, context, visitor, flow)
    if pressed.action == "pick" and pressed.argument and pressed.argument.isdigit():
        return await _posyandu_picked(update, context, visitor, flow, int(pressed.argument))
    if pressed.action == "save":
        return await _save(update, context, visitor, flow)
    await wrong_button(update, context)
    return None


async def _offer_posyandu(
    update: Update, context: SapaContext, visitor: Visitor, flow: Flow
) -> str:
    assert visitor.household is not None
    t = visitor.t
    places = await _places(context, visitor, flow)
    rows = [[button(p.name, flow, "pick", p.id)] for p in places]
    await reply(
        update, t("Which posyandu was it?"), InlineKeyboardMarkup([*rows, _cancel_row(t, flow)])
    )
    return CONFIRM


async def _posyandu_picked(
    update: Update, context: SapaContext, visitor: Visitor, flow: Flow, posyandu_id: int
) -> str | int | None:
    assert visitor.household is not None
    places = await _places(context, visitor, flow)
    posyandu = next((place for place in places if place.id == posyandu_id), None)
    if posyandu is None:
        await wrong_button(update, context)
        return None
    flow.draft["posyandu_id"] = posyandu.id
    return await _show_summary(update, context, visitor, flow)


async def _places(context: SapaContext, visitor: Visitor, flow: Flow) -> list[Posyandu]:
    """The posyandu the visit may have been at: the household's kecamatan's (for a health
    worker reporting for a household, those she serves)."""
    assert visitor.household is not None
    store = context.services.store
    if FOR_HOUSEHOLD in flow.draft and visitor.person is not None:
        return await posyandu_choices(store, visitor.person, visitor.household)
    async with store.quick_read() as repo:
        return await repo.geography.posyandu_in_kecamatan(visitor.household.kecamatan_id)


async def _save(update: Update, context: SapaContext, visitor: Visitor, flow: Flow) -> int:
    assert visitor.household is not None and visitor.person is not None
    t = visitor.t
    draft = AttendanceDraft(
        member_id=int(flow.draft["member_id"]),
        session_date=date.fromisoformat(flow.draft["session_date"]),
        posyandu_id=int(flow.draft["posyandu_id"]),
        proof_file_id=flow.draft.get("proof_file_id"),
        together_with=tuple(int(i) for i in flow.draft.get("together", [])),
    )
    services = context.services
    if FOR_HOUSEHOLD in flow.draft:
        return await _save_for_household(update, context, visitor, draft)
    result = await report_attendance(
        services.store,
        visitor.person,
        visitor.household,
        draft,
        now=services.clock(),
        today=_today(context),
    )
    end_flow(context.user_data or {})
    outcome = result.outcome
    if len({o for _, o in result.members}) > 1:  # together, but not all alike
        text = "\n".join(
            [t("Thank you! Your report is saved:")]
            + [f"• {escape(m.name)}: {t(OUTCOME_WORDS[o])}" for m, o in result.members]
        )
    elif outcome is ReportOutcome.SAVED:
        text = t("Thank you! Your report is saved and waits for your companion's verification.")
    elif outcome is ReportOutcome.CROSS_CHECKED:
        text = t(
            "Thank you! Your report is saved. The posyandu had already confirmed this visit, "
            "so it is recorded and there is nothing more to do."
        )
    elif outcome is ReportOutcome.ALREADY_RECORDED:
        text = t("This visit was already recorded, so there is nothing more to do. Thank you!")
    else:
        text = t("Sorry, this report could not be saved. Please start again with /hadir.")
    await reply(update, text, menu_keyboard(t))
    return END


async def _save_for_household(
    update: Update, context: SapaContext, visitor: Visitor, draft: AttendanceDraft
) -> int:
    """Save a visit a staff member reported for the household, and say what it counts as."""
    assert visitor.household is not None and visitor.person is not None
    t, person = visitor.t, visitor.person
    services = context.services
    result = await report_for_household(
        services.store,
        person,
        visitor.household.id,
        draft,
        now=services.clock(),
        today=_today(context),
    )
    end_flow(context.user_data or {})
    number = escape(visitor.household.program_number)
    outcome = result.outcome
    if outcome is ReportOutcome.NOT_ALLOWED:
        text = t(
            "Sorry, this report could not be saved. Please start again with /hadiruntuk {number}."
        ).format(number=number)
    elif outcome is ReportOutcome.ALREADY_RECORDED:
        text = t(
            "This visit was already recorded for household {number}, so there is nothing more "
            "to do."
        ).format(number=number)
    elif person.role is Role.HEALTH_WORKER:
        text = t(
            "Saved for household {number}: the visit is recorded as confirmed by you. The "
            "household is told if it uses Telegram."
        ).format(number=number)
    elif outcome is ReportOutcome.CROSS_CHECKED:
        text = t(
            "Saved for household {number}. The posyandu had already confirmed this visit, so it "
            "is cross-checked. The household is told if it uses Telegram."
        ).format(number=number)
    else:
        text = t(
            "Saved for household {number}, reported by you. It counts like the household's own "
            "report: a health worker's confirmation or the coordinator's verification settles "
            "it, not you. The household is told if it uses Telegram."
        ).format(number=number)
    if len({o for _, o in result.members}) > 1:  # together, but not all alike
        text += "\n" + "\n".join(
            f"• {escape(m.name)}: {t(STAFF_OUTCOME_WORDS[o])}" for m, o in result.members
        )
    await reply(update, text)
    return END


async def _member(context: SapaContext, visitor: Visitor, argument: str | None) -> Member | None:
    """The member named by button data, only when the posyandu follows them in the visitor's
    household."""
    found = await _members(context, visitor, [argument])
    return found[0] if found else None


async def _members(context: SapaContext, visitor: Visitor, ids: list[Any]) -> list[Member]:
    """These members of the visitor's household that the posyandu follows, in the given order."""
    if visitor.household is None:
        return []
    async with context.services.store.quick_read() as repo:  # one statement, by key
        members = await repo.households.members(visitor.household.id)
    offered = {m.id: m for m in members_to_offer(members, _today(context))}
    wanted = [int(i) for i in ids if str(i).isdigit()]
    return [offered[i] for i in dict.fromkeys(wanted) if i in offered]


async def _chosen(context: SapaContext, visitor: Visitor, flow: Flow) -> list[Member]:
    """The members of the report being made (one, or several who went together)."""
    ids = [flow.draft.get("member_id"), *flow.draft.get("together", [])]
    return await _members(context, visitor, ids)


def _names(members: list[Member], t: Translator) -> str:
    """ "Neneng", "Neneng dan Aditya", "Neneng, Aditya dan Rina"."""
    names = [m.name for m in members]
    if len(names) < 2:
        return "".join(names)
    return t("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])


def _off_day_warning(t: Translator, posyandu: str, last_before: date | None) -> str:
    warning = t(
        "⚠️ {posyandu} had no session on that day. The report is kept, but it counts only "
        "when the midwife or kader confirms it."
    ).format(posyandu=escape(posyandu))
    if last_before is not None:
        warning += " " + t("Its last session before it was on {date}.").format(
            date=t.long_date(last_before)
        )
    return warning


STAFF_OUTCOME_WORDS = {
    ReportOutcome.SAVED: N_("saved"),
    ReportOutcome.CROSS_CHECKED: N_("saved, cross-checked"),
    ReportOutcome.ALREADY_RECORDED: N_("already recorded before"),
    ReportOutcome.NOT_ALLOWED: N_("could not be saved"),
}

OUTCOME_WORDS = {
    ReportOutcome.SAVED: N_("saved, waits for your companion's verification"),
    ReportOutcome.CROSS_CHECKED: N_("saved, already confirmed by the posyandu"),
    ReportOutcome.ALREADY_RECORDED: N_("already recorded before"),
    ReportOutcome.NOT_ALLOWED: N_("could not be saved"),
}


def _iso_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None
