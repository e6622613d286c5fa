"""The companion's morning digest as she reads it: counts first, then short lists, with buttons
that open the full lists. Its content is built by `bot.services.digest.build_digest`."""

from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any

from bot.domain.buttons import DigestList, encode
from bot.texts.i18n import N_, Translator
from bot.texts.notice import Notice

PREVIEW = 5  # items of each list shown in the digest itself; the button opens the whole list

LIST_TITLES = {
    "sessions": N_("Posyandu today and tomorrow"),
    "missed": N_("Missed the last posyandu"),
    "reports": N_("Reports waiting for your verification"),
    "complaints": N_("Complaints waiting for you"),
    "unreachable": N_("Households the bot cannot reach"),
    "locked": N_("Linking locked after wrong attempts (give a link code: /kodetautan)"),
}


def list_lines(kind: str, params: dict[str, Any], t: Translator) -> list[str]:
    """The lines of one list of the digest, ready to show."""
    if kind == "sessions":
        return [
            t("{date}, {posyandu}: {households}").format(
                date=t.long_date(date.fromisoformat(day)),
                posyandu=escape(place),
                households=", ".join(escape(h) for h in expected),
            )
            for day, place, *expected in params["sessions"]
        ]
    if kind == "complaints":
        lines = []
        for ticket, number, deadline, overdue in params["complaints"]:
            when = t.long_date(datetime.fromisoformat(deadline).date())
            text = (
                t("{ticket} ({number}), due {date}")
                if not overdue
                else t("{ticket} ({number}), OVERDUE since {date}")
            )
            lines.append(text.format(ticket=ticket, number=escape(number), date=when))
        return lines
    return [escape(item) for item in params.get(kind, [])]  # digests queued before a list existed


def counts(params: dict[str, Any]) -> dict[str, int]:
    return {
        "sessions": sum(len(s) - 2 for s in params["sessions"]),
        "missed": len(params["missed"]),
        "reports": len(params["reports"]),
        "complaints": len(params["complaints"]),
        "unreachable": len(params["unreachable"]),
        "locked": len(params.get("locked", [])),
    }


def render_digest(params: dict[str, Any], t: Translator) -> Notice:
    numbers = counts(params)
    overdue = sum(1 for c in params["complaints"] if c[3])
    head = [
        t("<b>Good morning! Your households, {date}</b>").format(
            date=t.long_date(date.fromisoformat(params["date"]))
        ),
        t("• Expected at the posyandu today and tomorrow: {count}").format(
            count=numbers["sessions"]
        ),
        t("• Missed the last posyandu: {count}").format(count=numbers["missed"]),
        t("• Reports waiting for your verification: {count}").format(count=numbers["reports"]),
        t("• Complaints waiting for you: {count} ({overdue} overdue)").format(
            count=numbers["complaints"], overdue=overdue
        ),
        t("• Cannot be reached by the bot: {count}").format(count=numbers["unreachable"]),
    ]
    if numbers["locked"]:
        head.append(
            t("• Linking locked after wrong attempts: {count}").format(count=numbers["locked"])
        )
    blocks = ["\n".join(head)]
    buttons = []
    for kind, title in LIST_TITLES.items():
        lines = list_lines(kind, params, t)
        if not lines:
            continue
        shown = lines[:PREVIEW]
        if len(lines) > PREVIEW:
            shown.append(t("… and {count} more").format(count=len(lines) - PREVIEW))
        blocks.append(f"<b>{t(title)}</b>\n" + "\n".join(shown))
        data = encode(DigestList(date.fromisoformat(params["date"]), kind))
        buttons.append([(f"{t(title)} ({len(lines)})", data)])
    return Notice("\n\n".join(blocks), buttons)
