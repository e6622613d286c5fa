"""Settings: one pydantic-settings class, read once from the environment and `.env`.

Every invalid value stops the program with a sentence that names the variable
(see `load_settings` and `SettingsError`).
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("id", "en", "su")
LanguageCode = Literal["id", "en", "su"]

_QUIET_HOURS = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})\s*$")

ENV_PREFIX = "SAPA_"
TOKEN_VARIABLE = "TELEGRAM_BOT_TOKEN"


class QuietHours:
    """A nightly window (for example 21:00-06:00) in which no proactive message is sent."""

    def __init__(self, start: time, end: time) -> None:
        self.start = start
        self.end = end

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        match = _QUIET_HOURS.match(text)
        if not match:
            raise ValueError(f"expected a window such as 21:00-06:00, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        try:
            return cls(time(h1, m1), time(h2, m2))
        except ValueError:
            raise ValueError(f"{text!r} is not a valid time window") from None

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time is inside the window (which may cross midnight)."""
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuietHours) and (self.start, self.end) == (other.start, other.end)

    def __hash__(self) -> int:
        return hash((self.start, self.end))


class Settings(BaseSettings):
    """Configuration of one Sapa RTS deployment."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        arbitrary_types_allowed=True,
    )

    telegram_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices(TOKEN_VARIABLE)
    )
    database_url: str = "sqlite+aiosqlite:///sapa.db"
    bot_api_url: str = "https://api.telegram.org/bot"
    # Webhook mode (`sapa run --webhook URL`, or SAPA_WEBHOOK_URL) and its secret token; without
    # one, a random secret is made at each start (fine for one process; two replicas need the
    # same). The HTTP server (webhook and /healthz) listens on SAPA_LISTEN_HOST:SAPA_LISTEN_PORT
    # (port 8080 in webhook mode unless set); in polling mode it runs only when a port is set.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int | None = Field(default=None, ge=1, le=65535)
    # The bot's @username, to print whole t.me links (`sapa link-code`); optional.
    bot_username: str | None = None
    timezone: str = "Asia/Jakarta"
    default_language: LanguageCode = "id"
    quiet_hours: Annotated[QuietHours, NoDecode] = QuietHours(time(21, 0), time(6, 0))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The NIK digest key, never kept in the database: SAPA_NIK_KEY, or else the key file
    # SAPA_NIK_KEY_FILE (default ~/.config/sapa-rts/nik.key, made on first use; see
    # bot.runtime.nik_key).
    nik_key: SecretStr | None = None
    nik_key_file: Path | None = None
    # A conversation (a report, a complaint) left unanswered this long is dropped, nothing saved.
    flow_timeout_seconds: float = Field(default=15 * 60, gt=0)
    # Updates being worked on at once (different users; each user's stay in order). Enough to
    # hide Telegram's and the database's latency; the database pool bounds the rest.
    concurrent_updates: int = Field(default=32, ge=1, le=1000)
    # Working days each level has to resolve a complaint before it goes up a level.
    companion_working_days: int = Field(default=3, ge=1, le=30)
    coordinator_working_days: int = Field(default=5, ge=1, le=30)
    # Cuti bersama (the government's joint leave days around Lebaran, Christmas...) are not
    # working days: the offices of the coordinators and Dinas Sosial are closed.
    sla_skip_cuti_bersama: bool = True
    # The outbox: messages per second for the whole bot (Telegram allows about 30), and how a
    # message that meets a fault (Telegram 5xx, a network error, a timeout) is tried again: first
    # after SAPA_OUTBOX_RETRY_SECONDS, the wait doubling up to 10 minutes, for as long as
    # SAPA_OUTBOX_RETRY_WINDOW_HOURS from when it was due (never past a reminder's own expiry);
    # then it is marked failed, for `sapa outbox` and the coordinators' recap.
    outbox_messages_per_second: float = Field(default=25, gt=0, le=1000)
    outbox_retry_seconds: float = Field(default=30, ge=0)
    outbox_retry_window_hours: float = Field(default=24, gt=0, le=24 * 14)
    # How long a dispatcher's claim on a row lasts: after a crash (kill -9, power cut) the
    # message that was in flight is sent again once this has passed.
    outbox_lease_seconds: float = Field(default=300, ge=2, le=86_400)
    # Payout queue slots: the round's time window is cut into slots of this many minutes, each
    # for at most this many households.
    queue_slot_minutes: int = Field(default=30, ge=5, le=240)
    queue_slot_capacity: int = Field(default=100, ge=1)
    # Chat-derived data (proof photos' file ids, texts of closed complaints, failed link
    # attempts) older than this many months is erased by the daily retention job (UU PDP).
    retention_months: int = Field(default=24, ge=3, le=240)
    # Outbox rows sent (or cancelled) more than this many days before leave the outbox for its
    # archive, nightly, so the outbox stays small; failed rows stay until someone deals with
    # them. At least 30: well past the planner's horizon (8 days), so an archived row's dedup key
    # can never be planned again.
    outbox_retention_days: int = Field(default=90, ge=30, le=3650)

    @field_validator(
        "telegram_bot_token",
        "nik_key",
        "nik_key_file",
        "webhook_secret",
        "webhook_url",
        "listen_port",
        mode="before",
    )
    @classmethod
    def _empty_is_missing(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def token_problem(self) -> str | None:
        """Why TELEGRAM_BOT_TOKEN cannot be a token from @BotFather, or None. Only `sapa run`
        needs a token, so only it asks: the other commands work with any (or none)."""
        token = self.telegram_bot_token
        if token is not None and not re.fullmatch(r"\d+:[\w-]{20,}", token.get_secret_value()):
            return (
                f"{TOKEN_VARIABLE} is invalid: does not look like a token from @BotFather "
                "(digits, a colon, a key)."
            )
        return None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()
        ):
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be the public https:// address Telegram will post to")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
                f"got {value.split('://')[0]!r}"
            )
        return value

    @field_validator("bot_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone (try Asia/Jakarta)") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("default_language", mode="before")
    @classmethod
    def _lower_language(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _parse_quiet_hours(cls, value: object) -> object:
        return QuietHours.parse(value) if isinstance(value, str) else value

    @property
    def nik_key_bytes(self) -> bytes | None:
        """The NIK key as bytes: SAPA_NIK_KEY, or the key file's once `bot.nik_key` read it."""
        return self.nik_key.get_secret_value().encode() if self.nik_key else None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when the database is SQLite, else None."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None


class SettingsError(Exception):
    """A configuration problem, explained in sentences that name the variables."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def variable_name(field: str) -> str:
    if field.upper() == TOKEN_VARIABLE:
        return TOKEN_VARIABLE
    return ENV_PREFIX + field.upper()


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or raise SettingsError with one sentence per invalid variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "?"
            reason = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{variable_name(field)} is invalid: {reason}.")
        raise SettingsError(problems) from None
