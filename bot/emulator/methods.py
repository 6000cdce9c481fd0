"""The Bot API methods the emulator implements, each validating as Telegram does."""

from __future__ import annotations

import contextvars
import copy
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.emulator.errors import MESSAGE_NOT_MODIFIED, QUERY_ID_INVALID, ApiError
from bot.emulator.html import ParsedText, TextFormatError, prepare_text, utf16_length
from bot.emulator.models import SentMessage, StoredFile, UploadedFile
from bot.emulator.state import DEFAULT_UPDATE_TYPES, ChatState, EmulatorState
from bot.emulator.validation import (
    image_size,
    validate_commands,
    validate_language_code,
    validate_reply_markup,
)

__all__ = ["BotAPIMethods", "Result"]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_PORTS = (80, 88, 443, 8443)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
_COPIED_KEYS = ("text", "entities", "photo", "document", "caption", "caption_entities")

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Result:
    """A successful result with a description (as setWebhook answers)."""

    value: Any
    description: str


#: Seconds the server holds the answer to the request being handled (set by slow sends; each
#: request is handled in a task of its own, so this is per request).
RESPONSE_DELAY: contextvars.ContextVar[float] = contextvars.ContextVar(
    "response_delay", default=0.0
)


def _bad(description: str) -> ApiError:
    return ApiError.bad_request(description)


def _text_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value
    raise _bad("can't parse text: a String is expected")


def _int_value(params: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f'parameter "{name}" must be a number')
    return value


def _bool_value(params: Mapping[str, Any], name: str) -> bool:
    value = params.get(name)
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _entities_key(text_key: str) -> str:
    """Where a Message keeps the entities of ``text_key`` ("text" or "caption")."""
    return "entities" if text_key == "text" else "caption_entities"


class BotAPIMethods(EmulatorState):
    """Handlers of Bot API methods: ``params`` in, result (or ApiError) out."""

    def method_table(self) -> dict[str, tuple[str, Handler]]:
        """Lower-cased method name -> (canonical name, handler)."""
        handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            "logOut": self.log_out,
            "close": self.close,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "copyMessage": self.copy_message,
            "forwardMessage": self.forward_message,
            "sendPhoto": self.send_photo,
            "sendDocument": self.send_document,
            "sendChatAction": self.send_chat_action,
            "getFile": self.get_file,
            "getChat": self.get_chat,
            "getChatMember": self.get_chat_member,
            "getChatMemberCount": self.get_chat_member_count,
            "answerCallbackQuery": self.answer_callback_query,
            "answerInlineQuery": self.answer_inline_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self.set_my_description,
            "getMyDescription": self.get_my_description,
            "setMyShortDescription": self.set_my_short_description,
            "getMyShortDescription": self.get_my_short_description,
            "setMyName": self.set_my_name,
            "getMyName": self.get_my_name,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
        }
        return {name.lower(): (name, handler) for name, handler in handlers.items()}

    # -- hooks the server overrides -------------------------------------------------------------

    async def _long_poll(self, limit: int, wait_seconds: float) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _webhook_changed(self) -> None:
        """Called after setWebhook/deleteWebhook."""

    # -- helpers --------------------------------------------------------------------------------

    def _resolve_chat(
        self, params: Mapping[str, Any], name: str = "chat_id", *, write: bool = False
    ) -> ChatState:
        value = params.get(name)
        if value is None or value == "":
            raise _bad(f"{name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat.chat.get("username", "").lower() == value[1:].lower():
                    return chat
            raise _bad("chat not found")
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad("chat not found")
        found = self._chats.get(value)
        if found is None:
            if write and value in self._users:
                # a user the bot knows (from a group) who never started it
                raise ApiError.forbidden("bot can't initiate conversation with a user")
            raise _bad("chat not found")
        return found

    def _writable_chat(self, params: Mapping[str, Any]) -> ChatState:
        chat = self._resolve_chat(params, write=True)
        self._check_can_write(chat)
        return chat

    def _check_can_write(self, chat: ChatState) -> None:
        if chat.type == "private":
            user = self._users[chat.id]
            if user.deactivated:
                raise ApiError.forbidden("user is deactivated")
            if user.blocked:
                raise ApiError.forbidden("bot was blocked by the user")
            return
        kind = f"{chat.type} chat"
        if chat.bot_status == "kicked":
            raise ApiError.forbidden(f"bot was kicked from the {kind}")
        if chat.bot_status == "left":
            raise ApiError.forbidden(f"bot is not a member of the {kind}")

    def _take_fault(self, chat: ChatState) -> None:
        """The next fault ``fail_sends`` set up for the chat, if any, for any request to it."""
        faults = self.faults.get(chat.id)
        if faults and (fault := faults.pop(0)) is not None:
            raise fault

    def _take_send(self, chat: ChatState, method: str) -> None:
        self._take_fault(chat)
        slow = self.slow.get(chat.id)
        if slow:
            RESPONSE_DELAY.set(slow.pop(0))
        retry_after = self.limiter.acquire(chat.id, method)
        if retry_after is not None:
            raise ApiError.too_many_requests(retry_after)

    @staticmethod
    def _format(
        params: Mapping[str, Any], key: str, entities_key: str, *, caption: bool = False
    ) -> ParsedText | None:
        text = _text_value(params.get(key))
        if text is None:
            return None
        entities = params.get(entities_key)
        if isinstance(entities, str) and entities:
            raise _bad(f"can't parse {entities_key} JSON object")
        if entities is not None and not isinstance(entities, list):
            raise _bad(f'field "{entities_key}" must be an Array')
        try:
            parsed = prepare_text(text, params.get("parse_mode"), entities)
        except TextFormatError as exc:
            raise _bad(exc.description) from None
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if utf16_length(parsed.text) > limit:
            raise _bad("message caption is too long" if caption else "message is too long")
        return parsed

    @classmethod
    def _required_text(cls, params: Mapping[str, Any], key: str) -> ParsedText:
        """The formatted message text at ``key`` (entities at "entities"); never empty."""
        parsed = cls._format(params, key, "entities")
        if parsed is None or not parsed.text:
            raise _bad("message text is empty")
        return parsed

    def _resolve_mentions(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """text_mention entities get their User; mentions of unknown users are dropped."""
        result = []
        for entity in entities:
            if entity["type"] == "text_mention":
                user = self._users.get(int(entity["user"]["id"]))
                if user is None:
                    continue
                entity = {**entity, "user": dict(user.user)}
            result.append(entity)
        return result

    def _text_parts(self, parsed: ParsedText, text_key: str) -> dict[str, Any]:
        parts: dict[str, Any] = {text_key: parsed.text}
        entities = self._resolve_mentions(parsed.entities)
        if entities:
            parts[_entities_key(text_key)] = entities
        return parts

    def _reply_to(self, chat: ChatState, params: Mapping[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        allow_without = _bool_value(params, "allow_sending_without_reply")
        target_chat = chat
        message_id: int | None
        if isinstance(reply, Mapping):
            raw_id = reply.get("message_id")
            if isinstance(raw_id, bool) or not isinstance(raw_id, int):
                raise _bad("can't parse reply parameters JSON object")
            message_id = raw_id
            allow_without = allow_without or reply.get("allow_sending_without_reply") is True
            if reply.get("chat_id") is not None:
                target_chat = self._resolve_chat(reply, "chat_id")
        elif reply is not None:
            raise _bad("can't parse reply parameters JSON object")
        else:
            message_id = _int_value(params, "reply_to_message_id")
        if message_id is None:
            return None
        replied = target_chat.messages.get(message_id)
        if replied is None:
            if allow_without:
                return None
            raise _bad("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _message(self, chat: ChatState, **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.new_message_id(),
            "from": dict(self.bot_user),
            "chat": dict(chat.chat),
            "date": int(time.time()),
        }
        message.update({key: value for key, value in content.items() if value is not None})
        chat.messages[message["message_id"]] = message
        return message

    @staticmethod
    def _stored_markup(markup: dict[str, Any] | None) -> dict[str, Any] | None:
        """Only inline keyboards are part of a Message."""
        return markup if markup is not None and "inline_keyboard" in markup else None

    def _record_sent(self, method: str, chat_id: int, message_id: int, **fields: Any) -> None:
        self.sent.append(
            SentMessage(
                method=method, chat_id=chat_id, message_id=message_id, time=self.clock(), **fields
            )
        )

    def _record_formatted(
        self,
        method: str,
        chat: ChatState,
        message: dict[str, Any],
        params: Mapping[str, Any],
        markup: dict[str, Any] | None,
        text_key: str,
        plain: str,
        **fields: Any,
    ) -> None:
        """Records a send/edit of a text or caption the bot formatted itself."""
        entities_key = _entities_key(text_key)
        self._record_sent(
            method,
            chat.id,
            message["message_id"],
            **{text_key: _text_value(params.get(text_key))},
            parse_mode=params.get("parse_mode"),
            **{entities_key: message.get(entities_key, [])},
            reply_markup=markup,
            plain=plain,
            message=copy.deepcopy(message),
            **fields,
        )

    @staticmethod
    def _chat_message(chat: ChatState, params: Mapping[str, Any], missing: str) -> dict[str, Any]:
        message_id = _int_value(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None:
            raise _bad(missing)
        return message

    def _bot_message(
        self, chat: ChatState, params: Mapping[str, Any], missing: str
    ) -> dict[str, Any]:
        if params.get("inline_message_id") not in (None, ""):
            raise _bad("MESSAGE_ID_INVALID")
        return self._chat_message(chat, params, missing)

    def _editable_message(self, params: Mapping[str, Any]) -> tuple[ChatState, dict[str, Any]]:
        """The chat and the bot's own message an editMessage* call targets."""
        if params.get("inline_message_id") not in (None, ""):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._writable_chat(params)
        message = self._bot_message(chat, params, "message to edit not found")
        if message["from"].get("id") != self.bot_id:
            raise _bad("message can't be edited")
        return chat, message

    @staticmethod
    def _unchanged(
        message: Mapping[str, Any],
        parts: Mapping[str, Any],
        text_key: str,
        stored_markup: dict[str, Any] | None,
    ) -> bool:
        entities_key = _entities_key(text_key)
        return (
            message.get(text_key) == parts.get(text_key)
            and message.get(entities_key, []) == parts.get(entities_key, [])
            and message.get("reply_markup") == stored_markup
        )

    def _apply_edit(
        self,
        chat: ChatState,
        message: dict[str, Any],
        method: str,
        replaced: tuple[str, ...],
        parts: Mapping[str, Any],
        stored_markup: dict[str, Any] | None,
    ) -> None:
        """Takes a send slot, then drops ``replaced`` keys and stores the new content."""
        self._take_send(chat, method)
        for key in replaced:
            message.pop(key, None)
        message.update(parts)
        if stored_markup is not None:
            message["reply_markup"] = stored_markup
        message["edit_date"] = int(time.time())

    # -- getMe, updates, webhook ---------------------------------------------------------------

    async def get_me(self, params: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def log_out(self, params: dict[str, Any]) -> Any:
        return True

    async def close(self, params: dict[str, Any]) -> Any:
        return True

    async def get_updates(self, params: dict[str, Any]) -> Any:
        if self.webhook.url:
            raise ApiError.conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first"
            )
        offset = _int_value(params, "offset", 0) or 0
        limit = min(100, max(1, _int_value(params, "limit", 100) or 100))
        timeout = max(0, _int_value(params, "timeout", 0) or 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = (
                frozenset(str(kind) for kind in allowed) if allowed else DEFAULT_UPDATE_TYPES
            )
        self._confirm(offset)
        return await self._long_poll(limit, timeout)

    async def set_webhook(self, params: dict[str, Any]) -> Any:
        url = _text_value(params.get("url")) or ""
        if not url:
            return await self.delete_webhook(params)
        match = re.fullmatch(r"(?i)(https?)://(\[[^\]]*\]|[^/:?#]*)(?::(\d+))?([/?#].*)?", url)
        if match is None:
            raise _bad("bad webhook: invalid webhook URL specified")
        scheme, host, port_text = match.group(1).lower(), match.group(2).lower(), match.group(3)
        loopback = host in _LOOPBACK_HOSTS
        if not loopback:
            # Telegram only calls HTTPS webhooks on a few ports; the emulator also allows
            # plain HTTP on loopback, where it posts the updates itself.
            if scheme != "https":
                raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
            port = int(port_text) if port_text else 443
            if port not in _WEBHOOK_PORTS:
                raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret not in (None, "") and (
            not isinstance(secret, str) or not _SECRET_TOKEN.fullmatch(secret)
        ):
            raise _bad("secret token contains unallowed characters")
        max_connections = _int_value(params, "max_connections", 40) or 40
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        if _bool_value(params, "drop_pending_updates"):
            self._updates.clear()
        allowed = params.get("allowed_updates")
        already = self.webhook.url == url
        self.webhook.url = url
        self.webhook.secret_token = secret if isinstance(secret, str) and secret else None
        self.webhook.max_connections = max_connections
        self.webhook.ip_address = params.get("ip_address")
        self.webhook.deliverable = loopback
        if isinstance(allowed, list):
            self.webhook.allowed_updates = [str(kind) for kind in allowed]
            self.allowed_updates = (
                frozenset(self.webhook.allowed_updates) if allowed else DEFAULT_UPDATE_TYPES
            )
        self._webhook_changed()
        return Result(True, "Webhook is already set" if already else "Webhook was set")

    async def delete_webhook(self, params: dict[str, Any]) -> Any:
        if _bool_value(params, "drop_pending_updates"):
            self._updates.clear()
        was_set = bool(self.webhook.url)
        self.webhook.url = ""
        self.webhook.deliverable = False
        self.webhook.secret_token = None
        self.webhook.last_error_date = None
        self.webhook.last_error_message = None
        self._webhook_changed()
        return Result(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def get_webhook_info(self, params: dict[str, Any]) -> Any:
        webhook = self.webhook
        info: dict[str, Any] = {
            "url": webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if webhook.url:
            info["max_connections"] = webhook.max_connections
            if webhook.ip_address:
                info["ip_address"] = webhook.ip_address
            if webhook.allowed_updates is not None:
                info["allowed_updates"] = list(webhook.allowed_updates)
            if webhook.last_error_date is not None:
                info["last_error_date"] = webhook.last_error_date
                info["last_error_message"] = webhook.last_error_message
        return info

    # -- messages -------------------------------------------------------------------------------

    async def send_message(self, params: dict[str, Any]) -> Any:
        parsed = self._required_text(params, "text")
        markup = validate_reply_markup(params.get("reply_markup"))
        chat = self._writable_chat(params)
        reply_to = self._reply_to(chat, params)
        self._take_send(chat, "sendMessage")
        message = self._message(
            chat,
            reply_to_message=reply_to,
            **self._text_parts(parsed, "text"),
            reply_markup=self._stored_markup(markup),
        )
        self._record_formatted("sendMessage", chat, message, params, markup, "text", parsed.text)
        return message

    async def edit_message_text(self, params: dict[str, Any]) -> Any:
        parsed = self._required_text(params, "text")
        markup = validate_reply_markup(params.get("reply_markup"))
        chat, message = self._editable_message(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        parts = self._text_parts(parsed, "text")
        stored_markup = self._stored_markup(markup)
        if self._unchanged(message, parts, "text", stored_markup):
            raise _bad(MESSAGE_NOT_MODIFIED)
        replaced = ("entities", "reply_markup")
        self._apply_edit(chat, message, "editMessageText", replaced, parts, stored_markup)
        self._record_formatted(
            "editMessageText", chat, message, params, markup, "text", parsed.text
        )
        return copy.deepcopy(message)

    async def edit_message_caption(self, params: dict[str, Any]) -> Any:
        parsed = self._format(params, "caption", "caption_entities", caption=True)
        markup = validate_reply_markup(params.get("reply_markup"))
        chat, message = self._editable_message(params)
        if not any(key in message for key in ("photo", "document", "video", "audio", "animation")):
            raise _bad("there is no caption in the message to edit")
        parts = self._text_parts(parsed, "caption") if parsed and parsed.text else {}
        stored_markup = self._stored_markup(markup)
        if self._unchanged(message, parts, "caption", stored_markup):
            raise _bad(MESSAGE_NOT_MODIFIED)
        replaced = ("caption", "caption_entities", "reply_markup")
        self._apply_edit(chat, message, "editMessageCaption", replaced, parts, stored_markup)
        plain = parts.get("caption", "")
        self._record_formatted(
            "editMessageCaption", chat, message, params, markup, "caption", plain
        )
        return copy.deepcopy(message)

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        markup = validate_reply_markup(params.get("reply_markup"))
        chat, message = self._editable_message(params)
        stored_markup = self._stored_markup(markup)
        if message.get("reply_markup") == stored_markup:
            raise _bad(MESSAGE_NOT_MODIFIED)
        self._apply_edit(
            chat, message, "editMessageReplyMarkup", ("reply_markup",), {}, stored_markup
        )
        self._record_sent(
            "editMessageReplyMarkup",
            chat.id,
            message["message_id"],
            text=message.get("text"),
            entities=message.get("entities", []),
            reply_markup=markup,
            plain=message.get("text", message.get("caption")),
            message=copy.deepcopy(message),
        )
        return copy.deepcopy(message)

    async def delete_message(self, params: dict[str, Any]) -> Any:
        chat = self._resolve_chat(params)
        message = self._bot_message(chat, params, "message to delete not found")
        from_bot = message["from"].get("id") == self.bot_id
        if (
            not from_bot
            and chat.type != "private"
            and chat.bot_status
            not in (
                "administrator",
                "creator",
            )
        ):
            raise _bad("message can't be deleted")
        del chat.messages[message["message_id"]]
        self._record_sent(
            "deleteMessage",
            chat.id,
            message["message_id"],
            text=message.get("text"),
            plain=message.get("text", message.get("caption")),
            message=copy.deepcopy(message),
        )
        return True

    def _source_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        source_chat = self._resolve_chat(params, "from_chat_id")
        return self._chat_message(source_chat, params, "message to copy not found")

    @staticmethod
    def _copied_content(source: Mapping[str, Any]) -> dict[str, Any]:
        """A deep copy of the content of a message that copyMessage/forwardMessage carry."""
        return {key: copy.deepcopy(value) for key, value in source.items() if key in _COPIED_KEYS}

    async def copy_message(self, params: dict[str, Any]) -> Any:
        source = self._source_message(params)
        caption = self._format(params, "caption", "caption_entities", caption=True)
        markup = validate_reply_markup(params.get("reply_markup"))
        chat = self._writable_chat(params)
        reply_to = self._reply_to(chat, params)
        self._take_send(chat, "copyMessage")
        content = self._copied_content(source)
        if caption is not None and "text" not in content:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._text_parts(caption, "caption") if caption.text else {})
        message = self._message(
            chat, reply_to_message=reply_to, **content, reply_markup=self._stored_markup(markup)
        )
        self._record_sent(
            "copyMessage",
            chat.id,
            message["message_id"],
            text=message.get("text"),
            entities=message.get("entities", []),
            caption=message.get("caption"),
            caption_entities=message.get("caption_entities", []),
            reply_markup=markup,
            plain=message.get("text", message.get("caption")),
            message=copy.deepcopy(message),
        )
        return {"message_id": message["message_id"]}

    async def forward_message(self, params: dict[str, Any]) -> Any:
        source = self._source_message(params)
        chat = self._writable_chat(params)
        self._take_send(chat, "forwardMessage")
        sender = source.get("from", {})
        content = self._copied_content(source)
        origin = {"type": "user", "sender_user": dict(sender), "date": source["date"]}
        message = self._message(chat, forward_origin=origin, **content)
        self._record_sent(
            "forwardMessage",
            chat.id,
            message["message_id"],
            text=message.get("text"),
            entities=message.get("entities", []),
            caption=message.get("caption"),
            plain=message.get("text", message.get("caption")),
            message=copy.deepcopy(message),
        )
        return message

    # -- files ----------------------------------------------------------------------------------

    def _input_file(
        self, params: Mapping[str, Any], name: str, folder: str
    ) -> tuple[StoredFile, UploadedFile | None]:
        value = params.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, UploadedFile):
            if not value.data:
                raise _bad("file must be non-empty")
            if len(value.data) > MAX_UPLOAD_SIZE:
                raise ApiError(413, "Request Entity Too Large")
            return (
                self._store_file(
                    value.data, folder, filename=value.filename, mime_type=value.mime_type
                ),
                value,
            )
        if value is None or value == "":
            raise _bad(f"there is no {name} in the request")
        if not isinstance(value, str):
            raise _bad("wrong file identifier/HTTP URL specified")
        if value in self.files:
            return self.files[value], None
        if re.match(r"(?i)https?://[^/\s]+\.[^/\s]+", value):
            return self._store_file(b"", folder, url=value), None
        raise _bad("wrong file identifier/HTTP URL specified")

    @staticmethod
    def _photo_sizes(stored: StoredFile) -> list[dict[str, Any]]:
        """The PhotoSize list of a sent photo; raises as Telegram does for a bad image."""
        if stored.url is not None:
            size: tuple[int, int] | None = (1280, 720)
        else:
            size = image_size(stored.data)
        if size is None:
            raise _bad("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        return [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
                "width": width,
                "height": height,
            }
        ]

    def _send_media(self, params: Mapping[str, Any], kind: Literal["photo", "document"]) -> Any:
        """sendPhoto / sendDocument: ``kind`` names the parameter and the Message field."""
        method = "sendPhoto" if kind == "photo" else "sendDocument"
        caption = self._format(params, "caption", "caption_entities", caption=True)
        markup = validate_reply_markup(params.get("reply_markup"))
        chat = self._writable_chat(params)
        stored, upload = self._input_file(params, kind, f"{kind}s")
        media: list[dict[str, Any]] | dict[str, Any] = (
            self._photo_sizes(stored) if kind == "photo" else self._document_object(stored)
        )
        reply_to = self._reply_to(chat, params)
        self._take_send(chat, method)
        parts = self._text_parts(caption, "caption") if caption and caption.text else {}
        message = self._message(
            chat,
            reply_to_message=reply_to,
            **{kind: media},
            **parts,
            reply_markup=self._stored_markup(markup),
        )
        self._record_formatted(
            method,
            chat,
            message,
            params,
            markup,
            "caption",
            parts.get("caption", ""),
            **{kind: stored.data},
            filename=upload.filename if upload else stored.filename,
            mime_type=upload.mime_type if upload else stored.mime_type,
        )
        return message

    async def send_photo(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "photo")

    async def send_document(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "document")

    async def get_file(self, params: dict[str, Any]) -> Any:
        file_id = params.get("file_id")
        if file_id is None or file_id == "":
            raise _bad("file_id is empty")
        stored = self.files.get(file_id) if isinstance(file_id, str) else None
        if stored is None:
            raise _bad("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_SIZE:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def send_chat_action(self, params: dict[str, Any]) -> Any:
        action = params.get("action")
        if action is None or action == "":
            raise _bad("action is empty")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat = self._writable_chat(params)
        self._take_fault(chat)
        self.chat_actions.append((chat.id, str(action)))
        return True

    # -- chats ----------------------------------------------------------------------------------

    async def get_chat(self, params: dict[str, Any]) -> Any:
        chat = self._resolve_chat(params)
        info = dict(chat.chat)
        info.update(
            {
                "accent_color_id": chat.id % 7 if chat.id > 0 else 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    async def get_chat_member(self, params: dict[str, Any]) -> Any:
        chat = self._resolve_chat(params)
        user_id = _int_value(params, "user_id")
        if user_id is None:
            raise _bad("user_id is empty")
        if user_id == self.bot_id:
            status = "member" if chat.type == "private" else chat.bot_status
            return self._member_object(self.bot_user, status)
        user = self._users.get(user_id)
        if user is None:
            raise _bad("user not found")
        if chat.type == "private":
            status = "member" if user_id == chat.id else "left"
        else:
            status = chat.members.get(user_id, "left")
        return self._member_object(user.user, status)

    async def get_chat_member_count(self, params: dict[str, Any]) -> Any:
        chat = self._resolve_chat(params)
        if chat.type == "private":
            return 2
        members = sum(1 for s in chat.members.values() if s not in ("left", "kicked"))
        return members + (chat.bot_status not in ("left", "kicked"))

    # -- queries --------------------------------------------------------------------------------

    async def answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = params.get("callback_query_id")
        if query_id is None or query_id == "":
            raise _bad("callback_query_id is empty")
        state = self._callback_queries.get(str(query_id))
        if state is None or state.answered:
            raise _bad(QUERY_ID_INVALID)
        text = _text_value(params.get("text"))
        if text is not None and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url not in (None, "") and not (
            isinstance(url, str) and re.match(r"(?i)(https?://)?(t\.me|telegram\.me)/", url)
        ):
            raise _bad("URL_INVALID")  # only games and t.me/<bot>?start= links are allowed
        state.answered = True
        self.callback_answers[str(query_id)] = dict(params)
        return True

    async def answer_inline_query(self, params: dict[str, Any]) -> Any:
        query_id = params.get("inline_query_id")
        if query_id is None or query_id == "":
            raise _bad("inline_query_id is empty")
        results = params.get("results")
        if isinstance(results, str) and results:
            raise _bad("can't parse inline query results JSON object")
        if results is None or results == "":
            results = []
        if not isinstance(results, list):
            raise _bad('field "results" must be an Array')
        if len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, Mapping):
                raise _bad("InlineQueryResult must be an Object")
            if not isinstance(result.get("type"), str) or not result["type"]:
                raise _bad('field "type" of the InlineQueryResult must be non-empty')
            result_id = result.get("id")
            if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= 64:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content")
            if isinstance(content, Mapping) and "message_text" in content:
                self._required_text(content, "message_text")
            validate_reply_markup(result.get("reply_markup"))
        if str(query_id) not in self._inline_queries or str(query_id) in self.inline_answers:
            raise _bad(QUERY_ID_INVALID)
        self.inline_answers[str(query_id)] = dict(params)
        return True

    # -- bot settings ---------------------------------------------------------------------------

    def _scope(self, value: object) -> dict[str, Any] | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            raise _bad("can't parse BotCommandScope JSON object")
        if not isinstance(value, Mapping):
            raise _bad("BotCommandScope must be an Object")
        kind = value.get("type")
        scope: dict[str, Any] = {"type": kind}
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return scope
        if kind not in ("chat", "chat_administrators", "chat_member"):
            raise _bad("unsupported bot command scope type")
        chat = self._resolve_chat(value)
        scope["chat_id"] = chat.id
        if kind == "chat_member":
            user_id = value.get("user_id")
            if isinstance(user_id, bool) or not isinstance(user_id, int):
                raise _bad("user_id is empty")
            if user_id not in self._users:
                raise _bad("user not found")
            scope["user_id"] = user_id
        if kind != "chat" and chat.type == "private":
            raise _bad("can't use specified scope in private chats")
        return scope

    def _commands_key(self, params: Mapping[str, Any]) -> tuple[str, str]:
        scope = self._scope(params.get("scope"))
        language = validate_language_code(params.get("language_code"))
        return self._scope_key(scope), language

    async def set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = validate_commands(params.get("commands"))
        key = self._commands_key(params)
        if commands:
            self.commands[key] = commands
        else:
            self.commands.pop(key, None)
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> Any:
        return [dict(command) for command in self.commands.get(self._commands_key(params), [])]

    async def delete_my_commands(self, params: dict[str, Any]) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_text_setting(
        self, params: Mapping[str, Any], kind: str, limit: int, store: dict[str, str]
    ) -> bool:
        value = _text_value(params.get(kind)) or ""
        language = validate_language_code(params.get("language_code"))
        if len(value) > limit:
            raise _bad(f"{kind.replace('_', ' ')} is too long")
        if value:
            store[language] = value
        else:
            store.pop(language, None)
        return True

    async def set_my_description(self, params: dict[str, Any]) -> Any:
        return self._set_text_setting(params, "description", 512, self.descriptions["description"])

    @staticmethod
    def _get_text_setting(
        params: Mapping[str, Any], kind: str, store: dict[str, str], default: str = ""
    ) -> dict[str, str]:
        language = validate_language_code(params.get("language_code"))
        return {kind: store.get(language, default)}

    async def get_my_description(self, params: dict[str, Any]) -> Any:
        return self._get_text_setting(params, "description", self.descriptions["description"])

    async def set_my_short_description(self, params: dict[str, Any]) -> Any:
        return self._set_text_setting(
            params, "short_description", 120, self.descriptions["short_description"]
        )

    async def get_my_short_description(self, params: dict[str, Any]) -> Any:
        return self._get_text_setting(
            params, "short_description", self.descriptions["short_description"]
        )

    async def set_my_name(self, params: dict[str, Any]) -> Any:
        return self._set_text_setting(params, "name", 64, self.names)

    async def get_my_name(self, params: dict[str, Any]) -> Any:
        return self._get_text_setting(params, "name", self.names, self.bot_user["first_name"])

    async def set_chat_menu_button(self, params: dict[str, Any]) -> Any:
        chat_id: int | None = None
        if params.get("chat_id") not in (None, ""):
            chat = self._resolve_chat(params)
            if chat.type != "private":
                raise _bad("chat_id must be a private chat")
            chat_id = chat.id
        button = params.get("menu_button")
        if button is None or button == "":
            button = {"type": "default"}
        if not isinstance(button, Mapping):
            raise _bad("can't parse menu button JSON object")
        kind = button.get("type")
        if kind == "web_app":
            text = button.get("text")
            web_app = button.get("web_app")
            if not isinstance(text, str) or not text:
                raise _bad("menu button text must be non-empty")
            url = web_app.get("url") if isinstance(web_app, Mapping) else None
            if not isinstance(url, str) or not url.lower().startswith("https://"):
                raise _bad("menu button web app URL must be an HTTPS URL")
        elif kind not in ("commands", "default"):
            raise _bad("unsupported menu button type")
        self.menu_buttons[chat_id] = dict(button)
        return True

    async def get_chat_menu_button(self, params: dict[str, Any]) -> Any:
        chat_id: int | None = None
        if params.get("chat_id") not in (None, ""):
            chat_id = self._resolve_chat(params).id
        button = self.menu_buttons.get(chat_id) or self.menu_buttons.get(None)
        if button is None or button.get("type") == "default":
            return {"type": "commands"}
        return dict(button)
