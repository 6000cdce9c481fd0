"""The emulated Telegram world (users, chats, messages, files, queued updates) and the
in-process control API tests use to act as Telegram users.

The control API is synchronous and must be called from the event loop's thread (from a test or
a coroutine); from another thread use ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import copy
import mimetypes
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.errors import ApiError
from bot.emulator.html import find_user_message_entities
from bot.emulator.limits import RateLimiter, RateLimits
from bot.emulator.models import RecordedRequest, SentMessage, StoredFile
from bot.emulator.spec import SpecChecker

__all__ = ["DEFAULT_TOKEN", "EmulatorState"]

DEFAULT_TOKEN = "123456789:TEST-TOKEN"
TELEGRAM_SERVICE_USER = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
# Update types getUpdates returns when allowed_updates is empty (Telegram's default).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


@dataclass(slots=True)
class UserState:
    user: dict[str, Any]
    blocked: bool = False
    deactivated: bool = False


@dataclass(slots=True)
class ChatState:
    chat: dict[str, Any]
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_status: str = "member"
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # current states

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    @property
    def type(self) -> str:
        return str(self.chat["type"])

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass(slots=True)
class QueuedUpdate:
    update_id: int
    kind: str
    payload: dict[str, Any]


@dataclass(slots=True)
class CallbackQueryState:
    user_id: int
    chat_id: int | None
    answered: bool = False


@dataclass(slots=True)
class WebhookState:
    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    deliverable: bool = False  # a loopback URL the emulator posts updates to
    last_error_date: int | None = None
    last_error_message: str | None = None


def _chat_instance(chat_id: int) -> str:
    return str((chat_id * 2654435761) % 10**19 - 4 * 10**18)


class EmulatorState:
    """State shared by the Bot API methods and the control API."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "casualty_bot",
        bot_first_name: str = "Casualty Bot",
        limits: RateLimits | None = None,
        spec: dict[str, Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.token = token
        bot_id_text = token.split(":", 1)[0]
        self.bot_id = int(bot_id_text) if bot_id_text.isdigit() else 123456789
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.clock: Callable[[], float] = clock or time.monotonic
        self.limiter = RateLimiter(limits or RateLimits(), clock=self.clock)
        self.spec = spec
        self.spec_checker = SpecChecker(spec) if spec is not None else None
        self.requests: list[RecordedRequest] = []
        self.errors: list[RecordedRequest] = []
        self.sent: list[SentMessage] = []
        self.spec_problems: list[str] = []
        self.files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.descriptions: dict[str, dict[str, str]] = {"description": {}, "short_description": {}}
        self.names: dict[str, str] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.webhook = WebhookState()
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._users: dict[int, UserState] = {}
        self._chats: dict[int, ChatState] = {}
        self._updates: list[QueuedUpdate] = []
        self._next_update_id = 1
        self._next_file = 1
        self._next_query = 1
        self._callback_queries: dict[str, CallbackQueryState] = {}
        self._inline_queries: dict[str, int] = {}
        self._delivered: set[int] = set()
        #: Errors to answer instead of the next sends to a chat (see ``fail_sends``).
        self.faults: dict[int, list[ApiError | None]] = {}
        #: Seconds to hold the answer to each of the next sends to a chat (see slow_sends).
        self.slow: dict[int, list[float]] = {}
        self._wakeup = asyncio.Event()  # replaced on every new update or poll
        self._changed = asyncio.Event()  # replaced on every request and delivery

    # -- notifications --------------------------------------------------------------------------

    def _wake(self) -> None:
        event, self._wakeup = self._wakeup, asyncio.Event()
        event.set()
        self._notify()

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain timeout is the simplest API for tests
    ) -> None:
        """Waits (without polling) until ``predicate()`` holds after some request or delivery."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def wait_update_delivered(self, update_id: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Returns once getUpdates (or the webhook) has handed ``update_id`` to the bot."""
        await self.wait_until(lambda: update_id in self._delivered, timeout)

    async def wait_for_sent(
        self,
        count: int = 1,
        *,
        since: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """Waits for ``count`` entries in ``sent`` after index ``since`` (default: now)."""
        start = len(self.sent) if since is None else since
        await self.wait_until(lambda: len(self.sent) - start >= count, timeout)
        return self.sent[start:]

    def _mark_delivered(self, updates: Iterable[QueuedUpdate]) -> None:
        self._delivered.update(update.update_id for update in updates)
        self._notify()

    # -- records --------------------------------------------------------------------------------

    def reset_records(self) -> None:
        """Forgets recorded requests, errors, sent messages and spec problems (not the chats)."""
        self.requests.clear()
        self.errors.clear()
        self.sent.clear()
        self.spec_problems.clear()
        self.limiter.sends.clear()
        self.limiter.rejections.clear()

    @property
    def count_429(self) -> int:
        return self.limiter.count_429

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot."""
        return [update.payload for update in self._updates]

    def chat_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in ``chat_id`` as they are now (edits applied, deleted left out)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            copy.deepcopy(message)
            for _, message in sorted(chat.messages.items())
            if message.get("from", {}).get("id") == self.bot_id
        ]

    def get_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        """The commands set with setMyCommands for a scope (default scope if None)."""
        return list(self.commands.get((self._scope_key(scope), language_code), []))

    @staticmethod
    def _scope_key(scope: dict[str, Any] | None) -> str:
        scope = scope or {"type": "default"}
        parts = [str(scope.get("type", "default"))]
        for key in ("chat_id", "user_id"):
            if key in scope:
                parts.append(f"{key}={scope[key]}")
        return ";".join(parts)

    # -- users and chats ------------------------------------------------------------------------

    def _user(self, user_id: int) -> UserState:
        state = self._users.get(user_id)
        if state is None:
            raise ValueError(f"unknown user {user_id}: call add_private_chat() first")
        return state

    def _chat(self, chat_id: int) -> ChatState:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}")
        return chat

    def _ensure_user(self, user_id: int, first_name: str = "Test") -> UserState:
        if user_id <= 0:
            raise ValueError("user ids are positive")
        state = self._users.get(user_id)
        if state is None:
            state = self._users[user_id] = UserState(
                {"id": user_id, "is_bot": False, "first_name": first_name}
            )
        return state

    def add_private_chat(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """A user who has started the bot; returns the User object."""
        state = self._ensure_user(user_id, first_name)
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name is not None:
            user["last_name"] = chat["last_name"] = last_name
        if username is not None:
            user["username"] = chat["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        state.user = user
        existing = self._chats.get(user_id)
        if existing is None:
            self._chats[user_id] = ChatState(chat, members={user_id: "member"})
        else:
            existing.chat = chat
        return dict(user)

    def add_group_chat(
        self,
        chat_id: int,
        title: str,
        *,
        member_ids: Iterable[int] = (),
        admin_ids: Iterable[int] = (),
        chat_type: str | None = None,
        username: str | None = None,
        bot_is_admin: bool = False,
    ) -> dict[str, Any]:
        """A group the bot is in (supergroup if the id looks like -100…); returns the Chat."""
        if chat_id >= 0:
            raise ValueError("group, supergroup and channel ids are negative")
        kind = chat_type or ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        if kind not in ("group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {kind!r}")
        chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": title}
        if username is not None:
            chat["username"] = username
        members: dict[int, str] = {}
        for user_id in member_ids:
            self._ensure_user(user_id)
            members[user_id] = "member"
        for user_id in admin_ids:
            self._ensure_user(user_id)
            members[user_id] = "administrator"
        self._chats[chat_id] = ChatState(
            chat, members=members, bot_status="administrator" if bot_is_admin else "member"
        )
        return dict(chat)

    # -- updates --------------------------------------------------------------------------------

    def _queue(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        update_id = self._next_update_id
        self._next_update_id += 1
        payload = {"update_id": update_id, kind: body}
        self._updates.append(QueuedUpdate(update_id, kind, payload))
        self._wake()
        return copy.deepcopy(payload)

    def _select_updates(
        self, limit: int, allowed: frozenset[str] | None = None
    ) -> list[QueuedUpdate]:
        allowed = self.allowed_updates if allowed is None else allowed
        return [update for update in self._updates if update.kind in allowed][:limit]

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [update for update in self._updates if update.update_id >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _sender_chat(self, user_id: int, chat_id: int | None) -> tuple[UserState, ChatState]:
        user = self._user(user_id)
        chat = self._chat(user_id if chat_id is None else chat_id)
        if chat.type == "private":
            if chat.id != user_id:
                raise ValueError(f"chat {chat.id} is another user's private chat")
            if user.blocked:
                raise ValueError(f"user {user_id} blocked the bot: call user_unblocks_bot() first")
        else:
            if chat.members.get(user_id) not in ("creator", "administrator", "member"):
                raise ValueError(f"user {user_id} is not a member of chat {chat.id}")
            if chat.bot_status in ("left", "kicked"):
                raise ValueError(f"the bot is not in chat {chat.id}")
        if user.deactivated:
            raise ValueError(f"user {user_id} is deactivated")
        return user, chat

    def _user_message(
        self, user: UserState, chat: ChatState, reply_to: int | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.new_message_id(),
            "from": dict(user.user),
            "chat": dict(chat.chat),
            "date": int(time.time()),
        }
        if reply_to is not None:
            replied = chat.messages.get(reply_to)
            if replied is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id}")
            message["reply_to_message"] = {
                k: v for k, v in replied.items() if k != "reply_to_message"
            }
        return message

    def _queue_user_message(
        self, chat: ChatState, message: dict[str, Any], text_key: str, text: str | None
    ) -> dict[str, Any]:
        """Adds ``text`` (if any) with the entities Telegram finds in it; queues the message."""
        if text is not None:
            message[text_key] = text
            entities = find_user_message_entities(text)
            if entities:
                message["entities" if text_key == "text" else "caption_entities"] = entities
        chat.messages[message["message_id"]] = message
        return self._queue("message", copy.deepcopy(message))

    def user_sends(
        self, user_id: int, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> dict[str, Any]:
        """Queues a message from a user (private chat unless ``chat_id``); returns the Update."""
        user, chat = self._sender_chat(user_id, chat_id)
        message = self._user_message(user, chat, reply_to)
        return self._queue_user_message(chat, message, "text", text)

    def user_edits(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Queues an ``edited_message``: the user changed the text of a message they sent."""
        _, chat = self._sender_chat(user_id, chat_id)
        original = chat.messages.get(message_id)
        if original is None or original.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} sent no message {message_id} in chat {chat.id}")
        message = copy.deepcopy(original)
        message["text"] = text
        message["edit_date"] = int(time.time())
        message.pop("entities", None)
        entities = find_user_message_entities(text)
        if entities:
            message["entities"] = entities
        chat.messages[message_id] = message
        return self._queue("edited_message", copy.deepcopy(message))

    def user_sends_document(
        self,
        user_id: int,
        filename: str,
        data: bytes,
        mime_type: str = "text/csv",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """Queues a message with a document from a user; returns the Update."""
        user, chat = self._sender_chat(user_id, chat_id)
        stored = self._store_file(data, "documents", filename=filename, mime_type=mime_type)
        message = self._user_message(user, chat, None)
        message["document"] = self._document_object(stored)
        return self._queue_user_message(chat, message, "caption", caption)

    def user_presses(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Queues a callback query for a message the bot sent; the data need not be on it."""
        user, chat = self._sender_chat(user_id, chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.get("from", {}).get("id") != self.bot_id:
            raise ValueError(f"the bot has no message {message_id} in chat {chat.id}")
        query_id = self._new_query_id()
        self._callback_queries[query_id] = CallbackQueryState(user_id, chat.id)
        return self._queue(
            "callback_query",
            {
                "id": query_id,
                "from": dict(user.user),
                "message": copy.deepcopy(message),
                "chat_instance": _chat_instance(chat.id),
                "data": callback_data,
            },
        )

    def user_inline_query(self, user_id: int, query: str, *, offset: str = "") -> dict[str, Any]:
        """Queues an inline query from a user; returns the Update."""
        user = self._user(user_id)
        query_id = self._new_query_id()
        self._inline_queries[query_id] = user_id
        return self._queue(
            "inline_query",
            {
                "id": query_id,
                "from": dict(user.user),
                "query": query,
                "offset": offset,
                "chat_type": "sender",
            },
        )

    def queue_update(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Queues an update of any kind exactly as given (for kinds the control API has no
        helper for: channel posts, polls, reactions …); returns the Update. A callback or inline
        query without an ``id`` gets one, registered so that the bot can answer it."""
        body = copy.deepcopy(body)
        if kind in ("callback_query", "inline_query"):
            query_id = str(body.setdefault("id", self._new_query_id()))
            user_id = int(body.get("from", {}).get("id", 0))
            if kind == "inline_query":
                self._inline_queries[query_id] = user_id
            else:
                chat = (body.get("message") or {}).get("chat") or {}
                self._callback_queries[query_id] = CallbackQueryState(user_id, chat.get("id"))
        if self.spec_checker is not None:
            # Telegram sends no malformed update (a bot's library may stop polling on one).
            problems = self.spec_checker.check_object("Update", {"update_id": 1, kind: body})
            if problems:
                raise ValueError(f"not an Update as Telegram sends it: {problems}")
        return self._queue(kind, body)

    def _member_update(
        self, chat: ChatState, by: dict[str, Any], old: dict[str, Any], new: dict[str, Any]
    ) -> dict[str, Any]:
        return self._queue(
            "my_chat_member",
            {
                "chat": dict(chat.chat),
                "from": dict(by),
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    def _set_blocked(self, user_id: int, blocked: bool) -> dict[str, Any]:
        user = self._user(user_id)
        chat = self._chat(user_id)
        user.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        return self._member_update(
            chat,
            user.user,
            self._member_object(self.bot_user, old),
            self._member_object(self.bot_user, new),
        )

    def user_blocks_bot(self, user_id: int) -> dict[str, Any]:
        """The user blocks the bot: sends answer 403 and a my_chat_member update is queued."""
        return self._set_blocked(user_id, True)

    def user_unblocks_bot(self, user_id: int) -> dict[str, Any]:
        """The user unblocks (restarts) the bot; queues the my_chat_member update."""
        return self._set_blocked(user_id, False)

    def fail_sends(
        self,
        chat_id: int,
        status: int,
        description: str,
        *,
        times: int = 1,
        after: int = 0,
        retry_after: int | None = None,
    ) -> None:
        """Let ``after`` sends to ``chat_id`` through, then answer the next ``times`` with this
        error (a fault on the way: a 5xx, or a 429 with ``retry_after``). Not counted as the
        flood limiter's 429s. Chat actions (``sendChatAction``) count as sends here."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        faults = self.faults.setdefault(chat_id, [])
        faults += [None] * after
        faults += [ApiError(status, description, parameters) for _ in range(times)]

    def slow_sends(self, chat_id: int, *, seconds: float, times: int = 1) -> None:
        """The next ``times`` sends to ``chat_id`` are carried out (the message is delivered)
        but answered only after ``seconds``: a client with a shorter timeout gives up on a
        request that Telegram did carry out."""
        self.slow.setdefault(chat_id, []).extend([seconds] * times)

    def deactivate_user(self, user_id: int) -> None:
        """The user deletes their account: sends to them answer 403 "user is deactivated"."""
        self._user(user_id).deactivated = True

    def remove_bot_from_group(
        self, chat_id: int, *, kicked: bool = True, by_user_id: int | None = None
    ) -> dict[str, Any]:
        """The bot is removed from a group (status "kicked", or "left" if not ``kicked``)."""
        chat = self._chat(chat_id)
        if chat.type == "private":
            raise ValueError("use user_blocks_bot() for private chats")
        if by_user_id is not None:
            by = self._user(by_user_id).user
        else:
            admins = [uid for uid, status in chat.members.items() if status != "member"]
            candidates = admins or list(chat.members)
            by = self._users[candidates[0]].user if candidates else TELEGRAM_SERVICE_USER
        old = self._member_object(self.bot_user, chat.bot_status)
        chat.bot_status = "kicked" if kicked else "left"
        return self._member_update(
            chat, by, old, self._member_object(self.bot_user, chat.bot_status)
        )

    # -- objects --------------------------------------------------------------------------------

    @staticmethod
    def _member_object(user: dict[str, Any], status: str) -> dict[str, Any]:
        member: dict[str, Any] = {"user": dict(user), "status": status}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                {
                    "can_be_edited": False,
                    "is_anonymous": False,
                    "can_manage_chat": True,
                    "can_delete_messages": True,
                    "can_manage_video_chats": True,
                    "can_restrict_members": True,
                    "can_promote_members": False,
                    "can_change_info": True,
                    "can_invite_users": True,
                    "can_post_stories": False,
                    "can_edit_stories": False,
                    "can_delete_stories": False,
                    "can_pin_messages": True,
                }
            )
        return member

    def _new_query_id(self) -> str:
        query_id = str(4_000_000_000_000_000 + self._next_query * 7919)
        self._next_query += 1
        return query_id

    def _store_file(
        self,
        data: bytes,
        folder: str,
        *,
        filename: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        number = self._next_file
        self._next_file += 1
        extension = ""
        if filename and "." in filename:
            extension = "." + filename.rsplit(".", 1)[1]
        elif mime_type:
            extension = mimetypes.guess_extension(mime_type) or ""
        stored = StoredFile(
            file_id=f"EMU{folder[:3].upper()}{number:08d}",
            file_unique_id=f"U{number:08d}",
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            filename=filename,
            mime_type=mime_type,
            url=url,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def file_by_path(self, file_path: str) -> StoredFile | None:
        return self._files_by_path.get(file_path)

    @staticmethod
    def _document_object(stored: StoredFile) -> dict[str, Any]:
        document: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.filename is not None:
            document["file_name"] = stored.filename
        if stored.mime_type is not None:
            document["mime_type"] = stored.mime_type
        return document
