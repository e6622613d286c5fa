"""NIK handling: masking, normalising and the keyed digests; log lines never show a full NIK."""

from __future__ import annotations

import pytest

from bot.domain.nik import link_tail_digest, mask_nik, matches_link_tail, nik_digest, normalize_nik
from bot.runtime.logs import scrub

KEY = b"k" * 32


@pytest.mark.parametrize(
    ("nik", "masked"),
    [
        ("3601014506900001", "3601************"),
        ("360101450690001", "****************"),
        ("36010145069000AB", "****************"),
        ("", "****************"),
    ],
)
def test_mask(nik: str, masked: str) -> None:
    assert mask_nik(nik) == masked


def test_normalize_removes_separators() -> None:
    assert normalize_nik("3601 0145.0690-0001") == "3601014506900001"


def test_digests_depend_on_the_key_and_the_household() -> None:
    nik = "3601014506900001"
    assert nik_digest(KEY, nik) != nik_digest(b"x" * 32, nik)
    assert nik not in nik_digest(KEY, nik)
    digest = link_tail_digest(KEY, "RTS-1", "900001")
    assert matches_link_tail(KEY, "RTS-1", "900001", digest)
    assert not matches_link_tail(KEY, "RTS-2", "900001", digest)
    assert not matches_link_tail(KEY, "RTS-1", "900002", digest)


def test_log_scrubbing() -> None:
    line = "import nik=3601014506900001 token=123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    cleaned = scrub(line)
    assert "3601014506900001" not in cleaned and "3601************" in cleaned
    assert "AAHdqTcv" not in cleaned and "<token>" in cleaned
