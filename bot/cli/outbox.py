"""`sapa outbox`: the messages that could not be delivered; `outbox retry` queues them again."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS, open_store

if TYPE_CHECKING:
    from bot.cli.common import Commands
    from bot.settings import Settings
    from bot.texts.i18n import Translator
    from storage.store import Store


def add_parsers(commands: Commands) -> None:
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
    outbox_parser.set_defaults(handler=_outbox)


async def _outbox(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    async with open_store(settings) as store:
        return await run_outbox(store, settings, t, args)


async def run_outbox(
    store: Store, settings: Settings, t: Translator, args: argparse.Namespace
) -> int:
    """`sapa outbox [--limit N]`: the messages that could not be delivered, newest first, with
    no names or texts (the recipient is a programme number or a staff code); `sapa outbox retry
    ID [ID...]` or `--all` puts failed ones back in the queue, due now, each change audited."""
    from bot.domain.clock import utc_now

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
            not_back = t(
                "Not put back (not failed, expired, blocked by the recipient, or unknown): {ids}"
            )
            print(not_back.format(ids=", ".join(str(i) for i in left)), file=sys.stderr)
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
        rows.append(
            [
                str(message.id),
                when,
                message.template_key,
                message.recipient,
                str(message.attempts),
                error,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    if total > len(shown):
        print(t("… and {count} more.").format(count=total - len(shown)))
    print(
        t(
            "Put failed messages back in the queue: sapa outbox retry ID [ID...], or every one "
            "with sapa outbox retry --all."
        )
    )
    return EXIT_OK
