"""Editors: the users whom owners (``ADMIN_IDS``) allow to add and correct incidents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select

from db.changes import audit, now
from db.domain.roles import Role
from db.models import Editor, as_utc
from db.session import Database
from db.store.access import Access
from db.store.errors import ChangeRefused, Refusal


@dataclass(frozen=True, slots=True)
class EditorEntry:
    user_id: int
    added_by: int | None
    added_at: dt.datetime


class Editors:
    def __init__(self, db: Database, access: Access) -> None:
        self._db = db
        self._access = access

    async def ids(self) -> list[int]:
        """Every editor's user id, oldest appointment first (the composition root sets their
        command menus at start)."""
        async with self._db.read() as connection:
            rows = await connection.execute(select(Editor.user_id).order_by(Editor.added_at))
            return [int(r[0]) for r in rows]

    async def roster(self, user_id: int) -> list[EditorEntry]:
        """The editors, who appointed each and when (owners only)."""
        await self._access.require(user_id, Role.OWNER)
        async with self._db.read() as connection:
            rows = await connection.execute(
                select(Editor.user_id, Editor.added_by, Editor.added_at).order_by(Editor.added_at)
            )
            return [EditorEntry(int(r[0]), r[1], as_utc(r[2])) for r in rows]

    async def add(self, user_id: int, subject: int) -> None:
        """An owner appoints ``subject`` (``ALREADY_EDITOR`` if they are one)."""
        await self._access.require(user_id, Role.OWNER)
        async with self._db.write() as session:
            if await session.get(Editor, subject) is not None:
                raise ChangeRefused(Refusal.ALREADY_EDITOR, subject)
            session.add(Editor(user_id=subject, added_by=user_id, added_at=now()))
            audit(session, "editor.add", user_id, subject_user=subject)

    async def remove(self, user_id: int, subject: int) -> None:
        """An owner dismisses ``subject`` (``NOT_EDITOR`` if they are not one)."""
        await self._access.require(user_id, Role.OWNER)
        async with self._db.write() as session:
            removed = await session.execute(delete(Editor).where(Editor.user_id == subject))
            if not getattr(removed, "rowcount", 0):
                raise ChangeRefused(Refusal.NOT_EDITOR, subject)
            audit(session, "editor.remove", user_id, subject_user=subject)
