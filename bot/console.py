"""``python -m bot console``: chat with the real bot in a terminal, through the Bot API emulator."""

from __future__ import annotations

import asyncio
import html
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings
from bot.emulator import SentMessage
from bot.harness import EmulatedBot
from locales.i18n import Translator

CONSOLE_USER_ID = 1000
_LINK = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL | re.IGNORECASE)
_BOLD = re.compile(r"<(b|strong)>(.*?)</\1>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def to_terminal(text: str, *, color: bool) -> str:
    """Telegram HTML made readable: links as ``text (url)``, bold in ANSI where the terminal has
    it, other tags dropped, entities decoded last (so that decoded text is never taken for a tag)."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    if color:
        text = _BOLD.sub(lambda m: f"\x1b[1m{m.group(2)}\x1b[0m", text)
    return html.unescape(_TAG.sub("", text))


def buttons_of(message: SentMessage) -> list[tuple[str, str]]:
    markup: dict[str, Any] | None = message.reply_markup
    if not markup:
        return []
    return [
        (str(button.get("text", "")), str(button.get("callback_data", "")))
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]


class Console:
    def __init__(self, bot: EmulatedBot, out: TextIO, t: Translator, *, color: bool) -> None:
        self.bot = bot
        self.out = out
        self.t = t
        self.color = color
        #: Where photos and documents the bot sends are saved (made on the first one).
        self._files: Path | None = None
        #: The buttons on screen: number -> (message id, callback data).
        self.choices: dict[int, tuple[int, str]] = {}
        #: How many of the emulator's recorded requests have been shown.
        self._seen = 0

    def show(self, messages: list[SentMessage]) -> None:
        self.choices = {}
        for message in messages:
            body = message.text if message.text is not None else (message.caption or "")
            prefix = "bot (edited)>" if message.method.startswith("edit") else "bot>"
            print(f"{prefix} {to_terminal(body, color=self.color)}", file=self.out)
            saved = self._save_file(message)
            if saved is not None:
                print(
                    "     " + self.t._("(file saved as {path})").format(path=saved), file=self.out
                )
            options = buttons_of(message)
            if options:
                labels = []
                for text, data in options:
                    number = len(self.choices) + 1
                    self.choices[number] = (message.message_id, data)
                    labels.append(f"[{number}] {text}")
                print("     " + "   ".join(labels), file=self.out)
        for request in self.bot.emulator.requests[self._seen :]:
            notice = request.params.get("text")
            if request.method == "answerCallbackQuery" and notice:
                print(f"bot (notice)> {notice}", file=self.out)
        self._seen = len(self.bot.emulator.requests)
        print(file=self.out)
        self.out.flush()

    def _save_file(self, message: SentMessage) -> Path | None:
        """A chart or an export, written where the user can open it."""
        data = message.photo if message.photo is not None else message.document
        if data is None:
            return None
        if self._files is None:
            self._files = Path(tempfile.mkdtemp(prefix="casualty-bot-"))
        name = Path(message.filename or "").name or f"message-{message.message_id}"
        if message.photo is not None and not name.endswith(".png"):
            name += ".png"
        path = self._files / name
        path.write_bytes(data)
        return path

    async def handle(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        self._seen = len(self.bot.emulator.requests)
        if line.isdigit() and int(line) in self.choices:
            message_id, data = self.choices[int(line)]
            self.show(await self.bot.press(CONSOLE_USER_ID, message_id, data))
        else:
            self.show(await self.bot.send(CONSOLE_USER_ID, line))


async def run_console(
    settings: Settings,
    *,
    language: str | None = None,
    admin: bool = False,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    if admin:
        settings = settings.model_copy(update={"admin_ids": settings.admin_ids | {CONSOLE_USER_ID}})
    async with EmulatedBot(settings) as bot:
        bot.emulator.add_private_chat(
            CONSOLE_USER_ID,
            first_name="Console",
            language_code=language or settings.default_language,
        )
        t = bot.services.catalogs.translator(language or settings.default_language)
        console = Console(bot, stdout, t, color=interactive and stdout.isatty())
        if interactive:
            banner = t._(
                "casualty-bot console: you are a Telegram user talking to the real bot through a "
                "local Bot API emulator. Try /help, /stats, /incidents. Type a number to press a "
                "button; Ctrl-D quits."
            )
            print(banner + "\n", file=stdout)
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                print("you> ", end="", file=stdout, flush=True)
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                break
            if not interactive:
                print(f"you> {line.rstrip()}", file=stdout)
            await console.handle(line)
    return 0
