"""The national ID number (NIK): validate, mask, and keep only keyed digests of it.

Sapa RTS never stores a NIK in full. For each household head it keeps:
- the mask shown on screens, `3601************` (the kabupaten prefix only: the last digits
  are part of the link secret and are never shown);
- `digest`: HMAC-SHA256 of the whole NIK, to spot the same person heading two households;
- `tail_digest`: HMAC-SHA256 of the programme number and the last six digits, which is what a
  household types to link its Telegram account.
The HMAC key never sits in the database: it comes from `SAPA_NIK_KEY` or a key file (see
`bot.nik_key`). Without the key a stolen database file or backup cannot test a single NIK guess;
the threat model is in docs/design.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re

NIK_LENGTH = 16
LINK_TAIL_LENGTH = 6
_NIK = re.compile(r"^\d{16}$")
_TYPED_SEPARATORS = re.compile(r"[\s.\-]")


def normalize_nik(text: str) -> str:
    """Remove the spaces, dots and dashes people type inside a NIK."""
    return _TYPED_SEPARATORS.sub("", text)


def is_valid_nik(nik: str) -> bool:
    return bool(_NIK.match(nik))


def mask_nik(nik: str) -> str:
    """`3601234567890001` -> `3601************`; anything else is masked completely."""
    if not is_valid_nik(nik):
        return "*" * NIK_LENGTH
    return nik[:4] + "*" * (NIK_LENGTH - 4)


def nik_digest(key: bytes, nik: str) -> str:
    return hmac.new(key, b"nik:" + nik.encode(), hashlib.sha256).hexdigest()


def link_tail_digest(key: bytes, program_number: str, tail: str) -> str:
    """Digest of the last six NIK digits, bound to one household's programme number."""
    message = f"tail:{program_number}:{tail}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def matches_link_tail(key: bytes, program_number: str, tail: str, stored_digest: str) -> bool:
    expected = link_tail_digest(key, program_number, tail)
    return hmac.compare_digest(expected, stored_digest)
