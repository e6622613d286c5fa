"""Multi-step flows (a report, a complaint): their state in `user_data`, and button data.

Nothing is saved to the programme's records until the user confirms; the draft lives in `user_data`
for the length of the flow and is dropped when it ends, is cancelled, or times out. Between two
updates of the user it is kept in the `conversation` table (see `bot.runtime.updates`), so a
restart or the other replica continues the flow.

A flow's buttons are `FlowStep`s of the button codec (`bot.domain.buttons`):
`<flow>:<nonce>:<action>[:<argument>]`. The nonce is new for every flow, so a button from an
earlier message is recognised and refused. Button data comes from the user's phone and can be
forged: handlers read it with `button_of_flow` and re-check every id against the user's scope
before using it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton

from bot.domain.buttons import FlowStep, decode, encode

FLOW_KEY = "flow"
# In a draft: the id of the household a staff member reports for (/hadiruntuk, /keluhanuntuk).
FOR_HOUSEHOLD = "for_household"


@dataclass
class Flow:
    """One running flow of one user: its kind, nonce, and the draft collected so far."""

    kind: str
    nonce: str
    draft: dict[str, Any]

    def saved(self) -> dict[str, Any]:
        """The flow as the database keeps it between the user's updates (the draft holds only
        JSON values: ids, texts, dates as ISO strings)."""
        return {"kind": self.kind, "nonce": self.nonce, "draft": self.draft}

    @classmethod
    def restored(cls, saved: dict[str, Any]) -> Flow:
        return cls(str(saved["kind"]), str(saved["nonce"]), dict(saved["draft"]))


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
    step = FlowStep(flow.kind, flow.nonce, action, None if argument is None else str(argument))
    return InlineKeyboardButton(text, callback_data=encode(step))


def button_of_flow(data: str | None, flow: Flow | None) -> FlowStep | None:
    """The button, when it belongs to this very flow (same kind and nonce); else None."""
    pressed = decode(data)
    if not isinstance(pressed, FlowStep) or flow is None:
        return None
    return pressed if (pressed.kind, pressed.nonce) == (flow.kind, flow.nonce) else None
