"""Each chat's language, and the data version the /stats replies are kept under."""

from __future__ import annotations

from db import chats
from db.session import Database


class Chats:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def language(self, chat_id: int) -> str | None:
        """The language the chat chose (None: never chosen)."""
        async with self._db.read() as connection:
            return await chats.chat_language(connection, chat_id)

    async def set_language(self, chat_id: int, language: str) -> None:
        async with self._db.transaction() as session:
            await chats.set_chat_language(session, chat_id, language)

    async def data_version(self) -> int:
        """How many times the tables the figures come from have changed."""
        async with self._db.read() as connection:
            return await chats.data_version(connection)

    async def language_and_version(self, chat_id: int | None) -> tuple[str | None, int]:
        """The chat's stored language (None for no chat) and the data version, in one statement:
        what a /stats reply kept as rendered is looked up by."""
        async with self._db.read() as connection:
            return await chats.language_and_version(connection, chat_id)
