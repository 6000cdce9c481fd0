"""Drafts: what an admin has begun and not finished, kept in the database (not in one process's
memory), so that whichever webhook process gets their next message goes on with it, and a process
started after a restart too.

Two kinds: the guided /add of one admin in one chat (its question and the answers so far), and an
incident shown with its possible duplicates, waiting for "Save anyway" under the token its button
carries. A draft is reached by its whole key, the user's id in it: nobody uses another's draft.
Every draft has an expiry, and one past it is never returned: the first call that finds it so
deletes it and says so (:class:`DraftExpired`), exactly once whatever the processes. Every write
moves the draft's version on; a write made on a version read earlier is refused
(:class:`DraftChanged`), so that two processes handling the same admin at the same moment cannot
both move one draft on. Each method is one unit of work.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Draft as DraftRow
from db.models import as_utc
from db.session import Database
from db.store.errors import StoreError

#: How long a draft past its expiry stays, so that the first process to look can tell its owner;
#: after that any write removes it unseen.
GRACE = dt.timedelta(days=1)
_KEY = (DraftRow.chat_id, DraftRow.user_id, DraftRow.kind, DraftRow.token)
_NO_SYNC = {"synchronize_session": False}


class DraftKind(enum.StrEnum):
    #: The guided /add of a chat and user (one at a time: the token is empty).
    ADD = "add"
    #: An incident shown with its possible duplicates, waiting for "Save anyway".
    SAVE = "save"


@dataclass(frozen=True, slots=True)
class DraftKey:
    chat_id: int
    #: Whoever made the draft: the only user who can use it.
    user_id: int
    kind: DraftKind
    #: Empty for the guided /add; for "Save anyway", the token of the button's callback data.
    token: str = ""


@dataclass(frozen=True, slots=True)
class Draft:
    key: DraftKey
    #: What the handler stored (a JSON object).
    data: Mapping[str, Any]
    #: 1 when created, +1 with every write.
    version: int
    expires_at: dt.datetime


class DraftExpired(StoreError):
    """The draft was there but its time had run out: it is deleted now and not to be used. Raised
    to one caller only (the one that deleted it), which tells the owner."""

    def __init__(self, draft: Draft) -> None:
        super().__init__(f"draft {draft.key} expired at {draft.expires_at.isoformat()}")
        self.draft = draft


class DraftChanged(StoreError):
    """The draft is no longer at the version it was read at (another update moved it on, ended
    it, or it expired): nothing was written. Read it again and decide again."""

    def __init__(self, key: DraftKey, version: int) -> None:
        super().__init__(f"draft {key} is no longer at version {version}")
        self.key = key
        self.version = version


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _of(key: DraftKey) -> ColumnElement[bool]:
    return and_(
        DraftRow.chat_id == key.chat_id,
        DraftRow.user_id == key.user_id,
        DraftRow.kind == key.kind.value,
        DraftRow.token == key.token,
    )


class Drafts:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self._db = db
        self._clock = clock

    async def put(
        self,
        key: DraftKey,
        data: Mapping[str, Any],
        ttl: dt.timedelta,
        *,
        version: int | None = None,
        keep: int | None = None,
    ) -> Draft:
        """Keep ``data`` under ``key`` for ``ttl`` from now. Without ``version`` the draft is
        created, or replaces what was there; with it, only that version of a draft that has not
        expired is written over, else :class:`DraftChanged`. ``keep``: at most that many drafts of
        the user and kind stay, the newest (older buttons expire)."""
        now = self._clock()
        expires = now + ttl
        async with self._db.transaction() as session:
            if version is None:
                stored = await self._upsert(session, key, dict(data), now, expires)
            else:
                statement = (
                    update(DraftRow)
                    .where(_of(key), DraftRow.version == version, DraftRow.expires_at > now)
                    .values(data=dict(data), version=version + 1, expires_at=expires)
                    .returning(DraftRow.version)
                    .execution_options(**_NO_SYNC)
                )
                moved = (await session.execute(statement)).scalar_one_or_none()
                if moved is None:
                    raise DraftChanged(key, version)
                stored = int(moved)
            if keep is not None:
                await self._trim(session, key, keep)
            await session.execute(
                delete(DraftRow)
                .where(DraftRow.expires_at < now - GRACE)
                .execution_options(**_NO_SYNC)
            )
        return Draft(key, dict(data), stored, expires)

    async def get(self, key: DraftKey) -> Draft | None:
        """The draft, or None; :class:`DraftExpired` (and it is deleted) when its time ran out."""
        async with self._db.read() as connection:
            row = (
                await connection.execute(
                    select(DraftRow.data, DraftRow.version, DraftRow.expires_at).where(_of(key))
                )
            ).first()
        if row is None:
            return None
        draft = Draft(key, row.data, row.version, as_utc(row.expires_at))
        if draft.expires_at > self._clock():
            return draft
        async with self._db.transaction() as session:
            deleted = await session.execute(
                delete(DraftRow)
                .where(_of(key), DraftRow.version == draft.version)
                .returning(DraftRow.version)
                .execution_options(**_NO_SYNC)
            )
            if deleted.first() is None:
                return None  # another process found it first (and told the owner)
        raise DraftExpired(draft)

    async def take(self, key: DraftKey, *, version: int | None = None) -> Draft | None:
        """The draft, deleted: only one caller ever gets it. None when there is none; with
        ``version``, :class:`DraftChanged` unless it was at that version; :class:`DraftExpired`
        when its time ran out."""
        statement = delete(DraftRow).where(_of(key))
        if version is not None:
            statement = statement.where(DraftRow.version == version)
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    statement.returning(
                        DraftRow.data, DraftRow.version, DraftRow.expires_at
                    ).execution_options(**_NO_SYNC)
                )
            ).first()
        if row is None:
            if version is not None:
                raise DraftChanged(key, version)
            return None
        draft = Draft(key, row.data, row.version, as_utc(row.expires_at))
        if draft.expires_at <= self._clock():
            raise DraftExpired(draft)
        return draft

    async def clear(self, key: DraftKey) -> bool:
        """Delete the draft; True when there was one that had not expired."""
        async with self._db.transaction() as session:
            row = (
                await session.execute(
                    delete(DraftRow)
                    .where(_of(key))
                    .returning(DraftRow.expires_at)
                    .execution_options(**_NO_SYNC)
                )
            ).first()
        return row is not None and as_utc(row.expires_at) > self._clock()

    @staticmethod
    async def _upsert(
        session: AsyncSession,
        key: DraftKey,
        data: dict[str, Any],
        now: dt.datetime,
        expires: dt.datetime,
    ) -> int:
        """A new draft, or one in place of what was there (its version moved on): one statement,
        safe when two processes race."""
        dialect = session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(DraftRow).values(
            chat_id=key.chat_id,
            user_id=key.user_id,
            kind=key.kind.value,
            token=key.token,
            data=data,
            version=1,
            created_at=now,
            expires_at=expires,
        )
        statement = statement.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={
                "data": statement.excluded.data,
                "version": DraftRow.version + 1,
                "created_at": now,
                "expires_at": expires,
            },
        )
        return int((await session.execute(statement.returning(DraftRow.version))).scalar_one())

    @staticmethod
    async def _trim(session: AsyncSession, key: DraftKey, keep: int) -> None:
        """The user's drafts of the kind beyond the newest ``keep``, deleted."""
        older = await session.execute(
            select(DraftRow.chat_id, DraftRow.token)
            .where(DraftRow.user_id == key.user_id, DraftRow.kind == key.kind.value)
            .order_by(DraftRow.created_at.desc(), DraftRow.token.desc())
            .offset(keep)
        )
        for chat_id, token in older.all():
            gone = DraftKey(chat_id, key.user_id, key.kind, token)
            await session.execute(delete(DraftRow).where(_of(gone)).execution_options(**_NO_SYNC))
