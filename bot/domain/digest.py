"""The companion's morning digest as a value: what is due, who missed, what waits on her.

Built by `bot.services.digest.build_digest`, kept in the outbox row's parameters (as JSON, by
`as_params`) until 06:45, and read back by `DigestContent.from_params` to be rendered
(`bot.texts.digest`). Every list is named; nothing is read by position.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.domain.models import EscalationLevel


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class SessionLine(_Value):
    """A posyandu session today or tomorrow and the households expected there."""

    day: date
    posyandu: str
    households: list[str]


class ComplaintLine(_Value):
    """A complaint waiting on the companion, with its deadline; or one of her households'
    complaints handled above her (`level`), which she follows: overdue when it went up from
    her level."""

    ticket: str
    program_number: str
    deadline: datetime
    overdue: bool
    level: EscalationLevel = EscalationLevel.COMPANION  # digests queued earlier have none


class DigestContent(_Value):
    day: date = Field(alias="date")
    sessions: list[SessionLine] = []
    missed: list[str] = []
    # Households of `missed` that answered "we did not go": their reason (an AbsenceReason).
    missed_reasons: dict[str, str] = {}
    # Her follow-ups (/tindaklanjut) still open, and how many of those are past their due date.
    follow_ups_open: int = 0
    follow_ups_overdue: int = 0
    reports: list[str] = []
    complaints: list[ComplaintLine] = []
    unreachable: list[str] = []
    locked: list[str] = []

    def as_params(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> DigestContent:
        return cls.model_validate(params)

    @model_validator(mode="before")
    @classmethod
    def _rows_of_earlier_versions(cls, data: Any) -> Any:
        """Digests queued before this version kept sessions and complaints as plain lists."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data["sessions"] = [
            {"day": s[0], "posyandu": s[1], "households": s[2:]} if isinstance(s, list) else s
            for s in data.get("sessions", [])
        ]
        data["complaints"] = [
            dict(zip(("ticket", "program_number", "deadline", "overdue"), c, strict=True))
            if isinstance(c, list)
            else c
            for c in data.get("complaints", [])
        ]
        return data

    @property
    def counts(self) -> dict[str, int]:
        return {
            "sessions": sum(len(s.households) for s in self.sessions),
            "missed": len(self.missed),
            "reports": len(self.reports),
            "complaints": len(self.complaints),
            "unreachable": len(self.unreachable),
            "locked": len(self.locked),
        }

    @property
    def overdue(self) -> int:
        return sum(1 for c in self.complaints if c.overdue)
