"""Settings: defaults, the environment and `.env`, and one clear sentence per invalid value."""

from __future__ import annotations

import io
from datetime import time
from pathlib import Path

import pytest

from bot.settings import QuietHours, SettingsError, load_settings

VARIABLES = ("TELEGRAM_BOT_TOKEN", "SAPA_DATABASE_URL", "SAPA_BOT_API_URL", "SAPA_TIMEZONE",
             "SAPA_DEFAULT_LANGUAGE", "SAPA_QUIET_HOURS", "SAPA_LOG_LEVEL", "SAPA_NIK_KEY",
             "SAPA_WEBHOOK_URL", "SAPA_WEBHOOK_SECRET", "SAPA_LISTEN_HOST", "SAPA_LISTEN_PORT",
             "SAPA_SLA_SKIP_CUTI_BERSAMA")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///sapa.db"
    assert settings.sqlite_path == Path("sapa.db")
    assert settings.timezone == "Asia/Jakarta"
    assert settings.default_language == "id"
    assert settings.quiet_hours == QuietHours(time(21), time(6))
    assert settings.bot_api_url == "https://api.telegram.org/bot"
    assert settings.sla_skip_cuti_bersama is True


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678\n"
        "SAPA_QUIET_HOURS=22:00-05:30\nSAPA_DEFAULT_LANGUAGE=EN\n"
    )
    monkeypatch.setenv("SAPA_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value().startswith("123456:")
    assert "ABCdef" not in repr(settings)
    assert settings.quiet_hours == QuietHours(time(22), time(5, 30))
    assert settings.default_language == "en"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SAPA_TIMEZONE", "Asia/Jakartaa", "SAPA_TIMEZONE is invalid: 'Asia/Jakartaa' is not a known time zone"),
        ("SAPA_QUIET_HOURS", "malam", "SAPA_QUIET_HOURS is invalid: expected a window such as 21:00-06:00"),
        ("SAPA_QUIET_HOURS", "25:00-06:00", "SAPA_QUIET_HOURS is invalid: '25:00-06:00' is not a valid time window"),
        ("SAPA_DATABASE_URL", "mysql://x", "SAPA_DATABASE_URL is invalid: must start with sqlite+aiosqlite://"),
        ("SAPA_DEFAULT_LANGUAGE", "fr", "SAPA_DEFAULT_LANGUAGE is invalid"),
        ("SAPA_LOG_LEVEL", "LOUD", "SAPA_LOG_LEVEL is invalid"),
        ("SAPA_BOT_API_URL", "api.telegram.org", "SAPA_BOT_API_URL is invalid: must be an http"),
        ("SAPA_WEBHOOK_SECRET", "short", "SAPA_WEBHOOK_SECRET is invalid: must be 16 to 256 characters"),
        ("SAPA_WEBHOOK_SECRET", "spaces are not allowed here", "SAPA_WEBHOOK_SECRET is invalid"),
        ("SAPA_WEBHOOK_URL", "bot.example.org/hook", "SAPA_WEBHOOK_URL is invalid: must be the public https://"),
        ("SAPA_LISTEN_PORT", "80800", "SAPA_LISTEN_PORT is invalid"),
        ("SAPA_SLA_SKIP_CUTI_BERSAMA", "mungkin", "SAPA_SLA_SKIP_CUTI_BERSAMA is invalid"),
    ],
)  # fmt: skip
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(expected)
    assert raised.value.problems[0].endswith(".")


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAPA_TIMEZONE", "Mars/Base")
    monkeypatch.setenv("SAPA_QUIET_HOURS", "x")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert [p.split(" ")[0] for p in raised.value.problems] == ["SAPA_TIMEZONE", "SAPA_QUIET_HOURS"]


def test_empty_token_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "  ")
    assert load_settings().telegram_bot_token is None


def test_the_example_env_file_loads_as_it_is(tmp_path: Path) -> None:
    """`cp .env.example .env` with only the token filled in must work (empty means unset)."""
    example = (Path(__file__).parent.parent / ".env.example").read_text()
    token = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
    (tmp_path / ".env").write_text(
        example.replace("TELEGRAM_BOT_TOKEN=\n", f"TELEGRAM_BOT_TOKEN={token}\n")
    )
    settings = load_settings()
    assert settings.telegram_bot_token is not None
    assert (settings.webhook_url, settings.webhook_secret, settings.listen_port) == (
        None,
        None,
        None,
    )
    assert settings.listen_host == "127.0.0.1"
    assert settings.sla_skip_cuti_bersama is True


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("true", True)])
def test_cuti_bersama_can_count_as_working_days(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("SAPA_SLA_SKIP_CUTI_BERSAMA", value)
    assert load_settings().sla_skip_cuti_bersama is expected


@pytest.mark.parametrize(
    ("window", "inside", "outside"),
    [
        ("21:00-06:00", [time(21), time(23, 59), time(0), time(5, 59)], [time(6), time(12), time(20, 59)]),
        ("13:00-14:00", [time(13), time(13, 30)], [time(14), time(12, 59)]),
    ],
)  # fmt: skip
def test_quiet_hours_window(window: str, inside: list[time], outside: list[time]) -> None:
    quiet = QuietHours.parse(window)
    assert all(quiet.contains(moment) for moment in inside)
    assert not any(quiet.contains(moment) for moment in outside)
    assert str(quiet) == window


def test_only_sapa_run_asks_for_a_real_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A short test token does not stop the commands that never talk to Telegram."""
    from tests.support.helpers import EXAMPLES, sapa

    token = {"TELEGRAM_BOT_TOKEN": "123456:TEST", "SAPA_NIK_KEY": "k" * 32}
    for verb in (
        ["demo"],
        ["import", "posyandu", str(EXAMPLES / "posyandu.csv")],
        ["stats"],
        ["link-code", "RTS-00001"],
        ["export", "--month", "2026-11", "--output", str(tmp_path)],
    ):
        done = sapa(*verb, cwd=tmp_path, env=token)
        assert done.returncode == 0, (verb, done.stderr)
        assert "TELEGRAM_BOT_TOKEN" not in done.stdout + done.stderr
    monkeypatch.setattr("sys.stdin", io.StringIO(":keluar\n"))
    console = sapa("console", cwd=tmp_path, env=token)
    assert console.returncode == 0, console.stderr
    assert "Anda pengguna konsol untuk rumah tangga" in console.stdout
    run = sapa("run", cwd=tmp_path, env=token)
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "TELEGRAM_BOT_TOKEN is invalid: does not look like a token from @BotFather "
        "(digits, a colon, a key)."
    )
