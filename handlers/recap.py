"""/rekap and /ekspor for coordinators (their kecamatan) and the district team (everything)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import partial
from html import escape
from io import BytesIO
from typing import TYPE_CHECKING

from telegram import Update

from bot.domain.conditions import Condition, Period, Status, parse_period
from bot.domain.models import Role
from bot.domain.months import month_of, parse_month
from bot.domain.recap import CHART_MONTHS, Recap
from bot.services.recap import build_recap
from bot.services.register import read_register_facts, register_workbook_of
from bot.texts.charts import recap_chart
from bot.texts.conditions import SMALL_COUNT, condition_label, met_share, status_counts
from bot.texts.labels import CATEGORY_LABELS, STATUS_LABELS, absence_label
from bot.texts.workbook import workbook_bytes
from handlers.common import refuse, reply, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext
    from bot.texts.i18n import Translator


async def _scope(
    update: Update, context: SapaContext
) -> tuple[int | None, date, Translator] | None:
    """(kecamatan id or None for the district, month, translator), or None after a refusal."""
    found = await _staff_scope(update, context)
    if found is None:
        return None
    kecamatan_id, t = found
    services = context.services
    month = month_of(services.clock().astimezone(services.settings.zone).date())
    if context.args:
        chosen = parse_month(context.args[0][:20])
        if chosen is None:
            await reply(update, t("Write the month like 2026-11, or nothing for this month."))
            return None
        month = chosen
    return kecamatan_id, month, t


async def _staff_scope(
    update: Update, context: SapaContext
) -> tuple[int | None, Translator] | None:
    """(kecamatan id, or None for the district; translator), or None after a refusal."""
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    kecamatan_id: int | None = None
    if (
        person is None
        or person.staff_id is None
        or person.role not in (Role.COORDINATOR, Role.ADMIN)
    ):
        await refuse(update, t, "recap", person)
        return None
    if person.role is Role.COORDINATOR:
        async with context.services.store.read() as repo:
            staff = await repo.staff.get(person.staff_id)
        if staff is None or staff.kecamatan_id is None:
            await refuse(update, t, "recap", person)
            return None
        kecamatan_id = staff.kecamatan_id
    return kecamatan_id, t


def recap_text(recap: Recap, t: Translator) -> str:
    scope = escape(recap.scope) if recap.scope else t("the whole district")
    lines = [
        t("<b>Recap {scope}, {month}</b>").format(scope=scope, month=t.month_year(recap.month)),
        "",
        t("<b>Posyandu attendance</b> (expected / reported / verified / cross-checked)"),
    ]
    for row in recap.attendance:
        # A share of a handful says little: shown from SMALL_COUNT expected visits on.
        shown = row.rate is not None and row.expected >= SMALL_COUNT
        rate = f" ({row.rate:.0%})" if shown else ""
        # A district's desa carry their kecamatan: desa names repeat across kecamatan.
        place = escape(row.desa) if recap.scope else f"{escape(row.kecamatan)} · {escape(row.desa)}"
        lines.append(
            f"{place}: {row.expected} / {row.reported} / {row.verified} / {row.cross_checked}{rate}"
        )
    lines += ["", *sources_text(recap, t)]
    total = sum(recap.complaints.values())
    lines += ["", t("<b>Complaints filed this month</b>: {count}").format(count=total)]
    for category, label in CATEGORY_LABELS.items():
        count = sum(n for (c, _s), n in recap.complaints.items() if c == category.value)
        if count:
            lines.append(f"• {t(label)}: {count}")
    statuses = [
        f"{t(label)} {sum(n for (_c, s), n in recap.complaints.items() if s == st.value)}"
        for st, label in STATUS_LABELS.items()
    ]
    lines.append(t("By status: {statuses}").format(statuses=", ".join(statuses)))
    if recap.median_hours_to_resolve is not None:
        lines.append(
            t("Median time to resolve: {days} days").format(
                days=f"{recap.median_hours_to_resolve / 24:.1f}".replace(".", ",")
            )
        )
    else:
        lines.append(t("No complaint was resolved this month."))
    lines.append(t("Deadlines missed (escalations): {count}").format(count=recap.sla_breaches))
    lines += ["", *conditions_text(recap, t)]
    lines += [
        "",
        t(
            "<b>Companions</b> (last active / verifications / complaints handled / overdue / "
            "follow-ups closed / visits reported for households)"
        ),
    ]
    for c in recap.companions:
        active = t.long_date(c.last_active.date()) if c.last_active else t("never")
        line = (
            f"{escape(c.code)} {escape(c.name)}: {active} / {c.verifications} / "
            f"{c.complaints_handled} / {c.overdue} / {c.follow_ups_closed} / "
            f"{c.visits_for_households}"
        )
        if c.median_days_to_close is not None:
            median = f"{c.median_days_to_close:.1f}".replace(".", ",")
            line += " " + t("(median {days} days to close)").format(days=median)
        lines.append(line)
    lines += [
        "",
        t(
            "Messages that could not be delivered this month: {count} (operator: sapa outbox)"
        ).format(count=recap.undelivered_messages),
        t("Households the bot cannot reach: {count}").format(count=recap.unreachable_households),
    ]
    return "\n".join(lines)


def sources_text(recap: Recap, t: Translator) -> list[str]:
    """Who made the month's reports and complaints: the households themselves, or companions
    and health workers for them (assisted: /hadiruntuk, /keluhanuntuk)."""
    made, filed = recap.report_sources, recap.complaints_by_filer
    return [
        t("<b>Who reported</b> (posyandu visits / complaints)"),
        t("• the households themselves: {visits} / {complaints}").format(
            visits=made.self_reported, complaints=filed.get(Role.HOUSEHOLD, 0)
        ),
        t("• companions, for a household: {visits} / {complaints}").format(
            visits=made.by_companion, complaints=filed.get(Role.COMPANION, 0)
        ),
        t("• health workers, for a household: {visits} / {complaints}").format(
            visits=made.by_health_worker, complaints=filed.get(Role.HEALTH_WORKER, 0)
        ),
    ]


def conditions_text(recap: Recap, t: Translator) -> list[str]:
    """The programme's conditions this month: per condition, per desa, per companion, and the
    reasons households gave for not going."""
    lines = [t("<b>Programme conditions</b> (met / not met / not known yet / excused)")]
    total: dict[Condition, Counter[Status]] = {}
    for counts in recap.conditions_by_desa.values():
        for condition, found in counts.items():
            total.setdefault(condition, Counter()).update(found)
    if not total:
        return [*lines, t("Nobody had a condition ending this month.")]
    for condition, found in sorted(total.items()):
        lines.append(
            f"• {condition_label(condition, t)}: {status_counts(found)}, {met_share(found, t)}"
        )
    lines.append(t("Per desa:"))
    for place, counts in recap.conditions_by_desa.items():
        merged = sum(counts.values(), Counter[Status]())
        name = escape(place.split(" · ", 1)[1] if recap.scope else place)
        lines.append(f"{name}: {met_share(merged, t)}")
    lines.append(t("Per companion:"))
    for companion, counts in recap.conditions_by_companion.items():
        merged = sum(counts.values(), Counter[Status]())
        name = escape(companion) if companion else t("(no companion)")
        lines.append(f"{name}: {status_counts(merged)}")
    if recap.absence_reasons:
        lines.append(t("Reasons given for not going:"))
        for place, reasons in recap.absence_reasons.items():
            name = escape(place.split(" · ", 1)[1] if recap.scope else place)
            given = ", ".join(f"{absence_label(r, t)} {n}" for r, n in reasons.most_common())
            lines.append(f"{name}: {given}")
    return lines


async def recap_command(update: Update, context: SapaContext) -> None:
    scope = await _scope(update, context)
    if scope is None:
        return
    kecamatan_id, month, t = scope
    services = context.services
    zone = services.settings.zone
    recap = await build_recap(
        services.store,
        kecamatan_id,
        month,
        now=services.clock(),
        zone=zone,
        history_months=CHART_MONTHS,
        offload=services.render,
    )
    await reply(update, recap_text(recap, t))
    assert update.effective_chat is not None
    chart = await services.render(
        partial(recap_chart, recap, recap.history, t)
    )  # off the event loop
    await update.effective_chat.send_photo(
        chart,
        caption=t("Attendance over six months, and complaints."),
        filename=f"sapa-rekap-{month:%Y-%m}.png",
    )


async def export_command(update: Update, context: SapaContext) -> None:
    """/ekspor [month]: the month's recap; /ekspor 2026-T4: the verification list of a period."""
    text = context.args[0][:40] if context.args else ""
    if parse_month(text) is None and (period := parse_period(text)) is not None:
        await _export_register(update, context, period)
        return
    scope = await _scope(update, context)
    if scope is None:
        return
    kecamatan_id, month, t = scope
    services = context.services
    zone = services.settings.zone
    recap = await build_recap(
        services.store,
        kecamatan_id,
        month,
        now=services.clock(),
        zone=zone,
        with_complaint_rows=True,
        offload=services.render,
    )
    name = f"sapa-rekap-{month:%Y-%m}.xlsx"
    assert update.effective_chat is not None
    workbook = await services.render(partial(workbook_bytes, recap, t, zone))  # off the event loop
    await update.effective_chat.send_document(
        BytesIO(workbook),
        filename=name,
        caption=t("Recap {month}: attendance, complaints and companions.").format(
            month=t.month_year(month)
        )
        + "\n"
        + t("The verification list of a payout period: /ekspor 2026-T4"),
    )


async def _export_register(update: Update, context: SapaContext, period: Period) -> None:
    """The verification list of a payout period (docs/conditions.md), as a workbook."""
    scope = await _staff_scope(update, context)
    if scope is None:
        return
    kecamatan_id, t = scope
    services = context.services
    today = services.clock().astimezone(services.settings.zone).date()
    name = ""
    if kecamatan_id is not None:
        async with services.store.read() as repo:
            name = (await repo.geography.kecamatan_names()).get(kecamatan_id, "")
    facts = await read_register_facts(services.store, kecamatan_id, period)
    # judged and written in the rendering process: the district's register takes seconds
    workbook = await services.render(partial(register_workbook_of, facts, name, today, t))
    assert update.effective_chat is not None
    await update.effective_chat.send_document(
        BytesIO(workbook),
        filename=f"sapa-verifikasi-{period.code.replace('..', '-')}.xlsx",
        caption=t(
            "Verification list {period}: each household's conditions and its payout decision. "
            "Periods still running are marked not known yet."
        ).format(period=period.code),
    )
