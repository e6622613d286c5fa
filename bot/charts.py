"""The recap chart: a PNG sized for a phone screen (portrait, large type), made with matplotlib.

Top: the attendance rate per desa over the last six months. Bottom: this month's complaints by
status. Drawn on a bare `Figure` (no pyplot, no GUI backend), so no screen is needed.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO

from matplotlib.figure import Figure

from bot.i18n import N_, Translator
from bot.models import ComplaintStatus
from bot.recap import DesaAttendance, Recap

WIDTH_INCHES, HEIGHT_INCHES, DPI = 6.0, 8.0, 150  # 900 x 1200 pixels

# Short words for the bars (the full status labels are too long for a phone-wide chart).
SHORT_STATUS = {
    ComplaintStatus.OPEN: N_("waiting"),
    ComplaintStatus.IN_PROGRESS: N_("in progress"),
    ComplaintStatus.RESOLVED: N_("resolved"),
    ComplaintStatus.CLOSED: N_("closed"),
}


def recap_chart(
    recap: Recap, history: list[tuple[date, list[DesaAttendance]]], t: Translator
) -> bytes:
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    top, bottom = figure.subplots(2, 1, height_ratios=[3, 2])
    months = [t.short_month(month) for month, _rows in history]  # "Jul", "Agu", ...
    desa_names = sorted({row.desa for _month, rows in history for row in rows})
    for name in desa_names:
        rates = []
        for _month, rows in history:
            row = next((r for r in rows if r.desa == name), None)
            rate = row.rate if row is not None else None
            rates.append(rate * 100 if rate is not None else float("nan"))
        top.plot(months, rates, marker="o", linewidth=2.5, label=name)
    first, last = history[0][0], history[-1][0]
    top.set_title(
        t("Posyandu attendance, verified (%)") + f"\n{t.month_year(first)} – {t.month_year(last)}",
        fontsize=14,
    )
    top.set_ylim(0, 105)
    top.tick_params(labelsize=12)
    top.grid(alpha=0.3)
    if desa_names:
        top.legend(
            fontsize=11, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2, frameon=False
        )
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
    buffer = BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
