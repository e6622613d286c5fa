"""The gettext catalogs: every message in the code is translated to Indonesian, all compile."""

from __future__ import annotations

import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.texts.i18n import LOCALE_DIR, Translations

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"t": None, "tr": (2,), "plural": (1, 2), "N_": None}


def used_message_ids() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "handlers", "jobs"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder, keywords=KEYWORDS, comment_tags=()
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "sapa.po").open("rb") as handle:
        return read_po(handle, locale=language)


def template_ids() -> set[str]:
    with (LOCALE_DIR / "sapa.pot").open("rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


def test_the_template_is_up_to_date_with_the_code() -> None:
    """`locale/sapa.pot` holds exactly the messages the code uses (regenerate it with the
    `pybabel extract` line in docs/design.md, "Languages")."""
    used, template = used_message_ids(), template_ids()
    assert not sorted(used - template), f"sapa.pot lacks: {sorted(used - template)}"
    assert not sorted(template - used), f"sapa.pot has unused: {sorted(template - used)}"


@pytest.mark.parametrize("language", ["id", "en", "su"])
def test_every_catalog_is_up_to_date_with_the_template(language: str) -> None:
    """Each language lists every message of the code and none that the code no longer uses
    (`pybabel update`)."""
    listed = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language) if m.id}
    used = used_message_ids()
    assert not sorted(used - listed), f"{language} lacks: {sorted(used - listed)}"
    assert not sorted(listed - used), f"{language} has unused: {sorted(listed - used)}"


def test_code_uses_messages() -> None:
    used = used_message_ids()
    assert "NIK must have 16 digits" in used
    assert "Report posyandu visit" in used  # marked with N_ (a menu label)
    assert "Your complaint {ticket} is now: {status}." in used  # an outbox template


@pytest.mark.parametrize("language", ["id", "en", "su"])
def test_every_message_in_the_code_is_translated(language: str) -> None:
    translated = {m.id for m in catalog(language) if m.id and m.string and not m.fuzzy}
    missing = sorted(used_message_ids() - translated)
    assert not missing, f"{language} catalog lacks: {missing}"


@pytest.mark.parametrize("language", ["id", "en", "su"])
def test_catalog_compiles_and_placeholders_match(language: str) -> None:
    po = catalog(language)
    assert not list(po.check()), f"{language}: catalog errors"
    for message in po:
        if message.id and message.string:
            assert _placeholders(message.id) == _placeholders(message.string), message.id
    write_mo(BytesIO(), po)


def test_pybabel_compile_succeeds(tmp_path: Path) -> None:
    for language in ("id", "en", "su"):
        target = tmp_path / language / "LC_MESSAGES"
        target.mkdir(parents=True)
        (target / "sapa.po").write_bytes(
            (LOCALE_DIR / language / "LC_MESSAGES" / "sapa.po").read_bytes()
        )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "-d",
            str(tmp_path),
            "-D",
            "sapa",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "id" / "LC_MESSAGES" / "sapa.mo").stat().st_size > 0


def test_sundanese_falls_back_to_indonesian_not_english(tmp_path: Path) -> None:
    """Sundanese is complete; a message a later change leaves untranslated shows in Indonesian."""
    for language in ("id", "en", "su"):
        folder = tmp_path / language / "LC_MESSAGES"
        folder.mkdir(parents=True)
        text = (LOCALE_DIR / language / "LC_MESSAGES" / "sapa.po").read_text(encoding="utf-8")
        if language == "su":
            text = text.replace('msgstr "Basis data parantos énggal."', 'msgstr ""')
        (folder / "sapa.po").write_text(text, encoding="utf-8")
    su = Translations("id", locale_dir=tmp_path).for_language("su")
    assert su("The database is up to date.") == "Basis data sudah mutakhir."
    assert su("Welcome to <b>Sapa RTS</b>, the Jamsosratu programme's assistant.").startswith(
        "Wilujeng sumping"
    )


def _placeholders(text: str) -> set[str]:
    import re

    return set(re.findall(r"\{(\w*)\}", text))


def test_dates_and_rupiah_in_each_language() -> None:
    from datetime import date

    translations = Translations("id")
    day = date(2026, 12, 8)
    assert translations.for_language("id").long_date(day) == "Selasa, 8 Desember 2026"
    assert translations.for_language("en").long_date(day) == "Tuesday, 8 December 2026"
    assert translations.for_language("id").rupiah(2_250_000) == "Rp2.250.000"
    assert translations.for_language("en").rupiah(2_250_000) == "Rp2.250.000"


def test_durations_in_each_language() -> None:
    translations = Translations("id")
    assert translations.for_language("id").duration(15 * 60) == "15 menit"
    assert translations.for_language("en").duration(15 * 60) == "15 minutes"
    assert translations.for_language("su").duration(2 * 3600) == "2 jam"
