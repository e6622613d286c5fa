"""Small helpers for tests: write a CSV file from rows."""

from __future__ import annotations

from pathlib import Path


def write_csv(folder: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = folder / name
    data = text.strip("\n").replace("\n            ", "\n") + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path
