"""Multi-step flows (a report, a complaint): their state in `user_data`, and button data.

Nothing is saved to the database until the user confirms; the draft lives in `user_data` for the
length of the flow and is dropped when it ends, is cancelled, or times out.

Button data has the form `<flow>:<nonce>:<action>[:<argument>]`. The nonce is new for every flow,
so a button from an earlier message is recognised and refused. Button data comes from the user's
phone and can be forged: handlers parse it with `parse_button` and re-check every id against the
user's scope before using it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton

_BUTTON = re.compile(r"^([a-z]{1,8}):([0-9a-f]{6}):([a-z_]{1,12})(?::([\w\-]{1,40}))?$")

FLOW_KEY = "flow"


@dataclass
class Flow:
    """One running flow of one user: its kind, nonce, and the draft collected so far."""

    kind: str
    nonce: str
    draft: dict[str, Any]


@dataclass(frozen=True)
class Button:
    kind: str
    nonce: str
    action: str
    argument: str | None


def start_flow(user_data: dict[Any, Any], kind: str) -> Flow:
    """Begin a flow, replacing any flow the user left unfinished."""
    flow = Flow(kind, secrets.token_hex(3), {})
    user_data[FLOW_KEY] = flow
    return flow


def current_flow(user_data: dict[Any, Any], kind: str) -> Flow | None:
    flow = user_data.get(FLOW_KEY)
    return flow if isinstance(flow, Flow) and flow.kind == kind else None


def end_flow(user_data: dict[Any, Any]) -> bool:
    """Drop the running flow and its draft; True when there was one."""
    return user_data.pop(FLOW_KEY, None) is not None


def button(
    text: str, flow: Flow, action: str, argument: str | int | None = None
) -> InlineKeyboardButton:
    data = f"{flow.kind}:{flow.nonce}:{action}"
    if argument is not None:
        data += f":{argument}"
    return InlineKeyboardButton(text, callback_data=data)


def parse_button(data: str | None) -> Button | None:
    """The parts of well-formed button data, or None for anything else."""
    match = _BUTTON.match(data or "")
    if match is None:
        return None
    return Button(match[1], match[2], match[3], match[4])


def button_of_flow(data: str | None, flow: Flow | None) -> Button | None:
    """The button, when it belongs to this very flow (same kind and nonce); else None."""
    parsed = parse_button(data)
    if parsed is None or flow is None or (parsed.kind, parsed.nonce) != (flow.kind, flow.nonce):
        return None
    return parsed
