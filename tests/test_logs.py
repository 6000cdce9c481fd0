"""The log: one line per event, the update and chat ids on every line written while an update is
handled, and never a secret, even at DEBUG with every request URL logged (bot.request)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from bot.config import Settings, load_settings
from bot.harness import TrackedApplication
from bot.logs import Redactor, build_handler, secrets_of, update_context
from tests.conftest import emulated_bot

TOKEN = "987654321:LOGS-SECRET-token_0123456789"
SECRET_PART = TOKEN.partition(":")[2]
USER = 7201
GROUP = -7202
#: A line starts with the time and level: anything else would be a second line of one event.
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+ update_id=(\S+) chat_id=(\S+) "
)


class Records(logging.Handler):
    """Keeps the records as they reach it (before any redaction further up)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def debug_log(settings: Settings) -> Iterator[tuple[io.StringIO, Records]]:
    """The production handler on the root logger at DEBUG (as someone chasing a problem would
    set it), and what the bot's request log (``bot.request``) wrote before redaction."""
    stream = io.StringIO()
    handler = build_handler(
        stream,
        secrets=secrets_of(settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)})),
    )
    raw = Records()
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("bot.request", "aiosqlite")]
    levels = [root.level, *(logger.level for logger in loggers)]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    loggers[0].addHandler(raw)
    loggers[0].setLevel(logging.DEBUG)
    loggers[1].setLevel(logging.INFO)  # a line per database call: not what is tested here
    try:
        yield stream, raw
    finally:
        root.removeHandler(handler)
        loggers[0].removeHandler(raw)
        for logger, level in zip([root, *loggers], levels, strict=True):
            logger.setLevel(level)


async def test_the_running_bot_logs_ids_and_no_token(
    settings: Settings, debug_log: tuple[io.StringIO, Records]
) -> None:
    stream, raw = debug_log
    handled: dict[int, int] = {}  # update id -> chat id
    async with emulated_bot(
        settings.model_copy(update={"telegram_bot_token": SecretStr(TOKEN)}), TOKEN
    ) as bot:
        bot.emulator.add_private_chat(USER, language_code="en")
        bot.emulator.add_group_chat(GROUP, "Newsroom", member_ids=[USER])
        app = bot.app
        assert isinstance(app, TrackedApplication)
        for text, chat in (
            ("/start", USER),
            ("/stats 2023", USER),
            ("/edit 1 civilian_killed=2", USER),  # refused: a reader (logged as a warning)
            ("/stats", GROUP),
        ):
            update = bot.emulator.user_sends(USER, text, chat_id=chat)
            await app.expect(int(update["update_id"]))
            handled[int(update["update_id"])] = chat
    lines = stream.getvalue().splitlines()
    # The request log (bot.request) did write the token in its URLs: the handler had something
    # to redact.
    assert any(TOKEN in message for message in raw.messages)
    assert not [line for line in lines if SECRET_PART in line]
    assert any("/bot***/getUpdates" in line for line in lines)
    # One line per event: every line opens with the time, the level, the logger and the ids.
    assert [line for line in lines if not LINE.match(line)] == []
    ids = [LINE.match(line).groups() for line in lines]  # type: ignore[union-attr]
    # Lines written while handling name the update and its chat (the group's for the last).
    for update_id, chat in handled.items():
        during = [
            line for line, found in zip(lines, ids, strict=True) if found[0] == str(update_id)
        ]
        assert any("sendMessage" in line for line in during), update_id
        assert {found[1] for found in ids if found[0] == str(update_id)} == {str(chat)}
    refused = [line for line in lines if "refused /edit" in line]
    assert len(refused) == 1
    assert f"update_id={min(handled) + 2} chat_id={USER} " in refused[0]
    # Outside an update (start, polling, shutdown) both read "-".
    started = [line for line in lines if "Application started" in line]
    assert started and all(" update_id=- chat_id=- " in line for line in started)


def test_a_traceback_stays_on_its_line_and_loses_its_secrets() -> None:
    stream = io.StringIO()
    handler = build_handler(stream, secrets=[TOKEN])
    log = logging.getLogger("tests.logs.traceback")
    log.addHandler(handler)
    log.propagate = False
    try:
        with update_context(41, -100123):
            try:
                raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
            except RuntimeError:
                log.exception("calling %s\nwent wrong", "getMe")
        log.warning("postgresql://bot:hunter22@db.example/casualties is unreachable")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = lines
    assert (
        " ERROR tests.logs.traceback update_id=41 chat_id=-100123 calling getMe\\nwent wrong"
        in first
    )
    assert "\\nTraceback (most recent call last):\\n" in first
    assert "RuntimeError: POST https://api.telegram.org/bot***/getMe failed" in first
    assert SECRET_PART not in first
    assert " update_id=- chat_id=- postgresql://bot:***@db.example/casualties" in second


def test_the_secrets_come_from_the_settings() -> None:
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        database_url="postgresql://bot:pg-pass-123@db.example:5432/casualties",
    )
    found = secrets_of(settings)
    assert TOKEN in found and SECRET_PART in found and "pg-pass-123" in found
    redact = Redactor(found)
    assert redact(f"token {TOKEN} and {SECRET_PART}, pg-pass-123") == "token *** and ***, ***"
    # Whatever the settings: a token in a Bot API path, a password in a URL.
    assert redact("/bot1:AAH-other_bot/getMe") == "/bot1:***/getMe"
    assert redact("/file/bot12:AAH/doc.csv") == "/file/bot12:***/doc.csv"
    assert redact("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact("https://example.org/a:b@c") == "https://example.org/a:b@c"  # not a password
