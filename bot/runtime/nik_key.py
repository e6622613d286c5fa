"""The NIK key: the HMAC key of the NIK digests, kept outside the database.

Who holds the database alone (a copied file, a `sapa backup`, a stolen disk image of the database
server) must not be able to test NIK guesses against the digests. So the key lives elsewhere:
- `SAPA_NIK_KEY`, when the deployment sets it (a systemd credential, a secrets manager); else
- a key file, `SAPA_NIK_KEY_FILE` (default `~/.config/sapa-rts/nik.key`), created on first use
  with 256 random bits and mode 0600 in a folder of mode 0700. A key file that others can read is
  refused: fix its mode (`chmod 600`) and start again.

Databases made by earlier versions kept a generated key in the `app_secret` table. The first run
of this version moves it out: it writes the key file with that key (so every stored digest keeps
working), then erases the key from the database (SQLite overwrites the freed space).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings
from storage.store import Store

KEY_FILE_NAME = "nik.key"


class NikKeyFileProblem(Exception):
    """The key file cannot be used; `reason` is one of the class constants."""

    UNSAFE_MODE = "unsafe_mode"
    UNREADABLE = "unreadable"
    MALFORMED = "malformed"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def default_key_file() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "sapa-rts" / KEY_FILE_NAME


def key_file(settings: Settings) -> Path:
    return settings.nik_key_file or default_key_file()


def read_key_file(path: Path) -> bytes | None:
    """The key in this file, or None when there is no file; refuses a file others can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NikKeyFileProblem(path, NikKeyFileProblem.UNSAFE_MODE)
    try:
        key = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        raise NikKeyFileProblem(path, NikKeyFileProblem.UNREADABLE) from None
    if len(key) < 32:
        raise NikKeyFileProblem(path, NikKeyFileProblem.MALFORMED)
    return key.encode()


def create_key_file(path: Path, key: str) -> None:
    """Write a new key file, 0600, in a 0700 folder; never over an existing file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(key + "\n")


async def resolve_nik_key(settings: Settings, store: Store, *, move_only: bool = False) -> Settings:
    """The settings with `nik_key` set to the key to use, moving an old in-database key out.

    With `move_only` (`sapa migrate`) nothing happens unless an old in-database key is there to
    move: a new database gets its key fingerprint at its first import or start.

    Raises `NikKeyFileProblem` for an unusable key file and `storage.secrets.NikKeyMismatch`
    when the key is not the one this database's digests were made with.
    """
    async with store.read() as repo:
        legacy = await repo.secrets.legacy_nik_key()
    if move_only and legacy is None:
        return settings
    key = settings.nik_key_bytes
    if key is None:
        path = key_file(settings)
        key = read_key_file(path)
        if key is None:
            create_key_file(path, legacy or secrets.token_hex(32))
            key = read_key_file(path)
            assert key is not None
    async with store.write() as repo:
        await repo.secrets.nik_key(key)  # the fingerprint check
    if legacy is not None:
        await store.erase_legacy_nik_key()
    return settings.model_copy(update={"nik_key": SecretStr(key.decode())})
