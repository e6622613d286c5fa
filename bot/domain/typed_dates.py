"""A day as a household types it at the date step: `5/12/2026`, `5.12`, `2026-12-05`, or in
words as the buttons say them ("kemarin", "Kamari", "yesterday")."""

from __future__ import annotations

import re
from datetime import date, timedelta

_TYPED_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# Days said in words (Indonesian, Sundanese, English), as the buttons say them and as people
# say them: how many days before today.
DAYS_IN_WORDS = {
    "hari ini": 0,
    "kemarin": 1,
    "kemaren": 1,
    "kemarin lusa": 2,
    "kemarin dulu": 2,
    "dinten ieu": 0,
    "poe ieu": 0,
    "kamari": 1,
    "mangkukna": 2,
    "today": 0,
    "yesterday": 1,
    "day before yesterday": 2,
    "the day before yesterday": 2,
}


def day_in_words(text: str, today: date) -> date | None:
    """The day a word such as "kemarin" or "Hari  ini" names (any case, any spacing)."""
    words = " ".join(text.casefold().replace("é", "e").split())
    if words in DAYS_IN_WORDS:
        return today - timedelta(days=DAYS_IN_WORDS[words])
    return None


def parse_typed_date(text: str, today: date) -> date | None:
    """`5/12/2026`, `05-12-26`, `5.12` or `2026-12-05`; without a year, the latest past one;
    or a day in words ("kemarin", "hari ini"). None when it is not a date."""
    text = text.strip()
    if (day := day_in_words(text, today)) is not None:
        return day
    try:
        if match := _ISO_DATE.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _TYPED_DATE.match(text):
            day_of_month, month, year_text = int(match[1]), int(match[2]), match[3]
            if year_text is None:
                candidate = date(today.year, month, day_of_month)
                if candidate <= today:
                    return candidate
                return date(today.year - 1, month, day_of_month)
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            return date(year, month, day_of_month)
    except ValueError:
        return None
    return None
