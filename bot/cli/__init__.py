"""The `sapa` command line: its parser, and what every verb shares (settings, NIK key, errors).

Each module beside this one registers a group of verbs and handles them: serve (run), database
(migrate, backup, copy-database), registry (import, stats, demo, staff, household), chat
(console, link-code, invite), programme (export, escalate, session) and outbox.

Start-up time: the modules import only the standard library at their top and the rest of the bot
(Telegram, SQLAlchemy, pydantic, matplotlib) inside the functions that use it, so that `sapa
--help` and a mistyped argument answer at once. That is the only reason for those late imports.
The `sapa` command (`command`) also keeps Python's garbage collector out of the start and the
exit: loading SQLAlchemy, pydantic and the bot makes hundreds of thousands of objects and frees
almost none, so the collections that run meanwhile, and the ones at exit, find nothing to free
(0.05 s and 0.08 s of a `sapa stats` of 0.5 s; bench/cli_start.py).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli import chat, database, outbox, programme, registry, serve
from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from bot.cli.common import Handler
    from bot.runtime.nik_key import NikKeyFileProblem
    from bot.settings import Settings
    from bot.texts.i18n import Translator

__all__ = ["EXIT_CONFIG", "EXIT_OK", "EXIT_PROBLEMS", "build_parser", "command", "main"]

log = logging.getLogger("sapa")

# The verbs that make or check NIK digests; `migrate` moves an old in-database key out.
# (`run` reads the key itself, once it holds the database lock.)
NEEDS_NIK_KEY = {"import", "demo", "link-code", "console", "migrate"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sapa", description="Sapa RTS: the Jamsosratu programme's Telegram assistant."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verbs in (serve, database, registry, chat, programme, outbox):
        verbs.add_parsers(commands)
    return parser


def command() -> int:
    """The `sapa` command: `main`, with no garbage collection while the modules load nor at
    exit (see above). A verb's own work runs with the collector on, as usual: only what was
    loaded before it is set aside (`gc.freeze`)."""
    code = main(quick_start=True)
    gc.freeze()  # at exit, every object is freed without looking for cycles among them
    return code


@contextlib.contextmanager
def _loading(quick: bool) -> Iterator[None]:
    """No garbage collection while the bot's modules load (when `quick`); then the loaded
    objects are set aside, so that later collections do not look at them again."""
    if not quick or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def main(argv: Sequence[str] | None = None, *, quick_start: bool = False) -> int:
    args = build_parser().parse_args(argv)
    with _loading(quick_start):  # the rest of the bot only now that the arguments are right
        import asyncio

        from bot.runtime.logs import setup_logging
        from bot.runtime.nik_key import NikKeyFileProblem
        from bot.settings import SettingsError, load_settings
        from bot.texts.i18n import Translations
        from storage.database import ForeignKeysBroken
        from storage.migrate import DatabaseNotMigrated
        from storage.secrets import NikKeyMismatch
        from storage.store import DatabaseUnreachable

    try:
        settings = load_settings()
    except SettingsError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.log_level)
    t = Translations(settings.default_language).for_language(settings.default_language)
    warn_if_env_file_is_shared(t)
    handler: Handler = args.handler
    try:
        if args.command in NEEDS_NIK_KEY:
            first = args.command in ("demo", "migrate")
            settings = asyncio.run(
                with_nik_key(settings, migrate_first=first, move_only=args.command == "migrate")
            )
        outcome = handler(settings, t, args)
        return outcome if isinstance(outcome, int) else asyncio.run(outcome)
    except DatabaseNotMigrated:
        print(t("The database is not ready. Run `sapa migrate` first."), file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseUnreachable as error:
        message = database.database_unreachable_message(t, settings.database_url, str(error))
        print(message, file=sys.stderr)
        return EXIT_CONFIG
    except ForeignKeysBroken as error:
        print(t("The migration was stopped; nothing in the database was changed."), file=sys.stderr)
        print(str(error), file=sys.stderr)
        return EXIT_CONFIG
    except NikKeyMismatch:
        print(nik_key_mismatch_message(t), file=sys.stderr)
        return EXIT_CONFIG
    except NikKeyFileProblem as error:
        print(nik_key_file_message(t, error), file=sys.stderr)
        return EXIT_CONFIG


async def with_nik_key(
    settings: Settings, *, migrate_first: bool = False, move_only: bool = False
) -> Settings:
    """The settings with the NIK key from SAPA_NIK_KEY or its key file (see bot.runtime.nik_key)."""
    from bot.runtime.nik_key import resolve_nik_key
    from storage.store import Store

    if migrate_first:
        await database.migrate(settings)
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
            t(
                "Warning: {path} can be read by other users of this computer; it holds secrets. "
                "Run: chmod 600 {path}"
            ).format(path=env_file.resolve()),
            file=sys.stderr,
        )
        log.warning("env_file_readable_by_others mode=%o", env_file.stat().st_mode & 0o777)


def nik_key_file_message(t: Translator, error: NikKeyFileProblem) -> str:
    from bot.runtime.nik_key import NikKeyFileProblem

    if error.reason == NikKeyFileProblem.UNSAFE_MODE:
        return t(
            "The NIK key file {path} can be read by other users; it must be readable by its "
            "owner only. Run: chmod 600 {path}"
        ).format(path=error.path)
    return t(
        "The NIK key file {path} cannot be read or is damaged. Restore it from your key backup, "
        "or set SAPA_NIK_KEY."
    ).format(path=error.path)


def nik_key_mismatch_message(t: Translator) -> str:
    return t(
        "SAPA_NIK_KEY is not the key this database was first imported with. Set it back to the "
        "original key; NIK digests made with two keys cannot be compared."
    )
