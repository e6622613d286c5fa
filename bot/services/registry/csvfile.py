"""Reading a registry CSV the way Indonesian offices write them.

UTF-8 with or without a byte-order mark, or UTF-16 with one (Excel's "Unicode text"); `,`, `;` or
a tab as separator (Excel in an Indonesian locale writes `;`, "Unicode text" writes tabs); header
names matched without regard to case or surrounding spaces. Invisible characters (zero-width
spaces, soft hyphens, direction marks, control characters) are removed and other spaces become
plain spaces, so that `P-MKJ-01` and `P-MKJ-01` followed by a zero-width space are one code.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 200 * 1024 * 1024


class CsvFileError(Exception):
    """The file cannot be read as a table: empty, binary, not UTF-8, too big or malformed."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(problem, detail)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class CsvTable:
    columns: list[str]
    rows: list[CsvRow]


def normalize_column(name: str) -> str:
    return "_".join(name.strip().lower().split())


def _delimiter(header_line: str) -> str:
    """The separator seen most often in the header line; `,` when none is."""
    return max((",", ";", "\t"), key=header_line.count)


# A byte-order mark names the encoding. UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode(data: bytes) -> str:
    """UTF-16 or UTF-32 with a byte-order mark, else UTF-8 (with or without one)."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None:
        if b"\x00" in data:
            raise CsvFileError("binary")
        encoding = "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise CsvFileError("encoding") from None
    if "\x00" in text:
        raise CsvFileError("binary")
    return text


# Spaces other than the plain space, tab and line ends: no-break, thin, ideographic spaces...
_OTHER_SPACE = re.compile(r"[^\S \t\n\r]")
# ASCII control characters that are not spaces: all that an ASCII-only text can hide.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
# Invisible characters outside the format (Cf) and control (Cc) categories: the combining
# grapheme joiner, Hangul and Khmer fillers, Mongolian and other variation selectors.
_MORE_INVISIBLE = "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0"


@functools.cache
def _invisible() -> re.Pattern[str]:
    """Every format (Cf) and control (Cc) character except tab and line ends, and the others.

    Written as ranges of consecutive characters: a class of single characters is ten times slower.
    """
    ranges: list[list[int]] = []
    for point in range(sys.maxunicode + 1):
        if unicodedata.category(chr(point)) in ("Cf", "Cc") and chr(point) not in "\t\n\r":
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])
    found = "".join(f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges)
    return re.compile(f"[{found}{_MORE_INVISIBLE}]+")


def clean_text(text: str) -> str:
    """Drop invisible characters, make every space a plain space, and normalise to NFC.

    Zero-width spaces and joiners, soft hyphens, byte-order marks, direction marks and control
    characters cannot be seen in a spreadsheet, yet they make `P-MKJ-01` another code; a name
    typed with a separate accent (`e` + U+0301) must equal the same name typed with `é`.
    """
    text = _OTHER_SPACE.sub(" ", text)
    invisible = _ASCII_CONTROL if text.isascii() else _invisible()
    return unicodedata.normalize("NFC", invisible.sub("", text))


def read_table(path: Path) -> CsvTable:
    """Read the whole file; raise CsvFileError for an empty, binary, too big or unreadable file."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CsvFileError("too_big")
    text = decode(path.read_bytes())
    return parse_table(text)


def parse_table(text: str) -> CsvTable:
    text = clean_text(text)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise CsvFileError("empty")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    columns: list[str] | None = None
    rows: list[CsvRow] = []
    for cells in _records(reader):
        if not any(cell.strip() for cell in cells):
            continue
        if columns is None:
            columns = [normalize_column(cell) for cell in cells]
            continue
        values = {
            column: (cells[index].strip() if index < len(cells) else "")
            for index, column in enumerate(columns)
            if column
        }
        rows.append(CsvRow(line=reader.line_num, values=values))
    assert columns is not None
    return CsvTable(columns=columns, rows=rows)


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as error:  # an unterminated quote, a NUL byte
        raise CsvFileError("malformed", str(error)) from None
