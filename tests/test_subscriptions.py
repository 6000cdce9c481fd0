"""Digest subscriptions in the store: one per chat, the schedule kept in UTC, ended and resumed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from db import subscriptions
from db.domain.digests import DigestSettings
from db.domain.filters import Category, IncidentFilter
from db.domain.records import SubscriptionEnd
from db.domain.schedule import Frequency
from handlers.context import Services

BAKU = ZoneInfo("Asia/Baku")
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)  # a Friday, 16:00 in Baku
CHAT = -100_900


async def test_subscribe_change_end_and_resume(services: Services) -> None:
    db = services.store.db
    settings = DigestSettings(filter=IncidentFilter(districts=(3, 1), category=Category.CIVILIAN))
    async with db.write() as session:
        view = await subscriptions.subscribe(session, CHAT, settings, 4242, NOW, BAKU)
    assert view.active and view.period_start == NOW
    assert view.next_due_at == dt.datetime(2026, 11, 28, 5, 0, tzinfo=dt.UTC)  # 09:00 Baku
    async with db.session() as session:
        stored = await subscriptions.get(session, CHAT)
    assert stored is not None and stored.settings == settings
    assert stored.next_due_at == view.next_due_at

    # Weekly at 18:30: due next Monday; the period it covers still starts when it was made.
    later = NOW + dt.timedelta(hours=1)
    weekly = DigestSettings(Frequency.WEEKLY, dt.time(18, 30))
    async with db.write() as session:
        view = await subscriptions.subscribe(session, CHAT, weekly, 4242, later, BAKU)
    assert view.next_due_at == dt.datetime(2026, 11, 30, 14, 30, tzinfo=dt.UTC)
    assert view.period_start == NOW

    async with db.read() as connection:
        assert CHAT not in await subscriptions.due(connection, NOW)
        assert CHAT in await subscriptions.due(connection, view.next_due_at)

    async with db.write() as session:
        assert await subscriptions.end(session, CHAT, SubscriptionEnd.BLOCKED, later)
        assert not await subscriptions.end(session, CHAT, SubscriptionEnd.UNSUBSCRIBED, later)
    async with db.read() as connection:
        assert CHAT not in await subscriptions.due(connection, view.next_due_at)
    async with db.session() as session:
        ended = await subscriptions.get(session, CHAT)
    assert ended is not None and not ended.active
    assert ended.ended_reason is SubscriptionEnd.BLOCKED

    # Subscribing again starts a new period from then.
    again = later + dt.timedelta(days=3)
    async with db.write() as session:
        view = await subscriptions.subscribe(session, CHAT, weekly, 4242, again, BAKU)
        await subscriptions.end(session, CHAT, SubscriptionEnd.UNSUBSCRIBED, again)
    assert view.active and view.period_start == again
