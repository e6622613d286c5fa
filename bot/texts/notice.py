"""A rendered message: its text (HTML) and its buttons."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Notice:
    """A rendered outbox message: text (HTML) and buttons as (label, callback data) rows."""

    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
