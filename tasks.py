#!/usr/bin/env python3
"""Set-up and everyday tasks, needing nothing but Python 3.11+:

    python3 tasks.py run     # create .venv, install, compile catalogs, migrate, start the bot
    python3 tasks.py test    # create .venv, install, compile catalogs, run the whole test suite
    python3 tasks.py setup   # only the set-up part
    python3 tasks.py lint    # ruff, mypy and the layer contracts (import-linter)
    python3 tasks.py catalogs  # after changing texts: refresh locale/sapa.pot and every .po

Extra arguments after `test` go to pytest (`python3 tasks.py test -k import`).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".sapa-installed"


def sh(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def setup() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py may be started by an older python3
        sys.exit("Sapa RTS needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv ...")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("Installing Sapa RTS and its dependencies ...")
        sh(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        sh(PYTHON, "-m", "pip", "install", "--quiet", "-e", ".[test]")
        STAMP.write_text(wanted)
    sh(BIN / "pybabel", "compile", "--use-fuzzy", "-d", "locale", "-D", "sapa", "--statistics")


# The first run's demo province, apart from sapa.db (SAPA_DEMO_DATABASE: elsewhere, for tests).
DEMO_DATABASE = Path(os.environ.get("SAPA_DEMO_DATABASE", ROOT / "demo.db"))
NO_TOKEN = """
No Telegram bot token yet, so here is Sapa RTS in this terminal, on a demo province kept in
demo.db (your sapa.db is not touched). You are the demo's first household: the console says
what to type to link it, then use the menu's numbers. Ctrl-D ends.

For the real bot: talk to @BotFather in Telegram (/newbot), then
    cp .env.example .env      # and fill in TELEGRAM_BOT_TOKEN=...
    python3 tasks.py run
"""


def run() -> None:
    setup()
    if not token_given() and sys.stdin.isatty() and sys.stdout.isatty():
        demo_console()  # a newcomer sees the product work at once
    # (Without a token and without a terminal, `sapa run` says what is missing.)
    sh(BIN / "sapa", "migrate")
    os.execv(BIN / "sapa", [str(BIN / "sapa"), "run"])


def token_given() -> bool:
    """Whether TELEGRAM_BOT_TOKEN is set (in the environment or .env); any other problem with
    the settings is for `sapa run` to explain."""
    check = (
        "from bot.settings import load_settings as s; "
        "raise SystemExit(3 * (not s().telegram_bot_token))"
    )
    return subprocess.run([str(PYTHON), "-c", check], cwd=ROOT).returncode != 3


def demo_console() -> None:
    print(NO_TOKEN)
    environment = {**os.environ, "SAPA_DATABASE_URL": f"sqlite+aiosqlite:///{DEMO_DATABASE}"}
    if not DEMO_DATABASE.exists():
        for verb in ("migrate", "demo"):
            subprocess.run([str(BIN / "sapa"), verb], cwd=ROOT, env=environment, check=True)
    sapa = str(BIN / "sapa")
    os.execve(sapa, [sapa, "console"], environment)


def test(pytest_args: list[str]) -> None:
    setup()
    result = subprocess.run([str(PYTHON), "-m", "pytest", *pytest_args], cwd=ROOT)
    sys.exit(result.returncode)


def lint() -> None:
    setup()
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")
    sh(BIN / "mypy")
    sh(BIN / "lint-imports", "--no-cache")


def catalogs() -> None:
    """Extract the messages of the code into locale/sapa.pot and bring every language's .po up
    to date with it (new messages untranslated, unused ones removed); then translate the new
    ones. tests/test_catalogs.py fails while any of them is out of date."""
    setup()
    sh(BIN / "pybabel", "extract", "-F", "babel.cfg", "-k", "t", "-k", "tr:2", "-k",
       "plural:1,2", "-k", "N_", "--no-location", "--sort-output", "--project", "Sapa RTS",
       "--copyright-holder", "ORGANIZATION", "-o", "locale/sapa.pot", ".")  # fmt: skip
    sh(BIN / "pybabel", "update", "-i", "locale/sapa.pot", "-d", "locale", "-D", "sapa",
       "--no-fuzzy-matching", "--ignore-obsolete", "--no-wrap")  # fmt: skip
    sh(BIN / "pybabel", "compile", "--use-fuzzy", "-d", "locale", "-D", "sapa", "--statistics")


def main() -> None:
    task, *rest = sys.argv[1:] or ["help"]
    if task == "setup":
        setup()
    elif task == "run":
        run()
    elif task == "test":
        test(rest)
    elif task == "lint":
        lint()
    elif task == "catalogs":
        catalogs()
    else:
        print(__doc__)
        sys.exit(0 if task == "help" else 2)


if __name__ == "__main__":
    main()
