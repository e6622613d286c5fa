"""What a use case's outcome says, in one sentence, the same in the chat and on the command line.

The chat and `sapa` call the same function, so a sentence is written (and translated) once.
"""

from __future__ import annotations

from datetime import date

from bot.domain.models import SessionChangeOutcome
from bot.texts.i18n import Translator


def session_change_sentence(
    outcome: SessionChangeOutcome,
    t: Translator,
    *,
    code: str,
    day: date,
    new: date | None,
    households: int,
) -> str:
    """The answer to "move (or cancel) posyandu `code`'s session of `day`". `code` is shown as
    given: escape it first for an HTML message."""
    if outcome is SessionChangeOutcome.UNKNOWN_POSYANDU:
        return t("There is no posyandu with code {code}.").format(code=code)
    if outcome is SessionChangeOutcome.NOT_A_SESSION:
        return t("Posyandu {code} has no session on {date} by its schedule.").format(
            code=code, date=t.long_date(day)
        )
    if outcome is SessionChangeOutcome.IN_THE_PAST:
        return t("Only sessions from today on can be changed.")
    if outcome is SessionChangeOutcome.NOT_ALLOWED:
        return t("Sorry, you are not allowed to do that.")
    if new is None:
        done = t("The session of {date} is cancelled.").format(date=t.long_date(day))
    else:
        done = t("The session of {date} moves to {new_date}.").format(
            date=t.long_date(day), new_date=t.long_date(new)
        )
    return f"{done} " + t("{count} households will get a notice.").format(count=households)
