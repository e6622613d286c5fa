"""Words for enum values (categories, statuses, member kinds), in the user's language."""

from __future__ import annotations

from bot.domain.models import (
    AbsenceReason,
    AttachmentKind,
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
    MemberKind,
    RejectReason,
    ReportStatus,
    Role,
)
from bot.texts.i18n import N_, Translator

CATEGORY_LABELS = {
    ComplaintCategory.PAYOUT: N_("Payout"),
    ComplaintCategory.COMPANION: N_("Companion"),
    ComplaintCategory.HEALTH_SERVICE: N_("Health service"),
    ComplaintCategory.DATA: N_("Membership data"),
    ComplaintCategory.OTHER: N_("Other"),
}

STATUS_LABELS = {
    ComplaintStatus.OPEN: N_("new"),
    ComplaintStatus.IN_PROGRESS: N_("being handled"),
    ComplaintStatus.RESOLVED: N_("answered — waiting for the household"),
    ComplaintStatus.CLOSED: N_("closed"),
}

MEMBER_KIND_LABELS = {
    MemberKind.PREGNANT: N_("pregnant"),
    MemberKind.CHILD: N_("child"),
    MemberKind.SCHOOL_CHILD: N_("school child"),
    MemberKind.OTHER: N_("family member"),
}


ABSENCE_LABELS = {
    AbsenceReason.SICK: N_("Sick"),
    AbsenceReason.TOO_FAR: N_("Too far"),
    AbsenceReason.NO_TRANSPORT_MONEY: N_("No money for transport"),
    AbsenceReason.SESSION_CANCELLED: N_("The session was cancelled"),
    AbsenceReason.OTHER: N_("Another reason"),
    AbsenceReason.NONE: N_("Rather not say"),
}


ROLE_LABELS = {
    Role.HOUSEHOLD: N_("household"),
    Role.COMPANION: N_("companion (pendamping)"),
    Role.COORDINATOR: N_("kecamatan coordinator"),
    Role.OPERATOR: N_("data operator"),
    Role.HEALTH_WORKER: N_("health worker (bidan / kader)"),
    Role.ADMIN: N_("district team (TPJK)"),
}


LEVEL_LABELS = {
    EscalationLevel.COMPANION: N_("companion"),
    EscalationLevel.COORDINATOR: N_("kecamatan coordinator"),
    EscalationLevel.DISTRICT: N_("district team (TPJK)"),
}


ATTACHMENT_LABELS = {
    AttachmentKind.PHOTO: N_("photo"),
    AttachmentKind.DOCUMENT: N_("photo"),  # an image sent "as a file"
    AttachmentKind.VOICE: N_("voice note"),
}


def attachment_label(kind: AttachmentKind, t: Translator) -> str:
    return t(ATTACHMENT_LABELS[kind])


def level_label(level: EscalationLevel, t: Translator) -> str:
    return t(LEVEL_LABELS[level])


def role_label(role: Role, t: Translator) -> str:
    return t(ROLE_LABELS[role])


def category_label(category: ComplaintCategory, t: Translator) -> str:
    return t(CATEGORY_LABELS[category])


def status_label(status: ComplaintStatus, t: Translator) -> str:
    return t(STATUS_LABELS[status])


def member_kind_label(kind: MemberKind, t: Translator) -> str:
    return t(MEMBER_KIND_LABELS[kind])


REJECT_REASON_LABELS = {
    RejectReason.IDENTITY: N_("it is not clear that the household itself asked"),
    RejectReason.AUDIT: N_("the data is still needed for a programme check under way"),
    RejectReason.OTHER: N_("another reason, your companion can explain"),
}

REPORT_STATUS_LABELS = {
    ReportStatus.REPORTED: N_("reported, waiting for the companion's check"),
    ReportStatus.VERIFIED: N_("verified by the companion"),
    ReportStatus.CROSS_CHECKED: N_("confirmed by the health worker"),
    ReportStatus.REJECTED: N_("not accepted"),
}


def reject_reason_label(reason: RejectReason, t: Translator) -> str:
    return t(REJECT_REASON_LABELS[reason])


def report_status_label(status: ReportStatus, t: Translator) -> str:
    return t(REPORT_STATUS_LABELS[status])


def absence_label(reason: AbsenceReason, t: Translator) -> str:
    return t(ABSENCE_LABELS[reason])
