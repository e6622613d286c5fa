"""The scheduled jobs of a running bot, on PTB's JobQueue (APScheduler), in WIB.

- the planner every 5 minutes (reminders, missed-session questions, payout slots, digests): a pass
  plans only what a change or the clock made due, and is a read of two small tables otherwise;
- the dispatcher every 2 seconds (sends what is due from the outbox, within Telegram's limits);
- the escalation sweep every 10 minutes (overdue complaints go up a level);
- the retention sweep daily at 02:30 (chat data older than SAPA_RETENTION_MONTHS is erased;
  outbox rows sent or cancelled more than SAPA_OUTBOX_RETENTION_DAYS ago move to its archive).

All are safe to run in two processes at once on PostgreSQL: the planner, the escalation and the
retention sweeps hold advisory locks and only change what is not done yet; the dispatcher claims
rows with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import logging
from datetime import time
from typing import TYPE_CHECKING

from bot.services.complaints import ComplaintPolicy
from jobs.dispatch import DeliveryPolicy, Dispatcher
from jobs.escalation import sweep
from jobs.planner import PlanPolicy, plan
from jobs.retention import archive_outbox, erase_expired

if TYPE_CHECKING:
    from bot.runtime.app import SapaApplication, SapaContext

log = logging.getLogger(__name__)

PLAN_EVERY_SECONDS = 300
SWEEP_EVERY_SECONDS = 600
DISPATCH_EVERY_SECONDS = 2
RETENTION_AT = time(2, 30)  # local time (the application's default time zone)
_ONE_AT_A_TIME = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}


async def run_planner(context: SapaContext) -> None:
    services = context.services
    report = await plan(
        services.store, services.clock(), PlanPolicy.from_settings(services.settings)
    )
    # One line every run, also when nothing was queued: the log shows the planner is alive.
    log.info(
        "planner_run queued=%s slots_assigned=%s without_slot=%s parts=%s",
        report.queued,
        report.slots_assigned,
        report.households_without_slot,
        ",".join(report.parts) or "-",
    )


async def run_dispatcher(context: SapaContext) -> None:
    dispatcher: Dispatcher = context.application.bot_data["dispatcher"]
    # A run stops starting sends after three quarters of the interval, so the sends on their way
    # and their marks end before the next tick: a run still going at the tick makes the
    # scheduler skip that tick, and the outbox then idles for a whole interval (with 0.9 every
    # other tick was skipped: about half the send budget used; bench/jobs_alongside.py).
    stats = await dispatcher.run_once(max_seconds=DISPATCH_EVERY_SECONDS * 0.75)
    if stats.sent or stats.failed or stats.blocked or stats.rate_limited:
        log.info(
            "dispatch_run sent=%s retried=%s failed=%s blocked=%s rate_limited=%s",
            stats.sent,
            stats.retried,
            stats.failed,
            stats.blocked,
            stats.rate_limited,
        )


async def run_escalation(context: SapaContext) -> None:
    services = context.services
    settings = services.settings
    policy = ComplaintPolicy.from_settings(settings)
    moved = await sweep(services.store, services.clock(), policy)
    if moved:
        log.info("escalation_run escalated=%s", moved)


async def run_retention(context: SapaContext) -> None:
    services = context.services
    report = await erase_expired(
        services.store, services.clock(), services.settings.retention_months
    )
    erased = report.erased
    log.info(
        "retention_run proof_photos=%s complaints=%s complaint_notes=%s outbox_rows=%s "
        "link_attempts=%s follow_up_notes=%s",
        erased.proof_photos,
        erased.complaints,
        erased.complaint_notes,
        erased.outbox_rows,
        erased.link_attempts,
        erased.follow_up_notes,
    )
    archive = await archive_outbox(
        services.store, services.clock(), services.settings.outbox_retention_days
    )
    log.info("outbox_retention_run archived=%s", archive.archived)


def schedule_jobs(application: SapaApplication) -> None:
    services = application.bot_data["services"]
    job_queue = application.job_queue
    assert job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
    application.bot_data["dispatcher"] = Dispatcher(
        services.store,
        application.bot,
        services.translations,
        DeliveryPolicy.from_settings(services.settings),
        services.clock,
    )
    job_queue.run_repeating(
        run_planner, interval=PLAN_EVERY_SECONDS, first=5, name="planner", job_kwargs=_ONE_AT_A_TIME
    )
    job_queue.run_repeating(
        run_escalation,
        interval=SWEEP_EVERY_SECONDS,
        first=20,
        name="escalation",
        job_kwargs=_ONE_AT_A_TIME,
    )
    job_queue.run_repeating(
        run_dispatcher,
        interval=DISPATCH_EVERY_SECONDS,
        first=3,
        name="dispatcher",
        job_kwargs=_ONE_AT_A_TIME,
    )
    job_queue.run_daily(
        run_retention, time=RETENTION_AT, name="retention", job_kwargs=_ONE_AT_A_TIME
    )
