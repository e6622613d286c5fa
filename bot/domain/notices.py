"""What each kind of outbox message carries: one pydantic model of parameters per template.

A row's parameters are checked against its template's model when it is queued (storage refuses
a row whose parameters do not fit: a programming error, found by the tests) and read back
through the same model when it is rendered (`bot.texts.notices`). Names and places are kept as
the registry wrote them; they are escaped when rendered. The dispatcher adds `first_due_at`
(the start of a retried row's window); reminders carry `expires_at`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.domain.models import (
    AttachmentKind,
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
    RejectReason,
)


class NoticeParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    expires_at: str | None = None  # ISO moment after which the message is no use any more
    first_due_at: str | None = None  # when a retried row was first due (its retry window)


class AttendanceReported(NoticeParams):
    program_number: str
    member: str
    date: date


class AssistedReport(NoticeParams):
    """To the household: a companion or health worker reported a posyandu visit for it."""

    reporter: str  # her name, as the staff registry has it
    member: str
    date: date


class AssistedComplaint(NoticeParams):
    """To the household: a companion or health worker filed a complaint for it."""

    reporter: str
    ticket: str
    category: ComplaintCategory


class ComplaintFiled(NoticeParams):
    ticket: str
    program_number: str
    category: ComplaintCategory
    deadline: date
    complaint_id: int | None = None  # rows queued before 0017 have none: no "open" button


class ComplaintEscalated(ComplaintFiled):
    complaint_id: int


class ComplaintStatusChanged(NoticeParams):
    ticket: str
    status: ComplaintStatus


class ComplaintLevelUp(NoticeParams):
    ticket: str
    level: EscalationLevel


class ComplaintReply(NoticeParams):
    ticket: str
    text: str
    complaint_id: int | None = None  # the household's "answer back" button (none on old rows)


class ComplaintAnswered(NoticeParams):
    """To whoever holds the complaint: the household answered. Its text and files stay in the
    complaint's history (erased with it), never in the outbox: staff open the complaint."""

    ticket: str
    program_number: str
    complaint_id: int
    attachment: AttachmentKind | None = None
    has_text: bool = True


class ComplaintHandedUp(NoticeParams):
    """To the household's companion: its complaint went up a level, or was resolved there."""

    ticket: str
    program_number: str
    level: EscalationLevel


class ComplaintConfirm(NoticeParams):
    ticket: str
    complaint_id: int


class ComplaintReopened(NoticeParams):
    ticket: str
    program_number: str
    deadline: date


class PosyanduReminder(NoticeParams):
    posyandu: str
    members: list[str]
    date: date


class PosyanduMissed(NoticeParams):
    posyandu: str
    posyandu_id: int
    date: date


class PosyanduChanged(NoticeParams):
    posyandu: str
    old_date: date
    new_date: date | None = None


class PayoutReminder(NoticeParams):
    date: date
    place: str
    amount: int
    start: str
    end: str
    days: int


class PayoutSlotsShort(NoticeParams):
    date: date
    place: str
    amount: int
    round: str
    kecamatan: str
    households: int
    capacity: int
    unplaced: int


class QueueLine(BaseModel):
    """One of a companion's households in a round's queue, as her printed list shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: str | None  # "08.00–08.30"; None: no queue time
    program_number: str
    name: str  # the head's name shortened ("Siti N. A.")
    telegram: bool = True  # False: nobody of the household linked Telegram; she tells them


class PayoutSlotsReady(NoticeParams):
    round: str
    date: date
    place: str
    households: int  # the companion's households in the round's kecamatan
    placed: int  # of them, those with a queue slot
    # Rows queued before the list came have neither: the text only points to /antrean.
    round_id: int | None = None  # the round, for the button that sends the file to print
    lines: list[QueueLine] = []  # her households, by time, those without one last


class AttendanceRejected(NoticeParams):
    member: str
    date: date
    reason: str


class AttendanceVerified(NoticeParams):
    member: str
    date: date


class HealthWorkerPrompt(NoticeParams):
    posyandu: str


class AttendanceNotConfirmed(NoticeParams):
    health_worker: str
    posyandu: str
    date: date
    count: int
    members: list[str]


class PosyanduNotOpen(NoticeParams):
    posyandu: str
    date: date
    count: int


class BirthRecorded(NoticeParams):
    baby: str
    mother: str  # "" when no pregnant member of the household was the mother
    date: date


class PregnancyRecorded(NoticeParams):
    name: str
    date: date


class DataRequestAlert(NoticeParams):
    program_number: str
    date: date
    request_id: int


class DataRequestDone(NoticeParams):
    program_number: str
    open: int = 0


class DataRequestRejected(NoticeParams):
    program_number: str
    refusal: RejectReason


# Template key -> its parameters (the companion's digest is `bot.domain.digest.DigestContent`).
PARAMS: dict[str, type[NoticeParams]] = {
    "attendance.reported": AttendanceReported,
    "complaint.filed": ComplaintFiled,
    "complaint.status": ComplaintStatusChanged,
    "posyandu.eve": PosyanduReminder,
    "posyandu.day": PosyanduReminder,
    "posyandu.missed": PosyanduMissed,
    "posyandu.moved": PosyanduChanged,
    "posyandu.cancelled": PosyanduChanged,
    "payout.reminder": PayoutReminder,
    "payout.reminder.no_slot": PayoutReminder,
    "payout.tomorrow": PayoutReminder,
    "payout.tomorrow.no_slot": PayoutReminder,
    "payout.slots_short": PayoutSlotsShort,
    "payout.slots_ready": PayoutSlotsReady,
    "complaint.escalated": ComplaintEscalated,
    "complaint.level_up": ComplaintLevelUp,
    "complaint.reply": ComplaintReply,
    "complaint.confirm": ComplaintConfirm,
    "complaint.reopened": ComplaintReopened,
    "complaint.answered": ComplaintAnswered,
    "complaint.companion_up": ComplaintHandedUp,
    "complaint.companion_resolved": ComplaintHandedUp,
    "attendance.rejected": AttendanceRejected,
    "attendance.verified": AttendanceVerified,
    "posyandu.confirm_prompt": HealthWorkerPrompt,
    "attendance.not_confirmed": AttendanceNotConfirmed,
    "family.birth": BirthRecorded,
    "posyandu.not_open": PosyanduNotOpen,
    "family.pregnancy": PregnancyRecorded,
    "datarequest.alert": DataRequestAlert,
    "datarequest.done": DataRequestDone,
    "datarequest.done_open": DataRequestDone,
    "datarequest.rejected": DataRequestRejected,
    "attendance.by_companion": AssistedReport,
    "attendance.by_health_worker": AssistedReport,
    "complaint.by_companion": AssistedComplaint,
    "complaint.by_health_worker": AssistedComplaint,
}

# The household messages an account may mute (/pengingat): the posyandu reminders of the evening
# before and of the morning, and the "did you go?" question after a session. Never muted: schedule
# changes (a session moved or cancelled), payout reminders and notices, and what answers the
# household's own complaints, reports, requests and family changes.
OPTIONAL_REMINDERS: frozenset[str] = frozenset({"posyandu.eve", "posyandu.day", "posyandu.missed"})


def checked_params(template_key: str, params: dict[str, Any]) -> NoticeParams | None:
    """The parameters read through their template's model (ValueError when they do not fit);
    None for a template whose parameters are typed elsewhere (the digest)."""
    model = PARAMS.get(template_key)
    return None if model is None else model.model_validate(params)
