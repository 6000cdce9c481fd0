"""An in-process emulator of Telegram's Bot API for tests, the console demo and benchmarks."""

from bot.emulator.errors import ApiError
from bot.emulator.html import (
    EntityParseError,
    ParsedText,
    TextFormatError,
    message_length,
    parse_html,
    prepare_text,
    utf16_length,
)
from bot.emulator.limits import RateLimiter, RateLimits
from bot.emulator.models import RecordedRequest, SentMessage, StoredFile, UploadedFile
from bot.emulator.server import BotAPIEmulator
from bot.emulator.spec import SpecChecker, check_object, check_request, decode_params, load_spec
from bot.emulator.state import DEFAULT_TOKEN

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotAPIEmulator",
    "EntityParseError",
    "ParsedText",
    "RateLimiter",
    "RateLimits",
    "RecordedRequest",
    "SentMessage",
    "SpecChecker",
    "StoredFile",
    "TextFormatError",
    "UploadedFile",
    "check_object",
    "check_request",
    "decode_params",
    "load_spec",
    "message_length",
    "parse_html",
    "prepare_text",
    "utf16_length",
]
