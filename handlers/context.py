"""The typed home of shared services, and the per-update context that handlers receive."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from db.domain.digests import Delivery
from db.domain.gazetteer import Gazetteer
from db.domain.vocabulary import Vocabulary
from db.store import Store
from handlers.cache import RenderedReplies
from locales.i18n import Catalogs, Translator

SERVICES_KEY = "services"


class Settings(Protocol):
    """What handlers read of the configuration (the composition root's ``bot.config.Settings``
    is one): the handlers never import the composition root."""

    @property
    def admin_ids(self) -> frozenset[int]: ...

    @property
    def review_required(self) -> bool: ...

    @property
    def tz(self) -> ZoneInfo: ...

    @property
    def digest_time(self) -> dt.time: ...

    @property
    def digest_senders(self) -> int: ...

    @property
    def digest_lease_seconds(self) -> float: ...


def language_chat(update: object) -> int | None:
    """The chat whose stored language an update is answered in. An inline query has no chat:
    the user's private chat with the bot (its id is the user's) holds the language they chose."""
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat or update.effective_user
    return chat.id if chat is not None else None


@dataclass
class Services:
    """Created once by the composition root and shared by every handler and job."""

    settings: Settings
    store: Store
    catalogs: Catalogs
    vocabulary: Vocabulary
    gazetteer: Gazetteer = field(default_factory=Gazetteer)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    #: When owners were last alerted about each kind of error (monotonic seconds).
    alerted: dict[str, float] = field(default_factory=dict)
    #: Runs the digests now (``/digest_now``); set by the composition root (``bot.app``).
    deliver_digests: Callable[[ExtBot[Any]], Awaitable[Delivery]] | None = None
    #: /stats replies as rendered, kept while the data stay at the version they were read at.
    stats_replies: RenderedReplies = field(default_factory=RenderedReplies)


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext with typed access to the services and the chat's translator.

    PTB builds one context per update and shares it between handler groups, so the translator is
    looked up at most once per update.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._translator: Translator | None = None

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services

    async def translator(self, update: object) -> Translator:
        """The chat's stored language, else the user's Telegram language, else the default."""
        if self._translator is None:
            chat_id = language_chat(update)
            stored = None
            if chat_id is not None:
                stored = await self.services.store.chats.language(chat_id)
            return self.choose_translator(update, stored)
        return self._translator

    def choose_translator(self, update: object, stored: str | None) -> Translator:
        """:meth:`translator`, for a handler that read the chat's stored language itself (of
        :func:`language_chat`, with what else it reads in the same statement)."""
        user_language = None
        if isinstance(update, Update) and update.effective_user is not None:
            user_language = update.effective_user.language_code
        catalogs = self.services.catalogs
        self._translator = catalogs.translator(catalogs.pick(stored, user_language))
        return self._translator

    async def translator_for(self, chat_id: int) -> Translator:
        """The translator of another chat (its stored language, else the default): for messages
        the bot sends on its own, such as a review request to an owner."""
        stored = await self.services.store.chats.language(chat_id)
        catalogs = self.services.catalogs
        return catalogs.translator(catalogs.pick(stored))

    def today(self) -> dt.date:
        """Today where the bot's readers are (``TIMEZONE``)."""
        return dt.datetime.now(self.services.settings.tz).date()

    def fallback_translator(self, update: object) -> Translator:
        """A translator chosen without the database (for error replies)."""
        if self._translator is not None:
            return self._translator
        language = None
        if isinstance(update, Update) and update.effective_user is not None:
            language = update.effective_user.language_code
        return self.services.catalogs.translator(language)

    def use_translator(self, translator: Translator) -> None:
        self._translator = translator
