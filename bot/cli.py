"""The `sapa` command line: run, console, migrate, import, stats, demo and the staff tools."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError
from telegram.error import InvalidToken

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
from bot.runtime.logs import setup_logging
from bot.runtime.nik_key import NikKeyFileProblem, resolve_nik_key
from bot.runtime.runner import (
    DEFAULT_WEBHOOK_PORT,
    AlreadyRunning,
    CannotListen,
    DatabaseLock,
    Listener,
    Webhook,
    lock_database,
    serve,
)
from bot.services import demo
from bot.services.enrolment import INVITE_PREFIX, InviteOutcome, issue_invite
from bot.services.linking import DEEP_LINK_PREFIX, format_code, issue_link_code
from bot.services.registry.importer import ImportKind, ImportReport, import_file
from bot.services.session_changes import ChangeOutcome, change_session
from bot.settings import Settings, SettingsError, load_settings
from bot.texts.i18n import Translations, Translator
from bot.texts.labels import role_label
from jobs.dispatch import DeliveryPolicy, Dispatcher
from storage import migrate as migrations
from storage.copy import TargetNotEmpty, copy_database
from storage.database import create_engine
from storage.migrate import DatabaseNotMigrated, check_current
from storage.secrets import NikKeyMismatch
from storage.store import DatabaseUnreachable, Store

log = logging.getLogger("sapa")

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sapa", description="Sapa RTS: the Jamsosratu programme's Telegram assistant."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = commands.add_parser(
        "run", help="start the bot (long polling, or a webhook with --webhook)"
    )
    run_parser.add_argument(
        "--webhook",
        metavar="URL",
        help="serve a webhook: the public https:// address Telegram posts updates to "
        "(default: SAPA_WEBHOOK_URL; without either, the bot polls)",
    )
    run_parser.add_argument(
        "--host", help="address the HTTP server listens on (default: SAPA_LISTEN_HOST, 127.0.0.1)"
    )
    run_parser.add_argument(
        "--port",
        type=int,
        help="port of the HTTP server, webhook and /healthz (default: SAPA_LISTEN_PORT; "
        "8080 with a webhook; when polling, /healthz is served only if a port is given)",
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    importing = commands.add_parser("import", help="import a registry CSV file")
    importing.add_argument("kind", choices=[kind.value for kind in ImportKind])
    importing.add_argument("file", type=Path)
    importing.add_argument("--dry-run", action="store_true", help="check the file, change nothing")
    commands.add_parser("stats", help="counts per kecamatan")
    demo_parser = commands.add_parser("demo", help="fill an empty database with a demo province")
    demo_parser.add_argument("--households", type=int, default=demo.DEFAULT_HOUSEHOLDS)
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
    link_parser = commands.add_parser(
        "link-code", help="print a one-time code that links a Telegram user to a household"
    )
    link_parser.add_argument("program_number")
    invite_parser = commands.add_parser(
        "invite", help="print a single-use link that enrols a staff member's Telegram account"
    )
    invite_parser.add_argument("role", choices=[r.value for r in STAFF_ROLES])
    invite_parser.add_argument("staff_code")
    export_parser = commands.add_parser(
        "export",
        help="write the monthly recap as XLSX and CSV (attendance, complaints, companions)",
    )
    export_parser.add_argument("--month", help="YYYY-MM (default: this month)")
    export_parser.add_argument("--kecamatan", help="one kecamatan (default: the whole district)")
    export_parser.add_argument("--output", type=Path, default=Path("."), help="folder to write to")
    backup_parser = commands.add_parser(
        "backup", help="copy the SQLite database safely while the bot runs (online backup)"
    )
    backup_parser.add_argument("file", type=Path)
    copy_parser = commands.add_parser(
        "copy-database",
        help="copy every row into another database (an empty one, migrated with `sapa migrate`); "
        "how a deployment moves from SQLite to PostgreSQL",
    )
    copy_parser.add_argument("target_url", metavar="TARGET_URL")
    escalate_parser = commands.add_parser(
        "escalate", help="run the escalation sweep now (the running bot does it every 10 minutes)"
    )
    escalate_parser.add_argument(
        "--at", help="pretend it is this moment, YYYY-MM-DDTHH:MM in WIB (for demos and drills)"
    )
    for entity, key, what in (
        ("staff", "code", "a staff member (by staff code)"),
        ("household", "program_number", "a household (by programme number)"),
    ):
        entity_parser = commands.add_parser(
            entity, help=f"take {what} out of service, or back into it"
        )
        verbs = entity_parser.add_subparsers(dest="change", required=True, metavar="CHANGE")
        off = verbs.add_parser("deactivate", help="refuse their account at once, cancel its queue")
        off.add_argument(key)
        off.add_argument("--reason", required=True, help="why (kept in the audit log)")
        on = verbs.add_parser("activate", help="serve them again")
        on.add_argument(key)
        on.add_argument("--reason", default="", help="why (kept in the audit log)")
    outbox_parser = commands.add_parser(
        "outbox",
        help="list the messages that could not be delivered; `outbox retry` queues them again",
    )
    outbox_parser.add_argument(
        "--limit", type=int, default=20, help="how many to list, newest first (default 20)"
    )
    outbox_actions = outbox_parser.add_subparsers(dest="action", metavar="ACTION")
    outbox_retry = outbox_actions.add_parser(
        "retry", help="put failed messages back in the queue, due now (audited)"
    )
    outbox_retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    outbox_retry.add_argument("--all", action="store_true", help="every failed message")
    session_parser = commands.add_parser("session", help="move or cancel one posyandu session")
    session_commands = session_parser.add_subparsers(dest="change", required=True, metavar="CHANGE")
    move = session_commands.add_parser("move", help="move a session to another day")
    move.add_argument("posyandu_code")
    move.add_argument("date", type=date.fromisoformat, help="the session's day, YYYY-MM-DD")
    move.add_argument("new_date", type=date.fromisoformat, help="the new day, YYYY-MM-DD")
    cancel = session_commands.add_parser("cancel", help="cancel a session")
    cancel.add_argument("posyandu_code")
    cancel.add_argument("date", type=date.fromisoformat, help="the session's day, YYYY-MM-DD")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level)
    t = Translations(settings.default_language).for_language(settings.default_language)
    warn_if_env_file_is_shared(t)
    try:
        if args.command == "run" and settings.telegram_bot_token is None:
            print(missing_token_message(t), file=sys.stderr)
            return EXIT_CONFIG
        if args.command in NEEDS_NIK_KEY:
            first = args.command in ("demo", "migrate")
            settings = asyncio.run(
                with_nik_key(settings, migrate_first=first, move_only=args.command == "migrate")
            )
        if args.command == "run":
            return run(settings, t, args)
        return asyncio.run(_dispatch(args, settings, t))
    except DatabaseNotMigrated:
        print(t("The database is not ready. Run `sapa migrate` first."), file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseUnreachable as error:
        print(database_unreachable_message(t, settings.database_url, str(error)), file=sys.stderr)
        return EXIT_CONFIG
    except NikKeyMismatch:
        print(nik_key_mismatch_message(t), file=sys.stderr)
        return EXIT_CONFIG
    except NikKeyFileProblem as error:
        print(nik_key_file_message(t, error), file=sys.stderr)
        return EXIT_CONFIG


# The verbs that make or check NIK digests; `migrate` moves an old in-database key out.
# (`run` reads the key itself, once it holds the database lock.)
NEEDS_NIK_KEY = {"import", "demo", "link-code", "console", "migrate"}


async def with_nik_key(
    settings: Settings, *, migrate_first: bool = False, move_only: bool = False
) -> Settings:
    """The settings with the NIK key from SAPA_NIK_KEY or its key file (see bot.runtime.nik_key)."""
    if migrate_first:
        await migrate(settings)
    store = await Store.open(settings.database_url)
    try:
        return await resolve_nik_key(settings, store, move_only=move_only)
    finally:
        await store.close()


def warn_if_env_file_is_shared(t: Translator) -> None:
    """A .env holds the bot token (and maybe the NIK key): others must not read it."""
    env_file = Path(".env")
    try:
        shared = env_file.stat().st_mode & 0o077
    except OSError:
        return
    if shared:
        print(
            t("Warning: {path} can be read by other users of this computer; it holds secrets. "
              "Run: chmod 600 {path}").format(path=env_file.resolve()),
            file=sys.stderr,
        )  # fmt: skip
        log.warning("env_file_readable_by_others mode=%o", env_file.stat().st_mode & 0o777)


def nik_key_file_message(t: Translator, error: NikKeyFileProblem) -> str:
    if error.reason == NikKeyFileProblem.UNSAFE_MODE:
        return t(
            "The NIK key file {path} can be read by other users; it must be readable by its "
            "owner only. Run: chmod 600 {path}"
        ).format(path=error.path)
    return t(
        "The NIK key file {path} cannot be read or is damaged. Restore it from your key backup, "
        "or set SAPA_NIK_KEY."
    ).format(path=error.path)


def database_unreachable_message(t: Translator, url: str, reason: str) -> str:
    address = make_url(url).render_as_string(hide_password=True)
    return t(
        "Cannot open the database {address} ({reason}); check SAPA_DATABASE_URL and that the "
        "database server is running, then run `sapa migrate`."
    ).format(address=address, reason=reason)


def nik_key_mismatch_message(t: Translator) -> str:
    return t(
        "SAPA_NIK_KEY is not the key this database was first imported with. Set it back to the "
        "original key; NIK digests made with two keys cannot be compared."
    )


async def _dispatch(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    if args.command == "migrate":
        print(t("The database is up to date."))
        return EXIT_OK
    if args.command == "demo":
        return await run_demo(settings, t, args.households)
    if args.command == "backup":
        return backup(settings, t, args.file)
    if args.command == "copy-database":
        return await run_copy_database(settings, t, args.target_url)
    store = await Store.open(settings.database_url)
    try:
        if args.command == "import":
            return await run_import(
                store, settings, t, ImportKind(args.kind), args.file, args.dry_run
            )
        if args.command == "stats":
            await print_stats(store, t)
            return EXIT_OK
        if args.command == "link-code":
            return await print_link_code(store, settings, t, args.program_number)
        if args.command == "invite":
            return await print_invite(store, settings, t, Role(args.role), args.staff_code)
        if args.command == "export":
            return await run_export(store, settings, t, args.month, args.kecamatan, args.output)
        if args.command == "escalate":
            return await run_escalate(store, settings, t, args.at)
        if args.command == "session":
            new_date = args.new_date if args.change == "move" else None
            return await run_session_change(
                store, settings, t, args.posyandu_code, args.date, new_date
            )
        if args.command == "console":
            return await run_console(store, settings, t, args.identity)
        if args.command in ("staff", "household"):
            return await run_activation(store, t, args)
        if args.command == "outbox":
            return await run_outbox(store, settings, t, args)
    finally:
        await store.close()
    raise AssertionError(args.command)


async def migrate(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        await migrations.upgrade(engine)
    except DBAPIError as error:
        raise DatabaseUnreachable(str(error.orig).splitlines()[0]) from error
    except OSError as error:
        raise DatabaseUnreachable(str(error)) from error
    finally:
        await engine.dispose()


def nik_key(settings: Settings) -> bytes | None:
    return settings.nik_key_bytes


async def run_import(
    store: Store, settings: Settings, t: Translator, kind: ImportKind, file: Path, dry_run: bool
) -> int:
    report = await import_file(
        store,
        kind,
        file,
        t,
        now=utc_now(),
        dry_run=dry_run,
        nik_key=nik_key(settings),
        progress=sys.stderr.isatty(),
    )
    print_report(report, t)
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def print_report(report: ImportReport, t: Translator) -> None:
    if not report.ok:
        print(
            t("{file}: {count} problem(s) found, nothing was changed.").format(
                file=report.file, count=report.problem_count
            )
        )
        for problem in report.problems:
            where = [t("line {line}").format(line=problem.line)] if problem.line else []
            if problem.column:
                where.append(t("column {column}").format(column=problem.column))
            prefix = ", ".join(where)
            print(f"  {prefix}: {problem.reason}" if prefix else f"  {problem.reason}")
        if report.more_problems:
            print("  " + t("… and {count} more problem(s).").format(count=report.more_problems))
        return
    if report.dry_run:
        print(
            t("{file}: {rows} rows checked, no problems. Dry run: nothing was changed.").format(
                file=report.file, rows=report.rows
            )
        )
        return
    print(
        t("{file}: {rows} rows imported ({inserted} new, {updated} updated).").format(
            file=report.file, rows=report.rows, inserted=report.inserted, updated=report.updated
        )
    )
    if report.staff_changes:
        print(t("Changed role or kecamatan (in force from their next message):"))
    for change in report.staff_changes:
        parts = []
        if change.role_before is not change.role_after:
            parts.append(
                f"{role_label(change.role_before, t)} → {role_label(change.role_after, t)}"
            )
        if change.kecamatan_before != change.kecamatan_after:
            parts.append(f"{change.kecamatan_before or '-'} → {change.kecamatan_after or '-'}")
        print(f"  {change.code} ({change.name}): " + ", ".join(parts))


async def print_stats(store: Store, t: Translator) -> None:
    async with store.read() as repo:
        lines = await repo.stats.per_kecamatan()
        district_staff, district_linked = await repo.stats.district_staff()
    headers = [
        t("Kecamatan"),
        t("Posyandu"),
        t("Households"),
        t("Members"),
        t("Staff"),
        t("Linked users"),
    ]
    table: list[list[str | int]] = [
        [
            line.kecamatan,
            line.posyandu,
            line.households,
            line.members,
            line.staff,
            line.linked_users,
        ]
        for line in lines
    ]
    if district_staff:
        table.append([t("(district)"), 0, 0, 0, district_staff, district_linked])
    totals: list[str | int] = [t("Total")]
    totals += [sum(int(row[i]) for row in table) for i in range(1, 6)]
    everything: list[Sequence[str | int]] = [headers, *table, totals]
    widths = [max(len(str(row[i])) for row in everything) for i in range(6)]

    def render(row: Sequence[str | int]) -> str:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(value).rjust(widths[i]) for i, value in enumerate(row) if i > 0]
        return "  ".join(cells)

    print(render(headers))
    print("  ".join("-" * width for width in widths))
    for row in table:
        print(render(row))
    print("  ".join("-" * width for width in widths))
    print(render(totals))


async def run_demo(settings: Settings, t: Translator, households: int) -> int:
    await migrate(settings)
    store = await Store.open(settings.database_url)
    try:
        async with store.read() as repo:
            existing = await repo.households.count()
        if existing:
            print(
                t(
                    "The database already holds {count} households; `sapa demo` only fills an "
                    "empty database. Point SAPA_DATABASE_URL at a new file, for example "
                    "sqlite+aiosqlite:///demo.db."
                ).format(count=existing),
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
        reports = await demo.load_demo(
            store, t, today=utc_now().date(), households=households, nik_key=nik_key(settings)
        )
        for report in reports:
            print_report(report, t)
        if not all(report.ok for report in reports):
            return EXIT_PROBLEMS
        print()
        await print_stats(store, t)
        return EXIT_OK
    finally:
        await store.close()


def run(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    """`sapa run`: long polling, or a webhook with `--webhook URL`; stops on SIGTERM or Ctrl-C."""
    if settings.telegram_bot_token is None:
        print(missing_token_message(t), file=sys.stderr)
        return EXIT_CONFIG
    webhook_url = args.webhook or settings.webhook_url
    webhook = Webhook.from_settings(settings, webhook_url) if webhook_url else None
    host = args.host or settings.listen_host
    port = args.port or settings.listen_port
    if webhook is not None and port is None:
        port = DEFAULT_WEBHOOK_PORT
    listener = Listener(host, port) if port is not None else None
    # One bot per SQLite file: a second would send the whole outbox again and answer every
    # update twice. PostgreSQL replicas share the work safely and take no such lock.
    database = settings.sqlite_path
    lock: DatabaseLock | None = None
    try:
        if database is not None and str(database) != ":memory:":
            lock = lock_database(database)
    except AlreadyRunning as error:
        print(
            t("Another Sapa RTS is already running on this database ({path}); stop it first.")
            .format(path=error.database),
            file=sys.stderr,
        )  # fmt: skip
        return EXIT_CONFIG
    except OSError as error:  # the folder does not exist, say: the database cannot be opened
        raise DatabaseUnreachable(error.strerror or str(error)) from error
    try:
        return asyncio.run(_serve(settings, webhook, listener))
    except InvalidToken:
        print(
            t(
                "Telegram refused the token in TELEGRAM_BOT_TOKEN; copy it again from @BotFather "
                "(or check SAPA_BOT_API_URL if you use your own Bot API server)."
            ),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except CannotListen as error:
        print(
            t("Cannot listen on {host}:{port} ({reason}); set SAPA_LISTEN_PORT to a free port.")
            .format(host=error.listener.host, port=error.listener.port, reason=error.reason),
            file=sys.stderr,
        )  # fmt: skip
        return EXIT_CONFIG
    finally:
        if lock is not None:
            lock.release()


async def _serve(settings: Settings, webhook: Webhook | None, listener: Listener | None) -> int:
    store = await Store.open(settings.database_url)
    try:
        settings = await resolve_nik_key(settings, store)  # inside the database lock
    except BaseException:
        await store.close()
        raise
    services = Services(
        settings=settings, store=store, translations=Translations(settings.default_language)
    )
    application = build_application(services, jobs=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    log.info("bot_starting database=%s", settings.database_url.split("://")[0])
    try:
        await serve(application, services, stop, webhook=webhook, listener=listener)
    finally:
        await store.close()
    return EXIT_OK


def missing_token_message(t: Translator) -> str:
    return t(
        "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather in Telegram, then put it in "
        "a file named .env in this folder (copy .env.example and fill in TELEGRAM_BOT_TOKEN=...). "
        "Without a token you can still try `sapa demo` and `sapa console`."
    )


async def print_link_code(store: Store, settings: Settings, t: Translator, number: str) -> int:
    code = await issue_link_code(
        store, number, now=utc_now(), actor="cli", nik_key=nik_key(settings)
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
                store, number, now=utc_now(), actor="console", nik_key=nik_key(settings)
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


async def run_session_change(
    store: Store, settings: Settings, t: Translator, code: str, day: date, new: date | None
) -> int:
    outcome, households = await change_session(
        store, code, day, new, actor="cli", now=utc_now(), zone=settings.zone
    )
    if outcome is ChangeOutcome.UNKNOWN_POSYANDU:
        print(t("There is no posyandu with code {code}.").format(code=code), file=sys.stderr)
        return EXIT_PROBLEMS
    if outcome is ChangeOutcome.NOT_A_SESSION:
        print(
            t("Posyandu {code} has no session on {date} by its schedule.").format(
                code=code, date=t.long_date(day)
            ),
            file=sys.stderr,
        )
        return EXIT_PROBLEMS
    if outcome is ChangeOutcome.IN_THE_PAST:
        print(t("Only sessions from today on can be changed."), file=sys.stderr)
        return EXIT_PROBLEMS
    if new is None:
        done = t("The session of {date} is cancelled.").format(date=t.long_date(day))
    else:
        done = t("The session of {date} moves to {new_date}.").format(
            date=t.long_date(day), new_date=t.long_date(new)
        )
    told = t("{count} households will get a notice.").format(count=households)
    print(f"{done} {told}")
    return EXIT_OK


async def print_invite(
    store: Store, settings: Settings, t: Translator, role: Role, code: str
) -> int:
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
        t("Invite for {name} ({role}), valid for 7 days and for one use.").format(
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


async def run_export(
    store: Store,
    settings: Settings,
    t: Translator,
    month_text: str | None,
    kecamatan_name: str | None,
    folder: Path,
) -> int:
    from bot.domain.models import name_key
    from bot.domain.recap import month_of, parse_month
    from bot.services.recap import build_recap
    from bot.texts.workbook import workbook_bytes, write_csv_files, write_private

    now = utc_now()
    month = (
        parse_month(month_text) if month_text else month_of(now.astimezone(settings.zone).date())
    )
    if month is None:
        print(t("Write the month like 2026-11, or nothing for this month."), file=sys.stderr)
        return EXIT_CONFIG
    kecamatan_id = None
    if kecamatan_name:
        async with store.read() as repo:
            kecamatan_id = (await repo.geography.kecamatan_ids()).get(name_key(kecamatan_name))
        if kecamatan_id is None:
            print(
                t("There is no kecamatan named {name}.").format(name=kecamatan_name),
                file=sys.stderr,
            )
            return EXIT_PROBLEMS
    recap = await build_recap(
        store, kecamatan_id, month, now=now, zone=settings.zone, with_complaint_rows=True
    )
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"sapa-rekap-{month:%Y-%m}" + (f"-{name_key(kecamatan_name)}" if kecamatan_name else "")
    workbook = folder / f"{stem.replace(' ', '-')}.xlsx"
    write_private(workbook, workbook_bytes(recap, t, settings.zone))
    written = [workbook, *write_csv_files(recap, t, settings.zone, folder, stem.replace(" ", "-"))]
    for path in written:
        print(path)
    return EXIT_OK


async def run_escalate(store: Store, settings: Settings, t: Translator, at: str | None) -> int:
    from bot.services.complaints import ComplaintPolicy
    from jobs.escalation import sweep

    moment = utc_now()
    if at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            print(t("Write the moment like 2026-12-10T10:00."), file=sys.stderr)
            return EXIT_CONFIG
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=settings.zone)
    policy = ComplaintPolicy.from_settings(settings)
    moved = await sweep(store, moment, policy, send_at=utc_now())
    print(t("{count} complaint(s) went up a level.").format(count=moved))
    return EXIT_OK


async def run_activation(store: Store, t: Translator, args: argparse.Namespace) -> int:
    """`sapa staff|household deactivate|activate KEY --reason ...`"""
    from bot.services.deactivation import Change, set_household_active, set_staff_active

    active = args.change == "activate"
    if args.command == "staff":
        key, change = args.code, set_staff_active
    else:
        key, change = args.program_number, set_household_active
    outcome, cancelled = await change(
        store, key, active, reason=args.reason, actor="cli", now=utc_now()
    )
    if outcome is Change.NOT_FOUND:
        print(t("There is no {key} in the registry.").format(key=key), file=sys.stderr)
        return EXIT_PROBLEMS
    if outcome is Change.UNCHANGED:
        print(t("{key} already was so; nothing changed.").format(key=key))
    elif active:
        print(t("{key} is active again.").format(key=key))
    else:
        print(
            t(
                "{key} is deactivated: their Telegram is refused from now on, and {count} "
                "queued message(s) were cancelled."
            ).format(key=key, count=cancelled)
        )
    return EXIT_OK


async def run_outbox(
    store: Store, settings: Settings, t: Translator, args: argparse.Namespace
) -> int:
    """`sapa outbox [--limit N]`: the messages that could not be delivered, newest first, with
    no names or texts (the recipient is a programme number or a staff code); `sapa outbox retry
    ID [ID...]` or `--all` puts failed ones back in the queue, due now, each change audited."""
    now = utc_now()
    if args.action == "retry":
        if bool(args.ids) == args.all:
            print(t("Name the messages by their ID, or use --all."), file=sys.stderr)
            return EXIT_CONFIG
        async with store.write() as repo:
            retried = await repo.notifications.retry_failed(now, None if args.all else args.ids)
            for notification_id in retried:
                await repo.audit.record(
                    now, "cli", "retry", "notification", str(notification_id), {"all": args.all}
                )
        print(t("{count} message(s) put back in the queue, due now.").format(count=len(retried)))
        left = sorted(set(args.ids) - set(retried))
        if left:
            print(
                t("Not put back (not failed, expired, blocked by the recipient, or unknown): {ids}")
                .format(ids=", ".join(str(i) for i in left)),
                file=sys.stderr,
            )  # fmt: skip
            return EXIT_PROBLEMS
        return EXIT_OK
    async with store.read() as repo:
        shown, total = await repo.notifications.undelivered(max(args.limit, 1))
    if not shown:
        print(t("Nothing failed: every message was delivered or is still on its way."))
        return EXIT_OK
    print(t("Messages that could not be delivered, newest first:"))
    rows = [[t("ID"), t("Due"), t("Message"), t("Recipient"), t("Attempts"), t("Last error")]]
    for message in shown:
        error = message.error_type
        if message.expired:
            error = t("{error} (expired, not retried)").format(error=error)
        due = message.due_at.astimezone(settings.zone)
        when = f"{due:%Y-%m-%d %H:%M} {due.tzname() or ''}".strip()
        rows.append([str(message.id), when, message.template_key, message.recipient,
                     str(message.attempts), error])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if total > len(shown):
        print(t("… and {count} more.").format(count=total - len(shown)))
    print(
        t("Put failed messages back in the queue: sapa outbox retry ID [ID...], or every one "
          "with sapa outbox retry --all.")
    )  # fmt: skip
    return EXIT_OK


def backup(settings: Settings, t: Translator, target: Path) -> int:
    """SQLite's online backup API: a consistent copy even while the bot writes (unlike `cp`)."""
    import sqlite3

    source_path = settings.sqlite_path
    if source_path is None:
        print(
            t("`sapa backup` copies a SQLite database. For PostgreSQL use pg_dump."),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if not source_path.exists():
        print(t("There is no database file at {path}.").format(path=source_path), file=sys.stderr)
        return EXIT_PROBLEMS
    folder = target.parent
    if not folder.is_dir():
        print(
            t("The folder {folder} does not exist; create it first or choose another place.")
            .format(folder=folder),
            file=sys.stderr,
        )  # fmt: skip
        return EXIT_PROBLEMS
    try:
        # The copy holds everything the database does: readable by its owner only (0600) from
        # the start. SQLite then writes into the empty file (and gives its journal the same mode).
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        print(
            t("{path} already exists; choose a new file name.").format(path=target), file=sys.stderr
        )
        return EXIT_PROBLEMS
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy, pages=1024)
    finally:
        copy.close()
        source.close()
    print(t("Backup written to {path}.").format(path=target))
    return EXIT_OK


async def run_copy_database(settings: Settings, t: Translator, target_url: str) -> int:
    """`sapa copy-database URL`: every row of SAPA_DATABASE_URL into the (empty) target."""
    source = await Store.open(settings.database_url)  # its problems are reported by main()
    target = create_engine(target_url)
    address = make_url(target_url).render_as_string(hide_password=True)
    try:
        try:
            await check_current(target)
        except DatabaseNotMigrated:
            print(
                t("The target database is not ready. Run `SAPA_DATABASE_URL={url} sapa migrate` "
                  "first.").format(url=address),
                file=sys.stderr,
            )  # fmt: skip
            return EXIT_CONFIG
        except (OSError, DBAPIError) as error:
            reason = str(error.orig if isinstance(error, DBAPIError) else error).splitlines()[0]
            print(database_unreachable_message(t, target_url, reason), file=sys.stderr)
            return EXIT_CONFIG
        report = await copy_database(
            source.engine, target, progress=lambda table, rows: print(f"{table:<28} {rows:>10,}")
        )
    except TargetNotEmpty as error:
        print(
            t("The target database already holds data (in {tables}); copy only into an empty "
              "database.").format(tables=error),
            file=sys.stderr,
        )  # fmt: skip
        return EXIT_PROBLEMS
    finally:
        await source.close()
        await target.dispose()
    print(
        t("Copied {rows} rows to {url}. Now set SAPA_DATABASE_URL to it and start the bot.").format(
            rows=report.total, url=address
        )
    )
    return EXIT_OK
