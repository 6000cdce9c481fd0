"""The request checker against the machine-readable Bot API, and the emulator's spec mode."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot.emulator import BotAPIEmulator, UploadedFile, check_object, check_request, load_spec
from bot.emulator.spec import SpecChecker, decode_params

KEYBOARD = {"inline_keyboard": [[{"text": "Ağdam", "callback_data": "d:1"}]]}


def test_load_spec_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert load_spec(tmp_path / "api.json") is None


def test_load_spec_rejects_other_json(tmp_path: Path) -> None:
    path = tmp_path / "api.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a Bot API spec"):
        load_spec(path)


def test_spec_structure(api_spec: dict[str, Any]) -> None:
    send = api_spec["methods"]["sendMessage"]
    fields = {field["name"]: field for field in send["fields"]}
    assert fields["chat_id"]["types"] == ["Integer", "String"]
    assert fields["text"]["required"] is True
    assert "Message" in api_spec["types"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("getMe", {}),
        ("sendMessage", {"chat_id": 42, "text": "Salam"}),
        ("sendmessage", {"chat_id": "@channel", "text": "x", "parse_mode": "HTML"}),
        (
            "sendMessage",
            {
                "chat_id": -100123,
                "text": "x",
                "reply_markup": KEYBOARD,
                "entities": [{"type": "bold", "offset": 0, "length": 1}],
                "reply_parameters": {"message_id": 3},
                "disable_notification": True,
            },
        ),
        ("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": {"remove_keyboard": True}}),
        (
            "setMyCommands",
            {
                "commands": [{"command": "start", "description": "Start"}],
                "scope": {"type": "chat", "chat_id": 42},
                "language_code": "az",
            },
        ),
        ("getUpdates", {"offset": 5, "timeout": 10, "allowed_updates": ["message"]}),
        ("sendDocument", {"chat_id": 1, "document": UploadedFile("a.csv", b"1", "text/csv")}),
        ("sendPhoto", {"chat_id": 1, "photo": "AgACAgIAAxkBAAI"}),
        ("setChatMenuButton", {"menu_button": {"type": "commands"}}),
        (
            "answerInlineQuery",
            {
                "inline_query_id": "1",
                "results": [
                    {
                        "type": "article",
                        "id": "a",
                        "title": "T",
                        "input_message_content": {"message_text": "x", "parse_mode": "HTML"},
                    }
                ],
            },
        ),
    ],
)
def test_good_requests(api_spec: dict[str, Any], method: str, params: dict[str, Any]) -> None:
    assert check_request(api_spec, method, params) == []


@pytest.mark.parametrize(
    ("method", "params", "problem"),
    [
        ("sendMesage", {}, 'unknown method "sendMesage"'),
        ("sendMessage", {"chat_id": 1, "text": "x", "colour": "red"}, 'unknown parameter "colour"'),
        ("sendMessage", {"chat_id": 1}, 'missing required parameter "text" of sendMessage'),
        (
            "sendMessage",
            {"chat_id": [1], "text": "x"},
            'parameter "chat_id" must be Integer or String, got Array',
        ),
        ("sendMessage", {"chat_id": 1, "text": 5}, 'parameter "text" must be String, got Integer'),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "disable_notification": "yes"},
            'parameter "disable_notification" must be Boolean, got String',
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"txt": "a"}]]}},
            'unknown field "txt" in reply_markup.inline_keyboard[0][0] (InlineKeyboardButton)',
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"url": "a"}]]}},
            'missing required field "text" in reply_markup.inline_keyboard[0][0]',
        ),
        (
            "sendMessage",
            {
                "chat_id": 1,
                "text": "x",
                "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": 1}]]},
            },
            "reply_markup.inline_keyboard[0][0].callback_data must be String, got Integer",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": {"text": "a"}}},
            "reply_markup.inline_keyboard must be Array of Array of InlineKeyboardButton",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "x", "entities": [{"type": "bold", "offset": 0}]},
            'missing required field "length" in entities[0] (MessageEntity)',
        ),
        (
            "setMyCommands",
            {"commands": [{"command": "a", "description": "b"}], "scope": {"type": "planet"}},
            'scope.type "planet" is not a known BotCommandScope type',
        ),
        (
            "setMyCommands",
            {"commands": [], "scope": {"type": "chat"}},
            'missing required field "chat_id" in scope (BotCommandScopeChat)',
        ),
        (
            "sendDocument",
            {"chat_id": 1, "document": 12},
            'parameter "document" must be InputFile or String, got Integer',
        ),
    ],
)
def test_bad_requests(
    api_spec: dict[str, Any], method: str, params: dict[str, Any], problem: str
) -> None:
    problems = check_request(api_spec, method, params)
    assert any(problem in found for found in problems), problems


def test_decode_form_values_by_spec(api_spec: dict[str, Any]) -> None:
    form = {
        "chat_id": "-100123",
        "text": "123",
        "disable_notification": "true",
        "reply_markup": '{"inline_keyboard": []}',
        "entities": "not json",
    }
    decoded = decode_params("sendMessage", form, api_spec)
    assert decoded == {
        "chat_id": -100123,
        "text": "123",
        "disable_notification": True,
        "reply_markup": {"inline_keyboard": []},
        "entities": "not json",
    }
    assert check_request(api_spec, "sendMessage", decoded) == [
        'parameter "entities" must be Array of MessageEntity, got String'
    ]
    # without a spec, the emulator's own table decodes the same parameters
    assert decode_params("sendMessage", form) == decoded
    assert decode_params("sendMessage", {"chat_id": "@channel"}) == {"chat_id": "@channel"}


async def test_emulator_objects_match_the_spec(
    api_spec: dict[str, Any], emu: BotAPIEmulator, bot: Bot
) -> None:
    user = emu.add_private_chat(42, first_name="Əli", username="ali")
    assert check_object(api_spec, "User", user) == []
    emu.add_group_chat(-100500, "Mina", member_ids=[42], admin_ids=[43], bot_is_admin=True)
    await bot.send_message(
        42,
        "<b>Salam</b>",
        parse_mode="HTML",
        reply_markup=InlineKeyboardMarkup.from_button(InlineKeyboardButton("x", callback_data="y")),
    )
    await bot.send_document(
        42, io.BytesIO(b"a,b"), filename="a.csv", caption="<i>c</i>", parse_mode="HTML"
    )
    await bot.get_chat(42)
    await bot.get_chat_member(-100500, 43)
    await bot.get_chat_member(-100500, emu.bot_id)
    await bot.get_me()
    await bot.get_webhook_info()
    update = emu.user_presses(42, 1, "y")
    emu.user_blocks_bot(42)
    checked = {
        "sendMessage": "Message",
        "sendDocument": "Message",
        "getChat": "ChatFullInfo",
        "getChatMember": "ChatMember",
        "getMe": "User",
        "getWebhookInfo": "WebhookInfo",
    }
    for request in emu.requests:
        if request.method in checked:
            assert check_object(api_spec, checked[request.method], request.response["result"]) == []
    for queued in emu.pending_updates:
        assert check_object(api_spec, "Update", queued) == []
    assert update["callback_query"]["message"]["reply_markup"] == {
        "inline_keyboard": [[{"text": "x", "callback_data": "y"}]]
    }


async def test_spec_mode_passes_ptb_and_refuses_bad_requests(api_spec: dict[str, Any]) -> None:
    async with BotAPIEmulator(spec=api_spec) as emu:
        emu.add_private_chat(42)
        async with Bot(
            emu.token, base_url=f"{emu.base_url}/bot", base_file_url=f"{emu.base_url}/file/bot"
        ) as bot:
            await bot.send_message(
                42,
                "x",
                reply_markup=InlineKeyboardMarkup.from_button(
                    InlineKeyboardButton("a", url="https://t.me/casualty_bot")
                ),
            )
            await bot.set_my_commands([("start", "Start")], language_code="az")
            await bot.send_document(42, io.BytesIO(b"1"), filename="a.txt")
            await bot.get_updates(timeout=0)
            assert emu.spec_problems == []
            # PTB lets api_kwargs through unchecked; the emulator does not
            with pytest.raises(BadRequest, match='Unknown parameter "colour"'):
                await bot.send_message(42, "x", api_kwargs={"colour": "red"})
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{emu.base_url}/bot{emu.token}/sendMessage", json={"chat_id": 42}
            )
        assert response.status_code == 400
        assert response.json() == {
            "ok": False,
            "error_code": 400,
            "description": 'Bad Request: missing required parameter "text" of sendMessage',
        }
        assert emu.spec_problems == [
            'sendMessage: unknown parameter "colour" of sendMessage',
            'sendMessage: missing required parameter "text" of sendMessage',
        ]


def test_checker_is_reusable(api_spec: dict[str, Any]) -> None:
    checker = SpecChecker(api_spec)
    assert checker.method_name("SENDMESSAGE") == "sendMessage"
    assert checker.method_name("nope") is None
    assert checker.check_object("InlineKeyboardMarkup", KEYBOARD) == []
    assert checker.check_object("ChatMember", {"status": "left"}) == [
        'missing required field "user" in ChatMember (ChatMemberLeft)'
    ]
