"""Update processing: one chat's updates in order, different chats at the same time.

PTB handles updates one after another by default, so a user whose replies wait for their chat's
flood limit would hold up everybody. With ``concurrent_updates(True)`` a chat's updates could
overtake each other (a /language choice answered after the /stats that followed it). This
processor takes a per-chat lock before a slot of the overall limit, so a busy chat queues behind
itself and never takes the slots other chats need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.logs import update_context


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """PTB's own semaphore (which it takes first) only bounds the updates in flight; the limit on
    updates being handled at once is taken after the chat's lock."""

    __slots__ = ("_chats", "_handling")

    def __init__(self, max_concurrent_updates: int = 64, max_waiting_updates: int = 4096) -> None:
        super().__init__(max_waiting_updates)
        self._handling = asyncio.Semaphore(max_concurrent_updates)
        #: chat id -> (its lock, how many of its updates hold or wait for it)
        self._chats: dict[int, tuple[asyncio.Lock, int]] = {}

    @staticmethod
    def chat_of(update: object) -> int | None:
        if isinstance(update, Update):
            if update.effective_chat is not None:
                return update.effective_chat.id
            if update.effective_user is not None:  # inline queries have a user, no chat
                return update.effective_user.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # Everything logged while the update waits and is handled names it and its chat.
        if isinstance(update, Update):
            chat_id = update.effective_chat.id if update.effective_chat else None
            with update_context(update.update_id, chat_id):
                await self._in_turn(update, coroutine)
        else:
            await self._in_turn(update, coroutine)

    async def _in_turn(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = self.chat_of(update)
        if chat is None:
            async with self._handling:
                await coroutine
            return
        lock, waiting = self._chats.get(chat, (asyncio.Lock(), 0))
        self._chats[chat] = (lock, waiting + 1)
        try:
            async with lock, self._handling:
                await coroutine
        finally:
            lock, waiting = self._chats[chat]
            if waiting == 1:
                del self._chats[chat]
            else:
                self._chats[chat] = (lock, waiting - 1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
