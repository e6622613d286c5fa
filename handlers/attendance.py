"""Reporting a posyandu visit: member, date, optional proof photo, summary, save."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import TYPE_CHECKING

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.models import Member
from bot.services.attendance import (
    AttendanceDraft,
    DateProblem,
    ReportOutcome,
    allowed_dates,
    date_problem,
    members_to_offer,
    parse_typed_date,
    report_attendance,
)
from bot.texts.i18n import Translator
from bot.texts.labels import member_kind_label
from handlers.common import (
    END,
    Visitor,
    cancelled,
    linked_household,
    picture_of,
    reply,
    wrong_button,
)
from handlers.flow import Flow, button, end_flow, start_flow
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
    update: Update, context: SapaContext, *, session: tuple[int, date] | None = None
) -> str | int:
    """Start a report; `session` (posyandu id, day) comes from the missed-session question."""
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t = visitor.t
    async with context.services.store.read() as repo:
        members = await repo.households.members(visitor.household.id)
    if not members:
        await reply(
            update,
            t(
                "Your household has no members on record yet. Please ask your companion to "
                "update the data."
            ),
        )
        return END
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    if session is not None:
        flow.draft["posyandu_id"], day = session
        flow.draft["preset_date"] = day.isoformat()
    rows = [
        [button(f"{m.name} ({member_kind_label(m.kind, t)})", flow, "member", m.id)]
        for m in members_to_offer(members, _today(context))
    ]
    await reply(
        update,
        t("Who went to the posyandu? Choose one."),
        InlineKeyboardMarkup([*rows, _cancel_row(t, flow)]),
    )
    return MEMBER


@flow_step(FLOW, takes={"member"})
async def member_chosen(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    assert pressed is not None
    member = await _member(context, visitor, pressed.argument)
    if member is None:
        await wrong_button(update, context)
        return None
    flow.draft["member_id"] = member.id
    preset = _iso_date(flow.draft.get("preset_date"))
    if preset is not None and date_problem(preset, _today(context), member) is None:
        flow.draft["session_date"] = preset.isoformat()
        await _ask_photo(update, visitor.t, flow)
        return PHOTO
    await _ask_day(update, context, visitor, flow, member)
    return DAY


async def _ask_day(
    update: Update, context: SapaContext, visitor: Visitor, flow: Flow, member: Member
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
        ).format(name=escape(member.name), example=f"{dates[3]:%d/%m/%Y}"),
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
    member = await _member(context, visitor, str(flow.draft.get("member_id")))
    if member is None:
        return await cancelled(update, context, visitor)
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
    async with context.services.store.read() as repo:
        posyandu_id = flow.draft.setdefault("posyandu_id", visitor.household.posyandu_id)
        posyandu = await repo.geography.posyandu_by_id(posyandu_id)
    member = await _member(context, visitor, str(flow.draft.get("member_id")))
    if member is None or posyandu is None:
        return await cancelled(update, context, visitor)
    day = date.fromisoformat(flow.draft["session_date"])
    proof = t("yes") if flow.draft.get("proof_file_id") else t("no")
    text = "\n".join(
        [
            t("Please check your report:"),
            t("Member: {name}").format(name=escape(member.name)),
            t("Date: {date}").format(date=t.long_date(day)),
            t("Posyandu: {name}").format(name=escape(posyandu.name)),
            t("Proof photo: {answer}").format(answer=proof),
        ]
    )
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
    async with context.services.store.read() as repo:
        places = await repo.geography.posyandu_in_kecamatan(visitor.household.kecamatan_id)
    rows = [[button(p.name, flow, "pick", p.id)] for p in places]
    await reply(
        update, t("Which posyandu was it?"), InlineKeyboardMarkup([*rows, _cancel_row(t, flow)])
    )
    return CONFIRM


async def _posyandu_picked(
    update: Update, context: SapaContext, visitor: Visitor, flow: Flow, posyandu_id: int
) -> str | int | None:
    assert visitor.household is not None
    async with context.services.store.read() as repo:
        posyandu = await repo.geography.posyandu_by_id(posyandu_id)
    if posyandu is None or posyandu.kecamatan_id != visitor.household.kecamatan_id:
        await wrong_button(update, context)
        return None
    flow.draft["posyandu_id"] = posyandu.id
    return await _show_summary(update, context, visitor, flow)


async def _save(update: Update, context: SapaContext, visitor: Visitor, flow: Flow) -> int:
    assert visitor.household is not None and visitor.person is not None
    t = visitor.t
    draft = AttendanceDraft(
        member_id=int(flow.draft["member_id"]),
        session_date=date.fromisoformat(flow.draft["session_date"]),
        posyandu_id=int(flow.draft["posyandu_id"]),
        proof_file_id=flow.draft.get("proof_file_id"),
    )
    services = context.services
    outcome, _report = await report_attendance(
        services.store,
        visitor.person,
        visitor.household,
        draft,
        now=services.clock(),
        today=_today(context),
    )
    end_flow(context.user_data or {})
    if outcome is ReportOutcome.SAVED:
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


async def _member(context: SapaContext, visitor: Visitor, argument: str | None) -> Member | None:
    """The member named by button data, only when they belong to the visitor's household."""
    if visitor.household is None or argument is None or not argument.isdigit():
        return None
    async with context.services.store.read() as repo:
        members = await repo.households.members(visitor.household.id)
    return next((m for m in members if m.id == int(argument)), None)


def _iso_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None
