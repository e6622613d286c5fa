"""Steps many tests take: enrol a staff member, report a visit, file a complaint, deliver the
outbox, link every example household; and a check that a message part is whole HTML."""

from __future__ import annotations

import re

from bot.domain.models import Role
from bot.services.enrolment import INVITE_PREFIX, issue_invite
from bot.texts.i18n import Translations, Translator
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.helpers import import_valid_files
from tests.support.outbox import ManualClock, make_dispatcher


async def enrolled(store: Store, mother: Chat, code: str, user_id: int) -> Chat:
    made = await issue_invite(store, code, now=NOW, actor="test")
    staff = Chat(mother.application, mother.api, user_id, seen=len(mother.api.calls))
    await staff.send(f"/start {INVITE_PREFIX}{made.token}")
    return staff


async def file_payout_complaint(mother: Chat) -> None:
    await mother.send("/keluhan")
    await mother.press("Pencairan bantuan")
    await mother.send("Uang bantuan tahap ini belum kami terima.")
    await mother.press("Lewati")
    await mother.press("📨 Kirim")


async def deliver(store: Store, mother: Chat, translations: Translations) -> None:
    dispatcher = make_dispatcher(store, mother.application.bot, translations, ManualClock())
    await dispatcher.run_once()
    mother.seen = len(mother.api.calls)


async def report_visit(mother: Chat, member: str, day: str, photo: bool) -> None:
    await mother.send("/hadir")
    await mother.press(member)
    await mother.press(day)
    if photo:
        await mother.send_photo("AgACkms-stamp")
    else:
        await mother.press("Lewati")
    await mother.press("✅ Simpan")


async def activity(mother: Chat, store: Store) -> Chat:
    """Two reports (one verified), one complaint, one verification by Euis."""
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=False)
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7701)
    await euis.send("/verifikasi")
    await euis.press("✅ Verifikasi")
    return euis


def is_whole_html(part: str) -> bool:
    """Every tag closed in the same part, and no entity cut at either end."""
    opened = re.findall(r"<([a-z]+)[^>]*>", part)
    closed = re.findall(r"</([a-z]+)>", part)
    cut_entity = re.search(r"&#?\w*$", part) or re.match(r"^#?\w*;", part)
    return sorted(opened) == sorted(closed) and cut_entity is None


async def link_everyone(store: Store, t: Translator) -> dict[str, int]:
    """One Telegram user per example household; person ids by programme number."""
    await import_valid_files(store, t)
    people = {}
    async with store.write() as repo:
        numbers = await repo.households.ids_by_program_number()
        for n, (number, household_id) in enumerate(sorted(numbers.items())):
            person = await repo.people.add(
                60_000 + n, Role.HOUSEHOLD, NOW, household_id=household_id
            )
            people[number] = person.id
    return people
