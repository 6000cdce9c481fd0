"""Checks of reply markup, bot commands and images, with Telegram's error descriptions."""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from typing import Any

from bot.emulator.errors import ApiError
from bot.emulator.html import normalize_link

__all__ = [
    "image_size",
    "validate_commands",
    "validate_language_code",
    "validate_reply_markup",
]

# Inline keyboard button fields that give the button its action ("exactly one" of them).
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE = re.compile(r"(?:[a-z]{2})?")


def _bad(description: str) -> ApiError:
    return ApiError.bad_request(description)


def _validate_button_url(value: object, what: str = "inline keyboard button") -> None:
    if not isinstance(value, str):
        raise _bad(f'field "url" of the {what} must be of type String')
    try:
        normalize_link(value)
    except ValueError as exc:
        raise _bad(f"{what} URL '{value}' is invalid: {exc}") from None


def _validate_inline_button(button: object) -> None:
    if not isinstance(button, Mapping):
        raise _bad("InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str):
        raise _bad('field "text" of the InlineKeyboardButton must be of type String')
    if not text.strip():
        raise _bad("BUTTON_TEXT_INVALID")
    actions = [name for name in _BUTTON_ACTIONS if button.get(name) is not None]
    if not actions:
        raise _bad("text buttons are unallowed in the inline keyboard")
    if len(actions) > 1:
        # Telegram silently uses the first field it knows; the emulator refuses the ambiguity.
        raise _bad(
            "can't parse inline keyboard button: exactly one of the optional fields must be "
            f"used, found {', '.join(actions)}"
        )
    action = actions[0]
    value = button[action]
    if action == "url":
        _validate_button_url(value)
    elif action == "callback_data":
        if not isinstance(value, str):
            raise _bad('field "callback_data" of the InlineKeyboardButton must be of type String')
        if not 1 <= len(value.encode("utf-8")) <= 64:
            raise _bad("BUTTON_DATA_INVALID")
    elif action in ("web_app", "login_url"):
        url = value.get("url") if isinstance(value, Mapping) else None
        if not isinstance(url, str) or not url.lower().startswith("https://"):
            raise _bad(f"{action.replace('_', ' ')} URL must be an HTTPS URL")
        _validate_button_url(url)
    elif action in ("switch_inline_query", "switch_inline_query_current_chat") and not isinstance(
        value, str
    ):
        raise _bad(f'field "{action}" of the InlineKeyboardButton must be of type String')


def _rows(markup: Mapping[str, Any], field: str, type_name: str) -> list[list[Any]]:
    rows = markup.get(field)
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad(f'field "{field}" of the {type_name} should be an Array of Arrays')
    return rows


def validate_reply_markup(value: object) -> dict[str, Any] | None:
    """The reply markup as Telegram accepts it (None if absent); raises ApiError."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        raise _bad("can't parse reply keyboard markup JSON object")
    if not isinstance(value, Mapping):
        raise _bad("object expected as reply markup")
    markup = dict(value)
    if "inline_keyboard" in markup:
        for row in _rows(markup, "inline_keyboard", "InlineKeyboardMarkup"):
            for button in row:
                _validate_inline_button(button)
    elif "keyboard" in markup:
        for row in _rows(markup, "keyboard", "ReplyKeyboardMarkup"):
            for button in row:
                text = button if isinstance(button, str) else None
                if isinstance(button, Mapping):
                    text = button.get("text")
                if not isinstance(text, str) or not text:
                    raise _bad("keyboard button text must be non-empty")
    elif "remove_keyboard" not in markup and "force_reply" not in markup:
        return None  # Telegram ignores an object that is no known markup
    return markup


def validate_language_code(value: object) -> str:
    code = "" if value is None else value
    if not isinstance(code, str) or not _LANGUAGE.fullmatch(code):
        raise _bad("invalid language code specified")
    return code


def validate_commands(value: object) -> list[dict[str, str]]:
    """setMyCommands' list, trimmed as Telegram stores it; raises ApiError."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        raise _bad("can't parse commands JSON object")
    if not isinstance(value, list):
        raise _bad('field "commands" must be an Array')
    if len(value) > 100:
        raise _bad("BOT_COMMANDS_TOO_MUCH")
    result: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, Mapping):
            raise _bad("BotCommand must be an Object")
        command = item.get("command")
        description = item.get("description")
        if not isinstance(command, str) or not isinstance(description, str):
            raise _bad('BotCommand fields "command" and "description" must be of type String')
        command = command.strip()
        if command.startswith("/"):
            command = command[1:]
        if not command:
            raise _bad("command must be non-empty")
        if len(command) > 32:
            raise _bad("command length must not exceed 32")
        description = description.strip()
        if not description:
            raise _bad("command description must be non-empty")
        if len(description) > 256:
            raise _bad("command description length must not exceed 256")
        if not _COMMAND.fullmatch(command):
            raise _bad("BOT_COMMAND_INVALID")
        result.append({"command": command, "description": description})
    return result


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:
            index += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (length,) = struct.unpack(">H", data[index + 2 : index + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF, WebP or BMP image; None if it is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
    return None
