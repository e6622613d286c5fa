"""The coordinator's recap, chart and export, on the example province with some activity."""

from __future__ import annotations

from datetime import date
from io import BytesIO
from pathlib import Path

import matplotlib.image
from openpyxl import load_workbook

from bot.recap import build_recap, parse_month
from storage.store import Store
from tests.chat import Chat
from tests.conftest import NOW
from tests.outbox import WIB
from tests.test_complaint_handling import enrolled, file_payout_complaint
from tests.test_verification import report_visit


async def activity(mother: Chat, store: Store) -> Chat:
    """Two reports (one verified), one complaint, one verification by Euis."""
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=False)
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7701)
    await euis.send("/verifikasi")
    await euis.press("✅ Verifikasi")
    return euis


async def test_recap_figures(mother: Chat, store: Store) -> None:
    await activity(mother, store)
    async with store.read() as repo:
        mekarjaya = (await repo.geography.kecamatan_ids())["mekarjaya"]
    november = await build_recap(store, mekarjaya, date(2026, 11, 1), now=NOW, zone=WIB)
    anggrek = next(r for r in november.attendance if r.desa == "Mekarjaya")
    # Posyandu Anggrek met once in November (the 30th): Neneng and Aditya were expected.
    assert (anggrek.expected, anggrek.reported, anggrek.verified, anggrek.cross_checked) == (
        2,
        2,
        1,
        0,
    )
    assert anggrek.rate == 0.5
    assert [r.desa for r in november.attendance] == ["Medalsari", "Mekarjaya", "Sukamulya"]
    december = await build_recap(store, mekarjaya, date(2026, 12, 1), now=NOW, zone=WIB)
    assert december.complaints == {("payout", "open"): 1}
    [euis, hasan] = december.companions
    assert (euis.code, euis.verifications, euis.complaints_handled) == ("PD-MKJ-1", 1, 0)
    assert euis.last_active is not None and hasan.last_active is None
    district = await build_recap(store, None, date(2026, 11, 1), now=NOW, zone=WIB)
    assert {r.kecamatan for r in district.attendance} == {"Mekarjaya", "Pandeglang"}


async def test_rekap_in_the_chat_with_a_readable_chart(mother: Chat, store: Store) -> None:
    euis = await activity(mother, store)
    asep = await enrolled(store, mother, "KO-MKJ", 7702)
    [text] = await asep.send("/rekap 2026-11")
    assert text.startswith("<b>Rekap Mekarjaya, November 2026</b>")
    assert "Mekarjaya: 2 / 2 / 1 / 0 (50%)" in text
    # Her verification happened on 1 December, so it counts in December, not November.
    assert "PD-MKJ-1 Euis Rohmah: Selasa, 1 Desember 2026 / 0 / 0 / 0" in text
    [photo] = [c for c in asep.api.calls if c.method == "sendPhoto"]
    image = matplotlib.image.imread(BytesIO(photo.files["photo"]), format="png")
    assert image.shape[:2] == (1200, 900)  # portrait, readable on a phone
    assert image.std() > 0.05  # not a blank picture
    # A companion and a household may not see the recap.
    refused = ["Maaf, Anda tidak diizinkan melakukan itu."]
    assert await euis.send("/rekap") == refused
    assert await mother.send("/ekspor") == refused
    assert await asep.send("/rekap kemarin") == [
        "Tulis bulan seperti 2026-11, atau kosongkan untuk bulan ini."
    ]


async def test_ekspor_sends_a_workbook_that_opens(mother: Chat, store: Store) -> None:
    await activity(mother, store)
    asep = await enrolled(store, mother, "KO-MKJ", 7703)
    await asep.send("/ekspor")
    [document] = [c for c in asep.api.calls if c.method == "sendDocument"]
    workbook = load_workbook(BytesIO(document.files["document"]))
    assert workbook.sheetnames == ["Kehadiran", "Keluhan", "Pendamping"]
    complaints = list(workbook["Keluhan"].values)
    assert complaints[0][:6] == ("Tiket", "Nomor peserta", "Desa", "Kategori", "Status", "Tingkat")
    assert complaints[1][:6] == ("KLH-2612-0001", "RTS-2026-0001", "Mekarjaya", "Pencairan bantuan",
                                 "diterima, menunggu", "pendamping")  # fmt: skip
    companions = list(workbook["Pendamping"].values)
    assert [row[0] for row in companions[1:]] == ["PD-MKJ-1", "PD-MKJ-2"]
    assert "Uang bantuan" not in str(complaints)  # complaint texts stay in the bot


def test_month_parsing() -> None:
    assert parse_month("2026-11") == date(2026, 11, 1)
    assert parse_month("11/2026") == date(2026, 11, 1)
    assert parse_month("13/2026") is None
    assert parse_month("November") is None


def test_sapa_export_writes_xlsx_and_csv(tmp_path: Path) -> None:
    from tests.test_cli import import_examples, sapa

    import_examples(tmp_path)
    result = sapa("export", "--month", "2026-11", "--kecamatan", "Mekarjaya", "--output", "out",
                  cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "sapa-rekap-2026-11-mekarjaya-attendance.csv", "sapa-rekap-2026-11-mekarjaya-companions.csv",
        "sapa-rekap-2026-11-mekarjaya-complaints.csv", "sapa-rekap-2026-11-mekarjaya.xlsx",
    ]  # fmt: skip
    attendance = (tmp_path / "out" / "sapa-rekap-2026-11-mekarjaya-attendance.csv").read_text(
        "utf-8-sig"
    )
    assert (
        attendance.splitlines()[0]
        == "Kecamatan,Desa,Diharapkan,Dilaporkan,Terverifikasi,Tercek silang,Tingkat (%)"
    )
    assert "Mekarjaya,Mekarjaya,2,0,0,0,0.0" in attendance
    unknown = sapa("export", "--kecamatan", "Atlantis", cwd=tmp_path)
    assert unknown.returncode == 1 and "Atlantis" in unknown.stderr
