"""What an auditor finds in the logs: at DEBUG, after real conversations, no personal data and no
secret, from our code or from the libraries (python-telegram-bot, SQLAlchemy, aiosqlite...), while
the lines still say what happened: which logger, which event, which Bot API call, which error."""

from __future__ import annotations

import io
import logging
import re
import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy.exc
from telegram import Update
from telegram.error import NetworkError

from bot.runtime.logs import setup_logging
from bot.services.enrolment import INVITE_PREFIX, issue_invite
from bot.services.linking import format_code
from bot.texts.i18n import Translations
from storage.store import Store
from tests.conftest import NOW, TOKEN
from tests.support.chat import Chat
from tests.support.outbox import ManualClock, make_dispatcher
from tests.support.telegram_updates import message_update, user

NIK = "3601290305850001"  # the head of RTS-2026-0001 (examples/households.csv)
NIK_TAIL = "850001"
COMPLAINT = "Kambing tetangga makan sandal ungu kami di depan posyandu"
REPLY = "Sandal ungu sudah kami temukan di kandang Pak RT"
PHOTO = "AgACAgUAAxkBAAIBZ9kambingPhotoQ7"


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """The production logging setup at DEBUG, written to a string; put back as it was after."""
    root = logging.getLogger()
    quieted = ("httpx", "httpcore", "apscheduler", "alembic", "uvicorn")
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in quieted}
    stream = io.StringIO()
    setup_logging("DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, saved in levels.items():
            logging.getLogger(name).setLevel(saved)


class QueuedChat(Chat):
    """A user whose updates reach the bot as in production (webhook or polling): through the
    Application's update queue, where python-telegram-bot logs each update at DEBUG."""

    async def send_update(self, update: Update) -> list[str]:
        return await self._process(update)

    async def _process(self, update: Update) -> list[str]:
        await self.application.update_queue.put(update)
        await self.application.update_queue.join()
        new = self.api.calls[self.seen :]
        self.seen = len(self.api.calls)
        return [
            str(call.params["text"])
            for call in new
            if call.method == "sendMessage" and int(call.params["chat_id"]) == self.user_id
        ]


def leaks(log: str, secrets: dict[str, str]) -> dict[str, list[str]]:
    """For each secret found, the log lines holding it."""
    lines = log.splitlines()
    found = {what: [line for line in lines if text in line] for what, text in secrets.items()}
    return {what: hits[:2] for what, hits in found.items() if hits}


async def test_debug_logs_of_real_conversations_hold_no_personal_data(
    debug_log: io.StringIO, chat: Chat, store: Store, translations: Translations
) -> None:
    application, api = chat.application, chat.api
    mother = QueuedChat(application, api, chat.user_id)

    # Linking with the programme number and the last six digits of the head's NIK.
    await mother.send("/start")
    await mother.send("RTS-2026-0001")
    [linked] = await mother.send(NIK_TAIL)
    assert linked.startswith("Selesai! Telegram ini sekarang terhubung dengan rumah tangga")

    # A complaint with a photo.
    await mother.send("Keluhan")
    await mother.press("Pencairan bantuan")
    [ask_photo] = await mother.send(COMPLAINT)
    assert ask_photo.startswith("Jika foto membantu")
    await mother.send_photo(PHOTO)
    [ticket] = await mother.press("📨 Kirim")
    assert "KLH-2612-0001" in ticket

    # Her companion enrols by invite link and answers; the answer reaches her through the outbox.
    invite = await issue_invite(store, "PD-MKJ-1", now=NOW, actor="test")
    assert invite.token is not None
    euis = QueuedChat(application, api, 7401, seen=len(api.calls))
    [welcome] = await euis.send(f"/start {INVITE_PREFIX}{invite.token}")
    assert welcome.startswith("Selamat datang, Euis Rohmah.")
    await euis.send("/keluhanmasuk")
    await euis.press("Balas ke rumah tangga")
    [sent] = await euis.send(REPLY)
    assert sent.startswith("Jawaban Anda sudah dikirim ke rumah tangga")
    await make_dispatcher(store, application.bot, translations, ManualClock()).run_once()
    assert REPLY in api.texts()[-1]
    euis.seen = mother.seen = len(api.calls)

    # A one-time link code from the companion, used by the father in one tap.
    [made] = await euis.send("/kodetautan RTS-2026-0003")
    payload = made.splitlines()[-1].split("start=")[1]
    code = payload.removeprefix("link_")
    father = QueuedChat(application, api, 7903, seen=len(api.calls))
    [_notice, father_linked] = await father.send(f"/start {payload}")
    assert father_linked.startswith("Selesai! Telegram ini sekarang terhubung dengan rumah tangga")

    # Refused: our own warning line, which names ids only.
    assert await mother.send("/undang PD-MKJ-2") == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]

    # A stranger with a name of her own writes, and Telegram refuses the bot's first answer.
    stranger = {"id": 81555, "type": "private", "first_name": "Zulaikha", "last_name": "Purbasari"}
    sender = user(81555, first_name="Zulaikha") | {"last_name": "Purbasari"}
    api.fail_next("sendMessage", 400, "Bad Request: chat not found")
    await QueuedChat(application, api, 81555).send_update(
        message_update(application.bot, 81555, text="Halo", chat=stranger, **{"from": sender})
    )

    log = debug_log.getvalue()
    secrets = {
        "bot token": TOKEN,
        "NIK": NIK,
        "typed NIK digits": NIK_TAIL,
        "complaint text": "sandal ungu kami",
        "staff reply": "kandang Pak RT",
        "photo file id": PHOTO,
        "link code": code,
        "link code as shown": format_code(code),
        "invite token": invite.token,
        "sender's first name": "Zulaikha",
        "sender's last name": "Purbasari",
        "test users' first name": "Siti",
        "household's family name": "Sukmana",
        "companion's name": "Euis Rohmah",
    }
    assert leaks(log, secrets) == {}

    # It really was DEBUG, and the libraries' lines are there, redacted but readable.
    debug = [line for line in log.splitlines() if " level=DEBUG " in line]
    assert len(debug) > 20
    assert (
        'level=DEBUG logger=telegram.ext.ExtBot event=library_message text="Calling Bot API '
        'endpoint `sendMessage` with parameters `<redacted>`"' in log
    )
    assert "Call to Bot API endpoint `sendMessage` finished with return value `<redacted>`" in log
    assert (
        'level=DEBUG logger=telegram.ext.Application event=library_message text="Processing '
        'update <redacted>"' in log
    )
    # SQLite's driver logs each statement with its parameters: all redacted.
    for line in log.splitlines():
        if "logger=aiosqlite" in line:
            assert line.endswith(
                ('text="executing <redacted>"', 'text="operation <redacted> completed"')
            )
    # Our own lines are kept as they were: ids only.
    assert re.search(
        r"level=WARNING logger=handlers\.\S+ event=authorization_refused action=invite "
        r"role=household person=\d+ telegram_user=81001", log
    )  # fmt: skip
    # The failed call says what an operator needs: our event, the error's type and Telegram's words.
    [failed] = [line for line in log.splitlines() if "event=handler_failed" in line]
    assert "level=ERROR" in failed and "error=BadRequest" in failed
    assert "telegram.error.BadRequest: Chat not found" in failed


def test_library_errors_name_their_type_but_quote_no_data(debug_log: io.StringIO) -> None:
    # A database error quotes the statement's parameters: here, what a mother wrote.
    try:
        try:
            raise sqlite3.IntegrityError("UNIQUE constraint failed: complaint.ticket_code")
        except sqlite3.IntegrityError as cause:
            raise sqlalchemy.exc.IntegrityError(
                "INSERT INTO complaint (text, nik) VALUES (?, ?)", (COMPLAINT, NIK), cause
            ) from cause
    except sqlalchemy.exc.IntegrityError as error:
        logging.getLogger("telegram.ext.Application").error(
            "No error handlers are registered, logging exception.", exc_info=error
        )
    # A network error in python-telegram-bot's retry loop, with the token in the URL.
    failure = NetworkError(f"httpx.ConnectError: https://api.telegram.org/bot{TOKEN}/getUpdates")
    logging.getLogger("telegram.ext.Updater").error(
        "%s Failed run number %s of %s. Aborting.",
        "Network Retry Loop (Polling Updates):", 3, 3, exc_info=failure,
    )  # fmt: skip
    # A payload logged as the message itself, and a payload in a format the filter does not know.
    logging.getLogger("some.library").debug({"text": COMPLAINT})
    logging.getLogger("some.library").warning("retrying %d with %s", 2, {"nik": NIK})

    log = debug_log.getvalue()
    assert leaks(log, {"complaint": "sandal ungu", "NIK": NIK, "token": TOKEN}) == {}
    [database] = [line for line in log.splitlines() if "logger=telegram.ext.Application" in line]
    [network] = [line for line in log.splitlines() if "logger=telegram.ext.Updater" in line]
    [payload, retry] = [line for line in log.splitlines() if "logger=some.library" in line]
    assert "level=ERROR logger=telegram.ext.Application" in database
    assert "No error handlers are registered, logging exception." in database
    assert "error=IntegrityError" in database
    assert "sqlite3.IntegrityError: UNIQUE constraint failed: complaint.ticket_code" in database
    assert "sqlalchemy.exc.IntegrityError: <redacted>" in database
    assert (
        'text="Network Retry Loop (Polling Updates): Failed run number 3 of 3. Aborting."'
        in network
    )
    assert "error=NetworkError" in network
    assert (
        "telegram.error.NetworkError: httpx.ConnectError: https://api.telegram.org/bot" in network
    )
    assert 'level=DEBUG logger=some.library event=library_message text="<redacted>"' in payload
    assert (
        'level=WARNING logger=some.library event=library_message text="retrying 2 with <redacted>"'
        in retry
    )
