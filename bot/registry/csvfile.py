"""Reading a registry CSV the way Indonesian offices write them.

UTF-8 with or without a byte-order mark, `,` or `;` as separator (Excel in an Indonesian locale
writes `;`), header names matched without regard to case or surrounding spaces.
"""

from __future__ import annotations

import csv
import io
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
    return ";" if header_line.count(";") > header_line.count(",") else ","


def decode(data: bytes) -> str:
    if b"\x00" in data:
        raise CsvFileError("binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError("encoding") from None


def read_table(path: Path) -> CsvTable:
    """Read the whole file; raise CsvFileError for an empty, binary or non-UTF-8 file."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise CsvFileError("too_big")
    text = decode(path.read_bytes())
    return parse_table(text)


def parse_table(text: str) -> CsvTable:
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
