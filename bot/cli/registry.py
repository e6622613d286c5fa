"""`sapa import`, `stats`, `demo`, `staff` and `household`: the registry and who is in service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_OK, EXIT_PROBLEMS, open_store

if TYPE_CHECKING:
    from bot.cli.common import Commands
    from bot.services.registry.importer import ImportKind, ImportReport
    from bot.settings import Settings
    from bot.texts.i18n import Translator
    from storage.store import Store

# ImportKind's values, spelled out so that `sapa --help` need not load the importer (and with it
# SQLAlchemy); `_import` turns the choice back into an ImportKind, which refuses a stale one.
IMPORT_KINDS = ("posyandu", "people", "households", "members", "payouts", "school-attendance")


def add_parsers(commands: Commands) -> None:
    importing = commands.add_parser("import", help="import a registry CSV file")
    importing.add_argument("kind", choices=IMPORT_KINDS)
    importing.add_argument("file", type=Path)
    importing.add_argument("--dry-run", action="store_true", help="check the file, change nothing")
    importing.set_defaults(handler=_import)
    commands.add_parser("stats", help="counts per kecamatan").set_defaults(handler=_stats)
    demo_parser = commands.add_parser("demo", help="fill an empty database with a demo province")
    demo_parser.add_argument("--households", type=int)  # default: demo.DEFAULT_HOUSEHOLDS
    demo_parser.set_defaults(handler=_demo)
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
        entity_parser.set_defaults(handler=_activation)


async def _import(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    from bot.services.registry.importer import ImportKind

    kind = ImportKind(args.kind)
    async with open_store(settings) as store:
        return await run_import(store, settings, t, kind, args.file, args.dry_run)


async def _stats(settings: Settings, t: Translator, _args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        await print_stats(store, t)
    return EXIT_OK


async def _demo(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    from bot.services.demo import DEFAULT_HOUSEHOLDS

    households = DEFAULT_HOUSEHOLDS if args.households is None else args.households
    return await run_demo(settings, t, households)


async def _activation(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await run_activation(store, t, args)


async def run_import(
    store: Store, settings: Settings, t: Translator, kind: ImportKind, file: Path, dry_run: bool
) -> int:
    from bot.domain.clock import utc_now
    from bot.services.registry.importer import import_file

    report = await import_file(
        store,
        kind,
        file,
        t,
        now=utc_now(),
        dry_run=dry_run,
        nik_key=settings.nik_key_bytes,
        progress=sys.stderr.isatty(),
        zone=settings.zone,
    )
    print_report(report, t)
    return EXIT_OK if report.ok else EXIT_PROBLEMS


def print_report(report: ImportReport, t: Translator) -> None:
    from bot.texts.labels import role_label

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
    from bot.cli.database import migrate
    from bot.domain.clock import utc_now
    from bot.services import demo

    await migrate(settings)
    async with open_store(settings) as store:
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
            store, t, today=utc_now().date(), households=households, nik_key=settings.nik_key_bytes
        )
        for report in reports:
            print_report(report, t)
        if not all(report.ok for report in reports):
            return EXIT_PROBLEMS
        print()
        await print_stats(store, t)
        return EXIT_OK


async def run_activation(store: Store, t: Translator, args: argparse.Namespace) -> int:
    """`sapa staff|household deactivate|activate KEY --reason ...`"""
    from bot.domain.clock import utc_now
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
