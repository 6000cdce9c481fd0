"""Digest subscriptions: one per chat, with its schedule kept in the store (due times in UTC), so
that the scheduled jobs can be rebuilt from it at every start and nothing that fell due during a
downtime is lost.

A new subscription's first digest covers what changes from the moment it is made; a changed one
keeps the start of the period it was in, so that changing the time of day loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.domain.digests import DigestSettings, SubscriptionView
from db.domain.dimensions import dump_filter, load_filter
from db.domain.records import SubscriptionEnd
from db.domain.schedule import Frequency, next_due
from db.models import Subscription, as_utc
from db.queries import Reader


def view_of(row: Subscription) -> SubscriptionView:
    return SubscriptionView(
        chat_id=row.chat_id,
        settings=DigestSettings(
            frequency=Frequency(row.frequency),
            at=row.at,
            weekday=row.weekday,
            filter=load_filter(row.filters),
            send_empty=row.send_empty,
        ),
        language=row.language,
        active=row.active,
        ended_reason=SubscriptionEnd(row.ended_reason) if row.ended_reason else None,
        period_start=as_utc(row.period_start),
        next_due_at=as_utc(row.next_due_at),
    )


async def subscribe(
    session: AsyncSession,
    chat_id: int,
    settings: DigestSettings,
    actor: int | None,
    now: dt.datetime,
    tz: ZoneInfo,
    *,
    language: str | None = None,
) -> SubscriptionView:
    """Start a chat's digest, or change it (an ended one starts again from ``now``);
    ``language``: the one the chat is answered in now, for its digests."""
    due = next_due(now, settings.frequency, settings.at, tz, settings.weekday)
    row = await session.get(Subscription, chat_id, populate_existing=True)
    if row is None:
        row = Subscription(chat_id=chat_id, created_at=now, period_start=now)
        session.add(row)
    elif not row.active:
        row.period_start = now
    row.frequency = settings.frequency
    row.at = settings.at
    row.weekday = settings.weekday
    row.filters = dump_filter(settings.filter)
    row.send_empty = settings.send_empty
    if language is not None:
        row.language = language
    row.active = True
    row.ended_reason = None
    row.ended_at = None
    row.updated_by = actor
    row.updated_at = now
    row.next_due_at = due
    await session.flush()
    return view_of(row)


async def end(
    session: AsyncSession, chat_id: int, reason: SubscriptionEnd, now: dt.datetime
) -> bool:
    """Stop a chat's digest; False when it had none running."""
    result = await session.execute(
        update(Subscription)
        .where(Subscription.chat_id == chat_id, Subscription.active.is_(True))
        .values(active=False, ended_reason=reason, ended_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def get(session: AsyncSession, chat_id: int) -> SubscriptionView | None:
    row = await session.get(Subscription, chat_id, populate_existing=True)
    return view_of(row) if row is not None else None


async def due(db: Reader, now: dt.datetime, *, limit: int = 1000) -> Sequence[int]:
    """Chats whose digest has fallen due by ``now``, the longest waiting first."""
    rows = await db.execute(
        select(Subscription.chat_id)
        .where(Subscription.active.is_(True), Subscription.next_due_at <= now)
        .order_by(Subscription.next_due_at, Subscription.chat_id)
        .limit(limit)
    )
    return [int(r[0]) for r in rows]


async def active(db: Reader, *, after: int | None = None, limit: int = 1000) -> Sequence[int]:
    """Chats with a running digest, by chat id, from after ``after`` (pages of ``limit``)."""
    query = select(Subscription.chat_id).where(Subscription.active.is_(True))
    if after is not None:
        query = query.where(Subscription.chat_id > after)
    rows = await db.execute(query.order_by(Subscription.chat_id).limit(limit))
    return [int(r[0]) for r in rows]
