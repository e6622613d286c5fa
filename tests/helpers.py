"""Small helpers for tests: write a CSV file; load the example files of `examples/`."""

from __future__ import annotations

from pathlib import Path

from bot.i18n import Translator
from bot.registry.importer import ImportKind, ImportReport, import_file
from storage.store import Store
from tests.conftest import NOW


def write_csv(folder: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = folder / name
    data = text.strip("\n").replace("\n            ", "\n") + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The five valid files, in the order they must be imported, with their number of data rows.
VALID_FILES: list[tuple[ImportKind, str, int]] = [
    (ImportKind.POSYANDU, "posyandu.csv", 6),
    (ImportKind.PEOPLE, "people.csv", 7),
    (ImportKind.HOUSEHOLDS, "households.csv", 6),
    (ImportKind.MEMBERS, "members.csv", 8),
    (ImportKind.PAYOUTS, "payouts.csv", 4),
]


async def run_import(store: Store, t: Translator, kind: ImportKind, name: str) -> ImportReport:
    return await import_file(store, kind, EXAMPLES / name, t, now=NOW, progress=False)


async def import_valid_files(store: Store, t: Translator) -> list[ImportReport]:
    return [await run_import(store, t, kind, name) for kind, name, _ in VALID_FILES]
