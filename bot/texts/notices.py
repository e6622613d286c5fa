"""Outbox messages: each template key names a message that is rendered in the recipient's language
when it is sent (so a user who switches language later still reads it in the new one).

Parameters are plain JSON values; `render` turns dates, amounts, categories and statuses into
words, and adds the buttons some messages carry.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from bot.domain.buttons import (
    CompanionAction,
    ComplaintAnswer,
    ComplaintSolved,
    ErasureDecision,
    MissedSession,
    OpenConfirmations,
    OpenVerifications,
    QueueListFile,
    encode,
)
from bot.domain.digest import DigestContent
from bot.domain.models import (
    AttachmentKind,
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
    RejectReason,
)
from bot.domain.notices import PayoutSlotsReady, checked_params
from bot.texts.digest import render_digest
from bot.texts.i18n import N_, Translator
from bot.texts.labels import category_label, level_label, reject_reason_label, status_label
from bot.texts.notice import Notice

ATTENDANCE_REPORTED = "attendance.reported"
COMPLAINT_FILED = "complaint.filed"
COMPLAINT_STATUS = "complaint.status"
POSYANDU_EVE = "posyandu.eve"
POSYANDU_DAY = "posyandu.day"
POSYANDU_MISSED = "posyandu.missed"
POSYANDU_MOVED = "posyandu.moved"
POSYANDU_CANCELLED = "posyandu.cancelled"
PAYOUT_REMINDER = "payout.reminder"
PAYOUT_REMINDER_NO_SLOT = "payout.reminder.no_slot"
PAYOUT_TOMORROW = "payout.tomorrow"
PAYOUT_TOMORROW_NO_SLOT = "payout.tomorrow.no_slot"
PAYOUT_SLOTS_SHORT = "payout.slots_short"
PAYOUT_SLOTS_READY = "payout.slots_ready"
COMPANION_DIGEST = "digest.companion"
COMPLAINT_ESCALATED = "complaint.escalated"
COMPLAINT_LEVEL_UP = "complaint.level_up"
COMPLAINT_REPLY = "complaint.reply"
COMPLAINT_CONFIRM = "complaint.confirm"
COMPLAINT_REOPENED = "complaint.reopened"
COMPLAINT_ANSWERED = "complaint.answered"
COMPLAINT_COMPANION_UP = "complaint.companion_up"
COMPLAINT_COMPANION_RESOLVED = "complaint.companion_resolved"
ATTENDANCE_REJECTED = "attendance.rejected"
ATTENDANCE_VERIFIED = "attendance.verified"
HEALTH_WORKER_PROMPT = "posyandu.confirm_prompt"
ATTENDANCE_NOT_CONFIRMED = "attendance.not_confirmed"
BIRTH_RECORDED = "family.birth"
POSYANDU_NOT_OPEN = "posyandu.not_open"
PREGNANCY_RECORDED = "family.pregnancy"
DATA_REQUEST_ALERT = "datarequest.alert"
DATA_REQUEST_DONE = "datarequest.done"
DATA_REQUEST_DONE_OPEN = "datarequest.done_open"
DATA_REQUEST_REJECTED = "datarequest.rejected"
ATTENDANCE_BY_COMPANION = "attendance.by_companion"
ATTENDANCE_BY_HEALTH_WORKER = "attendance.by_health_worker"
COMPLAINT_BY_COMPANION = "complaint.by_companion"
COMPLAINT_BY_HEALTH_WORKER = "complaint.by_health_worker"

TEMPLATES: dict[str, str] = {
    ATTENDANCE_BY_COMPANION: N_(
        "Your companion {reporter} reported a posyandu visit for your household: {member}, "
        "{date}. If this is not right, please tell your companion."
    ),
    ATTENDANCE_BY_HEALTH_WORKER: N_(
        "The health worker {reporter} recorded a posyandu visit for your household: {member}, "
        "{date}. If this is not right, please tell your companion."
    ),
    COMPLAINT_BY_COMPANION: N_(
        "Your companion {reporter} filed a complaint for your household: ticket {ticket} "
        "({category}). You can follow it with “Complaint status”."
    ),
    COMPLAINT_BY_HEALTH_WORKER: N_(
        "The health worker {reporter} filed a complaint for your household: ticket {ticket} "
        "({category}). You can follow it with “Complaint status”."
    ),
    POSYANDU_NOT_OPEN: N_(
        "{count} households say {posyandu} did not open on {date}, a day it should have met. "
        "Please check with the posyandu and the midwife, and move the session (/sesi) if "
        "needed."
    ),
    BIRTH_RECORDED: N_(
        "Congratulations on the birth of {baby} ({date})! It is now in your household's data: "
        "{baby} will be reminded of the monthly weighing at the posyandu, and the mother of the "
        "check-ups in the 42 days after giving birth."
    ),
    PREGNANCY_RECORDED: N_(
        "{name} is now recorded as pregnant, expected to give birth around {date}. You will be "
        "reminded of the pregnancy check-ups at the posyandu. Please keep the buku KIA with you."
    ),
    ATTENDANCE_REPORTED: N_(
        "New posyandu report from household {program_number}: {member}, {date}. "
        "It waits for your verification."
    ),
    COMPLAINT_FILED: N_(
        "New complaint {ticket} from household {program_number} ({category}). "
        "Please answer by {deadline}."
    ),
    COMPLAINT_STATUS: N_("Your complaint {ticket} is now: {status}."),
    POSYANDU_EVE: N_(
        "Reminder: {posyandu} meets tomorrow, {date}, for {members}. "
        "Please bring the buku KIA / KMS card."
    ),
    POSYANDU_DAY: N_(
        "{posyandu} meets today, {date}, for {members}. Don't forget the buku KIA / KMS card."
    ),
    POSYANDU_MISSED: N_(
        "Did you go to the posyandu yesterday ({posyandu}, {date})? Please tell us, so that "
        "your visit is recorded."
    ),
    POSYANDU_MOVED: N_(
        "Schedule change: the session of {posyandu} on {old_date} moves to {new_date}."
    ),
    POSYANDU_CANCELLED: N_(
        "Schedule change: the session of {posyandu} on {old_date} is cancelled."
    ),
    PAYOUT_REMINDER: N_(
        "Payout in {days} days, on {date}, at {place}. Your queue time: {start}–{end} WIB. "
        "Amount: {amount}. Bring your KTP, KK and programme card."
    ),
    PAYOUT_REMINDER_NO_SLOT: N_(
        "Payout in {days} days, on {date}, at {place}, {start}–{end} WIB. Amount: {amount}. "
        "Your companion will tell you your queue time. Bring your KTP, KK and programme card."
    ),
    PAYOUT_TOMORROW: N_(
        "Payout tomorrow, {date}, at {place}. Your queue time: {start}–{end} WIB. "
        "Amount: {amount}. Bring your KTP, KK and programme card."
    ),
    PAYOUT_TOMORROW_NO_SLOT: N_(
        "Payout tomorrow, {date}, at {place}, {start}–{end} WIB. Amount: {amount}. "
        "Your companion will tell you your queue time. Bring your KTP, KK and programme card."
    ),
    COMPLAINT_ESCALATED: N_(
        "Complaint {ticket} from household {program_number} ({category}) was not resolved in "
        "time and is now yours. Please answer by {deadline}."
    ),
    COMPLAINT_LEVEL_UP: N_(
        "Your complaint {ticket} has been passed to the {level}, so that it gets an answer sooner."
    ),
    COMPLAINT_REPLY: N_("Answer to your complaint {ticket}:\n<i>{text}</i>"),
    COMPLAINT_CONFIRM: N_("Your complaint {ticket} was marked as resolved. Is the problem solved?"),
    COMPLAINT_REOPENED: N_(
        "Household {program_number} says complaint {ticket} is not solved. It is open again "
        "and must be answered by {deadline}."
    ),
    COMPLAINT_ANSWERED: N_(
        "Household {program_number} answered on complaint {ticket}: {what}. Press “Open the "
        "complaint” to see it."
    ),
    COMPLAINT_COMPANION_UP: N_(
        "Complaint {ticket} of household {program_number} was not resolved in time and is now "
        "handled by the {level}. You can still follow it in /keluhanmasuk."
    ),
    COMPLAINT_COMPANION_RESOLVED: N_(
        "Complaint {ticket} of household {program_number}, handled by the {level}, was marked "
        "resolved. The household is asked whether the problem is solved."
    ),
    ATTENDANCE_REJECTED: N_(
        "Your posyandu report for {member} on {date} was not accepted.\nReason: <i>{reason}</i>\n"
        "If this is a mistake, please contact your companion."
    ),
    ATTENDANCE_VERIFIED: N_(
        "Your posyandu report for {member} on {date} has been checked and accepted. Thank you!"
    ),
    HEALTH_WORKER_PROMPT: N_(
        "{posyandu} met today. Please confirm who came, so that the households' own reports can "
        "be matched with your record."
    ),
    ATTENDANCE_NOT_CONFIRMED: N_(
        "{health_worker} finished confirming who came to {posyandu} on {date}. Household "
        "reports not confirmed by the health worker: {count} ({members}). Please check them "
        "before you verify them."
    ),
    PAYOUT_SLOTS_SHORT: N_(
        "Payout round {round} in {kecamatan} on {date}: {households} households, but the queue "
        "slots hold only {capacity}. {unplaced} households have no queue time. Please make the "
        "window longer or add a day."
    ),
    PAYOUT_SLOTS_READY: N_(
        "Queue times are set for payout round {round} on {date} at {place}: {placed} of your "
        "{households} households have one. Send /antrean for the list, also as a file to print."
    ),
    DATA_REQUEST_ALERT: N_(
        "Household {program_number} asked on {date} to erase its Telegram link and chat data "
        "(personal data law, UU PDP). The programme record stays. Please approve or reject the "
        "request."
    ),
    DATA_REQUEST_DONE: N_(
        "Your request is done: the Telegram link and the chat data of household "
        "{program_number} were erased. The programme record stays. Send /start if you want to "
        "link this Telegram again."
    ),
    DATA_REQUEST_DONE_OPEN: N_(
        "Your request is done: the Telegram link and the chat data of household "
        "{program_number} were erased. The programme record stays. Complaints still being "
        "handled were kept: {open}. Send /start if you want to link this Telegram again."
    ),
    DATA_REQUEST_REJECTED: N_(
        "Your request to erase the chat data of household {program_number} was not approved. "
        "Reason: {refusal}. Please talk to your companion if you have questions."
    ),
}


def _shown(key: str, value: Any, t: Translator) -> Any:
    """A parameter as the reader sees it: labels for codes, dates and rupiah in her language,
    names and places from the registry escaped for the HTML message."""
    if isinstance(value, ComplaintCategory):
        return category_label(value, t)
    if isinstance(value, ComplaintStatus):
        return status_label(value, t)
    if isinstance(value, EscalationLevel):
        return level_label(value, t)
    if isinstance(value, RejectReason):
        return reject_reason_label(value, t)
    if isinstance(value, date):
        return t.long_date(value)
    if key == "amount":
        return t.rupiah(int(value))
    if key == "members":
        return ", ".join(escape(name) for name in value)
    return escape(value) if isinstance(value, str) else value


def render(template_key: str, params: dict[str, Any], t: Translator) -> str:
    """The message text for one outbox row, in the recipient's language."""
    return render_notice(template_key, params, t).text


def render_notice(template_key: str, params: dict[str, Any], t: Translator) -> Notice:
    if template_key == COMPANION_DIGEST:
        return render_digest(DigestContent.from_params(params), t)
    checked = checked_params(template_key, params)  # typed by bot.domain.notices
    raw = checked.model_dump(exclude={"expires_at", "first_due_at"}) if checked else params
    values = {key: _shown(key, value, t) for key, value in raw.items()}
    if template_key == COMPLAINT_ANSWERED:
        values["what"] = _answer_kind(raw.get("attachment"), bool(raw.get("has_text")), t)
    text = t(TEMPLATES[template_key]).format(**values)
    buttons: list[list[tuple[str, str]]] = []
    about = params.get("complaint_id")  # the complaint a button opens (old rows have none)
    if template_key == COMPLAINT_FILED and about is not None:
        buttons = [[(t("Open the complaint"), encode(CompanionAction(int(about), "view")))]]
    if template_key == COMPLAINT_REPLY and about is not None:
        buttons = [[(t("Reply"), encode(ComplaintAnswer(int(about))))]]
    if template_key == COMPLAINT_ANSWERED:
        complaint = int(params["complaint_id"])
        buttons = [
            [(t("Open the complaint"), encode(CompanionAction(complaint, "view")))],
            [(t("Reply to the household"), encode(CompanionAction(complaint, "reply")))],
        ]
    if template_key == COMPLAINT_ESCALATED:
        complaint = int(params["complaint_id"])
        buttons = [
            [(t("Take over"), encode(CompanionAction(complaint, "take")))],
            [(t("Reply to the household"), encode(CompanionAction(complaint, "reply")))],
            [(t("Mark resolved"), encode(CompanionAction(complaint, "resolve")))],
        ]
    if template_key == COMPLAINT_CONFIRM:
        complaint = int(params["complaint_id"])
        buttons = [
            [(t("Yes, it is solved"), encode(ComplaintSolved(complaint, "yes")))],
            [(t("No, not yet"), encode(ComplaintSolved(complaint, "no")))],
        ]
    if template_key in (ATTENDANCE_REPORTED, ATTENDANCE_NOT_CONFIRMED):
        buttons = [[(t("Open the verification list"), encode(OpenVerifications("open")))]]
    if template_key == HEALTH_WORKER_PROMPT:
        buttons = [[(t("Confirm attendance"), encode(OpenConfirmations("open")))]]
    if template_key == POSYANDU_MISSED:
        posyandu, day = int(params["posyandu_id"]), date.fromisoformat(params["date"])
        buttons = [
            [(t("Yes, report my visit"), encode(MissedSession(posyandu, day, "report")))],
            [(t("No, we did not go"), encode(MissedSession(posyandu, day, "absent")))],
        ]
    if isinstance(checked, PayoutSlotsReady) and checked.round_id is not None:
        return _slots_ready(checked, checked.round_id, t)
    if template_key == DATA_REQUEST_ALERT:
        request = int(params["request_id"])
        buttons = [
            [(t("Approve and erase"), encode(ErasureDecision(request, "approve")))],
            [(t("Reject"), encode(ErasureDecision(request, "reject")))],
        ]
    return Notice(text, buttons)


def _slots_ready(ready: PayoutSlotsReady, round_id: int, t: Translator) -> Notice:
    """To a companion, when a round's queue slots are set: her households with their times (as
    they were then), and a button for the same list as a file to print."""
    text = t(
        "Queue times are set for payout round {round} on {date} at {place}: {placed} of your "
        "{households} households have one. Households with Telegram get theirs from the bot "
        "before the payout day; please tell the others."
    ).format(
        round=escape(ready.round),
        date=t.long_date(ready.date),
        place=escape(ready.place),
        placed=ready.placed,
        households=ready.households,
    )
    lines = [
        (
            f"{line.time} · {escape(line.program_number)} {escape(line.name)}"
            if line.time is not None
            else t("no queue time yet · {household}").format(
                household=f"{escape(line.program_number)} {escape(line.name)}"
            )
        )
        + ("" if line.telegram else t(" · 📵 no Telegram"))
        for line in ready.lines
    ]
    footer = t("/antrean shows the list again, with any change since.")
    button = (t("📄 The list to print"), encode(QueueListFile(round_id)))
    return Notice("\n".join([text, "", *lines, "", footer]), [[button]])


def _answer_kind(attachment: AttachmentKind | None, has_text: bool, t: Translator) -> str:
    """What the household sent, in a few words: a message, a photo (with a message), a voice
    note."""
    if attachment is AttachmentKind.VOICE:
        return t("a voice note")
    if attachment is not None:
        return t("a photo with a message") if has_text else t("a photo")
    return t("a written message")
