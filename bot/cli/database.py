"""`sapa migrate`, `backup` and `copy-database`: the database's schema, copies and moves."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS

if TYPE_CHECKING:
    from bot.cli.common import Commands
    from bot.settings import Settings
    from bot.texts.i18n import Translator


def add_parsers(commands: Commands) -> None:
    migrate_parser = commands.add_parser("migrate", help="create or upgrade the database schema")
    migrate_parser.set_defaults(handler=_migrate)
    backup_parser = commands.add_parser(
        "backup", help="copy the SQLite database safely while the bot runs (online backup)"
    )
    backup_parser.add_argument("file", type=Path)
    backup_parser.set_defaults(handler=_backup)
    copy_parser = commands.add_parser(
        "copy-database",
        help="copy every row into another database (an empty one, migrated with `sapa migrate`); "
        "how a deployment moves from SQLite to PostgreSQL",
    )
    copy_parser.add_argument("target_url", metavar="TARGET_URL")
    copy_parser.set_defaults(handler=_copy_database)


def _migrate(_settings: Settings, t: Translator, _args: argparse.Namespace) -> int:
    """`main` has migrated the database already, before it moved the NIK key out of it."""
    print(t("The database is up to date."))
    return EXIT_OK


def _backup(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    return backup(settings, t, args.file)


async def _copy_database(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    return await run_copy_database(settings, t, args.target_url)


async def migrate(settings: Settings) -> None:
    from sqlalchemy.exc import DBAPIError

    from storage import migrate as migrations
    from storage.database import create_engine
    from storage.store import DatabaseUnreachable

    engine = create_engine(settings.database_url)
    try:
        await migrations.upgrade(engine)
    except DBAPIError as error:
        raise DatabaseUnreachable(str(error.orig).splitlines()[0]) from error
    except OSError as error:
        raise DatabaseUnreachable(str(error)) from error
    finally:
        await engine.dispose()


def database_unreachable_message(t: Translator, url: str, reason: str) -> str:
    from sqlalchemy import make_url

    address = make_url(url).render_as_string(hide_password=True)
    return t(
        "Cannot open the database {address} ({reason}); check SAPA_DATABASE_URL and that the "
        "database server is running, then run `sapa migrate`."
    ).format(address=address, reason=reason)


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
            t(
                "The folder {folder} does not exist; create it first or choose another place."
            ).format(folder=folder),
            file=sys.stderr,
        )
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
    from sqlalchemy import make_url
    from sqlalchemy.exc import DBAPIError

    from storage.copy import TargetNotEmpty, copy_database
    from storage.database import create_engine
    from storage.migrate import DatabaseNotMigrated, check_current
    from storage.store import Store

    source = await Store.open(settings.database_url)  # its problems are reported by main()
    target = create_engine(target_url)
    address = make_url(target_url).render_as_string(hide_password=True)
    try:
        try:
            await check_current(target)
        except DatabaseNotMigrated:
            print(
                t(
                    "The target database is not ready. Run `SAPA_DATABASE_URL={url} sapa migrate` "
                    "first."
                ).format(url=address),
                file=sys.stderr,
            )
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
            t(
                "The target database already holds data (in {tables}); copy only into an empty "
                "database."
            ).format(tables=error),
            file=sys.stderr,
        )
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
