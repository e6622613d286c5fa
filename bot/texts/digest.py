"""The companion's morning digest as she reads it: counts first, then short lists, with buttons
that open the full lists. Its content is built by `bot.services.digest.build_digest`."""

from __future__ import annotations

from html import escape

from bot.domain.buttons import DigestList, encode
from bot.domain.digest import DigestContent
from bot.domain.models import AbsenceReason, EscalationLevel
from bot.texts.i18n import N_, Translator
from bot.texts.labels import absence_label, level_label
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


def list_lines(kind: str, digest: DigestContent, t: Translator) -> list[str]:
    """The lines of one list of the digest, ready to show."""
    if kind == "sessions":
        return [
            t("{date}, {posyandu}: {households}").format(
                date=t.short_date(s.day),
                posyandu=escape(s.posyandu),
                households=", ".join(escape(h) for h in s.households),
            )
            for s in digest.sessions
        ]
    if kind == "complaints":
        lines = []
        for c in digest.complaints:
            if c.level is not EscalationLevel.COMPANION:  # she follows it, read-only
                text = t("{ticket} ({number}), now handled by the {level}").format(
                    ticket=c.ticket, number=escape(c.program_number), level=level_label(c.level, t)
                )
                lines.append(text)
                continue
            text = (
                t("{ticket} ({number}), OVERDUE since {date}")
                if c.overdue
                else t("{ticket} ({number}), due {date}")
            )
            when = t.short_date(c.deadline.date())
            lines.append(text.format(ticket=c.ticket, number=escape(c.program_number), date=when))
        return lines
    if kind == "missed":
        return [_missed_line(item, digest.missed_reasons.get(item), t) for item in digest.missed]
    items: list[str] = getattr(digest, kind)
    return [escape(item) for item in items]


def _missed_line(household: str, reason: str | None, t: Translator) -> str:
    """ "RTS-2026-0003 Rohmah — did not go: Too far" for a household that answered."""
    if reason not in {r.value for r in AbsenceReason}:
        return escape(household)
    return t("{household} — did not go: {reason}").format(
        household=escape(household), reason=absence_label(AbsenceReason(str(reason)), t)
    )


def render_digest(digest: DigestContent, t: Translator) -> Notice:
    numbers = digest.counts
    head = [
        t("<b>Good morning! Your households, {date}</b>").format(date=t.long_date(digest.day)),
        t("• Expected at the posyandu today and tomorrow: {count}").format(
            count=numbers["sessions"]
        ),
        t("• Missed the last posyandu: {count}").format(count=numbers["missed"]),
        t("• Reports waiting for your verification: {count}").format(count=numbers["reports"]),
        t("• Complaints waiting for you: {count} ({overdue} overdue)").format(
            count=numbers["complaints"], overdue=digest.overdue
        ),
        t("• Cannot be reached by the bot: {count}").format(count=numbers["unreachable"]),
        t("• Follow-ups open: {count} ({overdue} overdue), see /tindaklanjut").format(
            count=digest.follow_ups_open, overdue=digest.follow_ups_overdue
        ),
    ]
    if numbers["locked"]:
        head.append(
            t("• Linking locked after wrong attempts: {count}").format(count=numbers["locked"])
        )
    blocks = ["\n".join(head)]
    buttons = []
    for kind, title in LIST_TITLES.items():
        lines = list_lines(kind, digest, t)
        if not lines:
            continue
        shown = lines[:PREVIEW]
        if len(lines) > PREVIEW:
            shown.append(t("… and {count} more").format(count=len(lines) - PREVIEW))
        blocks.append(f"<b>{t(title)}</b>\n" + "\n".join(shown))
        buttons.append([(f"{t(title)} ({len(lines)})", encode(DigestList(digest.day, kind)))])
    return Notice("\n\n".join(blocks), buttons)
