"""`sapa export`, `payout-list`, `escalate` and `session`: the monthly recap, payout queue lists,
complaints, posyandu sessions."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, open_store

if TYPE_CHECKING:
    from bot.cli.common import Commands
    from bot.settings import Settings
    from bot.texts.i18n import Translator
    from storage.store import Store


def add_parsers(commands: Commands) -> None:
    export_parser = commands.add_parser(
        "export",
        help="write the monthly recap, or with --period the verification list, as XLSX and CSV",
    )
    when = export_parser.add_mutually_exclusive_group()
    when.add_argument("--month", help="YYYY-MM (default: this month)")
    when.add_argument(
        "--period",
        help="the verification list of a payout period: 2026-T4 (October to December), "
        "2026-11, or 2026-09..2026-12",
    )
    export_parser.add_argument("--kecamatan", help="one kecamatan (default: the whole district)")
    export_parser.add_argument("--output", type=Path, default=Path("."), help="folder to write to")
    export_parser.set_defaults(handler=_export)
    payout_parser = commands.add_parser(
        "payout-list",
        help="write a payout round's queue list for the post office or bank, as XLSX and PDF "
        "(a page per queue slot)",
    )
    payout_parser.add_argument("round_code", metavar="ROUND_CODE", help="the round, e.g. 2026-T4")
    payout_parser.add_argument("--kecamatan", help="one kecamatan (default: every kecamatan)")
    payout_parser.add_argument("--output", type=Path, default=Path("."), help="folder to write to")
    payout_parser.set_defaults(handler=_payout_list)
    escalate_parser = commands.add_parser(
        "escalate", help="run the escalation sweep now (the running bot does it every 10 minutes)"
    )
    escalate_parser.add_argument(
        "--at",
        help="a drill: list what would go up a level at this moment, YYYY-MM-DDTHH:MM in WIB "
        "(nothing changes without --apply)",
    )
    escalate_parser.add_argument(
        "--apply",
        action="store_true",
        help="with --at: move those complaints up now (their history dated now, not --at)",
    )
    escalate_parser.set_defaults(handler=_escalate)
    session_parser = commands.add_parser("session", help="move or cancel one posyandu session")
    session_commands = session_parser.add_subparsers(dest="change", required=True, metavar="CHANGE")
    move = session_commands.add_parser("move", help="move a session to another day")
    move.add_argument("posyandu_code")
    move.add_argument("date", type=date.fromisoformat, help="the session's day, YYYY-MM-DD")
    move.add_argument("new_date", type=date.fromisoformat, help="the new day, YYYY-MM-DD")
    cancel = session_commands.add_parser("cancel", help="cancel a session")
    cancel.add_argument("posyandu_code")
    cancel.add_argument("date", type=date.fromisoformat, help="the session's day, YYYY-MM-DD")
    session_parser.set_defaults(handler=_session)


async def _export(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        if args.period:
            return await run_register_export(
                store, settings, t, args.period, args.kecamatan, args.output
            )
        return await run_export(store, settings, t, args.month, args.kecamatan, args.output)


async def _payout_list(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await run_payout_list(
            store, settings, t, args.round_code, args.kecamatan, args.output
        )


async def _escalate(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await run_escalate(store, settings, t, args.at, apply=args.apply)


async def _session(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    new_date = args.new_date if args.change == "move" else None
    async with open_store(settings) as store:
        return await run_session_change(store, settings, t, args.posyandu_code, args.date, new_date)


async def run_export(
    store: Store,
    settings: Settings,
    t: Translator,
    month_text: str | None,
    kecamatan_name: str | None,
    folder: Path,
) -> int:
    from bot.domain.clock import utc_now
    from bot.domain.models import name_key
    from bot.domain.months import month_of, parse_month
    from bot.services.recap import build_recap
    from bot.texts.workbook import workbook_bytes, write_csv_files, write_private

    now = utc_now()
    month = (
        parse_month(month_text) if month_text else month_of(now.astimezone(settings.zone).date())
    )
    if month is None:
        print(t("Write the month like 2026-11, or nothing for this month."), file=sys.stderr)
        return EXIT_CONFIG
    kecamatan_id = await _kecamatan_id(store, t, kecamatan_name)
    if kecamatan_id is False:
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


async def _kecamatan_id(
    store: Store, t: Translator, name: str | None
) -> int | Literal[False] | None:
    """The kecamatan's id, None for the whole district, False (said why) when there is none."""
    from bot.domain.models import name_key

    if not name:
        return None
    async with store.read() as repo:
        found = (await repo.geography.kecamatan_ids()).get(name_key(name))
    if found is None:
        print(t("There is no kecamatan named {name}.").format(name=name), file=sys.stderr)
        return False
    return found


async def run_register_export(
    store: Store,
    settings: Settings,
    t: Translator,
    period_text: str,
    kecamatan_name: str | None,
    folder: Path,
) -> int:
    """The verification list of a payout period (docs/conditions.md): XLSX and two CSV files."""
    from bot.domain.clock import utc_now
    from bot.domain.conditions import parse_period
    from bot.domain.models import name_key
    from bot.services.register import build_register
    from bot.texts.register_sheet import register_tables, workbook_of, write_register_csv
    from bot.texts.workbook import write_private

    period = parse_period(period_text)
    if period is None:
        print(
            t("Write the period like 2026-T4 (a quarter), 2026-11 or 2026-09..2026-12."),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    kecamatan_id = await _kecamatan_id(store, t, kecamatan_name)
    if kecamatan_id is False:
        return EXIT_PROBLEMS
    today = utc_now().astimezone(settings.zone).date()
    register = await build_register(store, kecamatan_id, kecamatan_name or "", period, today)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"sapa-verifikasi-{period.code.replace('..', '-')}"
    stem += f"-{name_key(kecamatan_name)}" if kecamatan_name else ""
    stem = stem.replace(" ", "-")
    workbook = folder / f"{stem}.xlsx"
    tables = register_tables(register, t)
    write_private(workbook, workbook_of(tables, t))
    for path in [workbook, *write_register_csv(tables, folder, stem)]:
        print(path)
    return EXIT_OK


async def run_payout_list(
    store: Store,
    settings: Settings,
    t: Translator,
    round_code: str,
    kecamatan_name: str | None,
    folder: Path,
) -> int:
    """A round's queue list (every kecamatan's, or one's): XLSX and PDF, readable by the owner
    only. A round still to come gets its queue slots first, as /antrean does."""
    from bot.domain.clock import utc_now
    from bot.services.payout_queue import ListOutcome, QueuePolicy, payout_lists
    from bot.texts.payout_list import file_stem, venue_pdf, venue_workbook
    from bot.texts.workbook import write_private

    now = utc_now()
    policy = QueuePolicy.from_settings(settings)
    answer = await payout_lists(
        store,
        None,
        round_code,
        kecamatan_name,
        today=now.astimezone(settings.zone).date(),
        now=now,
        policy=policy,
    )
    if answer.outcome is ListOutcome.UNKNOWN_KECAMATAN:
        print(t("There is no kecamatan named {name}.").format(name=kecamatan_name), file=sys.stderr)
        return EXIT_PROBLEMS
    if answer.outcome is not ListOutcome.LISTED:
        print(t("There is no payout round {code}.").format(code=round_code), file=sys.stderr)
        return EXIT_PROBLEMS
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem("sapa-antrean", round_code, kecamatan_name or "")
    workbook, pdf = folder / f"{stem}.xlsx", folder / f"{stem}.pdf"
    write_private(workbook, venue_workbook(answer.lists, t))
    write_private(pdf, venue_pdf(answer.lists, t))
    for path in (workbook, pdf):
        print(path)
    return EXIT_OK


async def run_escalate(
    store: Store, settings: Settings, t: Translator, at: str | None, *, apply: bool = False
) -> int:
    from bot.domain.clock import utc_now
    from bot.services.complaints import ComplaintPolicy
    from bot.texts.labels import LEVEL_LABELS
    from jobs.escalation import overdue_by, sweep

    now = utc_now()
    moment = now
    if at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            print(t("Write the moment like 2026-12-10T10:00."), file=sys.stderr)
            return EXIT_CONFIG
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=settings.zone)
    policy = ComplaintPolicy.from_settings(settings)
    if at and not apply:
        due = await overdue_by(store, moment)
        for complaint in due:
            print(f"{complaint.ticket_code}: {t(LEVEL_LABELS[complaint.level])}")
        print(
            t(
                "{count} complaint(s) would go up a level at that moment. Nothing was changed; "
                "add --apply to move them up now."
            ).format(count=len(due))
        )
        return EXIT_OK
    moved = await sweep(store, now, policy, overdue_at=moment)
    print(t("{count} complaint(s) went up a level.").format(count=moved))
    return EXIT_OK


async def run_session_change(
    store: Store, settings: Settings, t: Translator, code: str, day: date, new: date | None
) -> int:
    from bot.domain.clock import utc_now
    from bot.domain.models import SessionChangeOutcome
    from bot.services.session_changes import change_session
    from bot.texts.outcomes import session_change_sentence

    outcome, households = await change_session(
        store, code, day, new, actor="cli", now=utc_now(), zone=settings.zone
    )
    sentence = session_change_sentence(
        outcome, t, code=code, day=day, new=new, households=households
    )
    if outcome is not SessionChangeOutcome.CHANGED:
        print(sentence, file=sys.stderr)
        return EXIT_PROBLEMS
    print(sentence)
    return EXIT_OK
