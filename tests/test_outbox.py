"""The outbox: one row per chat and period; claims are exclusive, also between two processes'
engines on one database; a dead sender's rows come back after the lease; failures back off."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete

from db import outbox
from db.domain.records import OutboxStatus
from db.models import OutboxMessage
from db.session import Database
from handlers.context import Services

NOW = dt.datetime(2026, 11, 27, 5, 0, tzinfo=dt.UTC)
_chats = itertools.count(-200_000, -1)


@pytest_asyncio.fixture(loop_scope="session")
async def db(services: Services) -> AsyncIterator[Database]:
    """The test database, with the outbox emptied before and after."""
    async with services.store.db.transaction() as session:
        await session.execute(delete(OutboxMessage))
    yield services.store.db
    async with services.store.db.transaction() as session:
        await session.execute(delete(OutboxMessage))


async def _enqueue(db: Database, n: int, period_end: dt.datetime = NOW) -> list[int]:
    chats = [next(_chats) for _ in range(n)]
    async with db.transaction() as session:
        queued = [outbox.Queued(chat, period_end, [f"digest {chat}"]) for chat in chats]
        assert await outbox.enqueue(session, queued, NOW) == set(chats)
    return chats


async def test_one_row_per_chat_and_period(db: Database) -> None:
    (chat,) = await _enqueue(db, 1)
    async with db.transaction() as session:
        assert not await outbox.enqueue(session, [outbox.Queued(chat, NOW, ["again"])], NOW)
        tomorrow = NOW + dt.timedelta(days=1)
        assert await outbox.enqueue(session, [outbox.Queued(chat, tomorrow, ["next"])], NOW)
    claimed = await outbox.claim(db, "w1", NOW)
    # A row can be sent as soon as it is written, whatever period it covers.
    assert [c.parts for c in claimed if c.chat_id == chat] == [(f"digest {chat}",), ("next",)]


async def test_a_claim_is_exclusive_until_its_lease_runs_out(db: Database) -> None:
    chats = await _enqueue(db, 3)
    first = await outbox.claim(db, "w1", NOW)
    assert sorted(c.chat_id for c in first) == sorted(chats)
    assert await outbox.claim(db, "w2", NOW + dt.timedelta(seconds=30)) == []
    # w1 delivers one and dies with the other two claimed: after the lease, w2 takes those.
    async with db.transaction() as session:
        assert await outbox.mark_sent(session, first[0].id, "w1", NOW)
    later = NOW + outbox.DEFAULT_LEASE + dt.timedelta(seconds=1)
    second = await outbox.claim(db, "w2", later)
    assert sorted(c.id for c in second) == sorted(c.id for c in first[1:])
    assert all(c.attempts == 2 for c in second)
    # w1 comes back: its claims are gone, it may not send them and marking them changes nothing.
    async with db.transaction() as session:
        assert not await outbox.renew(session, first[1].id, "w1", later, outbox.DEFAULT_LEASE)
        assert not await outbox.mark_sent(session, first[1].id, "w1", later)
        assert await outbox.mark_sent(session, first[1].id, "w2", later)


async def test_a_sender_renews_its_claim_just_before_sending(db: Database) -> None:
    (chat,) = await _enqueue(db, 1)
    (row,) = [c for c in await outbox.claim(db, "w1", NOW) if c.chat_id == chat]
    # w1 stalled past its lease, but nobody took the row: renewing keeps it for w1.
    late = NOW + outbox.DEFAULT_LEASE + dt.timedelta(seconds=5)
    async with db.transaction() as session:
        assert await outbox.renew(session, row.id, "w1", late, outbox.DEFAULT_LEASE)
    assert [c for c in await outbox.claim(db, "w2", late) if c.chat_id == chat] == []
    async with db.transaction() as session:
        assert await outbox.mark_sent(session, row.id, "w1", late)


async def test_failures_back_off_then_give_up(db: Database) -> None:
    (chat,) = await _enqueue(db, 1)
    when = NOW
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        (claimed,) = [c for c in await outbox.claim(db, "w", when) if c.chat_id == chat]
        assert claimed.attempts == attempt
        async with db.transaction() as session:
            status = await outbox.mark_failed(session, claimed.id, "w", when, "timeout")
        assert status is (
            OutboxStatus.FAILED if attempt == outbox.MAX_ATTEMPTS else OutboxStatus.PENDING
        )
        assert await outbox.claim(db, "w", when) == []  # not before the backoff
        when += outbox.backoff(attempt)
    async with db.session() as session:
        (row,) = await outbox.rows_of_chat(session, chat)
    assert row.status is OutboxStatus.FAILED and row.last_error == "timeout"


async def test_a_429_waits_as_long_as_telegram_says_and_costs_no_attempt(db: Database) -> None:
    await _enqueue(db, 1)
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        (claimed,) = await outbox.claim(db, "w", NOW)
        async with db.transaction() as session:
            status = await outbox.mark_failed(
                session, claimed.id, "w", NOW, "429", retry_after=dt.timedelta(0)
            )
        assert status is OutboxStatus.PENDING


async def test_an_ended_subscription_drops_what_waits(db: Database) -> None:
    (chat,) = await _enqueue(db, 1)
    await _enqueue(db, 1)
    async with db.transaction() as session:
        await outbox.enqueue(session, [outbox.Queued(chat, NOW + dt.timedelta(days=1), ["x"])], NOW)
        assert await outbox.drop_chat(session, chat, "403: bot was blocked by the user") == 2
    claimed = await outbox.claim(db, "w", NOW + dt.timedelta(days=2))
    assert chat not in [c.chat_id for c in claimed] and len(claimed) == 1


async def test_two_processes_claiming_together_never_take_the_same_row(
    db: Database, database_url: str
) -> None:
    """Two engines (as two bot processes have) claim in small batches at the same time."""
    await _enqueue(db, 200)
    other = Database(database_url)
    taken: dict[str, list[int]] = {"a": [], "b": []}

    async def sender(name: str, engine: Database) -> None:
        while True:
            batch = await outbox.claim(engine, name, NOW, limit=7)
            if not batch:
                return
            taken[name] += [c.id for c in batch]
            await asyncio.sleep(0)

    try:
        await asyncio.gather(sender("a", db), sender("b", other))
    finally:
        await other.dispose()
    assert len(taken["a"]) + len(taken["b"]) == 200
    assert not set(taken["a"]) & set(taken["b"])
    if not db.is_sqlite:
        assert taken["a"] and taken["b"]  # both made progress: SKIP LOCKED, no waiting


@pytest.mark.parametrize("attempts", [1, 2, 3, 7, 20])
def test_backoff_grows_and_is_bounded(attempts: int) -> None:
    assert outbox.backoff(attempts) >= outbox.backoff(max(attempts - 1, 1))
    assert outbox.backoff(attempts) <= dt.timedelta(hours=1)
