"""Hostile and malformed updates through the real application and the emulator (issue 6).

Hypothesis sends text of every size and alphabet as plain private text, as the arguments of every
command (the admin ones as a stranger and as an owner), as a document's caption and as the data
of a button pressed on a real bot message; then updates of kinds the bot does not handle. After
each example: no handler raised, Telegram would have accepted every request the bot made, no
request broke the official API description, and every message the bot sent fits Telegram's
limits. After each test the bot still answers /start.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.config import Settings
from bot.emulator import SentMessage, message_length
from bot.emulator.state import DEFAULT_UPDATE_TYPES
from bot.harness import EmulatedBot
from db.models import DigestItem, OutboxMessage, Subscription
from handlers.context import Services
from tests.conftest import emulated_bot

TOKEN = "123456789:HOSTILE-TOKEN"
#: Owners (ADMIN_IDS) of this module's bot: one after the other, so that no chat is flooded.
OWNERS = tuple(range(880_001, 880_013))
CHANNEL = -1_001_880_000_001
GROUP = -880_000_002
#: Users who never start the bot themselves appear in raw updates only.
GROUP_MEMBER = 880_100

PUBLIC_COMMANDS = (
    "start",
    "help",
    "stats",
    "incidents",
    "compare",
    "chart",
    "export",
    "sources",
    "language",
    "subscribe",
    "unsubscribe",
    "subscription",
)
#: /digest_now is left out for owners: it delivers every due digest of the shared test database.
ADMIN_COMMANDS = (
    "add",
    "edit",
    "retract",
    "restore",
    "history",
    "official",
    "pending",
    "admin",
    "whoami",
    "cancel",
)
CALLBACK_PREFIXES = ("inc|", "lang:", "sub|", "rv|", "undo|", "draft|", "addc|", "")

# -- strategies -----------------------------------------------------------------------------------

#: Pieces that have hurt bots before: markup, entities, direction marks, joiners, NUL, controls.
PIECES = st.sampled_from(
    [
        "<b>",
        "</b>",
        "</a>",
        '<a href="javascript:x">',
        "&amp;",
        "&",
        "&#0;",
        "<",
        ">",
        "\x00",
        "\x1b",
        "\x7f",
        "\u202e",
        "\u200f",
        "\u2066",
        "\u0301\u0301\u0301",
        "\u200d",
        "\ufeff",
        "\ufffd",
        "👍🏽",
        "👨‍👩‍👧",
        "𝕏",
        "\r\n",
        "\t",
        " ",
        "@casualty_bot",
        "/stats",
        "#1",
        "|",
        "=",
        '"',
        "“",
        "«",
        "»",
        "..",
        ":",
        "2023",
        "2023-02-30",
        "99999999999999999999",
        "²",
        "٣",
        "Kalbajar",
        "Кельбаджар",
        "civilian",
        "daily",
        "25:99",
        "date=",
        "district=",
        "source=https://",
        "reason=",
        "total=",
    ]
)
#: Telegram caps what a user sends at 4096 characters.
USER_TEXT_LIMIT = 4096
TEXT = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=80).map("".join),
    st.text(min_size=1000, max_size=USER_TEXT_LIMIT),
    st.lists(PIECES, min_size=200, max_size=1200).map("".join),
).map(lambda text: text[:USER_TEXT_LIMIT])
CAPTION = TEXT.map(lambda text: text[:1024])


def _callback(data: str) -> str:
    """Data a client could send: 1 to 64 bytes of UTF-8."""
    encoded = data.encode()[:64]
    return encoded.decode(errors="ignore") or "x"


CALLBACK_DATA = st.one_of(
    st.text(min_size=1, max_size=64),
    st.tuples(
        st.sampled_from(CALLBACK_PREFIXES), st.lists(st.one_of(PIECES, st.text(max_size=6)))
    ).map(lambda p: p[0] + "".join(p[1])),
    st.tuples(
        st.sampled_from(CALLBACK_PREFIXES),
        st.lists(
            st.one_of(st.integers(-(10**20), 10**20).map(str), st.sampled_from("xcmdwsra")),
            max_size=6,
        ),
    ).map(lambda p: p[0] + "|".join(p[1])),
).map(_callback)

HOSTILE = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

# -- the bot and what is checked after each example -----------------------------------------------


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


_fresh_ids = itertools.count(881_000)
_owner_turns = itertools.cycle(OWNERS)
_users: list[int] = []


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings, services: Services) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, TOKEN, admin_ids=frozenset(OWNERS)) as running:
        for owner in OWNERS:
            running.emulator.add_private_chat(owner, first_name="Owner", language_code="en")
        running.emulator.add_group_chat(CHANNEL, "Channel", chat_type="channel", bot_is_admin=True)
        running.emulator.add_group_chat(GROUP, "Group", member_ids=[GROUP_MEMBER])
        # Every kind of update is delivered, also those a bot must ask for (reactions …).
        running.emulator.allowed_updates = DEFAULT_UPDATE_TYPES | {
            "message_reaction",
            "message_reaction_count",
            "chat_member",
        }
        yield running
    # Digests the examples subscribed to are no business of other tests.
    async with services.store.db.transaction() as session:
        for model in (DigestItem, OutboxMessage, Subscription):
            await session.execute(delete(model).where(model.chat_id.in_(_users or [0])))


@pytest.fixture(scope="module")
def error_log() -> Iterator[_ErrorRecords]:
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def _fresh_user(bot: EmulatedBot, language: str | None = "en") -> int:
    user = next(_fresh_ids)
    _users.append(user)
    bot.emulator.add_private_chat(user, first_name="<b>Eve</b> &amp;", language_code=language)
    return user


#: Refusals a handler expects and handles: a forged page button that shows the same page again.
_EXPECTED = ("message is not modified",)


def _fits(message: SentMessage) -> None:
    if message.text is not None:
        assert 0 < message_length(message.text, message.parse_mode) <= 4096, message.text[:200]
    if message.caption is not None:
        assert message_length(message.caption, message.parse_mode) <= 1024
    for button in message.buttons:
        data = button.get("callback_data")
        assert data is None or 1 <= len(str(data).encode()) <= 64, button


async def _checked(
    bot: EmulatedBot, error_log: _ErrorRecords, action: Awaitable[Any]
) -> list[SentMessage]:
    """Runs one hostile action and checks what the bot did while handling it."""
    emulator = bot.emulator
    errors, records, sent = len(emulator.errors), len(error_log.records), len(emulator.sent)
    await action
    raised = [r.getMessage() for r in error_log.records[records:]]
    assert raised == [], raised
    refused = [
        (r.method, r.description)
        for r in emulator.errors[errors:]
        if not any(e in (r.description or "").lower() for e in _EXPECTED)
    ]
    assert refused == []
    assert emulator.spec_problems == []
    new = emulator.sent[sent:]
    for message in new:
        _fits(message)
    return new


async def _still_answers(bot: EmulatedBot) -> None:
    user = _fresh_user(bot)
    replies = await bot.send(user, "/start")
    assert replies and replies[0].plain


# -- text, commands, captions ---------------------------------------------------------------------


@HOSTILE
@given(text=TEXT, language=st.sampled_from(["en", "az", "ru", "xx", None]))
@example(text="\x00", language="en")
@example(text="<b>&amp;</a>", language=None)
async def test_any_private_text(
    bot: EmulatedBot, error_log: _ErrorRecords, text: str, language: str | None
) -> None:
    if not text.strip():
        text = "." + text  # Telegram delivers no message without a visible character
    user = _fresh_user(bot, language)
    await _checked(bot, error_log, bot.send(user, text))


def _command(name: str, args: str, mention: bool) -> str:
    text = f"/{name}{'@casualty_bot' if mention else ''} {args}"
    return text[:USER_TEXT_LIMIT]


@HOSTILE
@given(
    name=st.sampled_from(PUBLIC_COMMANDS + ADMIN_COMMANDS + ("digest_now",)),
    args=TEXT,
    mention=st.booleans(),
)
async def test_any_arguments_of_every_command(
    bot: EmulatedBot, error_log: _ErrorRecords, name: str, args: str, mention: bool
) -> None:
    user = _fresh_user(bot)
    await _checked(bot, error_log, bot.send(user, _command(name, args, mention)))


@HOSTILE
@given(name=st.sampled_from(ADMIN_COMMANDS), args=TEXT, mention=st.booleans())
@example(name="add", args="date=²²²² district=Kalbajar civilian_killed=1", mention=False)
@example(name="official", args="as_of=²²²² total=1", mention=True)
async def test_any_arguments_of_admin_commands_from_an_owner(
    bot: EmulatedBot,
    error_log: _ErrorRecords,
    sandbox: Services,
    name: str,
    args: str,
    mention: bool,
) -> None:
    owner = next(_owner_turns)
    await _checked(bot, error_log, bot.send(owner, _command(name, args, mention)))
    # A guided /add started by the example is left, so that the next one starts afresh.
    await _checked(bot, error_log, bot.send(owner, "/cancel"))


@HOSTILE
@given(
    caption=st.one_of(st.none(), CAPTION, CAPTION.map(lambda c: ("/import " + c)[:1024])),
    data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    filename=st.sampled_from(["data.csv", "x.txt", "<b>.csv", "😀", ".csv"]),
    owner=st.booleans(),
)
async def test_any_document_and_caption(
    bot: EmulatedBot,
    error_log: _ErrorRecords,
    sandbox: Services,
    caption: str | None,
    data: bytes,
    filename: str,
    owner: bool,
) -> None:
    user = next(_owner_turns) if owner else _fresh_user(bot)
    await _checked(
        bot, error_log, bot.send_document(user, filename, data or b"\x00", caption=caption)
    )


#: Bot messages with buttons to press, made once per user kind.
_messages: dict[int, int] = {}


async def _bot_message(bot: EmulatedBot, user: int) -> int:
    if user not in _messages:
        replies = await bot.send(user, "/incidents")
        _messages[user] = replies[-1].message_id
    return _messages[user]


@HOSTILE
@given(data=CALLBACK_DATA, owner=st.booleans())
@example(data="inc|0|99999999999999999999|||", owner=False)
@example(data="inc|0|x-1|||", owner=False)
@example(data="rv|a|99999999999999999999", owner=True)
@example(data="lang:<b>", owner=False)
async def test_any_callback_data_on_a_real_message(
    bot: EmulatedBot, error_log: _ErrorRecords, sandbox: Services, data: str, owner: bool
) -> None:
    user = OWNERS[0] if owner else _users[0] if _users else _fresh_user(bot)
    message_id = await _bot_message(bot, user)
    answered = set(bot.emulator.callback_answers)
    await _checked(bot, error_log, bot.press(user, message_id, data))
    new = [a for key, a in bot.emulator.callback_answers.items() if key not in answered]
    assert len(new) == 1, "every press is answered once"


async def test_still_answers_after_text_commands_captions_and_buttons(bot: EmulatedBot) -> None:
    await _still_answers(bot)


# -- updates the bot does not handle --------------------------------------------------------------


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Noise", "language_code": "en"}


def _message(chat: dict[str, Any], **content: Any) -> dict[str, Any]:
    return {"message_id": 9_000, "date": int(time.time()), "chat": chat, **content}


def _raw_updates(bot: EmulatedBot, noise: str) -> list[tuple[str, dict[str, Any]]]:
    user = _fresh_user(bot)
    private = {"id": user, "type": "private", "first_name": "Noise"}
    channel = {"id": CHANNEL, "type": "channel", "title": "Channel"}
    group = {"id": GROUP, "type": "group", "title": "Group"}
    photo = {"file_id": "PHOTO", "file_unique_id": "P1", "width": 90, "height": 90}
    sticker = {
        "file_id": "STICKER",
        "file_unique_id": "S1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    poll = {
        "id": "POLL1",
        "question": noise[:300] or "?",
        "options": [{"persistent_id": "0", "text": "a", "voter_count": 1}],
        "total_voter_count": 1,
        "is_closed": False,
        "is_anonymous": False,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": False,
        "members_only": False,
    }
    return [
        ("channel_post", _message(channel, text=noise or ".", sender_chat=channel)),
        ("channel_post", _message(channel, text="/stats Kalbajar", sender_chat=channel)),
        ("edited_channel_post", _message(channel, text=noise or ".", edit_date=int(time.time()))),
        ("edited_message", _message(private, text="/stats " + noise, **{"from": _user(user)})),
        ("poll", poll),
        (
            "poll_answer",
            {
                "poll_id": "POLL1",
                "user": _user(user),
                "option_ids": [0],
                "option_persistent_ids": ["0"],
            },
        ),
        (
            "chat_join_request",
            {"chat": group, "from": _user(user), "user_chat_id": user, "date": int(time.time())},
        ),
        (
            "message_reaction",
            {
                "chat": private,
                "message_id": 1,
                "user": _user(user),
                "date": int(time.time()),
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            },
        ),
        ("message", _message(private, sticker=sticker, **{"from": _user(user)})),
        (
            "message",
            _message(private, location={"latitude": 40.2, "longitude": 46.0})
            | {"from": _user(user)},
        ),
        (
            "message",
            _message(private, contact={"phone_number": "+994", "first_name": noise[:64] or "x"})
            | {"from": _user(user)},
        ),
        ("message", _message(private, photo=[photo], **{"from": _user(user)})),
        (
            "message",
            _message(private, photo=[photo], caption=noise[:1024], **{"from": _user(user)}),
        ),
        (
            "message",
            _message(
                group, new_chat_members=[_user(GROUP_MEMBER)], **{"from": _user(GROUP_MEMBER)}
            ),
        ),
        (
            "message",
            _message(group, text="/stats " + noise, **{"from": _user(GROUP_MEMBER)}),
        ),
        ("chosen_inline_result", {"result_id": "1", "from": _user(user), "query": noise[:256]}),
        (
            "inline_query",
            {
                "from": _user(user),
                "query": noise[:256],
                "offset": noise[:64],
                "chat_type": "sender",
            },
        ),
        (
            "callback_query",
            {
                "from": _user(user),
                "chat_instance": "1",
                "inline_message_id": "AAA",
                "data": noise[:64] or "x",
            },
        ),
        ("callback_query", {"from": _user(user), "chat_instance": "1", "game_short_name": "g"}),
        (
            "callback_query",
            {
                "from": _user(user),
                "chat_instance": "1",
                "message": {"message_id": 1, "date": 0, "chat": private},
                "data": "inc|0||||",
            },
        ),
    ]


@settings(HOSTILE, max_examples=8)
@given(noise=st.one_of(st.text(max_size=256), st.lists(PIECES, max_size=60).map("".join)))
async def test_updates_the_bot_does_not_handle(
    bot: EmulatedBot, error_log: _ErrorRecords, noise: str
) -> None:
    for kind, body in _raw_updates(bot, noise):
        update = bot.emulator.queue_update(kind, body)
        app = bot.app
        assert hasattr(app, "expect")
        await _checked(bot, error_log, _handled(bot, int(update["update_id"])))


async def _handled(bot: EmulatedBot, update_id: int) -> None:
    import asyncio

    app: Any = bot.app
    await asyncio.wait_for(app.expect(update_id), bot.timeout)


async def test_still_answers_after_updates_it_does_not_handle(bot: EmulatedBot) -> None:
    await _still_answers(bot)


@pytest.mark.parametrize("length", [1, 64, 256, 257])
async def test_an_inline_query_of_noise(
    bot: EmulatedBot, error_log: _ErrorRecords, length: int
) -> None:
    user = _fresh_user(bot)
    noise = ("<b>&amp;\x00\u202e👍🏽" * 60)[:length]
    answer: dict[str, Any] = {}

    async def ask() -> None:
        answer.update(await bot.inline(user, noise))

    await _checked(bot, error_log, ask())
    assert "results" in answer
