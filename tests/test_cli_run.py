"""The command line as users run it: the piped console, and long polling stopped by a signal."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings
from bot.emulator import BotAPIEmulator

TOKEN = "123456789:RUN-TOKEN"


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    env.update({"DATABASE_URL": settings.database_url, **extra})
    return env


def test_piped_console_reads_a_line_a_message_and_exits(settings: Settings, tmp_path: Path) -> None:
    lines = "/start\n/stats Kəlbəcər 2022\n/incidents\n1\n/language\n3\n/stats\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--lang", "az"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=_env(settings),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert result.stderr == ""
    assert out.count("you> ") == 7
    assert "bot> Salam, Console!" in out
    assert "Kəlbəcər · 2022" in out
    assert "[1] Daha köhnə ›" in out  # page buttons as numbered choices
    assert "bot (edited)> " in out  # pressing 1 edited the page
    assert "Русский" in out
    assert "126 человек" in out  # /stats after choosing Russian
    assert "<b>" not in out and "&amp;" not in out  # HTML is made readable


def test_the_console_saves_charts_and_exports(settings: Settings, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--lang", "en"],
        input="/chart 2023\n/export 2023\n",
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        # A database of its own: the shared one remembers the console user's /language choice.
        env=_env(settings, DATABASE_URL=f"sqlite:///{tmp_path / 'console.sqlite3'}"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    saved = [Path(p) for p in re.findall(r"\(file saved as (.+)\)", result.stdout)]
    assert [p.suffix for p in saved] == [".png", ".csv"], result.stdout
    assert saved[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert saved[1].name.startswith("casualties_2023_")
    rows = saved[1].read_text(encoding="utf-8-sig").splitlines()
    assert rows[0].startswith("id,date,") and len(rows) > 1
    assert "Mine and UXO casualties per month" in result.stdout  # the caption


def test_the_console_as_an_owner(settings: Settings, tmp_path: Path) -> None:
    lines = (
        "/whoami\n"
        "/add date=2023-07-13 district=Kalbajar civilian_injured=1 source=https://x.az/console\n"
        "1\n"  # the dataset has an incident in Kalbajar that day: Save anyway
        "/history 72\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--admin"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        # A database of its own: the console stores what the owner adds.
        env=_env(settings, DATABASE_URL=f"sqlite:///{tmp_path / 'console.sqlite3'}"),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Your user id is 1000. Role: owner." in out
    assert "Possible duplicates:" in out
    assert "Saved as #72" in out and "[1] Undo" in out
    assert "recorded by user 1000" in out


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_run_polls_and_stops_cleanly_on_a_signal(
    settings: Settings, tmp_path: Path, stop: signal.Signals
) -> None:
    async with BotAPIEmulator(token=TOKEN) as emulator:
        emulator.add_private_chat(77, first_name="Aysel", language_code="en")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=_env(settings, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=emulator.base_url),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await emulator.wait_until(
                lambda: any(r.method == "getUpdates" for r in emulator.requests), timeout=60
            )
            emulator.user_sends(77, "/start")
            await emulator.wait_for_sent(1, timeout=30)
            assert emulator.sent[-1].plain is not None
            assert emulator.sent[-1].plain.startswith("Hello, Aysel!")
            process.send_signal(stop)
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0
    assert b"Traceback" not in stderr
    assert TOKEN.encode() not in stderr  # no secret in the log


def test_console_shows_links_with_their_address() -> None:
    from bot.console import to_terminal

    html = '<b>x</b> <a href="https://report.az/a?b=1&amp;c=2">source</a> &lt;i&gt;'
    assert to_terminal(html, color=False) == "x source (https://report.az/a?b=1&c=2) <i>"
    assert to_terminal(html, color=True).startswith("\x1b[1mx\x1b[0m")
