"""The authorization matrix: every staff action x every role x in scope / out of scope.

Each cell is one actor trying one action, on a fresh database, through the real Application.
Buttons are pressed with forged callback data carrying the ids of RTS-2026-0001's report,
complaint or member, exactly as a user could send them from a modified client.

An action outside the actor's role or scope is refused with the same polite sentence, changes
nothing in the database and is logged as `authorization_refused` (with the action and an id, but
no message text and no NIK). An action inside it is carried out: the actor gets its answer, the
database row changes, and an actor outside RTS-2026-0001's scope never sees anything of it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Select, select

from bot.domain.models import MemberKind, MemberRecord, Role, StaffRecord
from storage.schema import (
    attendance_report,
    complaint,
    complaint_event,
    follow_up,
    household,
    invite,
    link_code,
    member,
    metadata,
    session_change,
    staff,
)
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.scenes import enrolled, file_payout_complaint, report_visit

REFUSED = "Maaf, itu tidak bisa dilakukan dari akun ini."

# Who tries. "In scope" is RTS-2026-0001 (Mekarjaya, Posyandu Anggrek, companion PD-MKJ-1).
ACTORS = {
    "household": None,  # the mother of RTS-2026-0001 herself
    "companion_in": "PD-MKJ-1",  # serves RTS-2026-0001
    "companion_neighbour": "PD-MKJ-2",  # same kecamatan, other households
    "companion_out": "PD-PDG-1",  # Pandeglang
    "health_worker_in": "BD-MKJ-1",  # Posyandu Anggrek's midwife
    "health_worker_out": "KD-PDG-3",  # Posyandu Kenanga, Pandeglang (added by `scene`)
    "coordinator_in": "KO-MKJ",
    "coordinator_out": "KO-PDG",  # added by `scene`
    "operator_in": "OP-MKJ",  # added by `scene`
    "operator_out": "OP-PDG",  # added by `scene`
    "admin": "TPJK-1",  # the district team: everything is in its scope
}
ACTOR_ROLES = {actor: actor.removesuffix("_in").removesuffix("_out").removesuffix("_neighbour")
               for actor in ACTORS}  # fmt: skip
OUT_OF_SCOPE = {"companion_neighbour", "companion_out", "health_worker_out", "coordinator_out",
                "operator_out"}  # fmt: skip
# What actors outside RTS-2026-0001's scope must never be shown: its number, its family name,
# its complaint's ticket code.
ITS_DETAILS = ("RTS-2026-0001", "Sukmana", "KLH-2612-0001")
# What must never be logged: the NIK (and its tail), the complaint's text.
NEVER_LOGGED = ("3601290305850001", "850001", "Uang bantuan")

NO_REPORTS = "Tidak ada laporan yang menunggu verifikasi."
NO_COMPLAINTS = "Tidak ada keluhan yang menunggu Anda."
NOTHING_NOW = "Tidak ada saat ini."
NO_FOLLOW_UPS = "Tidak ada tindak lanjut yang terbuka. Terima kasih!"
REASON = "Foto KMS tidak terbaca, mohon lapor ulang."
ANSWER = "Bu, dana sedang diproses kantor pos."
MOVED = "Jadwal Selasa, 8 Desember 2026 dipindah ke Kamis, 10 Desember 2026."
CANCELLED = "Jadwal Selasa, 8 Desember 2026 dibatalkan."
ANGGREK = "Posyandu Anggrek, Senin, 30 November 2026: ketuk nama untuk mengonfirmasi"
KENANGA = "Posyandu Kenanga, Jumat, 27 November 2026: ketuk nama untuk mengonfirmasi"


@dataclass(frozen=True)
class Action:
    """What the actor sends (texts, or `press:` forged button data), and who may do it.

    `allowed` maps each allowed actor to a text its answer must contain; every other actor is
    refused. `effect` is a query with the rows it returns once an allowed actor has acted.
    """

    steps: tuple[str, ...]
    allowed: dict[str, str]
    effect: tuple[Select[Any], list[tuple[Any, ...]]] | None = None


def _all(actors: str, text: str) -> dict[str, str]:
    return dict.fromkeys(actors.split(), text)


REPORT_STATUS = select(attendance_report.c.status)
COMPLAINT_STATUS = select(complaint.c.status)
INVITED_FROM_THE_CHAT = select(staff.c.code).join(invite).where(invite.c.created_by != "test")

ACTIONS = {
    "recap": Action(("/rekap 2026-12",), {
        "coordinator_in": "<b>Rekap Mekarjaya, Desember 2026</b>",
        "coordinator_out": "<b>Rekap Pandeglang, Desember 2026</b>",
        "admin": "<b>Rekap seluruh kabupaten, Desember 2026</b>"}),
    "export": Action(("/ekspor 2026-12",), {
        "coordinator_in": "RTS-2026-0001", "coordinator_out": "Pandeglang",
        "admin": "RTS-2026-0001"}),
    "verification queue": Action(("/verifikasi",), {
        **_all("companion_in coordinator_in", "Laporan yang menunggu verifikasi: 1"),
        **_all("companion_neighbour companion_out coordinator_out", NO_REPORTS)}),
    "verify report": Action(("press:vr:{report}:ok",),
        _all("companion_in coordinator_in", "Terverifikasi: Aditya Sukmana"),
        (REPORT_STATUS, [("verified",)])),
    "reject report": Action(("press:vr:{report}:no", REASON),
        _all("companion_in coordinator_in", "Ditolak: Aditya Sukmana"),
        (REPORT_STATUS, [("rejected",)])),
    "complaints waiting": Action(("/keluhanmasuk",), {
        **_all("companion_in coordinator_in", "Keluhan yang menunggu Anda: 1"),
        # the district team sees only what reached the district
        **_all("companion_neighbour companion_out coordinator_out admin", NO_COMPLAINTS)}),
    "take complaint": Action(("press:cp:{complaint}:take",),
        _all("companion_in coordinator_in admin", "Anda sekarang menangani keluhan KLH-2612-0001"),
        (COMPLAINT_STATUS, [("in_progress",)])),
    "reply to complaint": Action(("press:cp:{complaint}:reply", ANSWER),
        _all("companion_in coordinator_in admin", "Jawaban Anda sudah dikirim ke rumah tangga"),
        (select(complaint_event.c.note).where(complaint_event.c.kind == "reply"), [(ANSWER,)])),
    "resolve complaint": Action(("press:cp:{complaint}:resolve",),
        _all("companion_in coordinator_in admin", "Keluhan KLH-2612-0001 ditandai selesai"),
        (COMPLAINT_STATUS, [("resolved",)])),
    "households": Action(("/rumahtangga",),
        _all("companion_in companion_neighbour companion_out", "Rumah tangga yang mana?")),
    "household filter": Action(("press:rt:open_complaints",), {
        "companion_in": "RTS-2026-0001 Ujang Sukmana",
        **_all("companion_neighbour companion_out", NOTHING_NOW)}),
    "digest list": Action(("press:dg:2026-12-01:complaints",), {
        "companion_in": "KLH-2612-0001 (RTS-2026-0001)",
        **_all("companion_neighbour companion_out", NOTHING_NOW)}),
    "link code": Action(("/kodetautan RTS-2026-0001",),
        {"companion_in": "Kode tautan sekali pakai untuk rumah tangga RTS-2026-0001"},
        (select(household.c.program_number).join(link_code), [("RTS-2026-0001",)])),
    "confirm list": Action(("/konfirmasi",),
        {"health_worker_in": ANGGREK, "health_worker_out": KENANGA}),
    "confirm list button": Action(("press:hwc:open",),
        {"health_worker_in": ANGGREK, "health_worker_out": KENANGA}),
    "confirm attendance": Action(
        ("/konfirmasi", "press:hw:{nonce}:yes:{aditya}", "press:hw:{nonce}:done"),
        {"health_worker_in": "Selesai: Posyandu Anggrek, Senin, 30 November 2026. Dikonfirmasi: 1."},
        (REPORT_STATUS, [("cross_checked",)])),
    "follow-ups": Action(("/tindaklanjut",), {
        **_all("companion_in coordinator_in", "Tindak lanjut terbuka: 1"),
        **_all("companion_neighbour companion_out coordinator_out", NO_FOLLOW_UPS)}),
    "close follow-up": Action(("press:tl:{follow_up}:phoned",),
        _all("companion_in coordinator_in", "Tercatat untuk RTS-2026-0001: 📞 Ditelepon"),
        (select(follow_up.c.outcome), [("phoned",)])),
    "invite companion": Action(("/undang PD-MKJ-2",),
        {"coordinator_in": "Undangan untuk Hasan Nugraha"},
        (INVITED_FROM_THE_CHAT, [("PD-MKJ-2",)])),
    "invite health worker": Action(("/undang BD-MKJ-1",),
        {"coordinator_in": "Undangan untuk Bidan Nining Kurniasih"},
        (INVITED_FROM_THE_CHAT, [("BD-MKJ-1",)])),
    "invite district team": Action(("/undang TPJK-1",), {}),
    "move session": Action(("/sesi pindah P-MKJ-02 2026-12-08 2026-12-10",),
        _all("coordinator_in operator_in", MOVED),
        (select(session_change.c.new_date), [(date(2026, 12, 10),)])),
    "cancel session": Action(("/sesi batal P-MKJ-02 2026-12-08",),
        _all("coordinator_in operator_in", CANCELLED),
        (select(session_change.c.original_date, session_change.c.new_date),
         [(date(2026, 12, 8), None)])),
}  # fmt: skip


@pytest.fixture
async def scene(mother: Chat, store: Store) -> dict[str, int]:
    """The example province, plus staff on both sides, Aditya's report and a complaint.

    Returns the ids a forged button carries: RTS-2026-0001's report, complaint and child.
    """
    async with store.write() as repo:
        kecamatan = await repo.geography.kecamatan_ids()
        kenanga = await repo.geography.get_posyandu("P-PDG-03")  # met last Friday, 27 November
        mamat = await repo.households.get_by_program_number("RTS-2026-0006")
        assert kenanga is not None and mamat is not None
        await repo.staff.upsert(
            [
                StaffRecord(
                    code="KO-PDG",
                    name="Koordinator Pandeglang",
                    role=Role.COORDINATOR,
                    kecamatan_id=kecamatan["pandeglang"],
                    posyandu_id=None,
                ),
                StaffRecord(
                    code="OP-MKJ",
                    name="Operator Mekarjaya",
                    role=Role.OPERATOR,
                    kecamatan_id=kecamatan["mekarjaya"],
                    posyandu_id=None,
                ),
                StaffRecord(
                    code="OP-PDG",
                    name="Operator Pandeglang",
                    role=Role.OPERATOR,
                    kecamatan_id=kecamatan["pandeglang"],
                    posyandu_id=None,
                ),
                StaffRecord(
                    code="KD-PDG-3",
                    name="Kader Kenanga",
                    role=Role.HEALTH_WORKER,
                    kecamatan_id=kecamatan["pandeglang"],
                    posyandu_id=kenanga.id,
                ),
            ]
        )
        await repo.households.upsert_members([
            MemberRecord(household_id=mamat.id, name="Putri Ramdani", kind=MemberKind.CHILD,
                         birth_date=date(2025, 2, 1), due_date=None),
        ])  # fmt: skip
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    await file_payout_complaint(mother)
    async with store.write() as repo:  # RTS-2026-0001 missed October's session
        rts = await repo.households.get_by_program_number("RTS-2026-0001")
        assert rts is not None
        await repo.follow_ups.open_absence(rts.id, rts.companion_id, date(2026, 10, 26), None,
                                           NOW, date(2026, 11, 2))  # fmt: skip
    async with store.read() as repo:
        connection = repo.connection
        return {
            "report": (await connection.execute(select(attendance_report.c.id))).scalar_one(),
            "complaint": (await connection.execute(select(complaint.c.id))).scalar_one(),
            "follow_up": (await connection.execute(select(follow_up.c.id))).scalar_one(),
            "aditya": (await connection.execute(
                select(member.c.id).where(member.c.name == "Aditya Sukmana"))).scalar_one(),
        }  # fmt: skip


def _refused_cells() -> list[Any]:
    return list(ACTIONS)


def _allowed_cells() -> list[Any]:
    return [
        pytest.param(action, actor, id=f"{action}-{actor}")
        for action, row in ACTIONS.items()
        for actor in row.allowed
    ]


@pytest.mark.parametrize("action", _refused_cells())
async def test_out_of_role_or_scope_is_refused(
    mother: Chat, store: Store, scene: dict[str, int], action: str, caplog: pytest.LogCaptureFixture
) -> None:
    row = ACTIONS[action]
    for number, actor in enumerate(a for a in ACTORS if a not in row.allowed):
        chat = await _actor(mother, store, actor, 7800 + number)
        before = await _database(store)
        calls = len(chat.api.calls)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            answers = await _try(chat, row, scene)
        assert answers == [REFUSED], (actor, answers)
        if row.steps[0].startswith("press:"):  # a refused button's spinner stops
            assert "answerCallbackQuery" in [c.method for c in chat.api.calls[calls:]], actor
        assert await _database(store) == before, f"refusing {actor} changed the database"
        logged = caplog.text
        assert "authorization_refused" in logged and "action=" in logged, (actor, logged)
        person = await _person_id(store, chat)
        assert f"telegram_user={chat.user_id}" in logged and f"person={person}" in logged, logged
        assert f"role={ACTOR_ROLES[actor]}" in logged, logged
        typed = [s for s in row.steps if not s.startswith(("/", "press:"))]
        assert not [s for s in (*NEVER_LOGGED, *typed) if s in logged], logged


@pytest.mark.parametrize(("action", "actor"), _allowed_cells())
async def test_in_role_and_scope_is_done(
    mother: Chat,
    store: Store,
    scene: dict[str, int],
    action: str,
    actor: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    row = ACTIONS[action]
    chat = await _actor(mother, store, actor, 7800)
    if row.effect is not None:
        query, rows = row.effect
        assert await _rows(store, query) != rows
    with caplog.at_level(logging.WARNING):
        answers = await _try(chat, row, scene)
    assert REFUSED not in answers and "authorization_refused" not in caplog.text, answers
    assert any(row.allowed[actor] in answer for answer in answers), answers
    if actor in OUT_OF_SCOPE:
        assert not [d for d in ITS_DETAILS if d in "\n".join(answers)], answers
    if row.effect is not None:
        assert await _rows(store, query) == rows


async def _actor(mother: Chat, store: Store, actor: str, user_id: int) -> Chat:
    code = ACTORS[actor]
    return mother if code is None else await enrolled(store, mother, code, user_id)


async def _try(chat: Chat, row: Action, scene: dict[str, int]) -> list[str]:
    """The action's steps, up to a refusal; what the bot answered to the last one."""
    answers: list[str] = []
    for step in row.steps:
        answers = await _do(chat, step.format(**scene, nonce=_nonce(chat)))
        if REFUSED in answers:
            break
    return answers


async def _person_id(store: Store, chat: Chat) -> int | None:
    async with store.read() as repo:
        person = await repo.people.by_telegram_id(chat.user_id)
    return person.id if person else None


async def _rows(store: Store, query: Select[Any]) -> list[tuple[Any, ...]]:
    async with store.read() as repo:
        return [tuple(r) for r in (await repo.connection.execute(query)).all()]


async def _do(chat: Chat, step: str) -> list[str]:
    """Send one step; everything the bot answered: texts, captions, and a spreadsheet's cells."""
    first = len(chat.api.calls)
    if step.startswith("press:"):
        await chat.press_data(step.removeprefix("press:"), {"message_id": 1, "text": ""})
    else:
        await chat.send(step)
    answers = []
    for call in chat.api.calls[first:]:
        if int(call.params.get("chat_id", 0)) != chat.user_id:
            continue
        if call.method == "sendMessage":
            answers.append(str(call.params["text"]))
        elif call.method in ("sendPhoto", "sendDocument"):
            answers.append(str(call.params.get("caption", "")))
        if call.method == "sendDocument":
            book = load_workbook(BytesIO(call.files["document"]), read_only=True)
            answers += [" ".join(str(v) for v in r if v is not None)
                        for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)]  # fmt: skip
    return answers


def _nonce(chat: Chat) -> str:
    """The nonce of the health worker's running confirmation list, if the bot showed one."""
    for message in reversed(chat.bot_messages()):
        for keys in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            data = str(keys[0].get("callback_data", ""))
            if data.startswith("hw:"):
                return data.split(":")[1]
    return "000000"


async def _database(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refusal changed nothing. Left out: where each user
    is in a flow (`conversation`), which the refused step leaves as it found it in memory."""
    async with store.read() as repo:
        return {
            table.name: sorted(
                (tuple(r) for r in (await repo.connection.execute(select(table))).all()), key=repr
            )
            for table in metadata.sorted_tables
            if table.name != "conversation"
        }
