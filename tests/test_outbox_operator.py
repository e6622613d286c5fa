"""What finally could not be delivered is put in front of a person: the operator's `sapa outbox`
(list, and put back in the queue) and a line of the coordinators' recap."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEMS
from bot.domain.clock import utc_now
from bot.domain.models import Recipient, Role
from bot.texts.i18n import Translations
from storage.schema import audit_log, notification
from storage.store import Store
from tests.conftest import NOW, Sapa
from tests.support.chat import Chat
from tests.support.fake_bot_api import FakeBotApi
from tests.support.outbox import WIB, ManualClock, make_dispatcher
from tests.support.scenes import enrolled

RECAP_LINE = "Pesan yang gagal terkirim bulan ini: {count} (operator: sapa outbox)"


def telegram_refuses(api: FakeBotApi) -> None:
    """Telegram answers 400 to messages whose text holds "BAD", 500 to those with "DOWN"."""
    original = api.do_request

    async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        request = args[2] if len(args) > 2 else kwargs.get("request_data")
        text = str(request.parameters.get("text", "")) if request is not None else ""
        for marker, status, description in (("BAD", 400, "Bad Request: chat not found"),
                                             ("DOWN", 500, "Internal Server Error")):  # fmt: skip
            if marker in text:
                body = {"ok": False, "error_code": status, "description": description}
                return status, json.dumps(body).encode()
        return await original(*args, **kwargs)

    api.do_request = do_request  # type: ignore[method-assign]


async def queue(store: Store, recipient: Recipient, ticket: str, *, due: datetime = NOW,
                **extra: object) -> None:  # fmt: skip
    async with store.write() as repo:
        await repo.notifications.queue(
            recipient, "complaint.status", {"ticket": ticket, "status": "in_progress", **extra},
            due_at=due, dedup_key=ticket, now=NOW,
        )  # fmt: skip


async def deliver_until_settled(
    store: Store, translations: Translations, api: FakeBotApi, bot: Any, start: datetime
) -> None:
    """Run the dispatcher (a 5-minute retry window) until nothing is waiting any more."""
    clock = ManualClock(now=start)
    dispatcher = make_dispatcher(store, bot, translations, clock, retry_window=timedelta(minutes=5))
    for _ in range(30):
        await dispatcher.run_once()
        clock.advance(60)


async def statuses(store: Store) -> dict[str, tuple[str, int]]:
    async with store.read() as repo:
        rows = await repo.connection.execute(
            select(notification.c.dedup_key, notification.c.status, notification.c.attempts)
        )
        return {key: (status, attempts) for key, status, attempts in rows}


async def undeliverable_messages(store: Store, mother: Chat, translations: Translations) -> None:
    """In Mekarjaya: a message to the mother refused (400), one to companion Euis that meets
    500s past its window, a reminder for the mother that expires during 500s, one delivered,
    and one refused in November; in Pandeglang: one refused to a household account, one to an
    account that blocked the bot."""
    api = mother.api
    euis = await enrolled(store, mother, "PD-MKJ-1", 7701)
    async with store.write() as repo:
        me = await repo.people.by_telegram_id(mother.user_id)
        companion = await repo.staff.get_by_code("PD-MKJ-1")
        pandeglang = await repo.households.get_by_program_number("RTS-2026-0004")
        assert me is not None and companion is not None and pandeglang is not None
        other = await repo.people.add(7801, Role.HOUSEHOLD, NOW, household_id=pandeglang.id)
        blocking = await repo.people.add(7802, Role.HOUSEHOLD, NOW, household_id=pandeglang.id)
    api.blocked_chats.add(7802)
    november = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
    await queue(store, Recipient(person_id=me.id), "KLH-BAD-NOV", due=november)
    telegram_refuses(api)
    await deliver_until_settled(store, translations, api, mother.application.bot, november)
    await queue(store, Recipient(person_id=me.id), "KLH-BAD-1")
    await queue(store, Recipient(staff_id=companion.id), "KLH-DOWN-2")
    await queue(store, Recipient(person_id=me.id), "KLH-DOWN-3",
                expires_at=(NOW + timedelta(minutes=3)).isoformat())  # fmt: skip
    await queue(store, Recipient(person_id=me.id), "KLH-OK-4")
    await queue(store, Recipient(person_id=other.id), "KLH-BAD-5", due=NOW + timedelta(minutes=20))
    await queue(store, Recipient(person_id=blocking.id), "KLH-BLOCK-6",
                due=NOW + timedelta(minutes=10))  # fmt: skip
    await deliver_until_settled(store, translations, api, mother.application.bot, NOW)
    mother.seen = euis.seen = len(api.calls)
    assert await statuses(store) == {
        "KLH-BAD-NOV": ("failed", 1),
        "KLH-BAD-1": ("failed", 1),
        "KLH-DOWN-2": ("failed", 5),  # tried at 0, 1, 2, 4 minutes and at the window's end, 5
        "KLH-DOWN-3": ("cancelled", 3),  # tried at 0, 1, 2 minutes; the next would be too late
        "KLH-OK-4": ("sent", 0),
        "KLH-BAD-5": ("failed", 1),
        "KLH-BLOCK-6": ("failed", 1),
    }


async def test_the_recap_counts_the_messages_of_its_kecamatan_that_could_not_be_delivered(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await undeliverable_messages(store, mother, translations)
    asep = await enrolled(store, mother, "KO-MKJ", 7702)  # Mekarjaya's coordinator
    agus = await enrolled(store, mother, "TPJK-1", 7720)  # the district team

    [december, *_] = await asep.send("/rekap")
    # To Mekarjaya's households and staff: the refused one, Euis's, the expired reminder.
    assert RECAP_LINE.format(count=3) in december.split("\n")
    [november, *_] = await asep.send("/rekap 2026-11")
    assert RECAP_LINE.format(count=1) in november.split("\n")
    district = "\n".join(await agus.send("/rekap"))
    assert RECAP_LINE.format(count=5) in district.split("\n")  # and Pandeglang's two

    async with store.read() as repo:  # what `sapa outbox` lists, newest first
        shown, total = await repo.notifications.undelivered(3)
    assert total == 6
    assert [(m.template_key, m.recipient, m.attempts, m.error_type, m.expired) for m in shown] == [
        ("complaint.status", "RTS-2026-0004", 1, "bad request", False),
        ("complaint.status", "RTS-2026-0004", 1, "forbidden", False),
        ("complaint.status", "PD-MKJ-1", 5, "NetworkError", False),
    ]


async def test_sapa_outbox_lists_what_failed_and_puts_it_back_in_the_queue(
    mother: Chat, store: Store, translations: Translations, sapa_here: Sapa,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the command reads SAPA_DATABASE_URL; its queries run on both in the recap")
    await undeliverable_messages(store, mother, translations)
    monkeypatch.setenv("SAPA_DATABASE_URL", store.engine.url.render_as_string(False))

    async def sapa(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(sapa_here, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    async with store.read() as repo:
        ids = {key: id_ for id_, key in await repo.connection.execute(
            select(notification.c.id, notification.c.dedup_key))}  # fmt: skip

    code, out, _err = await sapa("outbox", "--limit", "3")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0] == "Pesan yang gagal terkirim, terbaru lebih dulu:"
    assert lines[1].split() == ["ID", "Jadwal", "kirim", "Pesan", "Penerima", "Percobaan",
                                "Kesalahan", "terakhir"]  # fmt: skip
    assert [line.split()[:7] for line in lines[2:5]] == [
        [str(ids["KLH-BAD-5"]), "2026-12-01", "10:20", "WIB", "complaint.status",
         "RTS-2026-0004", "1"],
        [str(ids["KLH-BLOCK-6"]), "2026-12-01", "10:10", "WIB", "complaint.status",
         "RTS-2026-0004", "1"],
        [str(ids["KLH-DOWN-2"]), "2026-12-01", "10:05", "WIB", "complaint.status",
         "PD-MKJ-1", "5"],
    ]  # fmt: skip
    assert lines[2].endswith(" bad request")
    assert lines[3].endswith(" forbidden")
    assert lines[4].endswith(" NetworkError")
    assert lines[5] == "… dan 3 lainnya."
    assert "sapa outbox retry" in lines[6]
    code, out, _err = await sapa("outbox")
    assert [line.split()[0] for line in out.splitlines()[2:8]] == [
        str(ids[key])
        for key in (
            "KLH-BAD-5",
            "KLH-BLOCK-6",
            "KLH-DOWN-2",
            "KLH-DOWN-3",
            "KLH-BAD-1",
            "KLH-BAD-NOV",
        )
    ]
    assert out.splitlines()[5].endswith(" NetworkError (kedaluwarsa, tidak dicoba lagi)")
    assert out.splitlines()[5].split()[1:3] == ["2026-12-01", "10:02"]
    for private in ("Ujang", "Euis", "Dede", "KLH-"):  # no names, no message texts
        assert private not in out

    code, _out, err = await sapa("outbox", "retry")
    assert code == EXIT_CONFIG and "--all" in err

    code, out, err = await sapa("outbox", "retry", *(str(ids[key]) for key in (
        "KLH-BAD-1", "KLH-DOWN-3", "KLH-OK-4", "KLH-BLOCK-6")))  # fmt: skip
    assert code == EXIT_PROBLEMS
    assert out.strip() == "1 pesan dimasukkan kembali ke antrean, dikirim sekarang."
    left = sorted(ids[key] for key in ("KLH-DOWN-3", "KLH-OK-4", "KLH-BLOCK-6"))
    assert err.strip().endswith(", ".join(map(str, left)))  # expired, sent, blocked
    assert (await statuses(store))["KLH-BAD-1"] == ("pending", 0)

    code, out, _err = await sapa("outbox", "retry", "--all")
    assert code == EXIT_OK
    assert out.strip() == "3 pesan dimasukkan kembali ke antrean, dikirim sekarang."
    after = await statuses(store)
    assert [key for key, (status, _n) in sorted(after.items()) if status == "pending"] == [
        "KLH-BAD-1", "KLH-BAD-5", "KLH-BAD-NOV", "KLH-DOWN-2",
    ]  # fmt: skip
    async with store.read() as repo:
        audited = (await repo.connection.execute(
            select(audit_log.c.actor, audit_log.c.action, audit_log.c.entity_id)
            .where(audit_log.c.entity == "notification").order_by(audit_log.c.id)
        )).all()  # fmt: skip
    assert audited == [
        ("cli", "retry", str(ids[key]))
        for key in ("KLH-BAD-1", "KLH-BAD-NOV", "KLH-DOWN-2", "KLH-BAD-5")
    ]

    # Telegram takes them now: each arrives once, in the morning after (the queue is due now).
    del mother.api.do_request  # Telegram answers as usual again
    morning = (utc_now() + timedelta(days=1)).astimezone(WIB).replace(hour=10, minute=0)
    await make_dispatcher(store, mother.application.bot, translations, ManualClock(now=morning)
                          ).run_once()  # fmt: skip
    assert {key for key, (status, _n) in (await statuses(store)).items() if status == "sent"} == {
        "KLH-OK-4", "KLH-BAD-1", "KLH-BAD-5", "KLH-BAD-NOV", "KLH-DOWN-2",
    }  # fmt: skip
    code, out, _err = await sapa("outbox")
    assert code == EXIT_OK
    left_over = [line.split()[0] for line in out.splitlines()[2:-1]]
    assert left_over == [str(ids["KLH-BLOCK-6"]), str(ids["KLH-DOWN-3"])]  # blocked, expired
