"""Where CPU-heavy work runs: `Offload` takes a plain function of plain values and gives back
its result. The bot passes its rendering process (`Services.render`), so a coordinator's recap
never holds up a mother's reply; the CLI and tests run the work right here (`run_here`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

_Result = TypeVar("_Result")


class Offload(Protocol):
    def __call__(self, work: Callable[[], _Result], /) -> Awaitable[_Result]: ...


async def run_here(work: Callable[[], _Result]) -> _Result:
    return work()
