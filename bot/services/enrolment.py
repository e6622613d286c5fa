"""Enrolling staff: a single-use invite link binds a Telegram account to a staff record.

`sapa invite companion PD-MKJ-1` (or a coordinator's /undang in the chat, for the companions and
health workers of their own kecamatan) prints `t.me/<bot>?start=inv_<token>`. The token has 192
random bits in base64url (32 characters), is valid for 7 days and works once. Only its digest is
stored. A used, expired or unknown token gets the same calm refusal.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.models import Person, Role, Staff
from storage.store import Store

log = logging.getLogger(__name__)

INVITE_LIFETIME = timedelta(days=7)
INVITE_PREFIX = "inv_"
TOKEN_BYTES = 24  # 192 bits; base64url makes 32 characters, well within Telegram's 64
COORDINATOR_MAY_INVITE = (Role.COMPANION, Role.HEALTH_WORKER)


class InviteOutcome(StrEnum):
    ISSUED = "issued"
    UNKNOWN_STAFF = "unknown_staff"
    ROLE_MISMATCH = "role_mismatch"
    STAFF_INACTIVE = "staff_inactive"
    NOT_ALLOWED = "not_allowed"


class EnrolOutcome(StrEnum):
    ENROLLED = "enrolled"
    REFUSED = "refused"
    HOUSEHOLD_ACCOUNT = "household_account"


@dataclass(frozen=True)
class Invite:
    outcome: InviteOutcome
    token: str | None = None
    staff: Staff | None = None


def token_digest(token: str) -> str:
    return hashlib.sha256(b"invite:" + token.encode()).hexdigest()


async def issue_invite(
    store: Store,
    staff_code: str,
    *,
    now: datetime,
    actor: str,
    role: Role | None = None,
    inviter: Person | None = None,
) -> Invite:
    """An invite for a staff record; `inviter` is the coordinator asking from the chat."""
    async with store.write() as repo:
        staff = await repo.staff.get_by_code(staff_code.strip())
        if staff is None:
            return Invite(InviteOutcome.UNKNOWN_STAFF)
        if role is not None and staff.role is not role:
            return Invite(InviteOutcome.ROLE_MISMATCH, staff=staff)
        if not staff.active:
            return Invite(InviteOutcome.STAFF_INACTIVE, staff=staff)
        if inviter is not None:
            inviting = (
                await repo.staff.get(inviter.staff_id) if inviter.staff_id is not None else None
            )
            if (
                inviter.role is not Role.COORDINATOR
                or inviting is None
                or inviting.kecamatan_id != staff.kecamatan_id
                or staff.role not in COORDINATOR_MAY_INVITE
            ):
                log.warning(
                    "authorization_refused action=invite person=%s staff=%s", inviter.id, staff.id
                )
                return Invite(InviteOutcome.NOT_ALLOWED, staff=staff)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await repo.invites.add(staff.id, token_digest(token), actor, now, now + INVITE_LIFETIME)
        await repo.audit.record(now, actor, "issue_invite", "staff", staff.code)
    return Invite(InviteOutcome.ISSUED, token, staff)


async def enrol(
    store: Store, telegram_user_id: int, token: str, *, now: datetime, language: str | None
) -> tuple[EnrolOutcome, Staff | None]:
    """Bind this Telegram account to the invite's staff record (a new phone replaces the old)."""
    async with store.write() as repo:
        # The invite is checked first: a forwarded fake link must not make a mother /putus.
        staff_id = await repo.invites.live(token_digest(token), now)
        staff = await repo.staff.get(staff_id) if staff_id is not None else None
        if staff is None or not staff.active:
            return EnrolOutcome.REFUSED, None
        person = await repo.people.by_telegram_id(telegram_user_id)
        if person is not None and person.household_id is not None:
            return EnrolOutcome.HOUSEHOLD_ACCOUNT, None  # the invite stays unused
        await repo.invites.use(token_digest(token), now)
        previous = await repo.people.by_staff_id(staff.id)
        if previous is not None and previous.telegram_user_id != telegram_user_id:
            await repo.people.release_staff(previous.id)  # the old phone loses access
        if person is None:
            person = await repo.people.add(
                telegram_user_id, staff.role, now, staff_id=staff.id, language=language
            )
        else:
            await repo.people.become_staff(person.id, staff.role, staff.id)
        await repo.invites.record_user(token_digest(token), person.id)
        await repo.audit.record(now, f"person:{person.id}", "enrol", "staff", staff.code)
    return EnrolOutcome.ENROLLED, staff
