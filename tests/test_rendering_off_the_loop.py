"""Charts, workbooks and PDFs sent in the chat are drawn in the rendering process, never on the
event loop: a coordinator's /rekap must not hold up a mother's reply (issue 17 #14). So is the
register of conditions the recap and the verification list are judged from (issue 14: a
kecamatan's six months took 150-250 ms of the loop, the district's seconds)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import ParamSpec, TypeVar

from bot.runtime.app import Services
from storage.store import Store
from tests.support.chat import Chat
from tests.support.scenes import enrolled

_P = ParamSpec("_P")
_T = TypeVar("_T")


class RecordingRenderer(Executor):
    """The rendering process, noting the name of each piece of work handed to it."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.rendered: list[str] = []

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        work = fn.func if isinstance(fn, partial) else fn
        self.rendered.append(getattr(work, "__name__", repr(work)))
        return self.inner.submit(fn, *args, **kwargs)


async def test_charts_workbooks_and_pdfs_go_to_the_rendering_process(
    mother: Chat, store: Store
) -> None:
    services: Services = mother.application.bot_data["services"]
    recording = RecordingRenderer(services.renderer)
    services.renderer = recording
    try:
        asep = await enrolled(store, mother, "KO-MKJ", 7711)
        await asep.send("/rekap 2026-11")  # the chart
        await asep.send("/ekspor 2026-11")  # the recap workbook
        await asep.send("/ekspor 2026-T4")  # the verification list of a payout period
        await asep.send("/antrean 2026-T4")  # the post office's list: workbook and PDF
        euis = await enrolled(store, mother, "PD-MKJ-1", 7712)
        await euis.send("/antrean 2026-T4")  # her households' queue times, a PDF
    finally:
        services.renderer = recording.inner
    assert recording.rendered == [
        "conditions_figures",  # the register of the recap's months, judged there
        "recap_chart",
        "conditions_figures",
        "workbook_bytes",
        "register_workbook_of",  # judged and written there
        "venue_workbook",
        "venue_pdf",
        "companion_pdf",
    ]
    sent = [c.method for c in mother.api.calls if c.method in ("sendPhoto", "sendDocument")]
    assert sent == ["sendPhoto"] + ["sendDocument"] * 5  # each one arrived, none drawn elsewhere
