"""Households' reasons for not going reach people (issue 15): an answer "we did not go" keeps
the household on the companion's missed list, with its reason, and a posyandu that two
households found closed on its session day is reported to the coordinator the same day."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.domain.models import AbsenceReason, Role
from bot.services.attendance import record_absence
from bot.services.digest import build_digest
from bot.services.recap import build_recap
from bot.texts.digest import list_lines
from bot.texts.i18n import Translator
from bot.texts.notices import render
from bot.texts.workbook import tables
from storage.schema import notification
from storage.store import Store
from tests.conftest import NOW
from tests.support.helpers import add_households_for_euis, import_valid_files

WIB = ZoneInfo("Asia/Jakarta")
SESSION = date(2026, 11, 30)  # Posyandu Anggrek met on the last Monday of November


async def test_a_closed_posyandu_reaches_the_coordinator_and_the_reasons_the_companion(
    store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await import_valid_files(store, t_id)
    await add_households_for_euis(store, t_id, tmp_path, 2)  # RTS-2026-0100 and -0101
    async with store.write() as repo:
        numbers = await repo.households.ids_by_program_number()
        households, people = [], []
        for n, number in enumerate(["RTS-2026-0001", "RTS-2026-0100", "RTS-2026-0101"]):
            household = await repo.households.get(numbers[number])
            assert household is not None
            households.append(household)
            people.append(
                await repo.people.add(70_000 + n, Role.HOUSEHOLD, NOW, household_id=household.id)
            )
        euis = await repo.staff.get_by_code("PD-MKJ-1")
        asep = await repo.staff.get_by_code("KO-MKJ")
    assert euis is not None and asep is not None
    anggrek = households[0].posyandu_id

    async def answer(index: int, reason: AbsenceReason) -> None:
        saved = await record_absence(
            store, people[index], households[index], anggrek, SESSION, reason, now=NOW
        )
        assert saved

    async def alerts() -> list[tuple[int | None, dict[str, object]]]:
        query = select(notification.c.staff_id, notification.c.params).where(
            notification.c.template_key == "posyandu.not_open"
        )
        async with store.read() as repo:
            return [(row.staff_id, row.params) for row in await repo.connection.execute(query)]

    await answer(0, AbsenceReason.SESSION_CANCELLED)
    assert await alerts() == []  # one household may be mistaken
    await answer(1, AbsenceReason.SESSION_CANCELLED)
    [(staff_id, params)] = await alerts()
    assert staff_id == asep.id  # the coordinator of Mekarjaya
    assert render("posyandu.not_open", params, t_id) == (
        "2 keluarga mengatakan Posyandu Anggrek tidak buka pada Senin, 30 November 2026, "
        "padahal seharusnya ada jadwal. Mohon cek ke posyandu dan bidan, dan pindahkan "
        "jadwalnya (/sesi) bila perlu."
    )
    await answer(2, AbsenceReason.TOO_FAR)
    assert len(await alerts()) == 1  # once per posyandu and day

    # The companion's missed list keeps them, each with the reason given.
    async with store.read() as repo:
        digest = await build_digest(repo, euis.id, date(2026, 12, 1), NOW)
    assert digest is not None
    missed = list_lines("missed", digest, t_id)
    assert "RTS-2026-0001 Ujang Sukmana — tidak datang: Posyandu tidak buka" in missed
    assert any(
        line.startswith("RTS-2026-0101 ") and line.endswith("tidak datang: Terlalu jauh")
        for line in missed
    )

    # The recap counts the reasons per desa (chat and workbook) and per posyandu (workbook).
    recap = await build_recap(store, asep.kecamatan_id, date(2026, 11, 1), now=NOW, zone=WIB)
    asked = Counter({AbsenceReason.SESSION_CANCELLED: 2, AbsenceReason.TOO_FAR: 1})
    assert recap.absence_reasons == {"Mekarjaya · Mekarjaya": asked}
    assert recap.absence_reasons_by_posyandu == {"Mekarjaya · Posyandu Anggrek": asked}
    [(_name, _header, rows)] = [sheet for sheet in tables(recap, t_id, WIB) if sheet[0] == "Syarat"]
    assert [row for row in rows if row[0] == "Posyandu"] == [
        ["Posyandu", "Mekarjaya · Posyandu Anggrek", "Posyandu tidak buka", "", 2, "", ""],
        ["Posyandu", "Mekarjaya · Posyandu Anggrek", "Terlalu jauh", "", 1, "", ""],
    ]
