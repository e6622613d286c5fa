"""The files in `examples/` (used by docs/data-formats.md) import as the guide says they do."""

from __future__ import annotations

from bot.services.registry.importer import ImportKind
from bot.texts.i18n import Translator
from storage.store import Store
from tests.support.helpers import VALID_FILES, import_valid_files, run_import


async def household_count(store: Store) -> int:
    async with store.read() as repo:
        return await repo.households.count()


async def test_example_files_import_in_order(store: Store, t_id: Translator) -> None:
    reports = await import_valid_files(store, t_id)

    for report, (kind, name, rows) in zip(reports, VALID_FILES, strict=True):
        assert report.ok, (name, report.problems)
        assert report.applied, name
        assert report.kind is kind
        assert (report.rows, report.inserted, report.updated) == (rows, rows, 0), name

    async with store.read() as repo:
        found = await repo.households.get_by_program_number("RTS-2026-0001")
    assert found is not None and found.nik_masked == "3601************"


async def test_example_files_reimport_changes_nothing(store: Store, t_id: Translator) -> None:
    await import_valid_files(store, t_id)
    again = await import_valid_files(store, t_id)

    for report, (_, name, rows) in zip(again, VALID_FILES, strict=True):
        assert report.ok, (name, report.problems)
        assert (report.rows, report.inserted, report.updated) == (rows, 0, rows), name
    assert await household_count(store) == 6


async def test_households_with_errors_lists_every_problem(store: Store, t_id: Translator) -> None:
    await import_valid_files(store, t_id)
    before = await household_count(store)

    report = await run_import(store, t_id, ImportKind.HOUSEHOLDS, "households-with-errors.csv")

    assert not report.ok and not report.applied
    assert report.rows == 9
    found = [(p.line, p.column, p.reason) for p in report.problems]
    assert sorted(found, key=lambda problem: problem[0] or 0) == [
        (2, "nik", "NIK harus 16 digit"),
        (3, "posyandu_code", "posyandu P-MKJ-09 tidak dikenal"),
        (5, "program_number", "sudah ada di baris 4"),
        (6, "head_name", "tidak boleh kosong"),
        (7, "posyandu_code", "posyandu P-MKJ-02 tidak berada di kecamatan Pandeglang"),
        (8, "companion_code", "pendamping PD-MKJ-1 tidak bertugas di kecamatan Pandeglang"),
        (9, "nik", "NIK ini sudah menjadi kepala rumah tangga RTS-2026-0001"),
    ]
    assert await household_count(store) == before == 6
    async with store.read() as repo:
        assert await repo.households.get_by_program_number("RTS-2026-0109") is None
