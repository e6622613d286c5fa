"""The `sapa` command as a data officer runs it: a real process, a real database file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write_csv

SAPA = Path(sys.executable).parent / "sapa"


def sapa(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("SAPA_") and k != "TELEGRAM_BOT_TOKEN"}  # fmt: skip
    environment.update(env or {})
    return subprocess.run([str(SAPA), *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def test_demo_then_stats(workdir: Path) -> None:
    demo = sapa("demo", cwd=workdir)
    assert demo.returncode == 0, demo.stderr
    assert "households.csv: 200 baris diimpor (200 baru, 0 diperbarui)." in demo.stdout
    assert (workdir / "sapa.db").exists()

    stats = sapa("stats", cwd=workdir)
    assert stats.returncode == 0, stats.stderr
    lines = stats.stdout.splitlines()
    assert lines[0].split() == ["Kecamatan", "Posyandu", "Rumah", "tangga", "Anggota", "Petugas",
                                "Pengguna", "terhubung"]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if not line.startswith("-")}
    assert rows["Pandeglang"][:2] == ["4", "100"]
    assert rows["Mekarjaya"][:2] == ["3", "100"]
    assert rows["Jumlah"][:2] == ["7", "200"]
    assert rows["Jumlah"][3] == "9"  # staff, the district admin included

    again = sapa("demo", cwd=workdir)
    assert again.returncode == 1
    assert "sudah berisi 200 rumah tangga" in again.stderr


def test_import_with_errors_lists_them_and_changes_nothing(workdir: Path) -> None:
    assert sapa("migrate", cwd=workdir).returncode == 0
    posyandu = write_csv(
        workdir,
        "posyandu.csv",
        """
        code;name;kecamatan;desa;schedule
        P-001;Posyandu Mawar;Pandeglang;Kadomas;tanggal 10
        P-002;Posyandu Melati;Pandeglang;Karaton;setiap purnama
        P-001;Posyandu Mawar;Pandeglang;Kadomas;tanggal 10
    """,
    )
    result = sapa("import", "posyandu", str(posyandu), cwd=workdir)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "posyandu.csv: ditemukan 2 masalah, tidak ada yang diubah.",
        "  baris 3, kolom schedule: setiap purnama bukan jadwal (gunakan misalnya 'tanggal 10' "
        "atau 'selasa minggu ke-2')",
        "  baris 4, kolom code: sudah ada di baris 2",
    ]
    stats = sapa("stats", cwd=workdir)
    assert "Jumlah" in stats.stdout and stats.stdout.splitlines()[-1].split()[1:] == ["0"] * 5

    dry = sapa("import", "posyandu", str(posyandu), "--dry-run", cwd=workdir)
    assert dry.returncode == 1


def test_unmigrated_database_says_what_to_run(workdir: Path) -> None:
    result = sapa("stats", cwd=workdir)
    assert result.returncode == 2
    assert "Jalankan `sapa migrate`" in result.stderr


def test_run_without_token_explains_where_to_get_one(workdir: Path) -> None:
    result = sapa("run", cwd=workdir)
    assert result.returncode == 2
    assert "@BotFather" in result.stderr and ".env" in result.stderr
    assert "sapa demo" in result.stderr and "sapa console" in result.stderr


def test_invalid_setting_names_the_variable(workdir: Path) -> None:
    result = sapa("stats", cwd=workdir, env={"SAPA_TIMEZONE": "Asia/Jakartaa"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "SAPA_TIMEZONE is invalid: 'Asia/Jakartaa' is not a known time zone (try Asia/Jakarta)."
    )


def test_english_output(workdir: Path) -> None:
    result = sapa("stats", cwd=workdir, env={"SAPA_DEFAULT_LANGUAGE": "en"})
    assert "Run `sapa migrate` first" in result.stderr
