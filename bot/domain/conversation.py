"""Where a user is in a multi-step flow: the step they are at and the draft so far.

Kept in the database between their updates (see `bot.runtime.updates`), so a restart or the other
replica continues the flow where the user left it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class SavedConversation:
    telegram_user_id: int
    chat_id: int
    state: str | None
    flow: dict[str, Any] | None
    updated_at: datetime

    def abandoned(self, now: datetime, timeout: timedelta) -> bool:
        """Left unanswered for longer than the flow waits."""
        return now - self.updated_at > timeout
