"""Long texts in parts Telegram accepts: short enough, and each part whole HTML."""

from __future__ import annotations

from bot.texts.message_parts import split_text
from tests.support.scenes import is_whole_html


def test_a_line_too_long_for_one_part_is_cut_between_words_never_in_an_entity_or_a_tag() -> None:
    line = " ".join(["<b>Ma&#x27;ruf</b> Hidayat"] * 300)  # one line of 7,499 characters
    parts = split_text(line, 100)
    assert all(len(part) <= 100 and is_whole_html(part) for part in parts)
    assert all(part.endswith(" ") for part in parts[:-1])  # cut after a space
    assert "".join(parts) == line
    # No space at all: cut as late as fits, but before the entity, not inside it.
    assert split_text("x" * 95 + "&#x27;abc", 97) == ["x" * 95, "&#x27;abc"]


def test_a_tag_open_across_lines_is_closed_and_opened_again_at_a_cut() -> None:
    text = "<b>Desa\n" + "\n".join(f"Ma&#x27;ruf {n}" for n in range(40)) + "</b>\nend"
    parts = split_text(text, 120)
    assert len(parts) > 1
    assert all(len(part) <= 120 and is_whole_html(part) for part in parts)
    assert parts[0].startswith("<b>Desa\n") and parts[0].endswith("</b>")
    assert parts[1].startswith("<b>Ma&#x27;ruf")
    assert "".join(parts).replace("</b><b>", "\n") == text
    # A long bold line is bold in every part.
    assert split_text("<b>" + "x" * 90 + "</b>", 50) == [
        "<b>" + "x" * 43 + "</b>",
        "<b>" + "x" * 43 + "</b>",
        "<b>" + "x" * 4 + "</b>",
    ]


def test_no_part_is_left_empty() -> None:
    assert split_text("x" * 4096 + "\n") == ["x" * 4096]
    assert split_text("<b>" + "x" * 4089 + "\n\n</b>") == ["<b>" + "x" * 4089 + "</b>"]
    assert split_text("") == [""]
