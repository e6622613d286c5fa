"""The authorization matrix: every staff action x every role x in scope / out of scope.

An action outside a user's role or scope is refused with the same polite sentence and logged as
`authorization_refused` (without any message text); an action inside it is carried out.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.enrolment import INVITE_PREFIX, issue_invite
from bot.models import Role, StaffRecord
from storage.schema import attendance_report, complaint
from storage.store import Store
from tests.chat import Chat
from tests.conftest import NOW
from tests.test_complaint_handling import file_payout_complaint
from tests.test_verification import report_visit

REFUSED = "Maaf, Anda tidak diizinkan melakukan itu."

# Who is who: Mekarjaya is "in scope" (the household RTS-2026-0001, Posyandu Anggrek).
ACTORS = {
    "household": None,  # the mother herself
    "companion_in": "PD-MKJ-1",  # RTS-2026-0001's companion
    "companion_out": "PD-PDG-1",  # a companion in Pandeglang
    "coordinator_in": "KO-MKJ",
    "coordinator_out": "KO-PDG",  # added below
    "operator_in": "OP-MKJ",  # added below
    "health_worker_in": "BD-MKJ-1",  # Posyandu Anggrek's midwife
    "health_worker_out": "KD-PDG-1",
    "admin": "TPJK-1",
}

ACTIONS = {
    "rekap": ("/rekap 2026-11", {"coordinator_in", "coordinator_out", "admin"}),
    "ekspor": ("/ekspor 2026-11", {"coordinator_in", "coordinator_out", "admin"}),
    "verifikasi list": ("/verifikasi", {"companion_in", "companion_out", "coordinator_in",
                                        "coordinator_out"}),
    "verify report": ("press:vr:{report}:ok", {"companion_in", "coordinator_in"}),
    "take complaint": ("press:cp:{complaint}:take", {"companion_in", "coordinator_in", "admin"}),
    "invite companion": ("/undang PD-MKJ-2", {"coordinator_in"}),
    "move session": ("/sesi batal P-MKJ-02 2026-12-08", {"coordinator_in", "operator_in"}),
    "link code": ("/kodetautan RTS-2026-0001", {"companion_in"}),
    "households": ("/rumahtangga", {"companion_in", "companion_out"}),
    "keluhanmasuk": ("/keluhanmasuk", {"companion_in", "companion_out", "coordinator_in",
                                       "coordinator_out", "admin"}),
}  # fmt: skip


async def _staff_chat(mother: Chat, store: Store, code: str, user_id: int) -> Chat:
    made = await issue_invite(store, code, now=NOW, actor="test")
    assert made.token is not None, code
    chat = Chat(mother.application, mother.api, user_id, seen=len(mother.api.calls))
    await chat.send(f"/start {INVITE_PREFIX}{made.token}")
    return chat


@pytest.mark.parametrize("action", sorted(ACTIONS))
async def test_authorization_matrix(
    mother: Chat, store: Store, action: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with store.write() as repo:
        kecamatan = await repo.geography.kecamatan_ids()
        await repo.staff.upsert([
            StaffRecord(code="KO-PDG", name="Koordinator Pandeglang", role=Role.COORDINATOR,
                        kecamatan_id=kecamatan["pandeglang"], posyandu_id=None),
            StaffRecord(code="OP-MKJ", name="Operator Mekarjaya", role=Role.OPERATOR,
                        kecamatan_id=kecamatan["mekarjaya"], posyandu_id=None),
        ])  # fmt: skip
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    await file_payout_complaint(mother)
    async with store.read() as repo:
        report = (await repo.connection.execute(select(attendance_report.c.id))).scalar()
        complaint_id = (await repo.connection.execute(select(complaint.c.id))).scalar()
    text, allowed = ACTIONS[action]
    text = text.format(report=report, complaint=complaint_id)

    for number, (actor, code) in enumerate(ACTORS.items()):
        chat = mother if code is None else await _staff_chat(mother, store, code, 7800 + number)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            if text.startswith("press:"):
                replies = await chat.press_data(
                    text.removeprefix("press:"), {"message_id": 1, "text": ""}
                )
            else:
                replies = await chat.send(text)
        refused = replies == [REFUSED]
        assert refused == (actor not in allowed), (action, actor, replies)
        if refused:
            assert "authorization_refused" in caplog.text, (action, actor)
            assert "Aditya" not in caplog.text and "Uang" not in caplog.text
