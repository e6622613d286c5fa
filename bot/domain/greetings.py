"""Is a message only a greeting? ("halo", "assalamualaikum", "punten", "🙏"): people open a chat
that way, and deserve a friendly answer with the menu, not "I did not understand"."""

from __future__ import annotations

import re
import unicodedata

_GREETINGS = frozenset(
    {
        "halo", "hallo", "haloo", "hai", "hay", "hi", "hello", "helo", "p", "ping", "permisi",
        "assalamualaikum", "asalamualaikum", "assalamu alaikum", "assalamu'alaikum", "salam",
        "selamat pagi", "selamat siang", "selamat sore", "selamat malam", "pagi", "siang",
        "sore", "malam", "punten", "sampurasun", "wilujeng enjing", "wilujeng siang",
        "wilujeng sonten", "wilujeng wengi", "good morning", "good afternoon", "good evening",
    }
)  # fmt: skip
MAX_EMOJI = 6
_POLITE_TAIL = re.compile(r"\s+(wr\.? ?wb\.?|warahmatullahi wabarakatuh|bu|pak|kak|min|admin)$")


def is_greeting(text: str) -> bool:
    """True for a short greeting or a message of greeting emoji only."""
    words = text.strip()
    if not words:
        return False
    if all(unicodedata.category(c) in ("So", "Sk", "Cf", "Mn", "Zs") for c in words):
        return len(words) <= MAX_EMOJI  # 🙏, 👋, 😊 ... (not a wall of them)
    plain = re.sub(r"[^\w\s']", " ", words.casefold())
    plain = " ".join(plain.split())
    for _ in range(2):
        plain = _POLITE_TAIL.sub("", plain)
    return plain in _GREETINGS or plain.rstrip("o") in {"hal", "hall"}
