"""Reading a registry CSV the way Indonesian offices write them.

UTF-8 with or without a byte-order mark, or UTF-16 with one (Excel's "Unicode text"); `,`, `;` or
a tab as separator (Excel in an Indonesian locale writes `;`, "Unicode text" writes tabs); header
names matched without regard to case or surrounding spaces. Invisible characters (zero-width
spaces, soft hyphens, direction marks, control characters) are removed and other spaces become
plain spaces, so that `P-MKJ-01` and `P-MKJ-01` followed by a zero-width space are one code.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import hashlib
import io
import itertools
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

MAX_FILE_BYTES = 200 * 1024 * 1024


class CsvFileError(Exception):
    """The file cannot be read as a table: empty, binary, not UTF-8, too big or malformed."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(problem, detail)
        self.problem = problem
        self.detail = detail


class CsvRow(NamedTuple):
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
    """Read the whole file; raise CsvFileError for an empty, binary, too big or unreadable file.

    For small files and tests; an import streams the file with `open_table` instead."""
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
        rows.append(_row(reader.line_num, columns, cells))
    assert columns is not None
    return CsvTable(columns=columns, rows=rows)


def _row(line: int, columns: list[str], cells: list[str]) -> CsvRow:
    values = {
        column: (cells[index].strip() if index < len(cells) else "")
        for index, column in enumerate(columns)
        if column
    }
    return CsvRow(line=line, values=values)


# How much of the file is read at a time while checking and hashing it.
_BLOCK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CsvStream:
    """An open table: its header, its rows one at a time, and the file's SHA-256.

    `rows` raises CsvFileError("malformed") when it meets an unterminated quote; every other
    problem of the file (empty, binary, not UTF-8, too big) is raised by `open_table` before the
    first row is read."""

    columns: list[str]
    rows: Iterator[CsvRow]
    sha256: str


def _encoding(head: bytes) -> str | None:
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


def _check_and_hash(path: Path) -> tuple[str, str]:
    """Read the file once in blocks: refuse what `decode` refuses (binary, not decodable) without
    holding it in memory; return its encoding and its SHA-256."""
    digest = hashlib.sha256()
    undecodable = False  # a NUL anywhere makes the file binary, even after a decoding error
    with path.open("rb") as handle:
        head = handle.read(4)
        encoding = _encoding(head)
        decoder = codecs.getincrementaldecoder(encoding or "utf-8-sig")()
        block = head
        while True:
            digest.update(block)
            if encoding is None and b"\x00" in block:
                raise CsvFileError("binary")
            if not undecodable:
                try:
                    text = decoder.decode(block, final=not block)
                except UnicodeDecodeError:
                    undecodable = True
                else:
                    if "\x00" in text:
                        raise CsvFileError("binary")
            if not block:
                break
            block = handle.read(_BLOCK_BYTES)
    if undecodable:
        raise CsvFileError("encoding")
    return encoding or "utf-8-sig", digest.hexdigest()


@contextlib.contextmanager
def open_table(path: Path) -> Iterator[CsvStream]:
    """Open a registry CSV for reading row by row, with the same rules as `read_table`.

    The file is read twice: once in blocks to check it and hash it, then in blocks of whole
    lines, each block cleaned (`clean_text` works within a line, so this equals cleaning the
    whole text) and parsed. Memory stays that of a block, whatever the size of the file."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CsvFileError("too_big")
    encoding, sha256 = _check_and_hash(path)
    with path.open(encoding=encoding, newline="") as handle:
        lines = _clean_lines(handle)
        skipped: list[str] = []
        first = None
        for line in lines:
            skipped.append(line)
            if line.strip():
                first = line
                break
        if first is None:
            raise CsvFileError("empty")
        reader = csv.reader(
            itertools.chain(skipped, lines), delimiter=_delimiter(first), strict=True
        )
        records = _records(reader)
        columns: list[str] = []
        for cells in records:
            if any(cell.strip() for cell in cells):
                columns = [normalize_column(cell) for cell in cells]
                break
        yield CsvStream(columns=columns, rows=_rows(reader, records, columns), sha256=sha256)


def _clean_lines(handle: io.TextIOBase) -> Iterator[str]:
    """The file's lines (ends kept, split as `csv` splits them), cleaned a block at a time."""
    rest = ""
    while block := handle.read(_BLOCK_BYTES):
        block = rest + block
        # Cut after the last line end, but not between a \r and the \n that may follow it.
        cut = max(block.rfind("\n"), block.rfind("\r", 0, len(block) - 1)) + 1
        if cut == 0:
            rest = block
            continue
        block, rest = block[:cut], block[cut:]
        yield from io.StringIO(clean_text(block), newline="")
    if rest:
        yield from io.StringIO(clean_text(rest), newline="")


def _rows(reader: Any, records: Iterator[list[str]], columns: list[str]) -> Iterator[CsvRow]:
    simple = all(columns)  # no header cell left empty: every cell maps to its column
    width = len(columns)
    for cells in records:
        stripped = list(map(str.strip, cells))
        if not any(stripped):
            continue
        if simple:
            if len(stripped) < width:
                stripped += [""] * (width - len(stripped))
            yield CsvRow(reader.line_num, dict(zip(columns, stripped, strict=False)))
        else:
            yield _row(reader.line_num, columns, cells)


def _records(reader: Iterator[list[str]]) -> Iterator[list[str]]:
    try:
        yield from reader
    except csv.Error as error:  # an unterminated quote, a NUL byte
        raise CsvFileError("malformed", str(error)) from None
