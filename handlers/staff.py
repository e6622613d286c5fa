"""Staff in the chat: enrolment by invite link, coordinators inviting their staff (/undang), and
coordinators or operators moving a posyandu session (/sesi).

Every action checks the person's role and scope on the server; a refusal is answered politely
and logged (without message texts).
"""

from __future__ import annotations

import re
from datetime import date
from html import escape
from typing import TYPE_CHECKING

from telegram import Update

from bot.domain.models import Role, SessionChangeOutcome
from bot.services.enrolment import INVITE_PREFIX, EnrolOutcome, InviteOutcome, enrol, issue_invite
from bot.services.session_changes import change_session
from bot.texts.labels import role_label
from bot.texts.outcomes import session_change_sentence
from handlers.common import END, Visitor, refuse, reply, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext


_FULL_DATE = re.compile(r"^(?:(\d{4})-(\d{2})-(\d{2})|(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}))$")


async def enrol_by_link(
    update: Update, context: SapaContext, visitor: Visitor, payload: str
) -> int:
    services = context.services
    assert update.effective_user is not None
    outcome, staff = await enrol(
        services.store,
        update.effective_user.id,
        payload.removeprefix(INVITE_PREFIX),
        now=services.clock(),
        language=visitor.person.language if visitor.person else None,
    )
    t = visitor.t
    if outcome is EnrolOutcome.ENROLLED and staff is not None:
        await reply(
            update,
            t(
                "Welcome, {name}. This Telegram is now registered as {role}. Send "
                "/bantuan to see what you can do."
            ).format(name=escape(staff.name), role=role_label(staff.role, t)),
        )
    elif outcome is EnrolOutcome.HOUSEHOLD_ACCOUNT:
        await reply(
            update,
            t(
                "This Telegram is linked to a household. Send /putus first, then "
                "open the invite link again."
            ),
        )
    else:
        await reply(
            update,
            t(
                "This invite link is not valid (it may have been used or have "
                "expired). Please ask for a new one."
            ),
        )
    return END


async def invite_command(update: Update, context: SapaContext) -> None:
    """/undang KODE: a coordinator invites a companion or health worker of their kecamatan."""
    visitor = await visit(update, context)
    t = visitor.t
    person = visitor.person
    if person is None or person.role is not Role.COORDINATOR:
        await _refuse(update, visitor, "invite")
        return
    if not context.args:
        await reply(
            update, t("Write the staff code after the command, for example: /undang PD-MKJ-1")
        )
        return
    services = context.services
    invite = await issue_invite(
        services.store,
        context.args[0][:40],
        now=services.clock(),
        actor=f"person:{person.id}",
        inviter=person,
    )
    if invite.outcome is InviteOutcome.UNKNOWN_STAFF:
        await reply(
            update,
            t("There is no staff member with code {code}.").format(
                code=escape(context.args[0][:40])
            ),
        )
    elif invite.outcome is InviteOutcome.ISSUED and invite.token and invite.staff:
        link = f"https://t.me/{context.bot.username}?start={INVITE_PREFIX}{invite.token}"
        text = t(
            "Invite for {name} as {role}, valid for 7 days and for one use. Send this link to "
            "them only:\n{link}"
        )
        name, role = escape(invite.staff.name), role_label(invite.staff.role, t)
        await reply(update, text.format(name=name, role=role, link=link))
    elif invite.outcome is InviteOutcome.STAFF_INACTIVE:
        await reply(update, t("That staff record is not active."))
    else:
        await _refuse(update, visitor, "invite")


async def session_command(update: Update, context: SapaContext) -> None:
    """/sesi pindah KODE TANGGAL TANGGAL_BARU, or /sesi batal KODE TANGGAL."""
    visitor = await visit(update, context)
    t = visitor.t
    person = visitor.person
    if (
        person is None
        or person.role not in (Role.COORDINATOR, Role.OPERATOR)
        or person.staff_id is None
    ):
        await _refuse(update, visitor, "change_session")
        return
    args = [a[:40] for a in (context.args or [])]
    usage = t(
        "Write, for example: /sesi pindah P-MKJ-02 2027-01-12 2027-01-14 or "
        "/sesi batal P-MKJ-02 2027-01-12"
    )
    if (
        len(args) not in (3, 4)
        or args[0] not in ("pindah", "batal")
        or (args[0] == "pindah") != (len(args) == 4)
    ):
        await reply(update, usage)
        return
    dates = [_full_date(a) for a in args[2:]]
    if any(d is None for d in dates):
        await reply(update, usage)
        return
    services = context.services
    async with services.store.read() as repo:
        staff = await repo.staff.get(person.staff_id)
    if staff is None or staff.kecamatan_id is None:
        await _refuse(update, visitor, "change_session")
        return
    original, new = dates[0], dates[1] if len(dates) == 2 else None
    assert original is not None
    outcome, households = await change_session(
        services.store,
        args[1],
        original,
        new,
        actor=f"person:{person.id}",
        now=services.clock(),
        zone=services.settings.zone,
        kecamatan_id=staff.kecamatan_id,
    )
    if outcome is SessionChangeOutcome.NOT_ALLOWED:
        await _refuse(update, visitor, "change_session")
        return
    sentence = session_change_sentence(
        outcome, t, code=escape(args[1]), day=original, new=new, households=households
    )
    await reply(update, sentence)


def _full_date(text: str) -> date | None:
    match = _FULL_DATE.match(text)
    if match is None:
        return None
    try:
        if match[1]:
            return date(int(match[1]), int(match[2]), int(match[3]))
        return date(int(match[6]), int(match[5]), int(match[4]))
    except ValueError:
        return None


async def _refuse(update: Update, visitor: Visitor, action: str) -> None:
    await refuse(update, visitor.t, action, visitor.person)
