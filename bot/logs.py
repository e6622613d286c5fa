"""Logging: one line per event, `key=value` fields, never a token, a message text or a full NIK."""

from __future__ import annotations

import logging
import re
import sys

_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
_NIK = re.compile(r"(?<!\d)(\d{4})\d{8}(\d{4})(?!\d)")


def scrub(text: str) -> str:
    """Remove bot tokens and mask 16-digit numbers that may be NIKs."""
    text = _TOKEN.sub("<token>", text)
    return _NIK.sub(r"\1********\2", text)


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        ScrubbingFormatter("%(asctime)s level=%(levelname)s logger=%(name)s event=%(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs request URLs, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
