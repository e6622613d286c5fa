"""The button codec: each kind of button round-trips, fits Telegram's 64 bytes at its longest,
and anything forged decodes to None (which the handlers answer as an old button)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.buttons import (
    KINDS,
    MAX_BYTES,
    ButtonData,
    CaseloadFilter,
    CompanionAction,
    ComplaintAnswer,
    ComplaintSolved,
    DigestList,
    ErasureDecision,
    FlowStep,
    FollowUpAction,
    Language,
    MissedSession,
    OpenConfirmations,
    OpenVerifications,
    QueueListFile,
    ReminderChoice,
    Verification,
    decode,
    encode,
    is_kind,
)
from tests.support.chat import Chat

LONGEST: list[ButtonData] = [
    FlowStep("hps", "abcdef", "a" * 12, "x" * 30),
    Language("su"),
    MissedSession(999_999_999_999, date(2026, 12, 31), "absent"),
    CompanionAction(999_999_999_999, "resolve"),
    ComplaintSolved(999_999_999_999, "yes"),
    ComplaintAnswer(999_999_999_999),
    DigestList(date(2026, 12, 31), "unreachable"),
    Verification(999_999_999_999, "ok"),
    CaseloadFilter("x" * 40),
    OpenConfirmations("open"),
    OpenVerifications("open"),
    ErasureDecision(999_999_999_999, "identity"),
    ReminderChoice("off"),
    FollowUpAction(999_999_999_999, "moved_away"),
    QueueListFile(999_999_999_999),
]


def test_every_kind_is_covered() -> None:
    assert {type(b) for b in LONGEST} == {*KINDS, FlowStep}


@pytest.mark.parametrize("button", LONGEST, ids=lambda b: type(b).__name__)
def test_round_trip_within_64_bytes(button: ButtonData) -> None:
    data = encode(button)
    assert len(data.encode()) <= MAX_BYTES
    assert decode(data) == button


def test_the_formats_people_already_have_on_their_phones() -> None:
    assert encode(CompanionAction(12, "take")) == "cp:12:take"
    assert encode(MissedSession(3, date(2026, 11, 30), "report")) == "miss:3:2026-11-30:report"
    assert encode(FlowStep("att", "0a1b2c", "day", "2026-11-30")) == "att:0a1b2c:day:2026-11-30"
    assert encode(FlowStep("klh", "0a1b2c", "send")) == "klh:0a1b2c:send"


@pytest.mark.parametrize("forged", [
    None, "", "miss:1:2026-13-45:report", "miss:1:yesterday:report", "miss:1:2026-11-30:maybe",
    "miss:-1:2026-11-30:report", "miss:1:2026-11-30", "miss:1:2026-11-30:report:extra",
    "cp:12:delete", "cp:abc:take", "kc:1:perhaps", "vr:1", "lang:../../etc", "rt:" + "x" * 41,
    "kb:abc", "kb:1:yes",
    "dg:2026-02-30:missed", "hwc:close", "dsr:1:approve_all", "zz:1", "att:XYZ123:day",
    "att:0a1b2c:day:2026/11/30", "att:0a1b2c", "x" * 65, "cp:12:take" + " " * 60,
])  # fmt: skip
def test_forged_data_decodes_to_nothing(forged: str | None) -> None:
    assert decode(forged) is None


def test_handlers_match_by_kind() -> None:
    assert is_kind(CompanionAction)("cp:1:take")
    assert not is_kind(CompanionAction)("kc:1:yes")
    assert is_kind(FlowStep, "att")("att:0a1b2c:cancel")
    assert not is_kind(FlowStep, "att")("klh:0a1b2c:cancel")


def test_a_button_too_long_is_refused_when_made() -> None:
    with pytest.raises(ValueError):
        encode(FlowStep("att", "0a1b2c", "day", "y" * 31))
    with pytest.raises(ValueError):
        encode(CaseloadFilter("due:week"))


@pytest.mark.parametrize("forged", [
    "miss:1:2026-13-45:report", "cp:12:delete", "kc:x:yes", "vr:1:maybe", "rt:../x",
    "dg:2026-02-30:missed", "dsr:1:approve_all", "lang:xx", "hwc:close", "att:0a1b2c:day:a:b",
    "zz:1:2",
])  # fmt: skip
async def test_a_forged_button_is_an_old_button_and_its_spinner_stops(
    mother: Chat, forged: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = len(mother.api.calls)
    answers = await mother.press_data(forged)
    assert answers == ["Itu tombol lama. Silakan mulai lagi dari menu."]
    assert "answerCallbackQuery" in [c.method for c in mother.api.calls[calls:]]
    assert "handler_failed" not in caplog.text
