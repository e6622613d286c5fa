"""Long texts in parts Telegram accepts: at most 4096 characters each, each valid HTML on its own.

Telegram refuses a message over 4096 characters (400 Bad Request), so replies and outbox messages
longer than that are sent as several messages. `split_text` cuts at line ends, keeping as many
whole lines in each part as fit. A line longer than a whole part is cut after a space if there is
one near the end, else anywhere, but never inside an entity (`&#x27;`) or a tag (`<b>`). A tag
still open where a part ends (a `<b>` whose `</b>` is on a later line) is closed at the end of that
part and opened again at the start of the next, so every part is well-formed HTML.

Used by the handlers (`handlers.common.reply`) and by the outbox dispatcher (`jobs.dispatch`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MESSAGE_LIMIT = 4096

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>")
_ATOM = re.compile(r"<[^<>]*>|&#?[0-9a-zA-Z]+;")  # a tag or an entity: never cut inside
_SPACE_SEARCH = 200  # how far back from the limit a long line is cut at a space


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at line ends, each valid HTML on its own."""
    parts = _Parts(limit)
    for line in text.split("\n"):
        parts.add_line(line)
    return parts.finish()


@dataclass
class _Parts:
    limit: int
    done: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the part being filled
    open_at_start: list[str] = field(default_factory=list)  # tags opened again at its start
    open_now: list[str] = field(default_factory=list)  # tags open after its last line

    def add_line(self, line: str) -> None:
        if self._fits(line):
            self._append(line)
            return
        if self.lines:
            self._close_part()
            if self._fits(line):
                self._append(line)
                return
        while not self._fits(line):  # too long for a part of its own: cut it
            cut = self._longest_head(line)
            self._append(line[:cut])
            self._close_part()
            line = line[cut:]
        self._append(line)

    def finish(self) -> list[str]:
        if self.lines or not self.done:
            self._close_part()
        # Telegram refuses an empty message: a part with nothing to read (a trailing empty
        # line, tags alone) is left out, unless it is all there is.
        readable = [part for part in self.done if _TAG.sub("", part).strip()]
        return readable or self.done[:1]

    def _fits(self, line: str) -> bool:
        body = "\n".join([*self.lines, line])
        after = open_tags(line, self.open_now)
        return len(_opening(self.open_at_start)) + len(body) + len(_closing(after)) <= self.limit

    def _append(self, line: str) -> None:
        self.lines.append(line)
        self.open_now = open_tags(line, self.open_now)

    def _close_part(self) -> None:
        body = "\n".join(self.lines)
        self.done.append(_opening(self.open_at_start) + body + _closing(self.open_now))
        self.lines = []
        self.open_at_start = list(self.open_now)

    def _longest_head(self, line: str) -> int:
        """Where to cut a line too long for an empty part: as late as fits, at a safe place,
        after a space when there is one near there."""
        room = self.limit - len(_opening(self.open_at_start))

        def fits(cut: int) -> bool:
            return cut + len(_closing(open_tags(line[:cut], self.open_now))) <= room

        cut = safe_cut(line, room)
        while cut > 1 and not fits(cut):
            cut = safe_cut(line, cut - 1)
        start = max(1, cut - _SPACE_SEARCH)
        space = line.rfind(" ", start, cut)
        while space != -1:
            if safe_cut(line, space + 1) == space + 1 and fits(space + 1):
                return space + 1
            space = line.rfind(" ", start, space)
        return max(cut, 1)  # always move on, even past a tag longer than a part


def safe_cut(line: str, at: int) -> int:
    """The latest place at or before `at` that is not inside a tag or an entity."""
    for atom in _ATOM.finditer(line):
        if atom.start() < at < atom.end():
            return atom.start()
        if atom.start() >= at:
            break
    return min(at, len(line))


def open_tags(html: str, open_before: list[str]) -> list[str]:
    """The opening tags still open after `html`, given those open before it (outermost first)."""
    stack = list(open_before)
    for tag in _TAG.finditer(html):
        closing, name = tag[1] == "/", tag[2].lower()
        if not closing:
            stack.append(tag[0])
            continue
        for index in range(len(stack) - 1, -1, -1):
            if _name(stack[index]) == name:
                del stack[index:]
                break
    return stack


def _name(opening: str) -> str:
    found = _TAG.match(opening)
    return found[2].lower() if found else ""


def _opening(tags: list[str]) -> str:
    return "".join(tags)


def _closing(tags: list[str]) -> str:
    return "".join(f"</{_name(tag)}>" for tag in reversed(tags))
