"""Outbox parameters are typed: each template has its model; a row that does not fit is refused
when it is queued, and rendering reads the parameters through the same model."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from bot.domain.models import Recipient
from bot.domain.notices import PARAMS
from bot.texts.i18n import Translator
from bot.texts.notices import COMPANION_DIGEST, TEMPLATES, render_notice
from storage.schema import notification
from storage.store import Store
from tests.conftest import NOW
from tests.support.outbox import add_household_person


def test_every_template_has_its_parameters() -> None:
    assert set(TEMPLATES) == set(PARAMS)  # the digest has its own (bot.domain.digest)
    assert COMPANION_DIGEST not in TEMPLATES


@pytest.mark.parametrize("params", [
    {"ticket": "KLH-1"},  # no status
    {"ticket": "KLH-1", "status": "lost"},  # not a status
    {"ticket": "KLH-1", "status": "closed", "name": "Siti"},  # a parameter the template has not
])  # fmt: skip
async def test_a_row_that_does_not_fit_its_template_is_refused(
    store: Store, params: dict[str, object]
) -> None:
    person = await add_household_person(store, 7001)
    with pytest.raises(ValidationError):
        async with store.write() as repo:
            await repo.notifications.queue(
                Recipient(person_id=person), "complaint.status", params,
                due_at=NOW + timedelta(hours=1), dedup_key="k", now=NOW,
            )  # fmt: skip
    async with store.read() as repo:
        count = await repo.connection.execute(select(func.count()).select_from(notification))
        assert count.scalar_one() == 0


def test_rendering_reads_the_typed_parameters(t_id: Translator) -> None:
    notice = render_notice(
        "complaint.filed",
        {"ticket": "KLH-2612-0001", "program_number": "RTS-<1>", "category": "payout",
         "deadline": "2026-12-04"},
        t_id,
    )  # fmt: skip
    assert notice.text == (
        "Keluhan baru KLH-2612-0001 dari rumah tangga RTS-&lt;1&gt; (Pencairan bantuan). "
        "Mohon ditanggapi paling lambat Jumat, 4 Desember 2026."
    )
    with pytest.raises(ValueError):
        render_notice("complaint.filed", {"ticket": "KLH-1"}, t_id)
