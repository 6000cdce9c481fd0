"""The emulator driven by the real PTB client: a Bot, and an Application doing long polling."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommandScopeChat,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    MenuButtonCommands,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
)

from bot.emulator import BotAPIEmulator, RateLimiter, RateLimits

USER = 42
GROUP = -1_001_234_567_890
KEYBOARD = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Ağdam", callback_data="d:1"))


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def ptb_message(description: str) -> str:
    """How PTB shows a "Bad Request: ..." description in BadRequest.message."""
    return description.removeprefix("Bad Request: ").capitalize()


async def raises(
    exception: type[Exception], description: str, call: Any, emu: BotAPIEmulator
) -> Exception:
    """Awaits ``call``, checks PTB raised ``exception`` and Telegram's exact description."""
    with pytest.raises(exception) as caught:
        await call
    assert emu.errors[-1].description == description
    if description.startswith("Bad Request: "):
        assert str(caught.value) == ptb_message(description)
    elif not isinstance(caught.value, RetryAfter):  # PTB words flood errors itself
        assert str(caught.value) == description
    return caught.value


@pytest.fixture
async def private(emu: BotAPIEmulator) -> dict[str, Any]:
    return emu.add_private_chat(USER, first_name="Əli", username="ali", language_code="az")


# -- basics --------------------------------------------------------------------------------------


async def test_get_me_and_urls(emu: BotAPIEmulator, bot: Bot) -> None:
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert bot.base_url == f"{emu.base_url}/bot{emu.token}"
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456789,
        "casualty_bot",
        "Casualty Bot",
        True,
    )
    assert emu.requests[-1].method == "getMe"


async def test_wrong_token_unknown_method_and_request_shapes(emu: BotAPIEmulator) -> None:
    root = emu.base_url
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{root}/bot123:OTHER/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        response = await client.post(f"{root}/bot{emu.token}/sendMagic")
        assert response.status_code == 404
        assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        response = await client.get(f"{root}/nothing/here")
        assert response.json()["description"] == "Not Found"
        emu.add_private_chat(USER)
        # method names are case-insensitive; JSON, form and query string bodies all work
        response = await client.post(
            f"{root}/bot{emu.token}/SENDMESSAGE", json={"chat_id": USER, "text": "json"}
        )
        assert response.json()["result"]["text"] == "json"
        response = await client.post(
            f"{root}/bot{emu.token}/sendMessage",
            data={"chat_id": str(USER), "text": "form", "reply_markup": KEYBOARD.to_json()},
        )
        assert response.json()["result"]["reply_markup"] == KEYBOARD.to_dict()
        response = await client.get(
            f"{root}/bot{emu.token}/sendMessage", params={"chat_id": USER, "text": "query"}
        )
        assert response.json()["result"]["text"] == "query"
    assert [r.method for r in emu.requests[-3:]] == ["sendMessage"] * 3
    assert emu.requests[0].method == "getMe" and emu.requests[0].http_status == 401
    assert [sent.text for sent in emu.sent] == ["json", "form", "query"]


async def test_invalid_token_raises_in_ptb(emu: BotAPIEmulator) -> None:
    bot = Bot("123456789:WRONG", base_url=f"{emu.base_url}/bot")
    with pytest.raises(InvalidToken):
        await bot.initialize()


# -- sendMessage -----------------------------------------------------------------------------


async def test_send_message_returns_a_real_message(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    first = await bot.send_message(
        USER, "<b>Salam</b>, Əli 💣", parse_mode="HTML", reply_markup=KEYBOARD
    )
    second = await bot.send_message(USER, "ikinci", reply_to_message_id=first.message_id)
    assert first.text == "Salam, Əli 💣"
    assert first.from_user is not None and first.from_user.id == emu.bot_id
    assert first.chat.id == USER and first.chat.first_name == "Əli"
    assert first.entities[0].type == "bold" and first.entities[0].length == 5
    assert first.reply_markup == KEYBOARD
    assert isinstance(first.date, dtm.datetime)
    assert second.message_id == first.message_id + 1
    assert second.reply_to_message is not None
    assert second.reply_to_message.message_id == first.message_id
    sent = emu.sent[0]
    assert (sent.method, sent.chat_id, sent.message_id) == ("sendMessage", USER, 1)
    assert sent.text == "<b>Salam</b>, Əli 💣"
    assert sent.plain == "Salam, Əli 💣"
    assert sent.parse_mode == "HTML"
    assert sent.entities == [{"type": "bold", "offset": 0, "length": 5}]
    assert sent.buttons == [{"text": "Ağdam", "callback_data": "d:1"}]


async def test_message_ids_are_per_chat(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.add_private_chat(1)
    emu.add_private_chat(2)
    ids = [(await bot.send_message(chat, "x")).message_id for chat in (1, 2, 1, 2, 1)]
    assert ids == [1, 1, 2, 2, 3]


async def test_text_validation(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    await raises(BadRequest, "Bad Request: message text is empty", bot.send_message(USER, ""), emu)
    await raises(
        BadRequest, "Bad Request: message text is empty", bot.send_message(USER, " \n "), emu
    )
    await raises(
        BadRequest,
        "Bad Request: message text is empty",
        bot.send_message(USER, "<b></b>", parse_mode="HTML"),
        emu,
    )
    await bot.send_message(USER, "a" * 4096)
    await raises(
        BadRequest, "Bad Request: message is too long", bot.send_message(USER, "a" * 4097), emu
    )
    # the limit is on the text after parsing, in UTF-16 code units
    await bot.send_message(USER, f"<b>{'ə' * 4096}</b>", parse_mode="HTML")
    await bot.send_message(USER, "💣" * 2048)
    await raises(
        BadRequest, "Bad Request: message is too long", bot.send_message(USER, "💣" * 2049), emu
    )


async def test_parse_errors(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    cases = {
        "Ağdam <foo>": 'Unsupported start tag "foo" at byte offset 7',
        "<b>bold": 'Can\'t find end tag corresponding to start tag "b"',
        "<i>x</b>": 'Unmatched end tag at byte offset 4, expected "</i>", found "</b>"',
        "x < y": 'Unsupported start tag "" at byte offset 2',
        "<a href=http://x>y</a>": "Unexpected end of name token at byte offset 8",
    }
    for text, error in cases.items():
        await raises(
            BadRequest,
            f"Bad Request: can't parse entities: {error}",
            bot.send_message(USER, text, parse_mode="HTML"),
            emu,
        )
    await bot.send_message(USER, "Ali &lt;&amp;&gt; &quot;Veli&quot; & co", parse_mode="HTML")
    assert emu.sent[-1].plain == 'Ali <&> "Veli" & co'
    assert emu.sent == emu.sent[-1:]


async def test_chat_not_found(emu: BotAPIEmulator, bot: Bot) -> None:
    await raises(BadRequest, "Bad Request: chat not found", bot.send_message(999, "x"), emu)
    emu.add_group_chat(-1, "Qrup", member_ids=[77])  # 77 never started the bot
    await raises(
        Forbidden,
        "Forbidden: bot can't initiate conversation with a user",
        bot.send_message(77, "x"),
        emu,
    )
    await raises(BadRequest, "Bad Request: chat not found", bot.send_message("@nobody", "x"), emu)
    emu.add_group_chat(GROUP, "Mina", username="mina_az")
    assert (await bot.send_message("@mina_az", "x")).chat.id == GROUP


# -- reply markup ---------------------------------------------------------------------------


def button(**fields: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("b", **fields)]])


async def test_callback_data_is_limited_to_64_bytes(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    await bot.send_message(USER, "x", reply_markup=button(callback_data="a" * 64))
    await bot.send_message(USER, "x", reply_markup=button(callback_data="ə" * 32))  # 64 bytes
    for data in ("a" * 65, "ə" * 32 + "a", "💣" * 17):
        await raises(
            BadRequest,
            "Bad Request: BUTTON_DATA_INVALID",
            bot.send_message(USER, "x", reply_markup=button(callback_data=data)),
            emu,
        )


async def test_buttons_need_exactly_one_valid_action(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    root = f"{emu.base_url}/bot{emu.token}/sendMessage"
    async with httpx.AsyncClient() as client:

        async def send(markup: object) -> str:
            response = await client.post(
                root, json={"chat_id": USER, "text": "x", "reply_markup": markup}
            )
            assert response.status_code == 400
            return str(response.json()["description"])

        assert "exactly one" in await send(
            {"inline_keyboard": [[{"text": "b", "url": "https://t.me/x", "callback_data": "c"}]]}
        )
        assert await send({"inline_keyboard": {"text": "b"}}) == (
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an '
            "Array of Arrays"
        )
        assert await send("not json") == (
            "Bad Request: can't parse reply keyboard markup JSON object"
        )
    await raises(
        BadRequest,
        "Bad Request: text buttons are unallowed in the inline keyboard",
        bot.send_message(USER, "x", reply_markup=button()),
        emu,
    )
    for url, reason in (
        ("http://localhost:8080", "Wrong HTTP URL"),
        ("ftp://example.com", "Unsupported URL protocol"),
    ):
        await raises(
            BadRequest,
            f"Bad Request: inline keyboard button URL '{url}' is invalid: {reason}",
            bot.send_message(USER, "x", reply_markup=button(url=url)),
            emu,
        )
    await bot.send_message(USER, "x", reply_markup=button(url="tg://resolve?domain=casualty_bot"))


# -- edits and deletes ------------------------------------------------------------------------


async def test_edit_message_text(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    message = await bot.send_message(USER, "<b>bir</b>", parse_mode="HTML", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text(
        "<i>iki</i>", USER, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD
    )
    assert isinstance(edited, type(message))
    assert edited.text == "iki" and edited.edit_date is not None
    await raises(
        BadRequest,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
        bot.edit_message_text(
            "<i>iki</i>", USER, message.message_id, parse_mode="HTML", reply_markup=KEYBOARD
        ),
        emu,
    )
    # the same text without reply_markup removes the keyboard: that is a change
    await bot.edit_message_text("<i>iki</i>", USER, message.message_id, parse_mode="HTML")
    assert "reply_markup" not in emu.chat_messages(USER)[0]
    await raises(
        BadRequest,
        "Bad Request: message to edit not found",
        bot.edit_message_text("x", USER, 999),
        emu,
    )
    await raises(
        BadRequest,
        "Bad Request: message text is empty",
        bot.edit_message_text(" ", USER, message.message_id),
        emu,
    )
    assert [s.method for s in emu.sent] == ["sendMessage", "editMessageText", "editMessageText"]
    assert emu.chat_messages(USER)[0]["text"] == "iki"


async def test_edit_reply_markup_and_delete(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    message = await bot.send_message(USER, "x")
    await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=KEYBOARD)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=KEYBOARD)
    user_message = emu.user_sends(USER, "salam")["message"]
    await raises(
        BadRequest,
        "Bad Request: message can't be edited",
        bot.edit_message_text("y", USER, user_message["message_id"]),
        emu,
    )
    assert await bot.delete_message(USER, message.message_id) is True
    await raises(
        BadRequest,
        "Bad Request: message to delete not found",
        bot.delete_message(USER, message.message_id),
        emu,
    )
    assert emu.chat_messages(USER) == []
    assert emu.sent[-1].method == "deleteMessage"


# -- users who block the bot, groups that remove it -----------------------------------------


async def test_forbidden(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    emu.user_blocks_bot(USER)
    await raises(
        Forbidden, "Forbidden: bot was blocked by the user", bot.send_message(USER, "x"), emu
    )
    await raises(
        Forbidden,
        "Forbidden: bot was blocked by the user",
        bot.send_chat_action(USER, "typing"),
        emu,
    )
    emu.user_unblocks_bot(USER)
    await bot.send_message(USER, "x")
    emu.deactivate_user(USER)
    await raises(Forbidden, "Forbidden: user is deactivated", bot.send_message(USER, "x"), emu)
    emu.add_private_chat(7)
    emu.add_group_chat(-555, "Köhnə qrup", member_ids=[7])
    emu.remove_bot_from_group(-555)
    await raises(
        Forbidden,
        "Forbidden: bot was kicked from the group chat",
        bot.send_message(-555, "x"),
        emu,
    )
    emu.add_group_chat(GROUP, "Super", member_ids=[7])
    emu.remove_bot_from_group(GROUP, kicked=False)
    await raises(
        Forbidden,
        "Forbidden: bot is not a member of the supergroup chat",
        bot.send_message(GROUP, "x"),
        emu,
    )


async def test_blocking_queues_my_chat_member_updates(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    blocked = emu.user_blocks_bot(USER)
    unblocked = emu.user_unblocks_bot(USER)
    assert unblocked["update_id"] == blocked["update_id"] + 1
    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [blocked["update_id"], unblocked["update_id"]]
    change = updates[0].my_chat_member
    assert change is not None
    assert change.from_user.id == USER
    assert change.old_chat_member.status == ChatMember.MEMBER
    assert change.new_chat_member.status == ChatMember.BANNED
    assert change.new_chat_member.user.id == emu.bot_id
    assert updates[1].my_chat_member is not None
    assert updates[1].my_chat_member.new_chat_member.status == ChatMember.MEMBER
    with pytest.raises(ValueError, match="blocked the bot"):
        emu.user_blocks_bot(USER)
        emu.user_sends(USER, "hi")


# -- rate limits -------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_private_chat_flood_limit() -> None:
    now = [0.0]
    async with BotAPIEmulator(clock=lambda: now[0]) as emu:
        emu.add_private_chat(USER)
        async with Bot(emu.token, base_url=f"{emu.base_url}/bot") as client:
            for _ in range(5):  # the burst
                await client.send_message(USER, "x")
            error = await raises(
                RetryAfter,
                "Too Many Requests: retry after 1",
                client.send_message(USER, "x"),
                emu,
            )
            assert isinstance(error, RetryAfter)
            assert error.retry_after in (1, dtm.timedelta(seconds=1))
            assert emu.errors[-1].http_status == 429
            assert emu.errors[-1].response["parameters"] == {"retry_after": 1}
            now[0] = 1.0
            await client.send_message(USER, "x")
        assert emu.count_429 == 1
        assert emu.limiter.chats_over_limit() == []


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_group_flood_limit_and_non_counting_methods() -> None:
    now = [0.0]
    async with BotAPIEmulator(clock=lambda: now[0]) as emu:
        emu.add_private_chat(USER)
        emu.add_group_chat(GROUP, "Qrup", member_ids=[USER])
        async with Bot(emu.token, base_url=f"{emu.base_url}/bot") as client:
            for _ in range(20):
                await client.send_message(GROUP, "x")
            with pytest.raises(RetryAfter):
                await client.send_message(GROUP, "x")
            assert emu.errors[-1].description == "Too Many Requests: retry after 3"
            # reading updates, answering and setting commands are not limited
            for _ in range(10):
                await client.get_updates(timeout=0)
                await client.set_my_commands([("start", "Start")])
                await client.send_chat_action(GROUP, "typing")
        assert emu.count_429 == 1


async def test_scaled_limits_allow_fast_bursts_and_are_never_exceeded() -> None:
    limits = RateLimits().scaled(1000)
    assert limits.private_per_second == 1000 and limits.group_per_minute == 20_000
    async with BotAPIEmulator(limits=limits) as emu:
        for user_id in range(1, 11):
            emu.add_private_chat(user_id)
        async with Bot(emu.token, base_url=f"{emu.base_url}/bot") as client:
            for index in range(200):
                await client.send_message(index % 10 + 1, f"#{index}")
        assert emu.count_429 == 0
        assert emu.limiter.chats_over_limit() == []
        assert len(emu.limiter.sends[1]) == 20  # every send to chat 1 was accepted


def test_limiter_with_a_fake_clock() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimits(), clock=lambda: now[0])
    assert all(limiter.acquire(1) is None for _ in range(5))
    assert limiter.acquire(1) == 1
    now[0] = 0.5
    assert limiter.acquire(1) == 1  # half a token
    now[0] = 1.0
    assert limiter.acquire(1) is None
    assert limiter.count_429 == 2
    # the global limit: 30 a second over all chats
    overall = RateLimiter(RateLimits(), clock=lambda: now[0])
    for chat in range(100, 130):
        assert overall.acquire(chat) is None
    assert overall.acquire(131) == 1
    assert overall.acquire(-131) == 1
    assert limiter.chats_over_limit() == []
    # 1,000 sends at the scaled rate are all accepted
    fast = RateLimiter(RateLimits().scaled(100), clock=lambda: now[0])
    for index in range(1000):
        now[0] += 0.011
        assert fast.acquire(-(index % 4) - 1, "editMessageText") is None
    assert fast.count_429 == 0
    assert fast.chats_over_limit() == []
    # a send log that breaks the limit is found
    assert fast.chats_over_limit(RateLimits()) != []
    assert RateLimiter.counts("sendDocument") and not RateLimiter.counts("getUpdates")
    custom = RateLimiter(RateLimits(private_burst=1, retry_after_seconds=7), clock=lambda: 0.0)
    assert custom.acquire(5) is None and custom.acquire(5) == 7
    disabled = RateLimiter(RateLimits(enabled=False), clock=lambda: 0.0)
    assert all(disabled.acquire(5) is None for _ in range(100))


# -- files -----------------------------------------------------------------------------------


async def test_document_upload_and_download(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    data = "rayon,ölü\nAğdam,3\n".encode()
    message = await bot.send_document(
        USER, io.BytesIO(data), filename="mina.csv", caption="<b>Hesabat</b>", parse_mode="HTML"
    )
    assert message.document is not None
    assert message.document.file_name == "mina.csv"
    assert message.caption == "Hesabat"
    sent = emu.sent[-1]
    assert (sent.document, sent.filename, sent.mime_type) == (data, "mina.csv", "text/csv")
    file = await bot.get_file(message.document.file_id)
    assert file.file_path is not None and file.file_path.startswith(emu.base_url)
    assert bytes(await file.download_as_bytearray()) == data
    # resending by file_id works; an unknown id does not
    again = await bot.send_document(USER, message.document.file_id)
    assert again.document is not None and again.document.file_id == message.document.file_id
    await raises(BadRequest, "Bad Request: invalid file_id", bot.get_file("nope"), emu)
    await raises(
        BadRequest,
        "Bad Request: wrong file identifier/HTTP URL specified",
        bot.send_document(USER, "nope"),
        emu,
    )


async def test_user_document_can_be_downloaded(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    update = emu.user_sends_document(USER, "data.csv", b"a,b\n1,2\n", caption="/import")
    document = update["message"]["document"]
    assert (document["file_name"], document["mime_type"]) == ("data.csv", "text/csv")
    (received,) = await bot.get_updates(timeout=0)
    assert received.message is not None and received.message.document is not None
    file = await received.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"
    async with httpx.AsyncClient() as client:
        missing = await client.get(f"{emu.base_url}/file/bot{emu.token}/documents/none.csv")
    assert missing.status_code == 404


async def test_photos_and_captions(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    message = await bot.send_photo(USER, png(40, 30), caption="x" * 1024)
    assert message.photo[-1].width == 40 and message.photo[-1].height == 30
    assert emu.sent[-1].photo == png(40, 30)
    await raises(
        BadRequest,
        "Bad Request: message caption is too long",
        bot.send_photo(USER, png(4, 4), caption="x" * 1025),
        emu,
    )
    await raises(
        BadRequest, "Bad Request: IMAGE_PROCESS_FAILED", bot.send_photo(USER, b"not a picture"), emu
    )
    await bot.edit_message_caption(
        USER, message.message_id, caption="<i>yeni</i>", parse_mode="HTML"
    )
    assert emu.chat_messages(USER)[0]["caption"] == "yeni"


# -- chats, commands, queries ----------------------------------------------------------------


async def test_chats_and_members(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    emu.add_private_chat(7)
    emu.add_group_chat(GROUP, "Qrup", member_ids=[USER], admin_ids=[7], bot_is_admin=True)
    chat = await bot.get_chat(GROUP)
    assert (chat.id, chat.type, chat.title) == (GROUP, "supergroup", "Qrup")
    assert (await bot.get_chat(USER)).username == "ali"
    assert (await bot.get_chat_member(GROUP, USER)).status == ChatMember.MEMBER
    assert (await bot.get_chat_member(GROUP, 7)).status == ChatMember.ADMINISTRATOR
    assert (await bot.get_chat_member(GROUP, emu.bot_id)).status == ChatMember.ADMINISTRATOR
    assert (await bot.get_chat_member(USER, USER)).status == ChatMember.MEMBER
    await raises(BadRequest, "Bad Request: user not found", bot.get_chat_member(GROUP, 5), emu)
    assert await bot.get_chat_member_count(GROUP) == 3
    await bot.send_chat_action(USER, "upload_document")
    assert emu.chat_actions == [(USER, "upload_document")]
    await raises(
        BadRequest,
        "Bad Request: wrong parameter action in request",
        bot.send_chat_action(USER, "dancing"),
        emu,
    )
    assert await bot.set_chat_menu_button(USER, MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(USER), MenuButtonCommands)


async def test_commands_per_scope_and_language(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    await bot.set_my_commands([("start", "Başla"), ("help", "Kömək")], language_code="az")
    await bot.set_my_commands([("start", "Start")])
    scope = BotCommandScopeChat(USER)
    await bot.set_my_commands([("stats", "Stats")], scope=scope)
    assert [c.command for c in await bot.get_my_commands(language_code="az")] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert [c.command for c in await bot.get_my_commands(scope=scope)] == ["stats"]
    assert emu.get_commands(language_code="az")[1] == {"command": "help", "description": "Kömək"}
    await bot.delete_my_commands(scope=scope)
    assert await bot.get_my_commands(scope=scope) == ()
    invalid = {
        "Start": "Bad Request: BOT_COMMAND_INVALID",
        "with-dash": "Bad Request: BOT_COMMAND_INVALID",
        "x" * 33: "Bad Request: command length must not exceed 32",
    }
    for command, description in invalid.items():
        await raises(BadRequest, description, bot.set_my_commands([(command, "d")]), emu)
    await raises(
        BadRequest,
        "Bad Request: command description must be non-empty",
        bot.set_my_commands([("start", " ")]),
        emu,
    )
    await raises(
        BadRequest,
        "Bad Request: command description length must not exceed 256",
        bot.set_my_commands([("start", "d" * 257)]),
        emu,
    )
    await raises(
        BadRequest,
        "Bad Request: BOT_COMMANDS_TOO_MUCH",
        bot.set_my_commands([(f"c{i}", "d") for i in range(101)]),
        emu,
    )
    await raises(
        BadRequest,
        "Bad Request: invalid language code specified",
        bot.set_my_commands([("start", "d")], language_code="aze"),
        emu,
    )
    assert await bot.set_my_description("Mina qurbanları", language_code="az")
    assert (await bot.get_my_description("az")).description == "Mina qurbanları"
    assert await bot.set_my_short_description("Qısa")


async def test_callback_queries(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    message = await bot.send_message(USER, "x", reply_markup=KEYBOARD)
    update = emu.user_presses(USER, message.message_id, "d:1")
    forged = emu.user_presses(USER, message.message_id, "not:on:the:message")
    with pytest.raises(ValueError, match="no message 99"):
        emu.user_presses(USER, 99, "d:1")
    updates = await bot.get_updates(timeout=0)
    query = updates[0].callback_query
    assert query is not None and query.data == "d:1" and query.from_user.id == USER
    assert query.message is not None and query.message.message_id == message.message_id
    assert updates[1].callback_query is not None
    assert updates[1].callback_query.data == forged["callback_query"]["data"]
    assert await query.answer("Tamam")
    assert emu.callback_answers[query.id]["text"] == "Tamam"
    await raises(
        BadRequest,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
        bot.answer_callback_query(query.id),
        emu,
    )
    assert update["update_id"] == updates[0].update_id


async def test_inline_queries(emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]) -> None:
    update = emu.user_inline_query(USER, "Ağdam")
    query_id = update["inline_query"]["id"]

    def article(index: int, text: str = "x") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            str(index), "T", InputTextMessageContent(text, parse_mode="HTML")
        )

    await raises(
        BadRequest,
        "Bad Request: RESULTS_TOO_MUCH",
        bot.answer_inline_query(query_id, [article(i) for i in range(51)]),
        emu,
    )
    await raises(
        BadRequest,
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
        bot.answer_inline_query(query_id, [article(1, "<x>")]),
        emu,
    )
    assert await bot.answer_inline_query(query_id, [article(i) for i in range(50)])
    assert len(emu.inline_answers[query_id]["results"]) == 50


# -- getUpdates and webhooks -----------------------------------------------------------------


async def test_get_updates_semantics(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    ids = [emu.user_sends(USER, f"m{i}")["update_id"] for i in range(5)]
    assert ids == list(range(ids[0], ids[0] + 5))
    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    # an offset confirms (drops) every earlier update
    assert [u.update_id for u in await bot.get_updates(offset=ids[2])] == ids[2:]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[-1:]
    assert len(emu.pending_updates) == 1
    assert emu.requests[-1].params == {"offset": -1}
    # allowed_updates filters
    emu.user_inline_query(USER, "q")
    assert [
        u.inline_query is not None
        for u in await bot.get_updates(offset=ids[-1] + 1, allowed_updates=["inline_query"])
    ] == [True]


async def test_long_polling_returns_as_soon_as_an_update_is_queued(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await emu.wait_until(lambda: emu._poll_generation == 1)
    update = emu.user_sends(USER, "/start")
    (received,) = await poll
    assert time.monotonic() - started < 2
    assert received.update_id == update["update_id"]
    await emu.wait_update_delivered(update["update_id"], timeout=1)
    assert received.message is not None and received.message.text == "/start"
    assert received.message.entities[0].type == "bot_command"
    empty_started = time.monotonic()
    assert await bot.get_updates(offset=update["update_id"] + 1, timeout=1) == ()
    assert time.monotonic() - empty_started >= 0.9


async def test_second_get_updates_terminates_the_first(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await emu.wait_until(lambda: emu._poll_generation == 1)
    async with Bot(emu.token, base_url=f"{emu.base_url}/bot") as other:
        second = asyncio.create_task(other.get_updates(timeout=10))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        emu.user_sends(USER, "x")
        assert len(await second) == 1


async def test_webhook_conflict_and_info(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    assert await bot.set_webhook("https://example.com/hook", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook"
    assert emu.requests[-2].response["description"] == "Webhook was set"
    await raises(
        Conflict,
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
        "delete the webhook first",
        bot.get_updates(),
        emu,
    )
    await raises(
        BadRequest,
        "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        bot.set_webhook("http://example.com/hook"),
        emu,
    )
    emu.user_sends(USER, "queued")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert emu.pending_updates == []
    assert await bot.get_updates() == ()


async def test_webhook_delivery_on_loopback(
    emu: BotAPIEmulator, bot: Bot, private: dict[str, Any]
) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        if fail_first[0]:
            fail_first[0] = False
            return web.Response(status=500)
        received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        update = emu.user_sends(USER, "salam")
        await emu.wait_update_delivered(update["update_id"], timeout=5)
        assert received == [(update, "s3cret")]
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message is not None and "500" in info.last_error_message
        await bot.delete_webhook()
    finally:
        await runner.cleanup()


# -- a real Application ---------------------------------------------------------------------


@pytest.fixture
async def application(
    emu: BotAPIEmulator,
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    app = (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(f"{emu.base_url}/bot")
        .base_file_url(f"{emu.base_url}/file/bot")
        .build()
    )
    yield app
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


async def start_polling(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=5)


async def test_command_reaches_a_command_handler(
    emu: BotAPIEmulator,
    application: Application[Any, Any, Any, Any, Any, Any],
    private: dict[str, Any],
) -> None:
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append(update.effective_message.text or "")
        await update.effective_message.reply_text(
            "<b>Xoş gəldiniz!</b>", parse_mode="HTML", reply_markup=KEYBOARD
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Seçildi: {query.data}")

    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    await start_polling(application)
    update = emu.user_sends(USER, "/start@casualty_bot")
    await emu.wait_update_delivered(update["update_id"])
    (reply,) = await emu.wait_for_sent(1, since=0)
    assert seen == ["/start@casualty_bot"]
    assert (reply.chat_id, reply.plain, reply.entities) == (
        USER,
        "Xoş gəldiniz!",
        [{"type": "bold", "offset": 0, "length": 13}],
    )
    emu.user_presses(USER, reply.message_id, "d:1")
    (edit,) = await emu.wait_for_sent(1, since=1)
    assert (edit.method, edit.plain) == ("editMessageText", "Seçildi: d:1")
    assert [r.method for r in emu.requests if r.method == "answerCallbackQuery"] == [
        "answerCallbackQuery"
    ]
    assert emu.errors == []


async def test_blocked_user_update_reaches_the_application(
    emu: BotAPIEmulator,
    application: Application[Any, Any, Any, Any, Any, Any],
    private: dict[str, Any],
) -> None:
    statuses: list[str] = []
    done = asyncio.Event()

    async def changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)
        done.set()

    application.add_handler(ChatMemberHandler(changed, ChatMemberHandler.MY_CHAT_MEMBER))
    await start_polling(application)
    emu.user_blocks_bot(USER)
    await asyncio.wait_for(done.wait(), 5)
    assert statuses == ["kicked"]


async def test_stop_answers_a_pending_long_poll() -> None:
    emu = BotAPIEmulator()
    await emu.start()
    async with Bot(emu.token, base_url=f"{emu.base_url}/bot") as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await emu.wait_until(lambda: emu._poll_generation == 1)
        started = time.monotonic()
        await emu.stop()
        assert await poll == ()
        assert time.monotonic() - started < 2
    assert not emu.running


def test_unknown_users_and_chats_are_refused() -> None:
    emu = BotAPIEmulator()
    checks: list[Callable[[], object]] = [
        lambda: emu.user_sends(5, "x"),
        lambda: emu.add_group_chat(5, "positive"),
        lambda: emu.add_private_chat(-5),
    ]
    for check in checks:
        with pytest.raises(ValueError):
            check()
    emu.add_private_chat(5)
    emu.add_group_chat(-7, "Qrup")
    with pytest.raises(ValueError, match="not a member"):
        emu.user_sends(5, "x", chat_id=-7)
    with pytest.raises(RuntimeError):
        _ = emu.base_url
