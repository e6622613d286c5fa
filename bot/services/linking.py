"""Linking a Telegram user to a household, and unlinking.

A user proves they belong to a household with its programme number plus one secret: the last six
digits of the head's NIK, or a one-time link code the companion hands out (`sapa link-code`). A
deep link `t.me/<bot>?start=link_<code>` carries the code alone and links in one tap.

Failed attempts are limited per Telegram account (5 an hour) and per household, across all
accounts (10 a day: then only a companion's link code links it, and the companion sees the
household in the morning digest). A valid link code works even for an account that is locked out,
as the lock-out message promises; an account with 50 failures in a day is refused even that.
Every failure looks the same: nobody can learn from the bot whether a programme number exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.models import Household, Person, Role
from bot.domain.nik import matches_link_tail
from storage.store import Repositories, Store

LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
LINK_CODE_LENGTH = 8
LINK_CODE_LIFETIME = timedelta(days=14)
DEEP_LINK_PREFIX = "link_"
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
HOUSEHOLD_MAX_FAILURES = 10
HOUSEHOLD_FAILURE_WINDOW = timedelta(days=1)
ACCOUNT_DAILY_CAP = 50  # failures a day after which an account cannot even try a link code

_NIK_TAIL = re.compile(r"^\d{6}$")
_PROGRAM_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/. ]{2,39}$")


class LinkOutcome(StrEnum):
    LINKED = "linked"
    REFUSED = "refused"  # wrong number, wrong secret, used or expired code: all look alike
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    HOUSEHOLD_INACTIVE = "household_inactive"
    STAFF_ACCOUNT = "staff_account"


@dataclass(frozen=True)
class LinkResult:
    outcome: LinkOutcome
    household: Household | None = None


def normalize_code(text: str) -> str:
    """`abcd-2345` and `ABCD 2345` are the same code."""
    return re.sub(r"[\s-]", "", text).upper()


def looks_like_program_number(text: str) -> bool:
    """`RTS-2026-0001`, `RTS-00123`, `00123`: letters at most in front, then digits. A greeting
    ("halo") is not one, so it costs no attempt."""
    text = text.strip()
    return bool(_PROGRAM_NUMBER.match(text)) and sum(c.isdigit() for c in text) >= 3


def looks_like_link_code(text: str) -> bool:
    code = normalize_code(text)
    return len(code) == LINK_CODE_LENGTH and all(c in LINK_CODE_ALPHABET for c in code)


def code_digest(key: bytes, code: str) -> str:
    return hmac.new(key, b"link:" + normalize_code(code).encode(), hashlib.sha256).hexdigest()


def new_link_code() -> str:
    return "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))


def format_code(code: str) -> str:
    """`ABCD-2345`: easier to read aloud and to type."""
    return f"{code[:4]}-{code[4:]}"


async def issue_link_code(
    store: Store, program_number: str, *, now: datetime, actor: str, nik_key: bytes | None
) -> str | None:
    """A fresh one-time code for this household, or None when the number is unknown."""
    async with store.write() as repo:
        household = await repo.households.get_by_program_number(program_number.strip())
        if household is None:
            return None
        key = await repo.secrets.nik_key(nik_key)
        code = new_link_code()
        await repo.links.add_code(
            household.id, code_digest(key, code), actor, now, now + LINK_CODE_LIFETIME
        )
        await repo.audit.record(now, actor, "issue_link_code", "household", program_number)
    return code


async def link_with_secret(
    store: Store,
    telegram_user_id: int,
    program_number: str,
    secret: str,
    *,
    now: datetime,
    nik_key: bytes | None,
    language: str | None = None,
) -> LinkResult:
    """Link with programme number + NIK tail or link code."""
    program_number = program_number.strip().upper()
    secret = secret.strip()
    async with store.write() as repo:
        locked_out, refusal = await _account_state(repo, telegram_user_id, now)
        if refusal is not None:
            return refusal
        key = await repo.secrets.nik_key(nik_key)
        household = await repo.households.get_by_program_number(program_number)
        matched = False
        if household is not None and looks_like_link_code(secret):
            used = await repo.links.use_code(code_digest(key, secret), now, household.id)
            matched = used is not None
        elif household is not None and _NIK_TAIL.match(secret) and not locked_out:
            guessed_too_often = await repo.links.household_failures_since(
                household.id, now - HOUSEHOLD_FAILURE_WINDOW
            )
            stored = await repo.households.nik_tail_digest(program_number)
            matched = (
                guessed_too_often < HOUSEHOLD_MAX_FAILURES
                and stored is not None
                and matches_link_tail(key, program_number, secret, stored)
            )
        if household is None or not matched:
            await repo.links.record_failure(
                telegram_user_id, now, household.id if household is not None else None
            )
            return LinkResult(LinkOutcome.TOO_MANY_ATTEMPTS if locked_out else LinkOutcome.REFUSED)
        return await _link(repo, telegram_user_id, household, now, language)


async def link_with_code(
    store: Store,
    telegram_user_id: int,
    code: str,
    *,
    now: datetime,
    nik_key: bytes | None,
    language: str | None = None,
) -> LinkResult:
    """Link with a one-time code alone (the deep link)."""
    async with store.write() as repo:
        locked_out, refusal = await _account_state(repo, telegram_user_id, now)
        if refusal is not None:
            return refusal
        key = await repo.secrets.nik_key(nik_key)
        household_id = None
        if looks_like_link_code(code):
            household_id = await repo.links.use_code(code_digest(key, code), now)
        household = None if household_id is None else await repo.households.get(household_id)
        if household is None:
            await repo.links.record_failure(telegram_user_id, now)
            return LinkResult(LinkOutcome.TOO_MANY_ATTEMPTS if locked_out else LinkOutcome.REFUSED)
        return await _link(repo, telegram_user_id, household, now, language)


async def unlink(store: Store, person: Person, *, now: datetime) -> bool:
    """Unlink this user from their household; False when they were not linked."""
    if person.household_id is None:
        return False
    async with store.write() as repo:
        await repo.people.set_household(person.id, None)
        # What was queued for this account (reminders, complaint news) is not sent any more.
        await repo.notifications.cancel_pending(person_id=person.id)
        await repo.audit.record(
            now, f"person:{person.id}", "unlink", "household", str(person.household_id)
        )
    return True


async def _account_state(
    repo: Repositories, telegram_user_id: int, now: datetime
) -> tuple[bool, LinkResult | None]:
    """(locked out of NIK guesses, a refusal before anything is tried) for this account."""
    person = await repo.people.by_telegram_id(telegram_user_id)
    if person is not None and person.role is not Role.HOUSEHOLD:
        return False, LinkResult(LinkOutcome.STAFF_ACCOUNT)
    today = await repo.links.failures_since(telegram_user_id, now - HOUSEHOLD_FAILURE_WINDOW)
    if today >= ACCOUNT_DAILY_CAP:
        return True, LinkResult(LinkOutcome.TOO_MANY_ATTEMPTS)
    failures = await repo.links.failures_since(telegram_user_id, now - FAILURE_WINDOW)
    return failures >= MAX_FAILURES, None


async def _link(
    repo: Repositories,
    telegram_user_id: int,
    household: Household,
    now: datetime,
    language: str | None,
) -> LinkResult:
    if not household.active:
        return LinkResult(LinkOutcome.HOUSEHOLD_INACTIVE, household)
    person = await repo.people.by_telegram_id(telegram_user_id)
    if person is None:
        person = await repo.people.add(
            telegram_user_id, Role.HOUSEHOLD, now, household_id=household.id, language=language
        )
    else:
        await repo.people.set_household(person.id, household.id)
    await repo.audit.record(
        now, f"person:{person.id}", "link", "household", household.program_number
    )
    return LinkResult(LinkOutcome.LINKED, household)
