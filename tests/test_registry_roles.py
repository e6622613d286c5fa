"""Roles follow the registry: a re-import that changes a person's role or kecamatan, or a
deactivation, takes effect on the very next update, and nothing queued for a deactivated
account is sent."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.models import Recipient, Role
from bot.services.deactivation import Change, set_household_active, set_staff_active
from bot.services.registry.importer import ImportKind, ImportReport, StaffChange, import_file
from bot.texts.i18n import Translator
from storage.schema import audit_log, notification
from storage.store import Store
from tests.conftest import NOW, Sapa
from tests.support.chat import Chat
from tests.support.helpers import EXAMPLES, write_csv
from tests.support.scenes import enrolled

REFUSED = "Maaf, itu tidak bisa dilakukan dari akun ini."
STAFF_OFF = (
    "Akun petugas ini sudah tidak aktif di Sapa RTS. Jika menurut Anda ini keliru, silakan "
    "hubungi tim kabupaten."
)


async def reimport_people(
    store: Store, t: Translator, folder: Path, **changed: str
) -> ImportReport:
    """examples/people.csv again, with some lines replaced (staff code -> whole new line)."""
    lines = (EXAMPLES / "people.csv").read_text("utf-8").splitlines()
    for code, line in changed.items():
        lines = [line if row.startswith(code + ";") else row for row in lines]
    path = write_csv(folder, "people.csv", "\n".join(lines))
    report = await import_file(store, ImportKind.PEOPLE, path, t, now=NOW, progress=False)
    assert report.ok, report
    return report


async def test_an_admin_reimported_as_companion_loses_the_district_at_once(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    agus = await enrolled(store, mother, "TPJK-1", 7301)
    [recap, *_] = await agus.send("/rekap")
    assert recap.startswith("<b>Rekap seluruh kabupaten")

    report = await reimport_people(
        store, t_id, tmp_path, **{"TPJK-1": "TPJK-1;Agus Firmansyah;pendamping;Mekarjaya;"}
    )
    assert report.staff_changes == [
        StaffChange(code="TPJK-1", name="Agus Firmansyah", role_before=Role.ADMIN,
                    role_after=Role.COMPANION, kecamatan_before=None, kecamatan_after="Mekarjaya")
    ]  # fmt: skip
    assert await agus.send("/rekap") == [REFUSED]
    assert await agus.send("/ekspor") == [REFUSED]
    assert (await agus.send("/rumahtangga"))[0] == "Rumah tangga yang mana?"  # now a companion


async def test_a_coordinator_moved_to_another_kecamatan_sees_only_the_new_one(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    asep = await enrolled(store, mother, "KO-MKJ", 7302)
    [before, *_] = await asep.send("/rekap")
    assert before.startswith("<b>Rekap Mekarjaya,")
    await reimport_people(
        store, t_id, tmp_path, **{"KO-MKJ": "KO-MKJ;Asep Hidayat;koordinator;Pandeglang;"}
    )
    [after, *_] = await asep.send("/rekap")
    assert after.startswith("<b>Rekap Pandeglang,")


async def test_a_deactivated_companion_is_refused_everywhere_and_hears_nothing(
    mother: Chat, store: Store
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7303)
    async with store.write() as repo:
        await repo.notifications.queue(
            Recipient(staff_id=(await repo.staff.get_by_code("PD-MKJ-1")).id),  # type: ignore[union-attr]
            "digest", {}, due_at=NOW + timedelta(hours=1), dedup_key="digest:test", now=NOW,
        )  # fmt: skip

    outcome, cancelled = await set_staff_active(
        store, "PD-MKJ-1", False, reason="pindah tugas", actor="test", now=NOW
    )
    assert (outcome, cancelled) == (Change.CHANGED, 1)
    for command in ("/rumahtangga", "/verifikasi", "/keluhanmasuk", "/kodetautan RTS-2026-0001",
                    "/bantuan", "/start"):  # fmt: skip
        assert await euis.send(command) == [STAFF_OFF], command
    assert await euis.press_data("rt:all") == [STAFF_OFF]
    assert euis.api.calls[-2].method == "answerCallbackQuery"  # the spinner stops
    async with store.read() as repo:
        statuses = [r for (r,) in await repo.connection.execute(select(notification.c.status))]
        audit = (await repo.connection.execute(
            select(audit_log.c.action, audit_log.c.entity_id, audit_log.c.detail)
            .where(audit_log.c.entity == "staff")
        )).all()  # fmt: skip
    assert statuses == ["cancelled"]
    assert audit[-1:] == [
        ("deactivate", "PD-MKJ-1", {"reason": "pindah tugas", "cancelled_messages": 1})
    ]

    assert (await set_staff_active(store, "PD-MKJ-1", True, reason="", actor="t", now=NOW))[0] is (
        Change.CHANGED
    )
    assert (await euis.send("/rumahtangga"))[0] == "Rumah tangga yang mana?"


async def test_a_deactivated_household_is_refused_and_its_queue_cancelled(
    mother: Chat, store: Store
) -> None:
    async with store.write() as repo:
        me = await repo.people.by_telegram_id(mother.user_id)
        assert me is not None
        await repo.notifications.queue(
            Recipient(person_id=me.id), "reminder", {}, due_at=NOW + timedelta(hours=1),
            dedup_key="reminder:test", now=NOW,
        )  # fmt: skip
    outcome, cancelled = await set_household_active(
        store, "RTS-2026-0001", False, reason="pindah domisili", actor="test", now=NOW
    )
    assert (outcome, cancelled) == (Change.CHANGED, 1)
    [answer] = await mother.send("/jadwal")
    assert answer.startswith("Rumah tangga Ibu/Bapak sudah tidak aktif dalam program")
    [answer] = await mother.send("Lapor hadir posyandu")
    assert answer.startswith("Rumah tangga Ibu/Bapak sudah tidak aktif dalam program")
    # Unlinking stays possible.
    [answer] = await mother.send("/putus")
    assert "tidak lagi terhubung" in answer


async def test_unlinking_cancels_what_was_queued(mother: Chat, store: Store) -> None:
    async with store.write() as repo:
        me = await repo.people.by_telegram_id(mother.user_id)
        assert me is not None
        await repo.notifications.queue(
            Recipient(person_id=me.id), "reminder", {}, due_at=NOW + timedelta(hours=1),
            dedup_key="reminder:test", now=NOW,
        )  # fmt: skip
    await mother.send("/putus")
    async with store.read() as repo:
        statuses = [r for (r,) in await repo.connection.execute(select(notification.c.status))]
    assert statuses == ["cancelled"]


@pytest.mark.parametrize("verb", ["deactivate", "activate"])
def test_cli_staff_activation(
    verb: str, sapa_here: Sapa, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sapa_here(["migrate"]) == 0
    assert sapa_here(["import", "posyandu", str(EXAMPLES / "posyandu.csv")]) == 0
    assert sapa_here(["import", "people", str(EXAMPLES / "people.csv")]) == 0
    capsys.readouterr()
    reason = ["--reason", "cuti panjang"] if verb == "deactivate" else []
    assert sapa_here(["staff", verb, "PD-MKJ-1", *reason]) == 0
    out = capsys.readouterr().out
    if verb == "deactivate":
        assert out.strip() == (
            "PD-MKJ-1 dinonaktifkan: Telegram-nya ditolak mulai sekarang, dan 0 pesan dalam "
            "antrean dibatalkan."
        )
    else:
        assert out.strip() == "PD-MKJ-1 memang sudah begitu; tidak ada yang diubah."
    assert sapa_here(["staff", "deactivate", "PD-XXX", "--reason", "x"]) == 1
    assert capsys.readouterr().err.strip() == "PD-XXX tidak ada di registri."


def test_cli_import_lists_changed_roles(
    sapa_here: Sapa, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sapa_here(["migrate"]) == 0
    assert sapa_here(["import", "posyandu", str(EXAMPLES / "posyandu.csv")]) == 0
    assert sapa_here(["import", "people", str(EXAMPLES / "people.csv")]) == 0
    text = (EXAMPLES / "people.csv").read_text("utf-8")
    text = text.replace(
        "TPJK-1;Agus Firmansyah;admin;;", "TPJK-1;Agus Firmansyah;pendamping;Mekarjaya;"
    )
    text = text.replace(
        "KO-MKJ;Asep Hidayat;koordinator;Mekarjaya;", "KO-MKJ;Asep Hidayat;koordinator;Pandeglang;"
    )
    (tmp_path / "people2.csv").write_text(text, "utf-8")
    capsys.readouterr()
    assert sapa_here(["import", "people", str(tmp_path / "people2.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "Peran atau kecamatan yang berubah (berlaku mulai pesan berikutnya):",
        "  KO-MKJ (Asep Hidayat): Mekarjaya → Pandeglang",
        "  TPJK-1 (Agus Firmansyah): tim kabupaten (TPJK) → pendamping, - → Mekarjaya",
    ]
