"""Chats' stored languages, and the data version (what the /stats replies are kept under)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Chat, DataVersion
from db.queries import ID_CHUNK, Reader


async def chat_language(db: Reader, chat_id: int) -> str | None:
    return await db.scalar(select(Chat.language).where(Chat.chat_id == chat_id))


_DATA_VERSION = select(DataVersion.version).where(DataVersion.id == 1).scalar_subquery()


async def data_version(db: Reader) -> int:
    """How many times the tables the figures come from have changed (``DataVersion``)."""
    return int(await db.scalar(select(_DATA_VERSION)) or 0)


async def language_and_version(db: Reader, chat_id: int | None) -> tuple[str | None, int]:
    """A chat's stored language and :func:`data_version`, in one statement."""
    if chat_id is None:
        return None, await data_version(db)
    language = select(Chat.language).where(Chat.chat_id == chat_id).scalar_subquery()
    stored, version = (await db.execute(select(language, _DATA_VERSION))).one()
    return stored, int(version or 0)


async def chat_languages(db: Reader, chat_ids: Sequence[int]) -> dict[int, str | None]:
    """The languages chats chose, for those of ``chat_ids`` that did."""
    found: dict[int, str | None] = {}
    for first in range(0, len(chat_ids), ID_CHUNK):
        rows = await db.execute(
            select(Chat.chat_id, Chat.language).where(
                Chat.chat_id.in_(list(chat_ids[first : first + ID_CHUNK]))
            )
        )
        found.update((int(chat_id), language) for chat_id, language in rows)
    return found


async def set_chat_language(session: AsyncSession, chat_id: int, language: str) -> None:
    """Remember a chat's language (one upsert, safe when two processes race)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Chat).values(chat_id=chat_id, language=language)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Chat.chat_id],
            set_={"language": language, "updated_at": func.now()},
        )
    )
