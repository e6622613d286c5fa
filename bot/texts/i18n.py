"""Texts in the user's language: gettext catalogs under `locale/`, dates and rupiah by Babel.

Message ids are English with named placeholders: `t("Next posyandu: {date}").format(date=...)`.
Catalogs are compiled with `pybabel compile -d locale -D sapa` (the setup command does it). When a
compiled `.mo` is missing or older than its `.po`, the catalog is compiled in memory from the `.po`
with Babel, so a fresh checkout never shows stale text.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from bot.settings import SUPPORTED_LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
DOMAIN = "sapa"

# Babel locale used for numbers and dates: English speakers here still pay in rupiah, in Indonesia.
BABEL_LOCALES = {"id": "id_ID", "en": "en_ID", "su": "su_ID"}


def load_catalog(language: str, locale_dir: Path = LOCALE_DIR) -> gettext.NullTranslations:
    folder = locale_dir / language / "LC_MESSAGES"
    po_file, mo_file = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo_file.exists() and (
        not po_file.exists() or mo_file.stat().st_mtime >= po_file.stat().st_mtime
    ):
        with mo_file.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    if po_file.exists():
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return gettext.GNUTranslations(buffer)
    return gettext.NullTranslations()


def N_(message: str) -> str:
    """Mark a message for the catalogs without translating it yet (it is translated when shown)."""
    return message


@dataclass(frozen=True)
class Translator:
    """Everything language-specific for one user: texts, dates, money."""

    language: str
    catalog: gettext.NullTranslations = field(repr=False)

    def __call__(self, message: str) -> str:
        return self.catalog.gettext(message)

    def __reduce__(self) -> tuple[Callable[[str], Translator], tuple[str]]:
        # Sent to the rendering process (a chart, a workbook) by its language only; that process
        # loads the catalogs once.
        return (translator_for, (self.language,))

    def plural(self, singular: str, plural: str, count: int) -> str:
        return self.catalog.ngettext(singular, plural, count)

    @property
    def babel_locale(self) -> str:
        return BABEL_LOCALES.get(self.language, "id_ID")

    def long_date(self, day: date) -> str:
        """`Selasa, 8 Desember 2026`."""
        return format_date(day, "EEEE, d MMMM y", locale=self.babel_locale)

    def short_date(self, day: date) -> str:
        """`Min 20 Des`: a date in a list, short enough for a small screen."""
        return format_date(day, "EEE d MMM", locale=self.babel_locale)

    def short_month(self, day: date) -> str:
        """`Des`."""
        return format_date(day, "LLL", locale=self.babel_locale)

    def month_year(self, day: date) -> str:
        """`Desember 2026`."""
        return format_date(day, "LLLL y", locale=self.babel_locale)

    def duration(self, seconds: float) -> str:
        """`15 menit`, `2 jam`: how long, in words (Sundanese reads the Indonesian words)."""
        locale = "id_ID" if self.language == "su" else self.babel_locale
        return format_timedelta(timedelta(seconds=seconds), threshold=2, locale=locale)

    def number(self, value: int) -> str:
        """`2.000` in Indonesian and Sundanese, `2,000` in English."""
        return format_decimal(value, locale=self.babel_locale)

    def rupiah(self, amount: int) -> str:
        """`Rp2.250.000`."""
        return format_currency(
            amount, "IDR", format="¤#,##0", locale=self.babel_locale, currency_digits=False
        )


@functools.cache
def translator_for(language: str) -> Translator:
    """A translator loaded from the catalogs (in a process that got one by pickle)."""
    return Translations().for_language(language)


class Translations:
    """The catalogs of all supported languages, loaded once at start."""

    def __init__(self, default_language: str = "id", locale_dir: Path = LOCALE_DIR) -> None:
        self.default_language = default_language
        catalogs = {
            language: load_catalog(language, locale_dir) for language in SUPPORTED_LANGUAGES
        }
        # A text not yet translated to Sundanese is shown in Indonesian, never in English.
        catalogs["su"].add_fallback(catalogs["id"])
        self._translators = {
            language: Translator(language, catalog) for language, catalog in catalogs.items()
        }

    def for_language(self, language: str | None) -> Translator:
        return self._translators.get(language or "", self._translators[self.default_language])
