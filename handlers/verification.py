"""/verifikasi: the companion's verification queue, with the proof photo and two buttons."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.buttons import Verification, decode, encode
from bot.domain.models import Role
from bot.services.verification import (
    MAX_REASON,
    Decision,
    decide,
    households_in_scope,
    off_session_reports,
)
from handlers.common import (
    END,
    Visitor,
    refuse,
    reply,
    send_with_picture,
    stale_button,
    take_button,
    too_long,
    visit,
)
from handlers.flow import end_flow, start_flow
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext
    from bot.texts.i18n import Translator
    from storage.attendance import ReportLine

FLOW = "rej"
REASON = "rej_reason"
QUEUE_PAGE = 5
VERIFIERS = (Role.COMPANION, Role.COORDINATOR)


async def _not_allowed(update: Update, visitor: Visitor) -> int:
    await refuse(update, visitor.t, "verify", visitor.person)
    return END


async def queue_command(update: Update, context: SapaContext) -> int:
    """/verifikasi, or the button on a new report's notice: the reports waiting for this staff."""
    end_flow(context.user_data or {})
    if update.callback_query is not None:
        await update.callback_query.answer()
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or person.role not in VERIFIERS:
        return await _not_allowed(update, visitor)
    async with context.services.store.read() as repo:
        households = await households_in_scope(repo, person)
        waiting = await repo.verification.waiting(households, limit=100, not_assisted_by=person.id)
        off_day = await off_session_reports(repo, waiting[:QUEUE_PAGE])
        own = await repo.verification.waiting_assisted_by(person.id)
    if own:
        await reply(update, _own_reports(t, own))
    if not waiting:
        await reply(update, t("No reports are waiting for verification."))
        return END
    await reply(update, t("Reports waiting for verification: {count}").format(count=len(waiting)))
    assert update.effective_chat is not None
    for report in waiting[:QUEUE_PAGE]:
        text = "\n".join(
            [
                f"<b>{escape(report.program_number)}</b> · {escape(report.member)}",
                t("Date: {date}").format(date=t.long_date(report.session_date)),
                t("Posyandu: {name}").format(name=escape(report.posyandu)),
                t("Proof photo: {answer}").format(
                    answer=t("yes") if report.proof_file_id else t("no")
                ),
                *_reported_for_household(report, t),
                *_health_worker_says(report, t),
                *([_off_day_warning(t)] if report.id in off_day else []),
            ]
        )
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        t("✅ Verify"), callback_data=encode(Verification(report.id, "ok"))
                    ),
                    InlineKeyboardButton(
                        t("❌ Reject"), callback_data=encode(Verification(report.id, "no"))
                    ),
                ]
            ]
        )
        if report.proof_file_id:
            await send_with_picture(update, report.proof_file_id, text, buttons, t)
        else:
            await reply(update, text, buttons)
    return END


def _off_day_warning(t: Translator) -> str:
    return t(
        "⚠️ The posyandu held no session that day: it counts only once a health worker confirms it."
    )


def _own_reports(t: Translator, count: int) -> str:
    return t(
        "Reports you made for households yourself, still waiting: {count}. You do not verify "
        "them: a health worker's confirmation at the posyandu or the coordinator's verification "
        "settles them."
    ).format(count=count)


def _reported_for_household(report: ReportLine, t: Translator) -> list[str]:
    """Who reported it for the household, when staff did (/hadiruntuk)."""
    if report.assisted_role is None:
        return []
    name = escape(report.assisted_name or "?")
    if report.assisted_role is Role.HEALTH_WORKER:
        return [t("Reported for the household by health worker {name}").format(name=name)]
    return [t("Reported for the household by companion {name}").format(name=name)]


def _health_worker_says(report: ReportLine, t: Translator) -> list[str]:
    """What a health worker said of the report at the posyandu session, if anything."""
    if report.disputed:
        return [t("⚠️ Disputed: did not come, says the health worker")]
    if report.not_confirmed:
        return [t("⚠️ Not confirmed by the health worker")]
    return []


async def decision_pressed(update: Update, context: SapaContext) -> str | int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, Verification):
        return await stale_button(update, context)
    await take_button(update)
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or person.role not in VERIFIERS:
        return await _not_allowed(update, visitor)
    report_id = pressed.report_id
    services = context.services
    if pressed.decision == "ok":
        outcome, report = await decide(
            services.store, person, report_id, True, now=services.clock()
        )
        if outcome is Decision.DONE and report is not None:
            await reply(
                update,
                t("Verified: {member}, {date}.").format(
                    member=escape(report.member), date=t.long_date(report.session_date)
                ),
            )
            return END
        return await _decided_or_refused(update, visitor, outcome)
    async with services.store.read() as repo:
        report = await repo.verification.get(report_id)
        in_scope = report is not None and report.household_id in await households_in_scope(
            repo, person
        )
    if not in_scope:
        return await _not_allowed(update, visitor)
    if report is not None and report.assisted_by == person.id:
        return await _decided_or_refused(update, visitor, Decision.OWN_REPORT)
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    flow.draft["report_id"] = report_id
    await reply(
        update,
        t(
            "Why is this report rejected? Write the reason; the household will read "
            "it. Or send /batal."
        ),
    )
    return REASON


@flow_step(FLOW, staff=True)
async def reason_given(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    assert update.effective_message is not None and visitor.person is not None
    t = visitor.t
    reason = (update.effective_message.text or "").strip()
    if sum(c.isalnum() for c in reason) < 3:
        await reply(update, t("A reason is needed, in words, so that the household understands."))
        return REASON
    if len(reason) > MAX_REASON:
        await too_long(update, t, MAX_REASON)
        return REASON
    services = context.services
    outcome, report = await decide(
        services.store,
        visitor.person,
        int(flow.draft["report_id"]),
        False,
        now=services.clock(),
        reason=reason,
    )
    end_flow(context.user_data or {})
    if outcome is Decision.DONE and report is not None:
        await reply(
            update,
            t("Rejected: {member}, {date}. The household will be told why.").format(
                member=escape(report.member), date=t.long_date(report.session_date)
            ),
        )
        return END
    return await _decided_or_refused(update, visitor, outcome)


async def _decided_or_refused(update: Update, visitor: Visitor, outcome: Decision) -> int:
    if outcome is Decision.ALREADY_DECIDED:
        await reply(update, visitor.t("This report was already decided."))
        return END
    if outcome is Decision.OWN_REPORT:
        await reply(
            update,
            visitor.t(
                "You reported this visit for the household yourself, so you do not verify it: "
                "a health worker's confirmation at the posyandu or the coordinator's "
                "verification settles it."
            ),
        )
        return END
    return await _not_allowed(update, visitor)
