"""The real application, long polling against the in-process Bot API emulator (or in webhook
mode, the emulator posting the updates to the bot's webhook server on loopback).

Used by the console demo, the end-to-end tests and the benchmarks: an update is queued in the
emulator as a Telegram user would send it, the bot fetches it with ``getUpdates`` (or is posted it),
handles it and calls the Bot API; :meth:`EmulatedBot.send` returns what the bot sent while handling
that update.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from types import TracebackType
from typing import Any, Literal

from telegram import Update
from telegram.ext import Application

from bot.app import BotApplication, build_application, run_post_init, run_post_shutdown
from bot.config import Settings
from bot.emulator import BotAPIEmulator, SentMessage
from handlers.context import SERVICES_KEY, Services

DEFAULT_TOKEN = "123456789:EMULATED-TOKEN"
#: How the bot gets its updates: ``getUpdates`` or the emulator posting them to its webhook.
Mode = Literal["polling", "webhook"]
WEBHOOK_PATH = "/telegram"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class TrackedApplication(Application[Any, Any, Any, Any, Any, Any]):
    """An Application that tells when it has finished handling each update (errors included)."""

    __slots__ = ("_waiters",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._waiters: dict[int, asyncio.Future[None]] = {}

    def expect(self, update_id: int) -> asyncio.Future[None]:
        future = self._waiters.get(update_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiters[update_id] = future
        return future

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)
        finally:
            if isinstance(update, Update):
                future = self.expect(update.update_id)
                if not future.done():
                    future.set_result(None)
                self._waiters.pop(update.update_id, None)


class EmulatedBot:
    """Start with ``async with EmulatedBot(settings) as bot``; then ``await bot.send(...)``."""

    def __init__(
        self,
        settings: Settings,
        *,
        emulator: BotAPIEmulator | None = None,
        token: str = DEFAULT_TOKEN,
        timeout: float = 10.0,
        mode: Mode = "polling",
    ) -> None:
        self.emulator = emulator or BotAPIEmulator(token=token)
        self._own_emulator = emulator is None
        self.token = token
        self.timeout = timeout
        self.mode = mode
        #: In webhook mode, where the bot's webhook server answers and the secret it expects.
        self.webhook_url = ""
        self.webhook_secret = secrets.token_urlsafe(32)
        self._settings = settings
        self.application: BotApplication | None = None

    @property
    def app(self) -> BotApplication:
        if self.application is None:
            raise RuntimeError("EmulatedBot is not started")
        return self.application

    @property
    def services(self) -> Services:
        services: Services = self.app.bot_data[SERVICES_KEY]
        return services

    async def start(self) -> None:
        if self._own_emulator:
            await self.emulator.start()
        settings = self._settings.model_copy(update={"telegram_api_url": self.emulator.base_url})
        app = build_application(settings, token=self.token, application_class=TrackedApplication)
        self.application = app
        await app.initialize()
        await run_post_init(app)
        await app.start()
        assert app.updater is not None
        if self.mode == "webhook":
            # As `python -m bot webhook` does (PTB's webhook server, setWebhook with the secret),
            # on a free loopback port, where the emulator posts the updates over plain HTTP.
            port = free_port()
            self.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            await app.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path=WEBHOOK_PATH,
                webhook_url=self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            await app.updater.start_polling(
                poll_interval=0.0, timeout=5, drop_pending_updates=False
            )

    async def stop(self) -> None:
        app = self.application
        if app is not None:
            if self.webhook_url and self.emulator.running:
                # The emulator stops posting (a shared one may serve a polling bot next).
                await app.bot.delete_webhook()
                self.webhook_url = ""
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            await run_post_shutdown(app)
            self.application = None
        if self._own_emulator:
            await self.emulator.stop()

    async def __aenter__(self) -> EmulatedBot:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def send(
        self, user_id: int, text: str, *, chat_id: int | None = None
    ) -> list[SentMessage]:
        """A user sends ``text``; returns the messages the bot sent or edited in that chat while
        handling it (other chats' updates may be handled at the same time)."""
        update = self.emulator.user_sends(user_id, text, chat_id=chat_id)
        return await self._handled(update, chat_id or user_id)

    async def send_document(
        self,
        user_id: int,
        filename: str,
        data: bytes,
        *,
        mime_type: str = "text/csv",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> list[SentMessage]:
        """A user sends a file (as a document, with an optional caption); returns what the bot
        sent or edited in that chat while handling it."""
        update = self.emulator.user_sends_document(
            user_id, filename, data, mime_type=mime_type, caption=caption, chat_id=chat_id
        )
        return await self._handled(update, chat_id or user_id)

    async def edit(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> list[SentMessage]:
        """A user edits the text of a message they sent earlier."""
        update = self.emulator.user_edits(user_id, message_id, text, chat_id=chat_id)
        return await self._handled(update, chat_id or user_id)

    async def press(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> list[SentMessage]:
        """A user presses an inline button (or forges its callback data)."""
        update = self.emulator.user_presses(user_id, message_id, data, chat_id=chat_id)
        return await self._handled(update, chat_id or user_id)

    async def inline(self, user_id: int, query: str) -> dict[str, Any]:
        """A user types ``@bot query`` in some chat; returns the bot's answerInlineQuery
        parameters (results, cache_time, button …)."""
        update = self.emulator.user_inline_query(user_id, query)
        await self._handled(update, user_id)
        return self.emulator.inline_answers[str(update["inline_query"]["id"])]

    async def _handled(self, update: dict[str, Any], chat_id: int) -> list[SentMessage]:
        app = self.app
        assert isinstance(app, TrackedApplication)
        before = len(self.emulator.sent)
        await asyncio.wait_for(app.expect(int(update["update_id"])), self.timeout)
        return [m for m in self.emulator.sent[before:] if m.chat_id == chat_id]
