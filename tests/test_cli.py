"""The `sapa` command as a data officer runs it, on a real database file: in this process
(`bot.cli.main`), and as the installed command where that is what is proved (the entry point,
the console reading a real stdin)."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.support.helpers import SAPA, import_examples, sapa, sapa_installed, write_csv


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def test_demo_then_stats(workdir: Path) -> None:
    """The installed command itself (the other tests call `sapa` in this process)."""
    demo = sapa_installed("demo", cwd=workdir)
    assert demo.returncode == 0, demo.stderr
    assert "households.csv: 200 baris diimpor (200 baru, 0 diperbarui)." in demo.stdout
    assert (workdir / "sapa.db").exists()

    stats = sapa_installed("stats", cwd=workdir)
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
    stats = sapa_installed("stats", cwd=workdir)
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


def test_console_link_report_complain_status_and_english(workdir: Path) -> None:
    import_examples(workdir)
    typed = [
        "/start", "RTS-2026-0001", "850001",
        "1",  # menu: Lapor hadir posyandu
        "2", "1", "1", "1",  # Aditya, today, skip the photo, save
        "/keluhan", "1", "Antrean di kantor pos panjang sekali, kami menunggu enam jam.", "1", "1",
        "/status",
        "/bahasa", "2",  # English
        "/jadwal",
    ]  # fmt: skip
    result = subprocess.run(
        [str(SAPA), "console", "--as", "household:RTS-2026-0001"], cwd=workdir,
        input="\n".join(typed) + "\n", capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("SAPA_")},
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "🤖 Selesai! Telegram ini sekarang terhubung dengan rumah tangga RTS-2026-0001." in out
    assert "menu: [1] Lapor hadir posyandu" in out
    assert "🤖 Terima kasih! Laporan Ibu/Bapak sudah disimpan" in out
    assert "🤖 Keluhan sudah tercatat dengan kode tiket KLH-" in out
    assert "🤖 Status: baru" in out
    assert "🤖 From now on I will write in English." in out
    assert "🤖 Amount: Rp2.250.000" in out
    assert "Application started" not in out + result.stderr  # no log noise in the chat


def test_link_code_prints_a_code_and_the_deep_link(workdir: Path) -> None:
    import_examples(workdir)
    result = sapa("link-code", "RTS-2026-0002", cwd=workdir,
                  env={"SAPA_BOT_USERNAME": "sapa_rts_bot"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith("Kode tautan sekali pakai untuk rumah tangga RTS-2026-0002: ")
    code = first.split(": ")[1].split()[0]
    assert (
        second
        == f"Atau buka tautan ini di ponsel: https://t.me/sapa_rts_bot?start=link_{code.replace('-', '')}"
    )
    unknown = sapa("link-code", "RTS-0000", cwd=workdir)
    assert unknown.returncode == 1
    assert "Tidak ada rumah tangga dengan nomor peserta RTS-0000." in unknown.stderr


def test_session_move_and_cancel(workdir: Path) -> None:
    from datetime import date, timedelta

    from bot.domain.schedule import next_posyandu_day, parse_schedule_rule
    from bot.texts.i18n import Translations

    import_examples(workdir)
    long_date = Translations("id").for_language("id").long_date
    # Posyandu Dahlia meets on the 2nd Tuesday of each month.
    rule = parse_schedule_rule("2nd tuesday")
    first = next_posyandu_day(rule, date.today() + timedelta(days=1))
    second = next_posyandu_day(rule, first + timedelta(days=1))
    moved = sapa("session", "move", "P-MKJ-02", first.isoformat(),
                 (first + timedelta(days=2)).isoformat(), cwd=workdir)  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith(
        f"Jadwal {long_date(first)} dipindah ke {long_date(first + timedelta(days=2))}."
    )
    cancelled = sapa("session", "cancel", "P-MKJ-02", second.isoformat(), cwd=workdir)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.startswith(f"Jadwal {long_date(second)} dibatalkan.")
    wednesday = second + timedelta(days=1)
    not_a_session = sapa("session", "cancel", "P-MKJ-02", wednesday.isoformat(), cwd=workdir)
    assert not_a_session.returncode == 1
    assert f"tidak buka pada {long_date(wednesday)}" in not_a_session.stderr
    unknown = sapa("session", "cancel", "P-XXX", second.isoformat(), cwd=workdir)
    assert "Tidak ada posyandu dengan kode P-XXX." in unknown.stderr
    bad_date = sapa("session", "cancel", "P-MKJ-02", "9/2/2027", cwd=workdir)
    assert bad_date.returncode == 2


def test_invite_prints_a_single_use_link(workdir: Path) -> None:
    import_examples(workdir)
    made = sapa(
        "invite", "companion", "PD-MKJ-1", cwd=workdir, env={"SAPA_BOT_USERNAME": "sapa_rts_bot"}
    )
    assert made.returncode == 0, made.stderr
    first, link = made.stdout.splitlines()
    assert (
        first
        == "Undangan untuk Euis Rohmah sebagai pendamping, berlaku 7 hari dan untuk sekali pakai."
    )
    assert link.startswith("https://t.me/sapa_rts_bot?start=inv_") and len(link.split("=")[1]) <= 64
    wrong = sapa("invite", "coordinator", "PD-MKJ-1", cwd=workdir)
    assert wrong.returncode == 1
    assert "PD-MKJ-1 terdaftar sebagai pendamping, bukan koordinator kecamatan." in wrong.stderr


def console(workdir: Path, identity: str, lines: list[str]) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
    environment["SAPA_QUIET_HOURS"] = "00:00-00:00"  # no quiet hours: the test may run at night
    result = subprocess.run(
        [str(SAPA), "console", "--as", identity], cwd=workdir, input="\n".join(lines) + "\n",
        capture_output=True, text=True, timeout=120, env=environment,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_staff_roles_from_enrolment_to_recap(workdir: Path) -> None:
    from openpyxl import load_workbook

    import_examples(workdir)
    console(workdir, "household:RTS-2026-0001", [
        "/start", "RTS-2026-0001", "850001",
        "/hadir", "2", "2", "1", "1",  # Aditya, yesterday, skip the photo, save
        "/keluhan", "1", "Dana bantuan tahap ini belum kami terima.", "1", "1",
        "/keluhan", "1", "Antrean di kantor pos panjang sekali.", "1", "1",
    ])  # fmt: skip

    token = sapa("invite", "companion", "PD-MKJ-1", cwd=workdir).stdout.split("start=")[-1].strip()
    companion = console(workdir, "companion:PD-MKJ-1", [
        f"/start {token}", "/verifikasi", "1",  # verify the report
        # The buttons typed are those of the last complaint listed, the queue's.
        "/keluhanmasuk", "2", "Sedang kami cek ke kantor pos, Bu.",  # reply to the household
        "/keluhanmasuk", "3",  # and mark it resolved
    ])  # fmt: skip
    assert "🤖 Selamat datang, Euis Rohmah." in companion
    assert "🤖 Terverifikasi: Aditya Sukmana" in companion
    assert "🤖 Jawaban Anda sudah dikirim ke rumah tangga" in companion
    assert (
        "[1] Tandai sedang ditangani   [2] Balas ke rumah tangga   [3] Tandai selesai" in companion
    )
    assert (
        "ditandai selesai. Rumah tangga akan ditanya apakah masalahnya sudah selesai." in companion
    )
    # The household sees the answer and the question the next time she opens the console.
    mother = console(workdir, "household:RTS-2026-0001", ["1", "/status"])  # 1: yes, solved
    assert "🤖 Jawaban untuk keluhan Ibu/Bapak KLH-" in mother
    assert "Apakah masalahnya sudah selesai?" in mother
    assert "🤖 Terima kasih! Keluhan sudah ditutup." in mother
    assert [line for line in mother.splitlines() if line.startswith("🤖 Status:")] == [
        "🤖 Status: selesai", "🤖 Status: baru",
    ]  # fmt: skip

    # Nobody resolved the first: ten days later it goes up to the coordinator, with an alert.
    later = (date.today() + timedelta(days=10)).isoformat() + "T10:00"
    drill = sapa("escalate", "--at", later, cwd=workdir).stdout
    assert drill.splitlines()[-1] == (
        "1 keluhan akan naik satu tingkat pada saat itu. Belum ada yang diubah; tambahkan "
        "--apply untuk menaikkannya sekarang."
    )
    assert re.match(r"KLH-\d{4}-\d{4}: pendamping", drill)
    applied = sapa("escalate", "--at", later, "--apply", cwd=workdir).stdout
    assert "1 keluhan naik satu tingkat." in applied
    token = sapa("invite", "coordinator", "KO-MKJ", cwd=workdir).stdout.split("start=")[-1].strip()
    coordinator = console(workdir, "coordinator:KO-MKJ", [f"/start {token}", "/rekap", "/ekspor"])
    assert "tidak selesai tepat waktu dan sekarang menjadi tanggung jawab Anda" in coordinator
    assert "[1] Ambil alih" in coordinator
    assert "🤖 Rekap Mekarjaya," in coordinator
    files = sorted((workdir / "sapa-console-files").iterdir())
    assert [f.suffix for f in files] == [".png", ".xlsx"]
    assert load_workbook(files[1]).sheetnames == ["Kehadiran", "Keluhan", "Pendamping", "Syarat"]


def test_backup_copies_a_live_database(workdir: Path) -> None:
    import sqlite3

    import_examples(workdir)
    made = sapa("backup", "copy.db", cwd=workdir)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "Cadangan ditulis ke copy.db."
    with sqlite3.connect(workdir / "copy.db") as copy:
        assert copy.execute("select count(*) from household").fetchone() == (6,)
    again = sapa("backup", "copy.db", cwd=workdir)
    assert again.returncode == 1 and "sudah ada" in again.stderr
    postgres = sapa("backup", "x.db", cwd=workdir,
                    env={"SAPA_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/none"})  # fmt: skip
    assert postgres.returncode == 2 and "pg_dump" in postgres.stderr


def test_copy_database_into_an_empty_migrated_database_only(workdir: Path) -> None:
    import sqlite3

    import_examples(workdir)
    target = f"sqlite+aiosqlite:///{workdir / 'target.db'}"
    unready = sapa("copy-database", target, cwd=workdir)
    assert unready.returncode == 2
    assert f"Jalankan `SAPA_DATABASE_URL={target} sapa migrate`" in unready.stderr
    assert sapa("migrate", cwd=workdir, env={"SAPA_DATABASE_URL": target}).returncode == 0
    copied = sapa("copy-database", target, cwd=workdir)
    assert copied.returncode == 0, copied.stderr
    assert "household" in copied.stdout and copied.stdout.strip().endswith("jalankan bot.")
    with sqlite3.connect(workdir / "target.db") as copy:
        assert copy.execute("select count(*) from household").fetchone() == (6,)
    again = sapa("copy-database", target, cwd=workdir)
    assert again.returncode == 1 and "sudah berisi data" in again.stderr
    nowhere = sapa("copy-database", "postgresql+asyncpg://postgres@127.0.0.1:1/none", cwd=workdir)
    assert nowhere.returncode == 2 and "tidak dapat dibuka" in nowhere.stderr


def test_the_fast_choice_lists_match_the_domain() -> None:
    """`sapa --help` starts fast because the CLI writes the import kinds and staff roles out
    instead of importing them; they must stay the same as the code's."""
    from bot.cli.chat import STAFF_ROLE_NAMES
    from bot.cli.registry import IMPORT_KINDS
    from bot.domain.models import STAFF_ROLES
    from bot.services.registry.importer import ImportKind

    assert list(IMPORT_KINDS) == [kind.value for kind in ImportKind]
    assert list(STAFF_ROLE_NAMES) == [role.value for role in STAFF_ROLES]


def test_migrate_that_would_leave_a_dangling_row_stops_politely(workdir: Path) -> None:
    """A row referencing nothing after the migration: `sapa migrate` says nothing changed and
    names the table, with no traceback, and the database stays at its revision."""
    import asyncio
    import sqlite3

    from storage.database import create_engine
    from storage.migrate import current_revision, upgrade

    async def at(revision: str | None = None) -> str | None:
        engine = create_engine(f"sqlite+aiosqlite:///{workdir / 'sapa.db'}")
        try:
            if revision is not None:
                await upgrade(engine, revision)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(at("0006")) == "0006"
    with sqlite3.connect(workdir / "sapa.db") as raw:  # foreign keys are off in a bare sqlite3
        raw.execute(
            "INSERT INTO complaint_event (complaint_id, at, kind) "
            "VALUES (99, '2026-11-02 03:00:00.000000', 'filed')"
        )
    result = sapa("migrate", cwd=workdir)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "Migrasi dihentikan; tidak ada yang diubah di basis data."
    assert "complaint_event: 1 row" in lines[1] and "Traceback" not in result.stderr
    assert asyncio.run(at()) == "0006"
