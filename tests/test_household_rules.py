"""The plain rules behind the household chat, table by table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.models import Member, MemberKind
from bot.domain.typed_dates import parse_typed_date
from bot.domain.workdays import add_working_days, working_deadline
from bot.services.attendance import (
    DateProblem,
    date_problem,
    is_followed,
    members_to_offer,
)
from bot.services.complaints import TextProblem, text_problem, ticket_code
from bot.services.linking import format_code, looks_like_link_code, new_link_code, normalize_code
from bot.texts.i18n import Translator
from bot.texts.notices import ATTENDANCE_REPORTED, COMPLAINT_FILED, COMPLAINT_STATUS, render

WIB = ZoneInfo("Asia/Jakarta")
TODAY = date(2026, 12, 1)


def member(kind: MemberKind, birth: date | None = None, due: date | None = None) -> Member:
    return Member(id=1, household_id=1, name="X", kind=kind, birth_date=birth, due_date=due)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2026, 12, 1), 3, date(2026, 12, 4)),  # Tuesday -> Friday
        (date(2026, 12, 4), 3, date(2026, 12, 9)),  # Friday -> over the weekend -> Wednesday
        (date(2026, 8, 14), 3, date(2026, 8, 20)),  # over Independence Day (Monday 17 August)
        (date(2026, 3, 18), 3, date(2026, 3, 27)),  # Nyepi, Lebaran, cuti bersama
        (date(2026, 12, 24), 1, date(2026, 12, 28)),  # Christmas Friday, then the weekend
        (date(2026, 12, 5), 1, date(2026, 12, 7)),  # filed on a Saturday
    ],
)
def test_working_days(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days) == expected


def test_deadline_keeps_the_local_time_and_is_stored_in_utc() -> None:
    filed = datetime(2026, 8, 14, 16, 30, tzinfo=UTC)  # 23:30 WIB on Friday 14 August
    assert working_deadline(filed, 3, WIB) == datetime(2026, 8, 20, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5/12/2026", date(2026, 12, 5)),
        ("05-12-26", date(2026, 12, 5)),
        ("30.11", date(2026, 11, 30)),
        ("28/12", date(2025, 12, 28)),  # no year: the latest 28 December that has passed
        ("2026-11-20", date(2026, 11, 20)),
        ("31/02/2026", None),
        ("kemarin", TODAY - timedelta(days=1)),  # as the button says it
        ("Kemarin  lusa", TODAY - timedelta(days=2)),
        ("  HARI INI ", TODAY),
        ("kemarin dulu", TODAY - timedelta(days=2)),
        ("Kamari", TODAY - timedelta(days=1)),  # Sundanese, as its button says it
        ("Dinten ieu", TODAY),
        ("mangkukna", TODAY - timedelta(days=2)),
        ("Today", TODAY),
        ("yesterday ", TODAY - timedelta(days=1)),
        ("kemarin sore", None),
        ("kemarinlusa", None),
        ("1/1/1/1", None),
        ("", None),
    ],
)
def test_typed_dates(text: str, expected: date | None) -> None:
    assert parse_typed_date(text, TODAY) == expected


def test_date_problems() -> None:
    baby = member(MemberKind.CHILD, birth=date(2026, 11, 25))
    assert date_problem(date(2026, 12, 2), TODAY, baby) is DateProblem.FUTURE
    assert date_problem(date(2026, 11, 16), TODAY, baby) is DateProblem.TOO_OLD
    assert date_problem(date(2026, 11, 24), TODAY, baby) is DateProblem.BEFORE_BIRTH
    assert date_problem(date(2026, 11, 25), TODAY, baby) is None
    assert date_problem(date(2026, 11, 17), TODAY, member(MemberKind.OTHER)) is None


def test_who_is_followed_and_offered_first() -> None:
    leap = member(MemberKind.CHILD, birth=date(2024, 2, 29))
    assert is_followed(leap, date(2029, 2, 28))
    assert not is_followed(leap, date(2029, 3, 1))
    delivered = member(MemberKind.PREGNANT, due=date(2026, 10, 1))
    assert is_followed(delivered, date(2026, 11, 12))  # ibu nifas: 42 days after the due date
    assert not is_followed(delivered, date(2026, 11, 13))
    father = Member(id=2, household_id=1, name="Bapak", kind=MemberKind.OTHER, birth_date=None,
                    due_date=None)  # fmt: skip
    child = Member(id=3, household_id=1, name="Anak", kind=MemberKind.CHILD,
                   birth_date=date(2025, 1, 1), due_date=None)  # fmt: skip
    # Only the members the posyandu follows are offered: the father has no posyandu condition.
    assert [m.name for m in members_to_offer([father, child], TODAY)] == ["Anak"]


def test_complaint_text_and_ticket_code() -> None:
    assert text_problem("😡😡😡 !!!") is TextProblem.NO_WORDS
    assert text_problem("ok") is TextProblem.NO_WORDS
    assert text_problem("x" * 2001) is TextProblem.TOO_LONG
    assert text_problem("Antrean panjang") is None
    # 23:30 WIB on 31 December 2026 is still December.
    assert ticket_code(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), 42, WIB) == "KLH-2612-0042"
    # 00:30 WIB on 1 January 2027 is still 31 December in UTC: the local month counts.
    assert ticket_code(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), 7, WIB) == "KLH-2701-0007"


def test_link_codes() -> None:
    code = new_link_code()
    assert len(code) == 8 and looks_like_link_code(code)
    assert normalize_code(format_code(code).lower()) == code
    assert not looks_like_link_code("850001")
    assert not looks_like_link_code("ABCD-EFG0")  # 0 is never used (it looks like O)


def test_outbox_templates_render_in_each_language(t_id: Translator, t_en: Translator) -> None:
    params = {"program_number": "RTS-00001", "member": "Aditya", "date": "2026-11-30"}
    assert render(ATTENDANCE_REPORTED, params, t_id) == (
        "Laporan posyandu baru dari rumah tangga RTS-00001: Aditya, Senin, 30 November 2026. "
        "Menunggu verifikasi Anda."
    )
    filed = {"ticket": "KLH-2612-0001", "program_number": "RTS-00001", "category": "payout",
             "deadline": "2026-12-04"}  # fmt: skip
    assert render(COMPLAINT_FILED, filed, t_en) == (
        "New complaint KLH-2612-0001 from household RTS-00001 (Payout). "
        "Please answer by Friday, 4 December 2026."
    )
    status = {"ticket": "KLH-2612-0001", "status": "resolved"}
    assert render(COMPLAINT_STATUS, status, t_id) == (
        "Keluhan Ibu/Bapak KLH-2612-0001 sekarang: sudah dijawab — menunggu jawaban warga."
    )
