"""One pydantic model per import kind: a CSV row, checked on its own (no database needed).

Validators raise reasons in the data officer's language; the translator travels in the
validation context (`{"t": translator, "today": date}`).
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from bot.domain.models import MemberKind, Role
from bot.domain.months import month_last_day, parse_month
from bot.domain.nik import is_valid_nik, normalize_nik
from bot.domain.schedule import ScheduleRuleError, parse_schedule_rule
from bot.texts.i18n import Translator


def _t(info: ValidationInfo) -> Translator:
    context = info.context or {}
    translator = context.get("t")
    assert isinstance(translator, Translator), "validate rows with context={'t': translator}"
    return translator


def tr(info: ValidationInfo, message: str) -> str:
    """Translate a message id with the translator of this validation."""
    return _t(info)(message)


def problem(reason: str) -> PydanticCustomError:
    return PydanticCustomError("sapa", "{reason}", {"reason": reason})


def _text(max_length: int, required: bool = True) -> Any:
    def check(value: object, info: ValidationInfo) -> str:
        text = " ".join(str(value or "").split())
        if required and not text:
            raise problem(tr(info, "must not be empty"))
        if len(text) > max_length:
            message = tr(info, "is too long (at most {limit} characters)")
            raise problem(message.format(limit=max_length))
        return text

    return BeforeValidator(check)


Name = Annotated[str, _text(150)]
Code = Annotated[str, _text(40)]
Place = Annotated[str, _text(100)]
OptionalCode = Annotated[str, _text(40, required=False)]


def _codes(value: object, info: ValidationInfo) -> tuple[str, ...]:
    """One code or several separated by `;` (`P-MKJ-01;P-MKJ-02`), each as a code; a code given
    twice counts once."""
    codes = [" ".join(part.split()) for part in str(value or "").split(";")]
    for code in codes:
        if len(code) > 40:
            message = tr(info, "is too long (at most {limit} characters)")
            raise problem(message.format(limit=40))
    return tuple(dict.fromkeys(code for code in codes if code))


OptionalCodes = Annotated[tuple[str, ...], BeforeValidator(_codes)]


_LOCAL_DATE = re.compile(r"(\d{1,2})[/\-.](\d{1,2})[/\-.](\d{4})")


def parse_date(text: str) -> date:
    """ISO (`2026-12-08`) or Indonesian order (`08/12/2026`, `8-12-2026`)."""
    text = text.strip()
    if len(text) == 10 and text[4] == text[7] == "-":  # ISO: fromisoformat checks the digits
        return date.fromisoformat(text)
    match = _LOCAL_DATE.fullmatch(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year, month, day)
    raise ValueError(text)


def _optional_date(value: object, info: ValidationInfo) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        message = tr(info, "{value} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")
        raise problem(message.format(value=text[:40])) from None


OptionalDate = Annotated[date | None, BeforeValidator(_optional_date)]


def _required_date(value: object, info: ValidationInfo) -> date:
    parsed = _optional_date(value, info)
    if parsed is None:
        raise problem(tr(info, "must not be empty"))
    return parsed


RequiredDate = Annotated[date, BeforeValidator(_required_date)]


def _clock_time(value: object, info: ValidationInfo) -> time:
    text = str(value or "").strip()
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})(?::\d{2})?", text)
    if match:
        try:
            return time(int(match.group(1)), int(match.group(2)))
        except ValueError:
            pass
    message = tr(info, "{value} is not a time of day (use HH:MM, for example 08:00)")
    raise problem(message.format(value=text[:20]))


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


def parse_rupiah(text: str) -> int:
    """`2250000`, `2.250.000`, `Rp 2.250.000`, `2,250,000` or `2.250.000,00` -> 2250000."""
    cleaned = re.sub(r"(?i)^\s*rp\.?\s*", "", text).replace(" ", "")
    cleaned = re.sub(r"[.,]00$", "", cleaned)
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", cleaned):
        cleaned = re.sub(r"[.,]", "", cleaned)
    if not re.fullmatch(r"\d{1,12}", cleaned):
        raise ValueError(text)
    return int(cleaned)


def _amount(value: object, info: ValidationInfo) -> int:
    text = str(value or "").strip()
    try:
        amount = parse_rupiah(text)
    except ValueError:
        message = tr(info, "{value} is not an amount in rupiah (for example 2250000)")
        raise problem(message.format(value=text[:20])) from None
    if amount <= 0:
        raise problem(tr(info, "the amount must be more than zero"))
    return amount


Amount = Annotated[int, BeforeValidator(_amount)]


def _slot_capacity(value: object, info: ValidationInfo) -> int | None:
    """Households per queue slot: a whole number from 1, or empty for the settings' default."""
    text = str(value or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,6}", text):
        message = tr(info, "{value} is not a number of households (for example 60)")
        raise problem(message.format(value=text[:20]))
    if int(text) < 1:
        raise problem(tr(info, "a queue slot holds at least one household"))
    return int(text)


SlotCapacity = Annotated[int | None, BeforeValidator(_slot_capacity)]

ROLE_WORDS: dict[str, Role] = {
    "companion": Role.COMPANION,
    "pendamping": Role.COMPANION,
    "coordinator": Role.COORDINATOR,
    "koordinator": Role.COORDINATOR,
    "operator": Role.OPERATOR,
    "admin": Role.ADMIN,
    "health_worker": Role.HEALTH_WORKER,
    "bidan": Role.HEALTH_WORKER,
    "kader": Role.HEALTH_WORKER,
}

KIND_WORDS: dict[str, MemberKind] = {
    "pregnant": MemberKind.PREGNANT,
    "hamil": MemberKind.PREGNANT,
    "ibu hamil": MemberKind.PREGNANT,
    "child": MemberKind.CHILD,
    "balita": MemberKind.CHILD,
    "anak_sekolah": MemberKind.SCHOOL_CHILD,
    "anak sekolah": MemberKind.SCHOOL_CHILD,
    "school_child": MemberKind.SCHOOL_CHILD,
    "other": MemberKind.OTHER,
    "lainnya": MemberKind.OTHER,
}


# The ages a school child may have on the day of the import. The programme's condition is for
# children of 7 to 18; the import is lenient at both ends (a child starting school at 6, a pupil
# of 19 finishing SMA, a birth date known only roughly): it refuses only what is surely a mistake.
SCHOOL_AGES = (5, 20)


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (someone born on 29 February has a birthday on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def _required(value: object, info: ValidationInfo) -> str:
    text = str(value or "").strip()
    if not text:
        raise problem(tr(info, "must not be empty"))
    return text


def _role(value: object, info: ValidationInfo) -> Role:
    word = "_".join(_required(value, info).lower().split())
    if word not in ROLE_WORDS:
        message = tr(
            info,
            "{value} is not a role (use pendamping, koordinator, operator, admin, bidan or kader)",
        )
        raise problem(message.format(value=str(value)[:30]))
    return ROLE_WORDS[word]


def _kind(value: object, info: ValidationInfo) -> MemberKind:
    word = " ".join(_required(value, info).lower().split())
    if word not in KIND_WORDS:
        message = tr(
            info, "{value} is not a member kind (use hamil, balita, anak_sekolah or lainnya)"
        )
        raise problem(message.format(value=str(value)[:30]))
    return KIND_WORDS[word]


def _nik(value: object, info: ValidationInfo) -> str:
    nik = normalize_nik(str(value or ""))
    if not is_valid_nik(nik):
        raise problem(tr(info, "NIK must have 16 digits"))
    return nik


def _schedule(value: object, info: ValidationInfo) -> str:
    text = _required(value, info)
    try:
        return str(parse_schedule_rule(text))
    except ScheduleRuleError:
        message = tr(
            info, "{value} is not a schedule (use for example 'tanggal 10' or 'selasa minggu ke-2')"
        )
        raise problem(message.format(value=text[:40])) from None


class Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    line: int


class PosyanduRow(Row):
    code: Code
    name: Name
    kecamatan: Place
    desa: Place
    schedule: Annotated[str, BeforeValidator(_schedule)]


class PeopleRow(Row):
    code: Code
    name: Name
    role: Annotated[Role, BeforeValidator(_role)]
    kecamatan: Annotated[str, _text(100, required=False)]
    posyandu: OptionalCodes  # a health worker's posyandu: one code, or several with `;`

    @model_validator(mode="after")
    def _scope_fits_role(self, info: ValidationInfo) -> PeopleRow:
        t = _t(info)
        if self.role is Role.ADMIN and self.kecamatan:
            raise _at("kecamatan", t("a district admin has no kecamatan: leave it empty"))
        if self.role is not Role.ADMIN and not self.kecamatan:
            raise _at("kecamatan", t("must not be empty"))
        if self.role is Role.HEALTH_WORKER and not self.posyandu:
            raise _at("posyandu", t("a health worker needs the code of their posyandu"))
        return self


class HouseholdRow(Row):
    program_number: Code
    head_name: Name
    nik: Annotated[str, BeforeValidator(_nik)]
    kecamatan: Place
    desa: Place
    posyandu_code: Code
    companion_code: OptionalCode


class MemberRow(Row):
    program_number: Code
    name: Name
    kind: Annotated[MemberKind, BeforeValidator(_kind)]
    birth_date: OptionalDate
    due_date: OptionalDate

    @model_validator(mode="after")
    def _dates_fit_kind(self, info: ValidationInfo) -> MemberRow:
        kind, birth, due = self.kind, self.birth_date, self.due_date
        today = (info.context or {}).get("today") or date.today()
        if birth and birth > today:
            raise _at("birth_date", tr(info, "the birth date is in the future"))
        if kind is MemberKind.CHILD and birth is None:
            raise _at("birth_date", tr(info, "a child needs a birth date"))
        if kind is MemberKind.SCHOOL_CHILD:
            if birth is None:
                raise _at("birth_date", tr(info, "a school child needs a birth date"))
            age = age_on(birth, today)
            if not SCHOOL_AGES[0] <= age <= SCHOOL_AGES[1]:
                message = tr(
                    info, "a school child is {low} to {high} years old; this birth date gives {age}"
                )
                raise _at(
                    "birth_date",
                    message.format(low=SCHOOL_AGES[0], high=SCHOOL_AGES[1], age=age),
                )
        if kind is MemberKind.PREGNANT:
            if due is None:
                message = tr(info, "a pregnant member needs an expected delivery date (HPL)")
                raise _at("due_date", message)
        elif due is not None:
            raise _at("due_date", tr(info, "only a pregnant member has an expected delivery date"))
        return self


class PayoutRow(Row):
    round: Code
    kecamatan: Place
    date: RequiredDate
    place: Annotated[str, _text(200)]
    start_time: ClockTime
    end_time: ClockTime
    amount: Amount
    # Optional, and the only column a file may leave out (files from before it came): households
    # per queue slot at this place; empty or absent: SAPA_QUEUE_SLOT_CAPACITY.
    slot_capacity: SlotCapacity = None

    @model_validator(mode="after")
    def _window(self, info: ValidationInfo) -> PayoutRow:
        if self.start_time >= self.end_time:
            raise _at("end_time", tr(info, "the end time must be after the start time"))
        return self


def _month(value: object, info: ValidationInfo) -> date:
    text = _required(value, info)
    month = parse_month(text)
    if month is None:
        message = tr(info, "{value} is not a month (use YYYY-MM or MM/YYYY, for example 2026-11)")
        raise problem(message.format(value=text[:20]))
    this_month = ((info.context or {}).get("today") or date.today()).replace(day=1)
    if month > this_month:
        raise problem(tr(info, "the month {month} has not come yet").format(month=f"{month:%Y-%m}"))
    return month


def _days(value: object, info: ValidationInfo) -> int:
    text = _required(value, info)
    if not re.fullmatch(r"\d{1,3}", text):
        message = tr(info, "{value} is not a number of days (write a whole number, such as 20)")
        raise problem(message.format(value=text[:20]))
    return int(text)


Month = Annotated[date, BeforeValidator(_month)]
Days = Annotated[int, BeforeValidator(_days)]


class SchoolAttendanceRow(Row):
    """A school child's month at school: days present out of the month's school days."""

    program_number: Code
    member: Name
    month: Month
    days_present: Days
    days_school: Days

    @model_validator(mode="after")
    def _days_fit(self, info: ValidationInfo) -> SchoolAttendanceRow:
        t = _t(info)
        if not 1 <= self.days_school <= 31:
            raise _at("days_school", t("school days must be from 1 to 31"))
        in_month = month_last_day(self.month).day
        if self.days_school > in_month:
            message = t("the month {month} has only {days} days")
            raise _at("days_school", message.format(month=f"{self.month:%Y-%m}", days=in_month))
        if self.days_present > self.days_school:
            message = t("days present ({present}) are more than the school days ({school})")
            raise _at(
                "days_present",
                message.format(present=self.days_present, school=self.days_school),
            )
        return self


def _at(column: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError("sapa", "{reason}", {"reason": reason, "column": column})
