"""The recap chart: a PNG sized for a phone screen (portrait, large type), made with matplotlib.

Top: the verified attendance rate over the last six months, per desa for a kecamatan and per
kecamatan for the district (the desa of each added up). A phone shows a handful of lines at most,
so when there are more than `LOWEST_SHOWN` places, only the lowest ones (those that need attention)
are drawn, with the rate of all of them together; the title says which. Middle: the programme's
conditions met, per condition, over the same months. Bottom: this month's complaints by status.
Drawn on a bare `Figure` (no pyplot, no GUI backend), so no screen is needed.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain.conditions import Status
from bot.domain.models import ComplaintStatus
from bot.domain.recap import DesaAttendance, Recap
from bot.domain.register import ConditionCounts
from bot.texts.conditions import SMALL_COUNT, condition_label
from bot.texts.i18n import N_, Translator

WIDTH_INCHES, HEIGHT_INCHES, DPI = 6.0, 8.0, 150  # 900 x 1200 pixels

LOWEST_SHOWN = 5  # places drawn at most, besides the line of all of them together
LABEL_LENGTH = 18  # longer place names are shortened in the legend

# Colours told apart also by colour-blind readers (Okabe-Ito), each with its own marker.
PALETTE = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00"]
MARKERS = ["o", "s", "^", "D", "v"]
OVERALL_COLOUR = "#222222"

# Short words for the bars (the full status labels are too long for a phone-wide chart).
SHORT_STATUS = {
    ComplaintStatus.OPEN: N_("waiting"),
    ComplaintStatus.IN_PROGRESS: N_("in progress"),
    ComplaintStatus.RESOLVED: N_("resolved"),
    ComplaintStatus.CLOSED: N_("closed"),
}


@dataclass(frozen=True)
class Series:
    """One line of the chart: a place (or all of them) and its rate in each month (0 to 1)."""

    place: str  # a desa or kecamatan name; "" for all places together
    rates: list[float | None]

    @property
    def latest(self) -> float | None:
        """The rate of the last month that has one."""
        return next((rate for rate in reversed(self.rates) if rate is not None), None)


@dataclass(frozen=True)
class AttendanceLines:
    """What the attendance chart draws: the lowest places, lowest first, and all together."""

    by_kecamatan: bool  # places are kecamatan (the district) rather than desa
    places: list[Series]
    overall: Series | None  # drawn when there is more than one place
    total: int  # places with a rate in some month

    @property
    def only_the_lowest(self) -> bool:
        return len(self.places) < self.total


def attendance_lines(
    history: list[tuple[date, list[DesaAttendance]]], by_kecamatan: bool
) -> AttendanceLines:
    """The series to draw: per kecamatan or per desa, at most `LOWEST_SHOWN` of them (the lowest
    latest rates), and the rate of all of them together."""
    place_names = sorted({_place(row, by_kecamatan) for _month, rows in history for row in rows})
    series = [
        Series(
            name,
            [
                _rate([r for r in rows if _place(r, by_kecamatan) == name])
                for _month, rows in history
            ],
        )
        for name in place_names
    ]
    measured = [s for s in series if s.latest is not None]
    lowest = sorted(measured, key=lambda s: (s.latest or 0.0, s.place))[:LOWEST_SHOWN]
    overall = Series("", [_rate(rows) for _month, rows in history]) if len(measured) > 1 else None
    return AttendanceLines(by_kecamatan, lowest, overall, len(measured))


def _place(row: DesaAttendance, by_kecamatan: bool) -> str:
    return row.kecamatan if by_kecamatan else row.desa


def _rate(rows: list[DesaAttendance]) -> float | None:
    """Verified visits out of expected ones, over several desa (each desa's rate capped at 1)."""
    expected = sum(row.expected for row in rows)
    verified = sum(min(row.verified, row.expected) for row in rows)
    return verified / expected if expected else None


def recap_chart(
    recap: Recap, history: list[tuple[date, list[DesaAttendance]]], t: Translator
) -> bytes:
    buffer = BytesIO()
    recap_figure(recap, history, t).savefig(buffer, format="png")
    return buffer.getvalue()


def recap_figure(
    recap: Recap, history: list[tuple[date, list[DesaAttendance]]], t: Translator
) -> Figure:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    top, middle, bottom = figure.subplots(3, 1, height_ratios=[3, 3, 2])
    draw_attendance(top, attendance_lines(history, by_kecamatan=not recap.scope), history, t)
    draw_conditions(middle, recap.condition_history, t)
    statuses = list(ComplaintStatus)
    counts = [
        sum(n for (_c, s), n in recap.complaints.items() if s == status.value)
        for status in statuses
    ]
    bars = bottom.barh([t(SHORT_STATUS[s]) for s in statuses], counts, color="#3b7dd8")
    bottom.bar_label(bars, fontsize=12, padding=3)
    bottom.set_title(t("Complaints this month, by status"), fontsize=15)
    bottom.tick_params(labelsize=12)
    bottom.invert_yaxis()
    bottom.set_xlim(0, max([*counts, 1]) * 1.25)
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))  # complaints come whole
    return figure


def draw_conditions(axes: Axes, history: list[tuple[date, ConditionCounts]], t: Translator) -> None:
    """Per condition, the share of decided member-periods (met or not met) that were met, month
    by month; each point labelled "met/decided" when that is a small number."""
    positions = list(range(len(history)))
    conditions = sorted({c for _month, counts in history for c in counts})
    for index, condition in enumerate(conditions):
        shares: list[float] = []
        for position, (_month, counts) in enumerate(history):
            found = counts.get(condition, Counter())
            met, decided = found[Status.MET], found[Status.MET] + found[Status.NOT_MET]
            shares.append(100 * met / decided if decided else math.nan)
            if 0 < decided < SMALL_COUNT:
                axes.annotate(f"{met}/{decided}", (position, shares[-1]), fontsize=9,
                              xytext=(0, 6), textcoords="offset points", ha="center")  # fmt: skip
        marker, colour = MARKERS[index % len(MARKERS)], PALETTE[index % len(PALETTE)]
        label = condition_label(condition, t)
        axes.plot(positions, shares, marker=marker, color=colour, linewidth=2.5, label=label)
    axes.set_title(t("Programme conditions met, in percent of those decided"), fontsize=14)
    if history:
        axes.set_xticks(positions, [t.short_month(month) for month, _counts in history])
        axes.set_xlim(-0.3, len(positions) - 0.7)
    axes.set_ylim(0, 110)
    axes.tick_params(labelsize=12)
    axes.grid(alpha=0.3)
    if conditions:
        axes.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2,
                    frameon=False)  # fmt: skip
    else:
        axes.text(0.5, 0.5, t("Nobody had a condition in these months."), ha="center",
                  va="center", fontsize=12, transform=axes.transAxes)  # fmt: skip


def draw_attendance(
    axes: Axes,
    lines: AttendanceLines,
    history: list[tuple[date, list[DesaAttendance]]],
    t: Translator,
) -> None:
    positions = list(range(len(history)))  # one per month
    for index, series in enumerate(lines.places):
        axes.plot(
            positions,
            _percent(series),
            marker=MARKERS[index],
            linewidth=2.5,
            color=PALETTE[index],
            label=_short(series.place),
        )
    if lines.overall is not None:
        everyone = t("All kecamatan") if lines.by_kecamatan else t("All desa")
        axes.plot(
            positions,
            _percent(lines.overall),
            linewidth=3,
            linestyle="--",
            color=OVERALL_COLOUR,
            label=everyone,
        )
    first, last = history[0][0], history[-1][0]
    title = [
        t("Posyandu attendance, verified (%)"),
        f"{t.month_year(first)} – {t.month_year(last)}",
    ]
    axes.set_title("\n".join([*title, _shown(lines, t)] if lines.places else title), fontsize=14)
    axes.set_xticks(positions, [t.short_month(month) for month, _rows in history])  # "Jul", "Agu"
    axes.set_xlim(-0.3, len(positions) - 0.7)
    axes.set_ylim(0, 105)
    axes.tick_params(labelsize=12)
    axes.grid(alpha=0.3)
    if lines.places:
        axes.legend(
            fontsize=11, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False
        )
    else:
        axes.text(
            0.5,
            0.5,
            t("Nobody was expected at the posyandu in these months."),
            ha="center",
            va="center",
            fontsize=12,
            wrap=True,
            transform=axes.transAxes,
        )


def _shown(lines: AttendanceLines, t: Translator) -> str:
    """Which places the lines are, for the title."""
    if lines.only_the_lowest:
        text = (
            t("The {count} kecamatan with the lowest rate, of {total}")
            if lines.by_kecamatan
            else t("The {count} desa with the lowest rate, of {total}")
        )
        return text.format(count=len(lines.places), total=lines.total)
    return t("Per kecamatan") if lines.by_kecamatan else t("Per desa")


def _percent(series: Series) -> list[float]:
    return [rate * 100 if rate is not None else math.nan for rate in series.rates]


def _short(name: str) -> str:
    return name if len(name) <= LABEL_LENGTH else name[: LABEL_LENGTH - 1] + "…"
