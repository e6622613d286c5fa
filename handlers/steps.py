"""The prologue every step of a flow shares, written once: `@flow_step("att")`.

Before the step runs: a pressed button is answered (its spinner stops) and its keyboard removed;
the running flow of that kind and its user are found (a linked household, or staff), and
without them the flow ends quietly; a button of another flow, an old or forged one, or one the
step does not take gets "not part of what you are doing" and the flow stays where it is; Cancel
cancels. The step then receives the flow, the visitor and the pressed button (None when the
user typed or sent a photo).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update

from bot.domain.buttons import FlowStep
from handlers.common import (
    END,
    Visitor,
    cancelled,
    flow_and_visitor,
    flow_and_visitor_of_staff,
    take_button,
    wrong_button,
)
from handlers.flow import Flow, button_of_flow

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

StepResult = str | int | None


@dataclass(frozen=True)
class Step:
    flow: Flow
    visitor: Visitor
    pressed: FlowStep | None  # None: the user typed, or sent a photo


StepFunction = Callable[["Update", "SapaContext", Step], Awaitable[StepResult]]
Handler = Callable[["Update", "SapaContext"], Coroutine[Any, Any, StepResult]]


def flow_step(
    kind: str, *, staff: bool = False, takes: Collection[str] | None = None
) -> Callable[[StepFunction], Handler]:
    """A step of the flow `kind`, for a linked household (or `staff`); `takes` lists the
    button actions the step accepts besides Cancel (None: any button of this flow)."""

    def decorate(step: StepFunction) -> Handler:
        @functools.wraps(step)
        async def handler(update: Update, context: SapaContext) -> StepResult:
            data = await take_button(update)
            find = flow_and_visitor_of_staff if staff else flow_and_visitor
            found = await find(update, context, kind)
            if found is None:
                return END
            flow, visitor = found
            pressed = None
            if update.callback_query is not None:
                pressed = button_of_flow(data, flow)
                allowed = pressed is not None and (
                    takes is None or pressed.action in takes or pressed.action == "cancel"
                )
                if pressed is None or not allowed:
                    await wrong_button(update, context)
                    return None
                if pressed.action == "cancel":
                    return await cancelled(update, context, visitor)
            return await step(update, context, Step(flow, visitor, pressed))

        return handler

    return decorate
