"""The digest as a value: named lists, kept as JSON in the outbox, and digests queued by an
earlier version (sessions and complaints as plain lists) still render the same."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.digest import ComplaintLine, DigestContent, SessionLine
from bot.texts.digest import render_digest
from bot.texts.i18n import Translator

DIGEST = DigestContent(
    day=date(2026, 12, 1),
    sessions=[SessionLine(day=date(2026, 12, 2), posyandu="Posyandu Anggrek",
                          households=["RTS-2026-0001 Ujang Sukmana"])],
    complaints=[ComplaintLine(ticket="KLH-2612-0001", program_number="RTS-2026-0001",
                              deadline=datetime(2026, 11, 30, 3, tzinfo=UTC), overdue=True)],
    unreachable=["RTS-2026-0003 Encep Maulana"],
)  # fmt: skip


def test_the_digest_goes_through_the_outbox_unchanged(t_id: Translator) -> None:
    params = DIGEST.as_params()
    assert params["date"] == "2026-12-01" and params["complaints"][0]["ticket"] == "KLH-2612-0001"
    assert DigestContent.from_params(params) == DIGEST


def test_a_digest_queued_by_an_earlier_version_renders_the_same(t_id: Translator) -> None:
    earlier = {
        "date": "2026-12-01",
        "sessions": [["2026-12-02", "Posyandu Anggrek", "RTS-2026-0001 Ujang Sukmana"]],
        "missed": [], "reports": [],
        "complaints": [["KLH-2612-0001", "RTS-2026-0001", "2026-11-30T03:00:00+00:00", True]],
        "unreachable": ["RTS-2026-0003 Encep Maulana"],
    }  # fmt: skip
    old = render_digest(DigestContent.from_params(earlier), t_id)
    new = render_digest(DIGEST, t_id)
    assert old == new
    assert "KLH-2612-0001 (RTS-2026-0001), LEWAT TENGGAT sejak Sen 30 Nov" in new.text
    assert "Rab 2 Des, Posyandu Anggrek: RTS-2026-0001 Ujang Sukmana" in new.text
