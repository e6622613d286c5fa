"""`sapa console`, `link-code` and `invite`: chatting with the bot, and joining it on Telegram."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, open_store

if TYPE_CHECKING:
    from bot.cli.common import Commands
    from bot.domain.models import Role
    from bot.settings import Settings
    from bot.texts.i18n import Translator
    from storage.store import Store

# The values of STAFF_ROLES, spelled out so that `sapa --help` need not load the domain models
# (and with them pydantic); `_invite` turns the choice back into a Role, which refuses a stale one.
STAFF_ROLE_NAMES = ("companion", "coordinator", "operator", "health_worker", "admin")


def add_parsers(commands: Commands) -> None:
    console_parser = commands.add_parser(
        "console", help="chat with the bot in this terminal, no Telegram needed"
    )
    console_parser.add_argument(
        "--as",
        dest="identity",
        default="household:",
        metavar="ROLE:ID",
        help="who you are: household:<programme number> (default: the first household), or "
        "<role>:<staff code>, e.g. companion:PD-MKJ-1",
    )
    console_parser.set_defaults(handler=_console)
    link_parser = commands.add_parser(
        "link-code", help="print a one-time code that links a Telegram user to a household"
    )
    link_parser.add_argument("program_number")
    link_parser.set_defaults(handler=_link_code)
    invite_parser = commands.add_parser(
        "invite", help="print a single-use link that enrols a staff member's Telegram account"
    )
    invite_parser.add_argument("role", choices=STAFF_ROLE_NAMES)
    invite_parser.add_argument("staff_code")
    invite_parser.set_defaults(handler=_invite)


async def _console(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await run_console(store, settings, t, args.identity)


async def _link_code(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await print_link_code(store, settings, t, args.program_number)


async def _invite(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    from bot.domain.models import Role

    async with open_store(settings) as store:
        return await print_invite(store, settings, t, Role(args.role), args.staff_code)


async def print_link_code(store: Store, settings: Settings, t: Translator, number: str) -> int:
    from bot.domain.clock import utc_now
    from bot.services.linking import DEEP_LINK_PREFIX, format_code, issue_link_code

    code = await issue_link_code(
        store, number, now=utc_now(), actor="cli", nik_key=settings.nik_key_bytes
    )
    if code is None:
        print(
            t("There is no household with programme number {number}.").format(number=number),
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    print(
        t("One-time link code for household {number}: {code} (valid for 14 days).").format(
            number=number, code=format_code(code)
        )
    )
    payload = DEEP_LINK_PREFIX + code
    if settings.bot_username:
        print(
            t("Or open this link on the phone: {link}").format(
                link=f"https://t.me/{settings.bot_username}?start={payload}"
            )
        )
    else:
        print(
            t(
                "Or open t.me/<your bot>?start={payload} on the phone (set SAPA_BOT_USERNAME to "
                "print the whole link)."
            ).format(payload=payload)
        )
    return EXIT_OK


async def run_console(store: Store, settings: Settings, t: Translator, identity: str) -> int:
    """Chat as a household (`household:RTS-00001`) or a staff member (`companion:PD-MKJ-1`)."""
    from bot.domain.clock import utc_now
    from bot.domain.models import STAFF_ROLES, Role
    from bot.runtime.app import Services, build_application
    from bot.runtime.console import (
        CONSOLE_TOKEN,
        PHOTO_COMMAND,
        QUIT_COMMANDS,
        STICKER_COMMAND,
        ConsoleBotApi,
        ConsoleChat,
        chat_loop,
        console_user_id,
    )
    from bot.services.enrolment import INVITE_PREFIX, issue_invite
    from bot.services.linking import format_code, issue_link_code
    from bot.texts.i18n import Translations
    from bot.texts.labels import role_label
    from jobs.dispatch import DeliveryPolicy, Dispatcher

    role_text, _, key = identity.partition(":")
    key = key.strip()
    try:
        role = Role(role_text)
    except ValueError:
        print(
            t(
                "Use --as household:<programme number> or --as <role>:<staff code>, the role "
                "being one of {roles}."
            ).format(roles=", ".join(r.value for r in STAFF_ROLES)),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if role is Role.HOUSEHOLD:
        async with store.read() as repo:
            number = key or next(iter(await repo.households.program_numbers(limit=1)), "")
            household = await repo.households.get_by_program_number(number) if number else None
        if household is None:
            print(
                t(
                    "There is no household with programme number {number}. Run `sapa demo` to "
                    "make a demo province."
                ).format(number=number or "-"),
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        user_id = console_user_id(f"household:{household.program_number}")
        async with store.read() as repo:
            person = await repo.people.by_telegram_id(user_id)
        print(t("You are a console user of household {number}.").format(number=number))
        if person is None or person.household_id != household.id:
            code = await issue_link_code(
                store, number, now=utc_now(), actor="console", nik_key=settings.nik_key_bytes
            )
            hint = t(
                "To link, send /start, type the programme number {number}, then the "
                "one-time code {code}."
            )
            print(hint.format(number=number, code=format_code(code or "")))
    else:
        async with store.read() as repo:
            staff = await repo.staff.get_by_code(key) if key else None
        if staff is None:
            print(
                t("There is no staff member with code {code}.").format(code=key or "-"),
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        if staff.role is not role:
            message = t("{code} is registered as {role}, not as {asked}.").format(
                code=key, role=role_label(staff.role, t), asked=role_label(role, t)
            )
            print(message, file=sys.stderr)
            return EXIT_PROBLEMS
        user_id = console_user_id(f"{role.value}:{staff.code}")
        async with store.read() as repo:
            person = await repo.people.by_telegram_id(user_id)
        print(
            t("You are a console user for {name} ({role}).").format(
                name=staff.name, role=role_label(role, t)
            )
        )
        if person is None or person.staff_id != staff.id:
            invite = await issue_invite(store, key, now=utc_now(), actor="console", role=role)
            enrol = t("To enrol, send: /start {payload}")
            print(enrol.format(payload=INVITE_PREFIX + (invite.token or "")))
    print(
        t(
            "Type a message, or the number of a button. {photo} sends a photo, {sticker} a "
            "sticker; {quit} or Ctrl-D ends."
        ).format(photo=PHOTO_COMMAND, sticker=STICKER_COMMAND, quit=QUIT_COMMANDS[0])
    )
    logging.getLogger("telegram.ext").setLevel(logging.WARNING)  # keep the chat readable
    api = ConsoleBotApi(sys.stdout)
    translations = Translations(settings.default_language)
    services = Services(settings=settings, store=store, translations=translations)
    application = build_application(services, request=api, token=CONSOLE_TOKEN)

    async def deliver_outbox() -> None:
        """Messages the outbox holds for this console user arrive in the console too."""
        async with store.read() as repo:
            me = await repo.people.by_telegram_id(user_id)
        if me is not None:
            dispatcher = Dispatcher(
                store,
                application.bot,
                translations,
                DeliveryPolicy.from_settings(settings),
                utc_now,
                only_person_id=me.id,
            )
            await dispatcher.run_once()

    async with application:
        await application.start()
        try:
            await chat_loop(ConsoleChat(application, api, user_id), deliver_outbox)
        finally:
            await application.stop()
    return EXIT_OK


async def print_invite(
    store: Store, settings: Settings, t: Translator, role: Role, code: str
) -> int:
    from bot.domain.clock import utc_now
    from bot.services.enrolment import INVITE_PREFIX, InviteOutcome, issue_invite
    from bot.texts.labels import role_label

    invite = await issue_invite(store, code, now=utc_now(), actor="cli", role=role)
    if invite.outcome is InviteOutcome.UNKNOWN_STAFF:
        print(t("There is no staff member with code {code}.").format(code=code), file=sys.stderr)
        return EXIT_PROBLEMS
    if invite.outcome is InviteOutcome.ROLE_MISMATCH and invite.staff is not None:
        message = t("{code} is registered as {role}, not as {asked}.").format(
            code=code, role=role_label(invite.staff.role, t), asked=role_label(role, t)
        )
        print(message, file=sys.stderr)
        return EXIT_PROBLEMS
    if invite.outcome is not InviteOutcome.ISSUED or invite.token is None:
        print(t("That staff record is not active."), file=sys.stderr)
        return EXIT_PROBLEMS
    payload = INVITE_PREFIX + invite.token
    print(
        t("Invite for {name} as {role}, valid for 7 days and for one use.").format(
            name=invite.staff.name if invite.staff else code, role=role_label(role, t)
        )
    )
    if settings.bot_username:
        print(f"https://t.me/{settings.bot_username}?start={payload}")
    else:
        print(
            t(
                "Open t.me/<your bot>?start={payload} on their phone (set SAPA_BOT_USERNAME to "
                "print the whole link)."
            ).format(payload=payload)
        )
    return EXIT_OK
