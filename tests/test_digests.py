"""Deciding digests: new incidents of the period for the chat's filters, corrections only for the
chats that were sent the old figure, queued once per period, the schedule moved on."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlalchemy import delete, select, update

from db import changes, digests, outbox, subscriptions
from db.domain.digests import Digest, DigestSettings
from db.domain.drafts import IncidentDraft
from db.domain.filters import IncidentFilter
from db.domain.records import DatePrecision
from db.models import DigestItem, OutboxMessage, Subscription
from db.store import apply
from handlers.context import Services

BAKU = ZoneInfo("Asia/Baku")
OWNER = 4242
FIRST, SECOND = -300_001, -300_002


def _render(digest: Digest) -> list[str]:
    return [
        f"new={','.join(str(r.id) for r in digest.new)} "
        f"fixed={','.join(str(c.incident_id) for c in digest.corrections)} "
        f"total={digest.totals.counts.total}"
    ]


@pytest_asyncio.fixture(loop_scope="session")
async def store(sandbox: Services) -> AsyncIterator[Services]:
    yield sandbox
    async with sandbox.store.db.transaction() as session:
        for model in (OutboxMessage, DigestItem, Subscription):
            await session.execute(delete(model).where(model.chat_id.in_([FIRST, SECOND])))


async def _period_from_now(services: Services, *chats: int) -> None:
    """Subscribed two days ago (so due), but the period starts now: after the dataset was loaded
    in this test session (its incidents were recorded then)."""
    async with services.store.db.write() as session:
        await session.execute(
            update(Subscription)
            .where(Subscription.chat_id.in_(chats))
            .values(period_start=dt.datetime.now(dt.UTC))
        )


async def _make_due(services: Services, chat_id: int) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with services.store.db.write() as session:
        await session.execute(
            update(Subscription).where(Subscription.chat_id == chat_id).values(next_due_at=past)
        )


async def _decide(services: Services, chat_id: int) -> bool:
    async with services.store.db.write() as session:
        return await digests.decide(session, chat_id, dt.datetime.now(dt.UTC), BAKU, _render)


async def _deliver(services: Services) -> dict[int, list[str]]:
    now = dt.datetime.now(dt.UTC)
    sent: dict[int, list[str]] = {}
    for row in await outbox.claim(services.store.db, "test", now):
        if row.chat_id in (FIRST, SECOND):
            sent[row.chat_id] = list(row.parts)
        async with services.store.db.transaction() as session:
            await outbox.mark_sent(session, row.id, "test", now)
    return sent


async def test_a_digest_of_new_incidents_then_of_a_correction(store: Services) -> None:
    db = store.store.db
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    async with db.write() as session:
        for chat in (FIRST, SECOND):
            settings = (
                DigestSettings(filter=IncidentFilter(districts=(1,)))
                if chat == FIRST
                else DigestSettings()
            )
            await subscriptions.subscribe(session, chat, settings, OWNER, start, BAKU)
    await _period_from_now(store, FIRST, SECOND)
    async with db.write() as session:
        draft = IncidentDraft(
            date=dt.date(2026, 7, 1),
            precision=DatePrecision.DAY,
            district_id=1,
            source_url="https://digest.az/1",
            civilian_injured=1,
        )
        mine = await changes.add_incident(session, draft, OWNER)
        other = await changes.add_incident(
            session, IncidentDraft(**{**_fields(draft), "district_id": 2}), OWNER
        )

    # Both fell due during the two days: one digest each, with the period's new incidents.
    assert await _decide(store, FIRST) and await _decide(store, SECOND)
    assert not await _decide(store, FIRST)  # decided once per period
    sent = await _deliver(store)
    assert sent[FIRST][0].startswith(f"new={mine.id} fixed= ")
    assert sent[SECOND][0].startswith(f"new={other.id},{mine.id} fixed= ") or sent[SECOND][
        0
    ].startswith(f"new={mine.id},{other.id} fixed= ")
    async with db.session() as session:
        first = await subscriptions.get(session, FIRST)
    assert first is not None and first.next_due_at > dt.datetime.now(dt.UTC)

    # Nothing new: nothing is queued.
    await _make_due(store, FIRST)
    assert not await _decide(store, FIRST)

    # A correction of the incident FIRST was sent reaches FIRST, and SECOND (which was sent it
    # too); a new subscriber who never saw it gets no correction.
    async with db.write() as session:
        await apply.edit_incident(session, mine.id, {"civilian_injured": 3}, OWNER, "update")
    for chat in (FIRST, SECOND):
        await _make_due(store, chat)
        assert await _decide(store, chat)
    sent = await _deliver(store)
    assert sent[FIRST][0].startswith(f"new= fixed={mine.id} ")
    assert sent[SECOND][0].startswith(f"new= fixed={mine.id} ")
    async with db.read() as connection:
        seen = (
            await connection.execute(
                select(DigestItem.chat_id, DigestItem.version).where(
                    DigestItem.incident_id == mine.id
                )
            )
        ).all()
    assert sorted(tuple(r) for r in seen) == [(SECOND, 2), (FIRST, 2)]


def _fields(draft: IncidentDraft) -> dict[str, object]:
    return {name: getattr(draft, name) for name in draft.__dataclass_fields__}


async def test_an_empty_digest_is_sent_only_when_asked_for(store: Services) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    async with store.store.db.write() as session:
        await subscriptions.subscribe(
            session, FIRST, DigestSettings(send_empty=True), OWNER, start, BAKU
        )
    await _period_from_now(store, FIRST)
    assert await _decide(store, FIRST)
    assert (await _deliver(store))[FIRST][0].startswith("new= fixed= ")
