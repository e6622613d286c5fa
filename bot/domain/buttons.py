"""Button data: every inline button's callback data is one of the small frozen dataclasses
below, written and read by one codec.

`encode(CompanionAction(complaint_id=12, action="take"))` gives `cp:12:take`; `decode` gives the
dataclass back, or None for anything else: data we never made, a field that does not parse, a
value outside its set. Button data comes from the user's phone and can be forged, so a decoded
button only says what was pressed: every id in it is re-checked against the user's scope before
it is used. Telegram takes at most 64 bytes; `encode` refuses more.

Field types: `int` (a non-negative id), `date` (ISO), `str` (letters, digits, `_` and `-`, up to
40 characters; a flow step's argument up to 30) and `Literal[...]` (one of a fixed set).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Literal

MAX_BYTES = 64
_TEXT = re.compile(r"^[\w\-]{1,40}$", re.ASCII)
_ID = re.compile(r"^\d{1,12}$")
_FLOW_ARGUMENT = re.compile(r"^[\w\-]{1,30}$", re.ASCII)


@dataclass(frozen=True)
class ButtonData:
    """A kind of button: `prefix` starts its data; the fields follow, separated by `:`."""

    prefix: ClassVar[str]


@dataclass(frozen=True)
class FlowStep(ButtonData):
    """A step of a running flow (a report, a complaint...): the flow's kind is the prefix, its
    nonce makes the buttons of an earlier flow recognisable as old."""

    prefix: ClassVar[str] = "flow"
    kind: str
    nonce: str
    action: str
    argument: str | None = None


@dataclass(frozen=True)
class Language(ButtonData):
    prefix: ClassVar[str] = "lang"
    code: str


@dataclass(frozen=True)
class MissedSession(ButtonData):
    """The answer to "did you go to the posyandu yesterday?"."""

    prefix: ClassVar[str] = "miss"
    posyandu_id: int
    day: date
    answer: Literal["report", "absent"]


@dataclass(frozen=True)
class CompanionAction(ButtonData):
    """Staff on a complaint card."""

    prefix: ClassVar[str] = "cp"
    complaint_id: int
    action: Literal["take", "reply", "resolve", "view"]


@dataclass(frozen=True)
class ComplaintSolved(ButtonData):
    """The household says whether its resolved complaint is really solved."""

    prefix: ClassVar[str] = "kc"
    complaint_id: int
    answer: Literal["yes", "no"]


@dataclass(frozen=True)
class ComplaintAnswer(ButtonData):
    """The household answers a staff reply to its complaint (text, a photo or a voice note)."""

    prefix: ClassVar[str] = "kb"
    complaint_id: int


@dataclass(frozen=True)
class DigestList(ButtonData):
    prefix: ClassVar[str] = "dg"
    day: date
    kind: str


@dataclass(frozen=True)
class Verification(ButtonData):
    prefix: ClassVar[str] = "vr"
    report_id: int
    decision: Literal["ok", "no"]


@dataclass(frozen=True)
class FollowUpAction(ButtonData):
    """A companion's follow-up: open it, or close it with an outcome."""

    prefix: ClassVar[str] = "tl"
    follow_up_id: int
    action: Literal["open", "home_visit", "phoned", "referred", "moved_away", "excused", "other"]


@dataclass(frozen=True)
class CaseloadFilter(ButtonData):
    prefix: ClassVar[str] = "rt"
    key: str


@dataclass(frozen=True)
class OpenConfirmations(ButtonData):
    """The health worker's "confirm who came" list."""

    prefix: ClassVar[str] = "hwc"
    what: Literal["open"]


@dataclass(frozen=True)
class OpenVerifications(ButtonData):
    """The companion's list of reports waiting for verification (/verifikasi)."""

    prefix: ClassVar[str] = "vrq"
    what: Literal["open"]


@dataclass(frozen=True)
class ErasureDecision(ButtonData):
    """A coordinator's decision on a household's request to erase its chat data."""

    prefix: ClassVar[str] = "dsr"
    request_id: int
    decision: Literal["approve", "reject", "back", "identity", "audit", "other"]


@dataclass(frozen=True)
class ReminderChoice(ButtonData):
    """A household account's choice on /pengingat: its optional reminders off, or on again."""

    prefix: ClassVar[str] = "pgn"
    choice: Literal["off", "on"]


@dataclass(frozen=True)
class QueueListFile(ButtonData):
    """A companion asks for the printable list of her households' queue times in one payout
    round (the button of the notice that the round's slots are set)."""

    prefix: ClassVar[str] = "aqf"
    round_id: int


KINDS: tuple[type[ButtonData], ...] = (
    Language,
    MissedSession,
    CompanionAction,
    ComplaintSolved,
    ComplaintAnswer,
    DigestList,
    Verification,
    CaseloadFilter,
    OpenConfirmations,
    OpenVerifications,
    ErasureDecision,
    ReminderChoice,
    FollowUpAction,
    QueueListFile,
)
_BY_PREFIX = {kind.prefix: kind for kind in KINDS}
# Each kind's fields with their types, read once: every press is decoded by several handlers'
# patterns, and reading type hints is slow.
_FIELDS = {
    kind: tuple(
        (field.name, typing.get_type_hints(kind)[field.name]) for field in dataclasses.fields(kind)
    )
    for kind in KINDS
}
# The flows' own prefixes (report, complaint, absence, health worker, erasure, reply, reject,
# family, the household's answer to a reply, a follow-up's note).
FLOW_KINDS = frozenset({"att", "klh", "abs", "hw", "hps", "rpl", "rej", "klg", "kbl", "tln"})


def encode(button: ButtonData) -> str:
    """The callback data of this button (at most 64 bytes, or ValueError)."""
    if isinstance(button, FlowStep):
        values: list[object] = [button.kind, button.nonce, button.action]
        if button.argument is not None:
            values.append(button.argument)
    else:
        values = [button.prefix, *(getattr(button, f.name) for f in dataclasses.fields(button))]
    data = ":".join(v.isoformat() if isinstance(v, date) else str(v) for v in values)
    if len(data.encode()) > MAX_BYTES:
        raise ValueError(f"button data of {len(data.encode())} bytes: {type(button).__name__}")
    if decode(data) != button:  # a value the codec would not read back (a `:`, a long text)
        raise ValueError(f"button data that does not read back: {type(button).__name__}")
    return data


def decode(data: str | None) -> ButtonData | None:
    """The button this data stands for, or None when it is not one we make."""
    parts = (data or "").split(":")
    if len((data or "").encode()) > MAX_BYTES or not parts[0]:
        return None
    if parts[0] in FLOW_KINDS:
        return _flow_step(parts)
    kind = _BY_PREFIX.get(parts[0])
    if kind is None:
        return None
    fields = _FIELDS[kind]
    if len(parts) - 1 != len(fields):
        return None
    values: dict[str, Any] = {}
    for (name, hint), text in zip(fields, parts[1:], strict=True):
        value = _value(hint, text)
        if value is None:
            return None
        values[name] = value
    return kind(**values)


def is_kind(kind: type[ButtonData], flow: str | None = None) -> typing.Callable[[object], bool]:
    """A test of callback data for PTB's `CallbackQueryHandler(pattern=...)`: this kind of
    button (and, for flow steps, this flow)."""

    def test(data: object) -> bool:
        button = decode(data if isinstance(data, str) else None)
        if flow is not None:
            return isinstance(button, FlowStep) and button.kind == flow
        return isinstance(button, kind)

    return test


def _flow_step(parts: list[str]) -> FlowStep | None:
    if len(parts) not in (3, 4) or not re.fullmatch(r"[0-9a-f]{6}", parts[1]):
        return None
    if not re.fullmatch(r"[a-z_]{1,12}", parts[2]):
        return None
    argument = parts[3] if len(parts) == 4 else None
    if argument is not None and not _FLOW_ARGUMENT.match(argument):
        return None
    return FlowStep(parts[0], parts[1], parts[2], argument)


def _value(hint: Any, text: str) -> object | None:
    if hint is int:
        return int(text) if _ID.match(text) else None
    if hint is date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    if typing.get_origin(hint) is Literal:
        return text if text in typing.get_args(hint) else None
    return text if _TEXT.match(text) else None
