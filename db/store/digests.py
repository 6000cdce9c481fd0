"""Digests through the store: deciding the ones that fell due, and the outbox their senders work
from. Called by the digest job and /digest_now (``handlers.digests``), one unit of work a call.

Deciding a digest writes its outbox row (once per chat and period, whatever process decides it)
and moves the chat's schedule on, in one transaction. A sender claims rows for a lease, so that no
other sender takes them meanwhile; it renews a claim it took more than half a lease ago before
sending, records each part of a long digest as it goes and then the row as sent, failed (retried
after a backoff and given up after ``max_attempts``, or after Telegram's ``retry_after`` for a
429, which never gives a row up) or, through ``Subscriptions.end``, dropped with its chat's
subscription. See ``db.outbox`` for why each digest is sent at least once, and twice only when a
sender dies between Telegram accepting it and its record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from db import digests, outbox, subscriptions
from db.digests import Render
from db.domain.digests import Claimed
from db.domain.records import OutboxStatus
from db.session import Database

#: Chats whose digests are decided in one transaction (which holds the write lock meanwhile).
DECIDE_BATCH = 200


@dataclass(frozen=True, slots=True)
class Decided:
    """One batch of deciding: how many digests were queued, and the last chat looked at (the
    next batch starts after it; None: no chat was left)."""

    queued: int
    last: int | None


class Digests:
    def __init__(self, db: Database, *, max_attempts: int = outbox.MAX_ATTEMPTS) -> None:
        self._db = db
        #: Attempts before a row is given up (a 429 never gives it up).
        self.max_attempts = max_attempts

    async def decide_batch(
        self,
        now: dt.datetime,
        tz: ZoneInfo,
        render: Render,
        *,
        at_once: bool = False,
        after: int | None = None,
        limit: int = DECIDE_BATCH,
    ) -> Decided:
        """Decide the digests of up to ``limit`` chats whose digest fell due by ``now``, the
        longest waiting first; ``at_once`` (/digest_now): of every running subscription, by chat
        id from after ``after``, keyed by ``now`` whatever the schedule (the next scheduled
        digest then covers only what comes after). A digest with nothing new is queued only if
        its chat asked for empty ones. Deciders of several processes take turns."""
        async with self._db.write() as session:
            if at_once:
                chats = await subscriptions.active(session, after=after, limit=limit)
            else:
                chats = await subscriptions.due(session, now, limit=limit)
            if not chats:
                return Decided(0, None)
            queued = await digests.decide_many(
                session, chats, now, tz, render, now_instead_of_schedule=at_once
            )
        return Decided(len(queued), chats[-1])

    async def claim(
        self, worker: str, now: dt.datetime, *, limit: int, lease: dt.timedelta
    ) -> list[Claimed]:
        """Up to ``limit`` rows that are due (or whose claim ran out), oldest first, held by
        ``worker`` until ``now + lease``."""
        return await outbox.claim(self._db, worker, now, limit=limit, lease=lease)

    async def renew(self, row_id: int, worker: str, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Extend a claim from ``now``, just before sending; False when another sender took the
        row over (then this one must not send it)."""
        async with self._db.transaction() as session:
            return await outbox.renew(session, row_id, worker, now, lease)

    async def record_part_sent(self, row_id: int, worker: str, parts_sent: int) -> bool:
        """The first ``parts_sent`` messages of a long digest were delivered (a retry resumes
        after them); False when the claim was lost."""
        async with self._db.transaction() as session:
            return await outbox.mark_part_sent(session, row_id, worker, parts_sent)

    async def record_sent(self, row_id: int, worker: str, now: dt.datetime) -> bool:
        """The digest was delivered: what it showed is remembered for later corrections; False
        when the claim was lost."""
        async with self._db.transaction() as session:
            return await outbox.mark_sent(session, row_id, worker, now)

    async def record_failed(
        self,
        row_id: int,
        worker: str,
        now: dt.datetime,
        error: str,
        *,
        retry_after: dt.timedelta | None = None,
    ) -> OutboxStatus | None:
        """A failed attempt: PENDING again after ``retry_after`` (Telegram's, for a 429: never
        given up) or the backoff, FAILED after ``max_attempts``; None when the claim was lost."""
        async with self._db.transaction() as session:
            return await outbox.mark_failed(
                session,
                row_id,
                worker,
                now,
                error,
                retry_after=retry_after,
                max_attempts=self.max_attempts,
            )

    async def soonest_retry(self) -> dt.datetime | None:
        """When the next row waiting to be retried falls due (None: none waits)."""
        async with self._db.read() as connection:
            return await outbox.soonest_retry(connection)
