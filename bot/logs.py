"""Logging: one line per event, `key=value` fields, never a token, a message text or a full NIK.

Our own log calls name the event first, then its fields: `log.info("bot_started mode=%s", mode)`.
A library's free-text message (python-telegram-bot, uvicorn) becomes
`event=library_message text="..."`, and a traceback is folded into the same line as
`traceback="..."`, so every event is one line that `journalctl` or a log shipper can parse.
"""

from __future__ import annotations

import json
import logging
import re
import sys

_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
_NIK = re.compile(r"(?<!\d)(\d{4})\d{8}(\d{4})(?!\d)")
_EVENT = re.compile(r"^[a-z][a-z0-9_]*(?: |$)")


def scrub(text: str) -> str:
    """Remove bot tokens and mask 16-digit numbers that may be NIKs."""
    text = _TOKEN.sub("<token>", text)
    return _NIK.sub(r"\1********\2", text)


class EventFormatter(logging.Formatter):
    """`<time> level=INFO logger=<name> event=<event> <fields>`, scrubbed, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not _EVENT.match(message):
            message = f"library_message text={_quoted(message)}"
        line = (
            f"{self.formatTime(record)} level={record.levelname} logger={record.name} "
            f"event={message}"
        )
        if record.exc_info:
            error = type(record.exc_info[1]).__name__
            traceback = _quoted(self.formatException(record.exc_info))
            line += f" error={error} traceback={traceback}"
        elif record.stack_info:
            line += f" stack={_quoted(record.stack_info)}"
        return scrub(line)


def _quoted(text: str) -> str:
    """A JSON string: quotes and newlines escaped, so the field stays on its line."""
    return json.dumps(text, ensure_ascii=False)


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EventFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs request URLs, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Our bot_started / bot_stopping lines say what uvicorn's start and stop lines would.
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
