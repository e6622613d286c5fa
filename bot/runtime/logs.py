"""Logging: one line per event, `key=value` fields, never personal data or a secret.

Our own log calls name the event first, then its fields: `log.info("bot_started mode=%s", mode)`.
A library's free-text message (python-telegram-bot, uvicorn) becomes
`event=library_message text="..."`, and a traceback is folded into the same line as
`traceback="..."`, so every event is one line that `journalctl` or a log shipper can parse.

Privacy, at every level (DEBUG included) and for every logger: `RedactingFilter` sits on the root
handler, so it sees each record that is written, whichever library logged it.

- Our own loggers (`sapa`, `bot.*`, `handlers.*`, `jobs.*`, `storage.*`) log ids only; their lines
  are kept, with bot tokens and NIKs scrubbed all the same.
- A library's record keeps its logger name and its message template, but its arguments pass only
  when known to be safe (an allowlist): numbers, booleans, enums, times, an exception's type, and
  the slots of a few known python-telegram-bot templates (the Bot API endpoint, a conversation's
  key and state). Everything else (updates, Bot API parameters and results, SQL parameters, URLs,
  strings) becomes `<redacted>`. Only the first line of a library's template is kept: a message a
  library built itself carries its dump on the lines after.
- A traceback keeps its frames (file, line, code) and each exception's type. An exception's own
  message is kept (scrubbed) only for network and Telegram errors, which an operator needs; any
  other message may quote data (a database error quotes its SQL parameters) and is redacted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from datetime import date, time, timedelta
from enum import Enum
from typing import TextIO

REDACTED = "<redacted>"
OUR_LOGGERS = ("sapa", "bot", "handlers", "jobs", "storage")

_TOKEN = re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}")
_NIK = re.compile(r"(?<!\d)(\d{4})\d{12}(?!\d)")
_EVENT = re.compile(r"^[a-z][a-z0-9_]*(?: |$)")
_LONG_NUMBER = re.compile(r"(?<!\d)\d{16,}(?!\d)")

# What may be personal data or a secret in text a library wrote (its template, or the message of
# a network error): any run of 6+ digits (a NIK or part of one, a phone number), a link code
# (bot/linking.py: 8 characters without 0/O/1/I, maybe as ABCD-2345), a deep-link payload
# (`inv_<token>`, `link_<code>`), a long opaque id with a digit in it (a Telegram file id).
_CODE = "[A-HJ-NP-Z2-9]{4}"  # half a link code: bot.services.linking.LINK_CODE_ALPHABET
_DATA = (
    (re.compile(r"(?<![A-Za-z0-9])(inv|link)_[^\s'\"`,;)}\]]+"), rf"\1_{REDACTED}"),
    (re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{20,}"), REDACTED),
    (re.compile(rf"(?<![A-Za-z0-9_]){_CODE}-?{_CODE}(?![A-Za-z0-9_])"), REDACTED),
    (re.compile(r"(?<!\d)\d{6,}(?!\d)"), REDACTED),
)

# printf-style conversions, to turn `%d` into `%s` when its argument was redacted.
_CONVERSION = re.compile(
    r"%%|%(\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]"
)

SafeText = Callable[[object], str | None]


def _matching(pattern: str) -> SafeText:
    """An argument slot that passes when its text is wholly of this (harmless) shape."""
    compiled = re.compile(pattern)

    def check(value: object) -> str | None:
        text = str(value)
        return text if compiled.fullmatch(text) else None

    return check


def _retry_loop(value: object) -> str | None:
    """python-telegram-bot's network loop prefix, maybe with a network error's text after it."""
    text = str(value)
    return scrub_data(text) if text.startswith("Network Retry Loop (") else None


def _bot_api_url(value: object) -> str | None:
    """The Bot API server's address, which an operator needs; the token in it removed."""
    text = str(value)
    return scrub_data(text) if re.fullmatch(r"https?://\S+", text) else None


_ENDPOINT = _matching(r"[A-Za-z]{1,64}")
_CONVERSATION_KEY = _matching(r"\((?:-?\d{1,20}(?:, )?){0,3}\)")  # chat id, user id
_STATE = _matching(r"[A-Za-z_][A-Za-z0-9_]{0,63}|-?\d{1,4}")
_UPDATE_IDS = _matching(r"\[(?:\d{1,20}(?:, )?)*\]")

# python-telegram-bot's templates whose arguments are partly known to be safe (logger `telegram.*`).
_TELEGRAM_TEMPLATES: dict[str, tuple[SafeText | None, ...]] = {
    "Calling Bot API endpoint `%s` with parameters `%s`": (_ENDPOINT, None),
    "Call to Bot API endpoint `%s` finished with return value `%s`": (_ENDPOINT, None),
    "Selecting conversation %s with state %s": (_CONVERSATION_KEY, _STATE),
    "Conversation timeout was triggered for conversation %s!": (_CONVERSATION_KEY,),
    "Getting updates: %s": (_UPDATE_IDS,),
    "Set Bot API URL: %s": (_bot_api_url,),
    "Set Bot API File URL: %s": (_bot_api_url,),
    "%s Starting": (_retry_loop,),
    "%s Cancelled": (_retry_loop,),
    "%s Action succeeded. Stopping loop.": (_retry_loop,),
    "%s Invalid token. Aborting retry loop.": (_retry_loop,),
    "%s Failed run number %s of %s. Retrying.": (_retry_loop,),
    "%s Failed run number %s of %s. Aborting.": (_retry_loop,),
}

# Exceptions whose message an operator needs and which quote no data of ours (scrubbed anyway).
_SAFE_ERROR_MODULES = ("telegram.error", "httpx", "httpcore", "h11", "sqlite3", "asyncio")


def scrub(text: str) -> str:
    """Remove bot tokens and mask 16-digit numbers that may be NIKs."""
    text = _TOKEN.sub("<token>", text)
    # As bot.domain.nik.mask_nik: no digit of the link secret is left.
    return _NIK.sub(r"\1************", text)


def scrub_data(text: str) -> str:
    """Remove tokens, digits, link codes, deep-link payloads and file ids from a library's text."""
    text = _TOKEN.sub("<token>", text)
    for pattern, replacement in _DATA:
        text = pattern.sub(replacement, text)
    return text


def is_ours(logger_name: str) -> bool:
    return any(logger_name == name or logger_name.startswith(name + ".") for name in OUR_LOGGERS)


class RedactingFilter(logging.Filter):
    """Rewrites each record so it holds no personal data or secret (see the module docstring).

    The record is changed in place (its message is formatted, its arguments dropped, its
    traceback text replaced), so every handler after this one sees the redacted record too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "sapa_redacted", False):
            return True
        try:
            message = scrub(record.getMessage()) if is_ours(record.name) else _library(record)
        except Exception as error:  # a record that cannot be formatted still makes a line
            message = f"log_record_unreadable error={type(error).__name__}"
        record.msg, record.args = message, ()
        if record.exc_info and record.exc_info[1] is not None:
            try:
                record.exc_text = redacted_traceback(record.exc_info[1])
            except Exception as error:
                record.exc_text = f"{type(record.exc_info[1]).__name__} ({type(error).__name__})"
        record.__dict__["sapa_redacted"] = True
        return True


def _library(record: logging.LogRecord) -> str:
    """A library's message: its template's first line, with only known-safe arguments."""
    if not isinstance(record.msg, str):
        return REDACTED
    template, *more = record.msg.splitlines() or [""]
    if more:
        template += f" {REDACTED}"
    args = record.args
    if not args:
        return scrub_data(template)
    checks = _TELEGRAM_TEMPLATES.get(record.msg, ()) if record.name.startswith("telegram") else ()
    safe: tuple[object, ...] | dict[str, object]
    if isinstance(args, Mapping) and "%(" in template:
        safe = {str(key): _safe(value) for key, value in args.items()}
    elif isinstance(args, tuple):
        safe = tuple(
            _known(checks[i], value) if i < len(checks) else _safe(value)
            for i, value in enumerate(args)
        )
    else:
        safe = (REDACTED,)
    return _scrub_library(_interpolate(scrub_data(template), safe))


def _scrub_library(text: str) -> str:
    """Tokens and whole NIKs out of a library's line (safe arguments may be ids, never NIKs)."""
    return _LONG_NUMBER.sub(REDACTED, _TOKEN.sub("<token>", text))


def _known(check: SafeText | None, value: object) -> object:
    text = check(value) if check is not None else None
    return text if text is not None else _safe(value)


def _safe(value: object) -> object:
    """A value known to hold no personal data, as it is; anything else redacted."""
    if value is None or isinstance(value, (bool, int, float, Enum, date, time, timedelta)):
        return value
    if isinstance(value, BaseException):
        return type(value).__name__
    if isinstance(value, type):
        return value.__qualname__
    return REDACTED


def _interpolate(template: str, args: tuple[object, ...] | dict[str, object]) -> str:
    try:
        return template % args
    except (TypeError, ValueError, KeyError):
        pass
    # `%d` or `%f` given `<redacted>`: every conversion as `%s`.
    as_text = _CONVERSION.sub(lambda m: "%%" if m[0] == "%%" else f"%{m[1] or ''}s", template)
    try:
        return as_text % args
    except (TypeError, ValueError, KeyError):
        return _CONVERSION.sub(lambda m: "%" if m[0] == "%%" else REDACTED, template)


def redacted_traceback(error: BaseException) -> str:
    """The traceback as Python prints it, each exception's message kept only when harmless."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    joint = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, joint))
        if current.__cause__ is not None:
            current = current.__cause__
            joint = "The above exception was the direct cause of the following exception:"
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
            joint = "During handling of the above exception, another exception occurred:"
        else:
            current = None
    parts: list[str] = []
    for link, joint in reversed(chain):
        frames = "".join(traceback.format_tb(link.__traceback__))
        head = "Traceback (most recent call last):\n" if frames else ""
        parts.append(f"{head}{frames}{_exception_line(link)}")
        if joint:
            parts.append(f"\n{joint}\n")
    return "\n".join(parts)


def _exception_line(error: BaseException) -> str:
    kind = type(error)
    name = kind.__qualname__
    if kind.__module__ != "builtins":
        name = f"{kind.__module__}.{name}"
    try:
        text = str(error)
    except Exception:
        text = REDACTED
    if not text:
        return name
    safe = isinstance(error, OSError) or kind.__module__.startswith(_SAFE_ERROR_MODULES)
    return f"{name}: {scrub_data(text) if safe else REDACTED}"


class EventFormatter(logging.Formatter):
    """`<time> level=INFO logger=<name> event=<event> <fields>`, scrubbed, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not (is_ours(record.name) and _EVENT.match(message)):
            message = f"library_message text={_quoted(message)}"
        line = (
            f"{self.formatTime(record)} level={record.levelname} logger={record.name} "
            f"event={message}"
        )
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text = record.exc_text or redacted_traceback(error)
            line += f" error={type(error).__name__} traceback={_quoted(text)}"
        elif record.stack_info:
            line += f" stack={_quoted(record.stack_info)}"
        return scrub(line)


def _quoted(text: str) -> str:
    """A JSON string: quotes and newlines escaped, so the field stays on its line."""
    return json.dumps(text, ensure_ascii=False)


def setup_logging(level: str, stream: TextIO | None = None) -> None:
    """Every record, from any logger, through `RedactingFilter` to one line on stderr."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(EventFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Quieter libraries; what they do log is redacted like the rest.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Our bot_started / bot_stopping lines say what uvicorn's start and stop lines would.
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
