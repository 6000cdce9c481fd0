"""Records the emulator keeps: uploaded files, requests and the messages the bot sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordedRequest", "SentMessage", "StoredFile", "UploadedFile"]


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    mime_type: str

    def __repr__(self) -> str:
        return (
            f"UploadedFile(filename={self.filename!r}, mime_type={self.mime_type!r}, "
            f"size={len(self.data)})"
        )


@dataclass(slots=True)
class StoredFile:
    """A file known to the emulator, downloadable at ``/file/bot<token>/<file_path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None
    url: str | None = None  # a file the bot gave as an HTTP URL (never fetched)

    def __repr__(self) -> str:
        return (
            f"StoredFile(file_id={self.file_id!r}, file_path={self.file_path!r}, "
            f"filename={self.filename!r}, size={len(self.data)})"
        )


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One Bot API call as the emulator received and answered it."""

    method: str  # canonical spelling, e.g. "sendMessage"
    params: dict[str, Any]
    http_status: int
    response: dict[str, Any]
    time: float  # the emulator's monotonic clock

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def description(self) -> str | None:
        value = self.response.get("description")
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, edited or deleted (one entry per successful call)."""

    method: str
    chat_id: int
    message_id: int
    text: str | None = None  # as sent, markup included
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)  # as Telegram stores them
    reply_markup: dict[str, Any] | None = None
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    mime_type: str | None = None
    plain: str | None = None  # text (or caption) after entity parsing
    message: dict[str, Any] | None = None  # the Message object returned to the bot
    time: float = 0.0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard's buttons, row by row."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or []
        return [button for row in rows for button in row]
