"""A newcomer's first `python3 tasks.py run`, without a token, on a terminal: the demo console."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def read_until(fd: int, wanted: str, seen: bytearray, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while wanted.encode() not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{wanted!r} never came; got {seen.decode(errors='replace')}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen.extend(chunk)
    return seen.decode(errors="replace")


def test_without_a_token_a_terminal_gets_the_demo_console(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("SAPA_") and k != "TELEGRAM_BOT_TOKEN"}  # fmt: skip
    environment["SAPA_DEMO_DATABASE"] = str(tmp_path / "demo.db")
    environment["SAPA_QUIET_HOURS"] = "00:00-00:00"
    environment["TELEGRAM_BOT_TOKEN"] = ""  # even if a .env here holds one: no token
    pid, fd = pty.fork()
    if pid == 0:  # the newcomer's terminal
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "tasks.py", "run"], environment)
    seen = bytearray()
    try:
        read_until(fd, "@BotFather", seen)
        read_until(fd, "/start", seen)  # the console's hint, on the demo province
        os.write(fd, b"/bantuan\n")
        output = read_until(fd, "🤖", seen)
    finally:
        os.write(fd, b"\x04")
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert "demo.db (your sapa.db is not touched)" in output
    assert (tmp_path / "demo.db").exists()
    assert os.waitstatus_to_exitcode(status) == 0, output
