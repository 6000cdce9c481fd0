"""The outbox: digests waiting to be sent, claimed by senders, never sent twice by two of them.

A row is written once per (chat, period) under a unique key, in the transaction that decides the
digest. A sender claims rows for a lease: on PostgreSQL with ``SELECT … FOR UPDATE SKIP LOCKED``, so
that senders of several processes take disjoint rows without waiting for each other; on SQLite,
whose writers take turns anyway, under the database's write lock. A sender that dies leaves its
rows claimed until the lease runs out; then another claims them again. A sender about to send a
row claimed more than half a lease ago renews the claim first, and does not send a row whose
claim it lost (a process stalled past its lease). So each digest is sent at least once, and twice only if a sender died between
Telegram accepting it and the row being marked sent: at most the messages in flight then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.domain.digests import Claimed
from db.domain.records import OutboxStatus
from db.models import DigestItem, OutboxMessage, as_utc
from db.queries import Reader
from db.session import Database

#: The key that makes SQLite claims take the write lock first (see ``Database.exclusive``).
_CLAIM_LOCK = 0x6F75_7462
#: How long a claim holds before another sender may take the row.
DEFAULT_LEASE = dt.timedelta(minutes=2)
#: Attempts before a row is given up (the error is kept on it).
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Queued:
    """A chat's digest for one period, to be written to the outbox."""

    chat_id: int
    period_end: dt.datetime
    parts: Sequence[str]
    #: [incident id, version] of what it shows (``digest_items`` once it is sent).
    shown: Sequence[tuple[int, int]] = ()


async def enqueue(session: AsyncSession, items: Sequence[Queued], now: dt.datetime) -> set[int]:
    """Add digests to the outbox in one statement; returns the chats whose row was written
    (a chat's digest for a period already there is left as it is)."""
    if not items:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .values(
            [
                {
                    "chat_id": item.chat_id,
                    "period_end": item.period_end,
                    "parts": list(item.parts),
                    "shown": [list(pair) for pair in item.shown],
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for item in items
            ]
        )
        .on_conflict_do_nothing(index_elements=["chat_id", "period_end"])
        .returning(OutboxMessage.chat_id)
    )
    return {int(chat_id) for chat_id in (await session.scalars(statement)).all()}


def _claimable(now: dt.datetime) -> ColumnElement[bool]:
    pending = and_(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now
    )
    abandoned = and_(
        OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now
    )
    return or_(pending, abandoned)


async def claim(
    db: Database,
    worker: str,
    now: dt.datetime,
    *,
    limit: int = 100,
    lease: dt.timedelta = DEFAULT_LEASE,
) -> list[Claimed]:
    """Take up to ``limit`` rows that are due (or whose claim ran out) for ``worker``, oldest
    first; no other sender gets them until the lease runs out."""
    async with db.transaction() as session:
        query = (
            select(OutboxMessage.id).where(_claimable(now)).order_by(OutboxMessage.id).limit(limit)
        )
        if db.is_sqlite:
            await db.exclusive(session, _CLAIM_LOCK)
        else:
            query = query.with_for_update(skip_locked=True)
        ids = [int(i) for i in (await session.execute(query)).scalars()]
        if not ids:
            return []
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=OutboxStatus.SENDING,
                claimed_by=worker,
                claimed_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        rows = await session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.chat_id,
                OutboxMessage.parts,
                OutboxMessage.attempts,
                OutboxMessage.parts_sent,
            )
            .where(OutboxMessage.id.in_(ids))
            .order_by(OutboxMessage.id)
        )
        return [
            Claimed(int(r[0]), int(r[1]), tuple(r[2]), int(r[3]), int(r[4]), now + lease)
            for r in rows
        ]


def _held_by(row_id: int, worker: str) -> ColumnElement[bool]:
    return and_(
        OutboxMessage.id == row_id,
        OutboxMessage.status == OutboxStatus.SENDING,
        OutboxMessage.claimed_by == worker,
    )


async def renew(
    session: AsyncSession, row_id: int, worker: str, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """Extend a claim from ``now`` just before sending; False when it was lost (the lease ran
    out and another sender took the row): then this sender must not send it. A claim whose
    lease ran out but that nobody took yet is kept (the update and a claim exclude each other)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_held_by(row_id, worker))
        .values(claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_part_sent(session: AsyncSession, row_id: int, worker: str, parts_sent: int) -> bool:
    """Record that the first ``parts_sent`` messages of a long digest were delivered; False when
    the claim was lost."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_held_by(row_id, worker))
        .values(parts_sent=parts_sent)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def soonest_retry(db: Reader) -> dt.datetime | None:
    """When the next row waiting to be retried falls due (None: none waits)."""
    found = await db.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    return as_utc(found) if found is not None else None


async def mark_sent(session: AsyncSession, row_id: int, worker: str, now: dt.datetime) -> bool:
    """Record a delivered row and what it showed its chat; False when the claim was lost
    (another sender took the row over)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(_held_by(row_id, worker))
        .values(status=OutboxStatus.SENT, sent_at=now, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        return False
    chat_id, shown = (
        await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.shown).where(OutboxMessage.id == row_id)
        )
    ).one()
    await _record_shown(session, int(chat_id), shown, now)
    return True


async def _record_shown(
    session: AsyncSession, chat_id: int, shown: Sequence[Sequence[int]], now: dt.datetime
) -> None:
    """Remember which version of each incident a chat was sent (``digest_items``)."""
    if not shown:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(DigestItem).values(
        [
            {"chat_id": chat_id, "incident_id": int(i), "version": int(v), "sent_at": now}
            for i, v in shown
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["chat_id", "incident_id"],
            set_={"version": statement.excluded.version, "sent_at": statement.excluded.sent_at},
        )
    )


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, … after the attempt that failed (at most an hour)."""
    return min(dt.timedelta(seconds=30 * 2 ** max(attempts - 1, 0)), dt.timedelta(hours=1))


async def mark_failed(
    session: AsyncSession,
    row_id: int,
    worker: str,
    now: dt.datetime,
    error: str,
    *,
    retry_after: dt.timedelta | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> OutboxStatus | None:
    """Record a failed attempt: back to PENDING after ``retry_after`` (Telegram's, for a 429) or
    the backoff, or FAILED after the last attempt. None when the claim was lost.

    It writes before it reads: on SQLite a transaction that has read cannot wait for the write
    lock, and senders run side by side."""
    attempts = (
        await session.execute(
            update(OutboxMessage)
            .where(_held_by(row_id, worker))
            .values(claimed_until=None, last_error=error[:1000])
            .returning(OutboxMessage.attempts)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if attempts is None:
        return None
    final = attempts >= max_attempts and retry_after is None
    status = OutboxStatus.FAILED if final else OutboxStatus.PENDING
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(
            status=status,
            next_attempt_at=now
            + (retry_after if retry_after is not None else backoff(int(attempts))),
        )
        .execution_options(synchronize_session=False)
    )
    return status


async def drop_chat(session: AsyncSession, chat_id: int, reason: str) -> int:
    """Stop every undelivered row of a chat (its subscription ended); returns how many."""
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status.in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
        )
        .values(status=OutboxStatus.DROPPED, claimed_until=None, last_error=reason[:1000])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    chat_id: int
    status: OutboxStatus
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None


async def rows_of_chat(session: AsyncSession, chat_id: int) -> list[OutboxRow]:
    rows = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.chat_id,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.next_attempt_at,
            OutboxMessage.last_error,
        )
        .where(OutboxMessage.chat_id == chat_id)
        .order_by(OutboxMessage.id)
    )
    return [
        OutboxRow(int(r[0]), int(r[1]), OutboxStatus(r[2]), int(r[3]), as_utc(r[4]), r[5])
        for r in rows
    ]
