"""The payout queue lists people read: in the chat, as a workbook and as a PDF to print.

The post office or bank gets, for each queue slot, a page with the round, place, day and time,
and one line per household: programme number, the head's name shortened ("Siti N. A."), and an
empty box to tick when the household has collected. A slot longer than `ROWS_PER_PAGE` goes on
over more pages (titled "continued"); households without a slot come last, on pages of their
own. A companion's file lists her households round by round, with each one's time.

The PDF is drawn with matplotlib on bare `Figure`s (no pyplot, no screen) and saved page by page
with `PdfPages`; fonts are embedded as TrueType (`pdf.fonttype` 42), so the text stays text: it
can be searched and read back. Registry texts are drawn as they are, never read as mathtext.
The workbook has one sheet with a slot column, so it can be sorted and filtered (and a district's
rounds do not make a hundred sheets); printing per slot is what the PDF is for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from io import BytesIO

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from bot.domain.slots import QueuedHousehold, RoundList, Slot, slot_label
from bot.texts.i18n import Translator
from bot.texts.register_sheet import short_name
from bot.texts.workbook import Table, neutralised_tables, tables_to_workbook

ROWS_PER_PAGE = 32
PAGE_INCHES = (8.27, 11.69)  # A4 portrait
MARGIN_INCHES = 0.7
ROW_INCHES = 0.27
BOX_INCHES = 0.17
TITLE_LENGTH = 80  # a longer place name is cut in a page's title
INK = "#444444"


@dataclass(frozen=True)
class Page:
    """One printed page: its title lines (the first one large), a table header and rows."""

    title: list[str]
    header: list[str]
    widths: list[float]  # each column's share of the page width
    rows: list[list[str]]
    tick: bool = True  # the last column is a box to tick


def file_stem(*parts: str) -> str:
    """A file name from round codes and places: letters, digits, `.`, `_` and `-` only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(p for p in parts if p)).strip("-.")


def _time(slot: Slot) -> str:
    return slot_label(slot)


def _cut(text: str) -> str:
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"


def _chunks(households: list[QueuedHousehold]) -> Iterator[tuple[int, list[QueuedHousehold]]]:
    for first in range(0, len(households), ROWS_PER_PAGE):
        yield first, households[first : first + ROWS_PER_PAGE]


def venue_pages(lists: list[RoundList], t: Translator) -> list[Page]:
    """A page for each queue slot with households (more for a long one), then the households
    without a slot."""
    header = [t("No."), t("Programme number"), t("Name"), t("Collected")]
    widths = [0.08, 0.30, 0.47, 0.15]
    pages: list[Page] = []
    for listed in lists:
        heading = [
            _cut(
                t("Payout queue {round} · {kecamatan}").format(
                    round=listed.round_code, kecamatan=listed.kecamatan
                )
            ),
            _cut(f"{listed.place} · {t.long_date(listed.payout_date)}"),
        ]
        groups = [
            (t("Queue slot {number}: {time} WIB").format(number=s.slot.index + 1,
                                                          time=_time(s.slot)), s.households)
            for s in listed.filled
        ]  # fmt: skip
        if listed.unplaced:
            groups.append((t("Without a queue time"), listed.unplaced))
        for label, households in groups:
            for first, chunk in _chunks(households):
                line = label if not first else f"{label} {t('(continued)')}"
                count = t("Households: {count}").format(count=len(households))
                pages.append(
                    Page(
                        [*heading, f"{line} · {count}"],
                        header,
                        widths,
                        [
                            [str(first + n), h.program_number, short_name(h.head_name), ""]
                            for n, h in enumerate(chunk, start=1)
                        ],
                    )
                )
    return pages


def companion_pages(lists: list[RoundList], t: Translator) -> list[Page]:
    """A companion's households, round by round, each with its time."""
    header = [t("No."), t("Time (WIB)"), t("Programme number"), t("Name"), t("Collected")]
    widths = [0.07, 0.18, 0.27, 0.35, 0.13]
    pages: list[Page] = []
    for listed in lists:
        heading = [
            _cut(t("Queue times of your households, {round}").format(round=listed.round_code)),
            _cut(f"{listed.place} · {t.long_date(listed.payout_date)}"),
        ]
        timed = [(_time(s.slot), h) for s in listed.filled for h in s.households]
        timed += [("—", h) for h in listed.unplaced]
        for first in range(0, max(len(timed), 1), ROWS_PER_PAGE):
            chunk = timed[first : first + ROWS_PER_PAGE]
            rows = [
                [str(first + n), time, h.program_number, short_name(h.head_name), ""]
                for n, (time, h) in enumerate(chunk, start=1)
            ]
            line = t("Households: {count}").format(count=len(timed))
            if first:
                line += " " + t("(continued)")
            pages.append(Page([*heading, line], header, widths, rows))
    return pages


def pdf_of(pages: list[Page], t: Translator, title: str) -> bytes:
    """The pages as an A4 PDF, numbered "page 2 of 5"."""
    buffer = BytesIO()
    with (
        matplotlib.rc_context({"pdf.fonttype": 42, "font.family": "DejaVu Sans"}),
        PdfPages(buffer, metadata={"Title": title, "Creator": "Sapa RTS"}) as pdf,
    ):
        if not pages:
            pages = [Page([title, t("No household is on this list.")], [], [], [], tick=False)]
        for number, page in enumerate(pages, start=1):
            figure = _draw(page, t("Page {page} of {pages}").format(page=number, pages=len(pages)))
            pdf.savefig(figure)
    return buffer.getvalue()


def _draw(page: Page, footer: str) -> Figure:
    width, height = PAGE_INCHES
    figure = Figure(figsize=PAGE_INCHES)
    left, right = MARGIN_INCHES / width, 1 - MARGIN_INCHES / width

    def y_of(inches_from_top: float) -> float:
        return 1 - inches_from_top / height

    def text(x: float, y: float, words: str, **style: object) -> None:
        figure.text(x, y, words, parse_math=False, va="baseline", **style)  # type: ignore[arg-type]

    top = MARGIN_INCHES + 0.1
    for index, line in enumerate(page.title):
        size = 15 if index == 0 else 11
        text(left, y_of(top), line, fontsize=size, weight="bold" if index == 0 else "normal")
        top += 0.32 if index == 0 else 0.26
    top += 0.2
    starts = [left]
    for share in page.widths:
        starts.append(starts[-1] + share * (right - left))

    def rule(y: float, weight: float) -> None:
        line = Line2D([left, right], [y, y], lw=weight, color=INK, transform=figure.transFigure)
        figure.add_artist(line)

    if page.header:
        for start, label in zip(starts, page.header, strict=False):
            text(start + 0.005, y_of(top), label, fontsize=10, weight="bold")
        rule(y_of(top + 0.09), 1.0)
    for row in page.rows:
        top += ROW_INCHES
        for start, cell in zip(starts, row, strict=False):
            if cell:
                text(start + 0.005, y_of(top), cell, fontsize=10)
        if page.tick:  # an empty box in the last column
            box = Rectangle(
                (starts[-2] + 0.01, y_of(top) - 0.03 / height),
                BOX_INCHES / width,
                BOX_INCHES / height,
                fill=False,
                lw=0.9,
                edgecolor=INK,
                transform=figure.transFigure,
            )
            figure.add_artist(box)
        rule(y_of(top + 0.09), 0.3)
    text(right, MARGIN_INCHES / 2 / height, footer, fontsize=9, ha="right")
    return figure


def venue_pdf(lists: list[RoundList], t: Translator) -> bytes:
    """The post office's (or bank's) list: one page per queue slot."""
    title = t("Payout queue {rounds}").format(rounds=", ".join(_codes(lists)))
    return pdf_of(venue_pages(lists, t), t, title)


def companion_pdf(lists: list[RoundList], t: Translator) -> bytes:
    title = t("Queue times of your households, {round}").format(round=", ".join(_codes(lists)))
    return pdf_of(companion_pages(lists, t), t, title)


def _codes(lists: list[RoundList]) -> list[str]:
    return list(dict.fromkeys(listed.round_code for listed in lists))


def venue_table(lists: list[RoundList], t: Translator) -> Table:
    """One sheet, one row per household, with its slot (empty for one without)."""
    header = [
        t("Round"),
        t("Kecamatan"),
        t("Place"),
        t("Date"),
        t("Queue slot"),
        t("Time (WIB)"),
        t("Programme number"),
        t("Name"),
        t("Collected"),
    ]
    rows: list[list[object]] = []
    for listed in lists:
        where: list[object] = [
            listed.round_code,
            listed.kecamatan,
            listed.place,
            listed.payout_date,
        ]
        for s in listed.filled:
            for h in s.households:
                rows.append([*where, s.slot.index + 1, _time(s.slot), *_who(h), ""])
        for h in listed.unplaced:
            rows.append([*where, "", "", *_who(h), ""])
    return t("Queue"), header, rows


def _who(household: QueuedHousehold) -> list[object]:
    return [household.program_number, short_name(household.head_name)]


def venue_workbook(lists: list[RoundList], t: Translator) -> bytes:
    return tables_to_workbook(neutralised_tables([venue_table(lists, t)]))


def venue_summary(lists: list[RoundList], t: Translator) -> str:
    """For the chat (HTML): each round's place, day, window and how full its queue is."""
    blocks = []
    for listed in lists:
        blocks.append(
            "\n".join(
                [
                    t("<b>Payout queue {round} · {kecamatan}</b>").format(
                        round=escape(listed.round_code), kecamatan=escape(listed.kecamatan)
                    ),
                    t("{date}, {place}, {start}–{end} WIB").format(
                        date=t.long_date(listed.payout_date),
                        place=escape(listed.place),
                        start=f"{listed.start:%H.%M}",
                        end=f"{listed.end:%H.%M}",
                    ),
                    t(
                        "Households: {households}. Queue slots used: {filled} of {slots}, at most "
                        "{capacity} households each. Without a queue time: {unplaced}."
                    ).format(
                        households=listed.household_count,
                        filled=len(listed.filled),
                        slots=len(listed.slots),
                        capacity=listed.capacity,
                        unplaced=len(listed.unplaced),
                    ),
                ]
            )
        )
    return "\n\n".join(blocks)


def companion_text(lists: list[RoundList], t: Translator) -> str:
    """For the chat (HTML): a companion's households with their queue time, round by round."""
    blocks = [t("<b>Queue times of your households</b>")]
    for listed in lists:
        lines = [
            t("<b>{round}</b> · {date}, {place}").format(
                round=escape(listed.round_code),
                date=t.long_date(listed.payout_date),
                place=escape(listed.place),
            )
        ]
        for s in listed.filled:
            lines += [f"{_time(s.slot)} · {_household_line(h, t)}" for h in s.households]
        if listed.unplaced:
            lines += [
                t("no queue time yet · {household}").format(household=_household_line(h, t))
                for h in listed.unplaced
            ]
        if not listed.household_count:
            lines.append(t("None of your households is in this round."))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _household_line(household: QueuedHousehold, t: Translator) -> str:
    line = f"{escape(household.program_number)} {escape(short_name(household.head_name))}"
    return line if household.telegram else line + t(" · 📵 no Telegram")
