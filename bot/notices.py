"""Outbox messages: each template key names a message that is rendered in the recipient's language
when it is sent (so a user who switches language later still reads it in the new one).

Parameters are plain JSON values; `render` turns dates, categories and statuses into words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.i18n import N_, Translator
from bot.labels import category_label, status_label
from bot.models import ComplaintCategory, ComplaintStatus

ATTENDANCE_REPORTED = "attendance.reported"
COMPLAINT_FILED = "complaint.filed"
COMPLAINT_STATUS = "complaint.status"

TEMPLATES: dict[str, str] = {
    ATTENDANCE_REPORTED: N_(
        "New posyandu report from household {program_number}: {member}, {date}. "
        "It waits for your verification."
    ),
    COMPLAINT_FILED: N_(
        "New complaint {ticket} from household {program_number} ({category}). "
        "Please answer by {deadline}."
    ),
    COMPLAINT_STATUS: N_("Your complaint {ticket} is now: {status}."),
}


def render(template_key: str, params: dict[str, Any], t: Translator) -> str:
    """The message text for one outbox row, in the recipient's language."""
    values = dict(params)
    if "date" in values:
        values["date"] = t.long_date(date.fromisoformat(values["date"]))
    if "deadline" in values:
        values["deadline"] = t.long_date(date.fromisoformat(values["deadline"]))
    if "category" in values:
        values["category"] = category_label(ComplaintCategory(values["category"]), t)
    if "status" in values:
        values["status"] = status_label(ComplaintStatus(values["status"]), t)
    return t(TEMPLATES[template_key]).format(**values)
