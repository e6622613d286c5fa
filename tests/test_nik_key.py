"""The NIK key never sits beside the data: made outside the database, refused when others can
read it, moved out of databases made by earlier versions, absent from `sapa backup`; and a NIK
cannot be recovered from a backup copy."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.nik import link_tail_digest
from bot.runtime.nik_key import NikKeyFileProblem, resolve_nik_key
from bot.settings import load_settings
from storage.database import create_engine
from storage.migrate import upgrade
from storage.schema import app_secret
from storage.secrets import NIK_KEY, NIK_KEY_FINGERPRINT, NikKeyMismatch
from storage.store import Store
from tests.conftest import Sapa
from tests.support.helpers import EXAMPLES, VALID_FILES

NUMBER = "RTS-2026-0001"  # head's NIK 3601290305850001: link secret 850001


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def tail_guesses() -> list[str]:
    """What an attacker tries for the last six NIK digits: birth year (two digits) and a low
    serial number, as NIK structure makes likely (3,000 guesses)."""
    return [f"{year:02d}{serial:04d}" for year in range(40, 100) for serial in range(1, 51)]


def crack(keys: list[bytes], digest: str) -> str | None:
    for key in keys:
        for tail in tail_guesses():
            if link_tail_digest(key, NUMBER, tail) == digest:
                return tail
    return None


def test_a_backup_copy_gives_no_nik_away(sapa_here: Sapa, tmp_path: Path) -> None:
    assert sapa_here(["migrate"]) == 0
    for kind, name, _rows in VALID_FILES:
        assert sapa_here(["import", kind.value, str(EXAMPLES / name)]) == 0
    assert sapa_here(["backup", "copy.db"]) == 0

    key_file = tmp_path / "config" / "sapa-rts" / "nik.key"
    assert mode(key_file) == 0o600 and mode(key_file.parent) == 0o700
    assert mode(tmp_path / "sapa.db") == 0o600 and mode(tmp_path / "copy.db") == 0o600
    key = key_file.read_text().strip()

    copy = sqlite3.connect(tmp_path / "copy.db")
    stored = dict(copy.execute("SELECT name, value FROM app_secret"))
    [(tail_digest, masked)] = copy.execute(
        "SELECT nik_tail_digest, nik_masked FROM household WHERE program_number = ?", (NUMBER,)
    )
    copy.close()
    assert masked == "3601************"  # none of the link secret's digits
    assert NIK_KEY not in stored and set(stored) == {NIK_KEY_FINGERPRINT}
    assert key.encode() not in (tmp_path / "copy.db").read_bytes()
    # The attacker tries every secret-looking value the copy holds as the key: nothing.
    assert crack([value.encode() for value in stored.values()], tail_digest) is None
    # With the key file as well, the same search finds it (so the search itself works).
    assert crack([key.encode()], tail_digest) == "850001"


def test_a_key_file_others_can_read_is_refused(
    sapa_here: Sapa, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sapa_here(["migrate"]) == 0
    key_file = tmp_path / "config" / "sapa-rts" / "nik.key"
    assert not key_file.exists()  # made at the first use, not by `migrate`
    assert sapa_here(["import", "posyandu", str(EXAMPLES / "posyandu.csv")]) == 0
    key_file.chmod(0o644)
    capsys.readouterr()
    assert sapa_here(["import", "posyandu", str(EXAMPLES / "posyandu.csv")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"Berkas kunci NIK {key_file} dapat dibaca pengguna lain; berkas itu hanya boleh dibaca "
        f"pemiliknya. Jalankan: chmod 600 {key_file}"
    )


def test_a_shared_env_file_gets_a_warning(
    sapa_here: Sapa, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / ".env"
    env.write_text("SAPA_DEFAULT_LANGUAGE=id\n")
    env.chmod(0o644)
    assert sapa_here(["migrate"]) == 0
    assert f"Peringatan: {env} dapat dibaca pengguna lain" in capsys.readouterr().err
    env.chmod(0o600)
    assert sapa_here(["migrate"]) == 0
    assert "Peringatan" not in capsys.readouterr().err


async def test_an_old_in_database_key_is_moved_out_and_erased(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{database}"
    store = Store(create_engine(url))
    await upgrade(store.engine)
    legacy = "c0ffee" * 10 + "abcd"
    fingerprint = hashlib.sha256(b"sapa-nik-key:" + legacy.encode()).hexdigest()[:16]
    async with store.write() as repo:  # as an earlier version left it
        await repo.connection.execute(
            app_secret.insert(),
            [
                {"name": NIK_KEY, "value": legacy},
                {"name": NIK_KEY_FINGERPRINT, "value": fingerprint},
            ],
        )
    key_file = tmp_path / "keys" / "nik.key"
    settings = load_settings(database_url=url, nik_key_file=str(key_file))

    resolved = await resolve_nik_key(settings, store)

    assert resolved.nik_key_bytes == legacy.encode()  # the old digests keep working
    assert key_file.read_text().strip() == legacy and mode(key_file) == 0o600
    async with store.read() as repo:
        names = [n for (n,) in await repo.connection.execute(select(app_secret.c.name))]
    assert names == [NIK_KEY_FINGERPRINT]
    await store.close()
    for path in tmp_path.glob("old.db*"):
        assert legacy.encode() not in path.read_bytes(), path.name
    # A second start reads the key file; a different SAPA_NIK_KEY is refused.
    store = Store(create_engine(url))
    assert (await resolve_nik_key(settings, store)).nik_key_bytes == legacy.encode()
    with pytest.raises(NikKeyMismatch):
        await resolve_nik_key(load_settings(database_url=url, nik_key="f" * 64), store)
    key_file.chmod(0o640)
    with pytest.raises(NikKeyFileProblem):
        await resolve_nik_key(settings, store)
    await store.close()
