"""The household's data rights: `/datasaya` (what the programme holds), `/hapusdata` (ask for
its chat data to be erased), and the coordinator's Approve / Reject buttons on such a request.

Like every household command they need a linked, active household; a household that left the
programme goes through its companion or the kecamatan office (and `/putus` still unlinks).
"""

from __future__ import annotations

import logging
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.domain.buttons import ErasureDecision, decode, encode
from bot.domain.models import Member, MemberKind, RejectReason, Role
from bot.services.data_rights import (
    COMPLAINT_LIMIT,
    REPORT_LIMIT,
    SCHOOL_MONTH_LIMIT,
    Decision,
    DecisionOutcome,
    HouseholdData,
    HouseholdNotice,
    RequestOutcome,
    approve,
    erasure_preview,
    household_data,
    reject,
    request_erasure,
    review,
)
from bot.texts.i18n import Translator
from bot.texts.labels import (
    REJECT_REASON_LABELS,
    category_label,
    member_kind_label,
    report_status_label,
    status_label,
)
from bot.texts.notices import render_notice
from handlers.common import (
    END,
    Visitor,
    home_markup,
    linked_household,
    refuse,
    reply,
    take_button,
    visit,
)
from handlers.flow import button, end_flow, start_flow
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "hps"
CONFIRM = "hps_confirm"
REVIEWERS = (Role.COORDINATOR, Role.ADMIN)

log = logging.getLogger(__name__)


# /datasaya


async def my_data_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    data = await household_data(context.services.store, visitor.household)
    if data is None:
        return END
    text = render_household_data(data, visitor.t, context)
    await reply(update, text, home_markup(visitor))
    return END


def render_household_data(data: HouseholdData, t: Translator, context: SapaContext) -> str:
    settings = context.services.settings
    household, place = data.household, data.place
    profile = [
        _title(t("What the programme holds about your household")),
        t("Programme number: {number}").format(number=escape(household.program_number)),
        t("Head of household: {name}").format(name=escape(household.head_name)),
        t("NIK (masked): {nik}").format(nik=escape(household.nik_masked)),
        t("Desa {desa}, kecamatan {kecamatan}").format(
            desa=escape(place.desa), kecamatan=escape(place.kecamatan)
        ),
        t("Posyandu: {posyandu}").format(posyandu=escape(place.posyandu)),
        t("Companion: {name}").format(name=escape(place.companion))
        if place.companion
        else t("Companion: not assigned yet"),
    ]
    members = [_title(t("Members")), *(_member_line(m, t) for m in data.members)]
    reports = [_title(t("Posyandu reports (latest {limit})").format(limit=REPORT_LIMIT))]
    reports += [
        t("• {member}, {date}: {status}").format(
            member=escape(r.member),
            date=t.long_date(r.session_date),
            status=report_status_label(r.status, t),
        )
        for r in data.reports
    ] or [t("No posyandu reports yet.")]
    if data.older_reports:
        reports.append(t("…and {count} older reports.").format(count=data.older_reports))
    complaints = [_title(t("Complaints (latest {limit})").format(limit=COMPLAINT_LIMIT))]
    complaints += [
        t("• {ticket}: {category}, {status}, sent on {date}").format(
            ticket=c.ticket_code,
            category=category_label(c.category, t),
            status=status_label(c.status, t),
            date=t.long_date(c.created_at.astimezone(settings.zone).date()),
        )
        for c in data.complaints
    ] or [t("No complaints.")]
    if data.older_complaints:
        complaints.append(t("…and {count} older complaints.").format(count=data.older_complaints))
    school = _school_months(data, t)
    accounts = [
        _title(t("Telegram accounts")),
        t("Linked to the household: {count}, this account included.").format(count=data.accounts),
    ]
    if data.pending_request is not None:
        requested = data.pending_request.requested_at.astimezone(settings.zone).date()
        accounts.append(
            t(
                "Your request to erase the chat data is waiting for the kecamatan "
                "coordinator (sent on {date})."
            ).format(date=t.long_date(requested))
        )
    keeping = t(
        "What the bot keeps: the programme record (household, members, reports, complaints) "
        "while the programme runs; proof photos, the texts of closed complaints and failed link "
        "attempts for {months} months, then they are erased. If something is wrong, please ask "
        "your companion to correct it. /hapusdata asks to erase the chat data."
    ).format(months=settings.retention_months)
    return "\n\n".join(
        "\n".join(block)
        for block in (profile, members, reports, school, complaints, accounts, [keeping])
        if block
    )


def _school_months(data: HouseholdData, t: Translator) -> list[str]:
    """The school children's months at school; nothing for a household without school child."""
    if not data.school_months and all(m.kind is not MemberKind.SCHOOL_CHILD for m in data.members):
        return []
    lines = [_title(t("School attendance (latest {limit})").format(limit=SCHOOL_MONTH_LIMIT))]
    lines += [
        t("• {member}, {month}: present {present} of {days} school days").format(
            member=escape(s.member),
            month=t.month_year(s.month),
            present=s.days_present,
            days=s.days_school,
        )
        for s in data.school_months
    ] or [t("No school attendance received from the school yet.")]
    if data.older_school_months:
        lines.append(t("…and {count} older school months.").format(count=data.older_school_months))
    return lines


def _title(text: str) -> str:
    return f"<b>{text}</b>"


def _member_line(member: Member, t: Translator) -> str:
    name, kind = escape(member.name), member_kind_label(member.kind, t)
    if member.kind is MemberKind.PREGNANT and member.due_date is not None:
        return t("• {name}, {kind}, due on {date}").format(
            name=name, kind=kind, date=t.long_date(member.due_date)
        )
    if member.birth_date is not None:
        return t("• {name}, {kind}, born on {date}").format(
            name=name, kind=kind, date=t.long_date(member.birth_date)
        )
    return t("• {name}, {kind}").format(name=name, kind=kind)


# /hapusdata


async def erase_command(update: Update, context: SapaContext) -> str | int:
    end_flow(context.user_data or {})
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t, zone = visitor.t, context.services.settings.zone
    preview = await erasure_preview(context.services.store, visitor.household)
    if preview.pending_request is not None:
        requested = preview.pending_request.requested_at.astimezone(zone).date()
        await reply(update, _already_waiting(t, t.long_date(requested)), home_markup(visitor))
        return END
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    lines = [
        t(
            "You can ask the programme to erase what this chat collected about household {number}:"
        ).format(number=escape(visitor.household.program_number)),
        t(
            "• the Telegram link of the household ({count} accounts), the language chosen and "
            "whether the bot can reach you;"
        ).format(count=preview.accounts),
        t("• the photos sent as proof of posyandu visits;"),
        t("• the texts and photos of complaints that are resolved or closed."),
        "",
        t("Complaints still being handled are not erased (open now: {count}).").format(
            count=preview.open_complaints
        ),
        t(
            "The programme record stays: the household, its members, the visit reports and the "
            "complaint codes. It is a public programme and must stay auditable."
        ),
        t(
            "The kecamatan coordinator reviews the request. Once it is done, this Telegram is no "
            "longer linked to the household."
        ),
        "",
        t("Send the request?"),
    ]
    buttons = InlineKeyboardMarkup(
        [[button(t("Yes, send the request"), flow, "send")], [button(t("Cancel"), flow, "cancel")]]
    )
    await reply(update, "\n".join(lines), buttons)
    return CONFIRM


def _already_waiting(t: Translator, date: str) -> str:
    return t(
        "Your request is already waiting for the kecamatan coordinator (sent on {date}). You "
        "will get a message when it is decided."
    ).format(date=date)


@flow_step(FLOW, takes={"send"})
async def confirm_pressed(update: Update, context: SapaContext, step: Step) -> StepResult:
    visitor = step.visitor
    assert visitor.person is not None and visitor.household is not None
    end_flow(context.user_data or {})
    services, t = context.services, visitor.t
    outcome, request = await request_erasure(
        services.store,
        visitor.person,
        visitor.household,
        now=services.clock(),
        zone=services.settings.zone,
    )
    if outcome is RequestOutcome.ALREADY_WAITING:
        requested = request.requested_at.astimezone(services.settings.zone).date()
        await reply(update, _already_waiting(t, t.long_date(requested)), home_markup(visitor))
        return END
    await reply(
        update,
        t(
            "Your request was sent to the kecamatan coordinator. You will get a message when it "
            "is decided."
        ),
        home_markup(visitor),
    )
    return END


# The reviewer's buttons


async def decision_pressed(update: Update, context: SapaContext) -> int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    await take_button(update)
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if not isinstance(pressed, ErasureDecision):
        return await _old_button(update, visitor)
    request_id, action = pressed.request_id, pressed.decision
    if person is None or person.role not in REVIEWERS:
        await refuse(update, t, "data_request", person, request=request_id)
        return END
    services = context.services
    if action == "approve":
        decision = await approve(services.store, person, request_id, now=services.clock())
    elif action in ("reject", "back"):
        decision = await review(services.store, person, request_id)
    else:
        decision = await reject(
            services.store, person, request_id, RejectReason(action), now=services.clock()
        )
    if decision.outcome is DecisionOutcome.NOT_ALLOWED:
        await refuse(update, t, "data_request", person, request=request_id)
        return END
    if decision.outcome is DecisionOutcome.NOT_PENDING:
        return await _old_button(update, visitor)
    number = escape(decision.program_number)
    if action == "approve":
        await reply(update, _approved(decision, t))
        if decision.notice is not None:
            await _tell_household(context, decision.notice, request_id)
    elif action == "reject":
        reasons = [
            [InlineKeyboardButton(t(label), callback_data=_decision(request_id, reason.value))]
            for reason, label in REJECT_REASON_LABELS.items()
        ]
        back = [InlineKeyboardButton(t("Back"), callback_data=_decision(request_id, "back"))]
        await reply(
            update,
            t(
                "Why is the request of household {number} rejected? The household will read "
                "the reason."
            ).format(number=number),
            InlineKeyboardMarkup([*reasons, back]),
        )
    elif action == "back":
        await reply(
            update,
            t("Request of household {number}: approve or reject?").format(number=number),
            InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            t("Approve and erase"), callback_data=_decision(request_id, "approve")
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            t("Reject"), callback_data=_decision(request_id, "reject")
                        )
                    ],
                ]
            ),
        )
    else:
        await reply(
            update,
            t("The request of household {number} is rejected. The household is told why.").format(
                number=number
            ),
        )
    return END


async def _tell_household(context: SapaContext, notice: HouseholdNotice, request_id: int) -> None:
    """Tell the person who asked that it is done, in the language they had chosen. A failure
    (they blocked the bot) is logged, never retried: the erasure itself is done and recorded."""
    t = context.services.translations.for_language(notice.language)
    text = render_notice(notice.template_key, notice.params, t).text
    try:
        await context.bot.send_message(notice.telegram_user_id, text)
    except TelegramError as error:
        log.warning(
            "data_request_notice_failed request=%s error=%s", request_id, type(error).__name__
        )


def _approved(decision: Decision, t: Translator) -> str:
    erased = decision.erased
    assert erased is not None
    return t(
        "Done: the chat data of household {number} is erased. Telegram accounts unlinked: "
        "{accounts}. Proof photos erased: {photos}. Closed complaints erased: {complaints}. Open "
        "complaints kept: {open}. The household is told."
    ).format(
        number=escape(decision.program_number),
        accounts=erased.accounts,
        photos=erased.proof_photos,
        complaints=erased.complaints,
        open=decision.open_complaints,
    )


async def _old_button(update: Update, visitor: Visitor) -> int:
    await reply(
        update,
        visitor.t("That button is no longer active. Please start again from the menu."),
        home_markup(visitor),
    )
    return END


def _decision(request_id: int, decision: str) -> str:
    return encode(ErasureDecision(request_id, decision))  # type: ignore[arg-type]
