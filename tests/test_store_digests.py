"""The store API of the digests, without Telegram: the subscription rules (defaults, what a new
/subscribe keeps, changing the frequency, ending with what waits dropped) and the outbox rules
(decided once per period in batches, empty digests only when asked for, claims held for a lease and
renewed, failures backing off until given up, a 429 never giving up, a long digest resuming).

Everything happens in 2020 (``NOW``): the digests of the other tests' subscriptions, made at the
real time, never fall due here, and no incident was recorded then (every digest is empty)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlalchemy import delete

from db import outbox, subscriptions
from db.digests import Render
from db.domain.digests import Digest, DigestSettings, SubscriptionView
from db.domain.filters import Category, IncidentFilter
from db.domain.records import OutboxStatus, SubscriptionEnd
from db.domain.schedule import Frequency
from db.models import DigestItem, OutboxMessage, Subscription
from db.store import Store
from db.store.digests import Decided, Digests
from db.store.subscriptions import SubscribeRequest
from handlers.context import Services

BAKU = ZoneInfo("Asia/Baku")
NOW = dt.datetime(2020, 1, 6, 12, 0, tzinfo=dt.UTC)  # a Monday, 16:00 in Baku
LATER = NOW + dt.timedelta(days=3)
NINE = dt.time(9, 0)
OWNER = 4242
#: Chat ids no other test uses, in order.
CHATS = [700_010, 700_011, 700_012, 700_013]
LEASE = dt.timedelta(minutes=2)


def _render(digest: Digest) -> Sequence[str]:
    return [f"digest of {digest.subscription.chat_id}"]


def _long(digest: Digest) -> Sequence[str]:
    return ["part 1", "part 2", "part 3"]


@pytest_asyncio.fixture(loop_scope="session")
async def store(services: Services) -> AsyncIterator[Store]:
    """The store, with an empty outbox (claims take any row) and no subscription of ``CHATS``,
    before and after."""

    async def clean() -> None:
        async with services.store.db.transaction() as session:
            await session.execute(delete(OutboxMessage))
            for model in (DigestItem, Subscription):
                await session.execute(delete(model).where(model.chat_id.in_(CHATS)))

    await clean()
    yield services.store
    await clean()


async def _subscribed(store: Store, *settings: DigestSettings) -> list[int]:
    """Subscriptions made at ``NOW`` (due the next day at their time), one chat each."""
    chats = CHATS[: len(settings)]
    async with store.db.write() as session:
        for chat, s in zip(chats, settings, strict=True):
            await subscriptions.subscribe(session, chat, s, OWNER, NOW, BAKU)
    return chats


async def _current(store: Store, chat: int) -> SubscriptionView:
    view = await store.subscriptions.current(chat)
    assert view is not None
    return view


async def _rows(store: Store, chat: int) -> list[outbox.OutboxRow]:
    async with store.db.session() as session:
        return await outbox.rows_of_chat(session, chat)


# -- subscriptions --------------------------------------------------------------------------------


async def test_a_new_subscription_is_daily_at_the_configured_time(store: Store) -> None:
    chat = CHATS[0]
    assert await store.subscriptions.current(chat) is None
    view = await store.subscriptions.subscribe(
        chat,
        SubscribeRequest(IncidentFilter(districts=(2, 1))),
        actor=OWNER,
        tz=BAKU,
        default_at=dt.time(7, 15),
        language="ru",
        now=NOW,
    )
    assert view.active and view.language == "ru" and view.period_start == NOW
    assert view.settings == DigestSettings(
        Frequency.DAILY, dt.time(7, 15), filter=IncidentFilter(districts=(2, 1))
    )
    assert view.next_due_at == dt.datetime(2020, 1, 7, 3, 15, tzinfo=dt.UTC)  # 07:15 in Baku
    assert await _current(store, chat) == view


async def test_subscribing_again_keeps_the_schedule_and_takes_the_new_filters(
    store: Store,
) -> None:
    (chat,) = await _subscribed(
        store,
        DigestSettings(Frequency.WEEKLY, dt.time(18, 30), 3, IncidentFilter((1,)), send_empty=True),
    )
    view = await store.subscriptions.subscribe(
        chat,
        SubscribeRequest(IncidentFilter(category=Category.CIVILIAN)),
        actor=OWNER,
        tz=BAKU,
        default_at=NINE,
        now=LATER,
    )
    assert view.settings == DigestSettings(
        Frequency.WEEKLY,
        dt.time(18, 30),
        3,
        IncidentFilter(category=Category.CIVILIAN),
        send_empty=True,
    )
    assert view.period_start == NOW  # the period it was in goes on
    # What the request names replaces what ran.
    view = await store.subscriptions.subscribe(
        chat,
        SubscribeRequest(frequency=Frequency.DAILY, at=dt.time(6, 0)),
        actor=OWNER,
        tz=BAKU,
        default_at=NINE,
        now=LATER,
    )
    assert (view.settings.frequency, view.settings.at) == (Frequency.DAILY, dt.time(6, 0))


async def test_an_ended_subscription_starts_again_from_the_defaults(store: Store) -> None:
    (chat,) = await _subscribed(store, DigestSettings(Frequency.WEEKLY, dt.time(18, 30), 3))
    assert await store.subscriptions.end(chat, SubscriptionEnd.UNSUBSCRIBED, now=NOW)
    view = await store.subscriptions.subscribe(
        chat, SubscribeRequest(), actor=OWNER, tz=BAKU, default_at=NINE, now=LATER
    )
    assert view.active and view.ended_reason is None
    assert view.settings == DigestSettings(at=NINE)
    assert view.period_start == LATER  # a new period


async def test_the_frequency_changes_only_while_a_digest_runs(store: Store) -> None:
    chat = CHATS[0]
    change = store.subscriptions.change_frequency
    assert await change(chat, Frequency.WEEKLY, actor=OWNER, tz=BAKU, now=NOW) is None
    assert await store.subscriptions.current(chat) is None  # nothing was made
    await _subscribed(
        store, DigestSettings(at=dt.time(18, 30), filter=IncidentFilter(districts=(4,)))
    )
    view = await change(chat, Frequency.WEEKLY, actor=OWNER, tz=BAKU, now=NOW)
    assert view is not None
    assert view.settings == DigestSettings(
        Frequency.WEEKLY, dt.time(18, 30), filter=IncidentFilter(districts=(4,))
    )
    await store.subscriptions.end(chat, SubscriptionEnd.UNSUBSCRIBED, now=NOW)
    assert await change(chat, Frequency.DAILY, actor=OWNER, tz=BAKU, now=NOW) is None
    assert (await _current(store, chat)).settings.frequency is Frequency.WEEKLY


async def test_an_ended_subscription_drops_what_waits_for_its_chat(store: Store) -> None:
    blocked, removed = await _subscribed(
        store, DigestSettings(send_empty=True), DigestSettings(send_empty=True)
    )
    await store.digests.decide_batch(NOW, BAKU, _render, at_once=True, after=blocked - 1, limit=2)
    assert await store.subscriptions.end(
        blocked, SubscriptionEnd.BLOCKED, detail="403: bot was blocked by the user", now=NOW
    )
    assert await store.subscriptions.end(removed, SubscriptionEnd.REMOVED, now=NOW)
    assert not await store.subscriptions.end(removed, SubscriptionEnd.UNSUBSCRIBED, now=NOW)
    assert (await _current(store, blocked)).ended_reason is SubscriptionEnd.BLOCKED
    assert [(r.status, r.last_error) for r in await _rows(store, blocked)] == [
        (OutboxStatus.DROPPED, "403: bot was blocked by the user")
    ]
    assert [(r.status, r.last_error) for r in await _rows(store, removed)] == [
        (OutboxStatus.DROPPED, SubscriptionEnd.REMOVED.value)
    ]
    assert await store.digests.claim("w", LATER, limit=10, lease=LEASE) == []


# -- deciding -------------------------------------------------------------------------------------


async def test_due_digests_are_decided_in_batches_once_per_period(store: Store) -> None:
    chats = await _subscribed(store, *[DigestSettings(send_empty=True)] * 3)
    due = await _current(store, chats[0])
    assert await store.digests.decide_batch(NOW, BAKU, _render) == Decided(0, None)  # not yet
    first = await store.digests.decide_batch(due.next_due_at, BAKU, _render, limit=2)
    second = await store.digests.decide_batch(due.next_due_at, BAKU, _render, limit=2)
    assert (first.queued, second.queued) == (2, 1)
    assert await store.digests.decide_batch(due.next_due_at, BAKU, _render) == Decided(0, None)
    for chat in chats:
        view = await _current(store, chat)
        assert view.period_start == due.next_due_at
        assert view.next_due_at == due.next_due_at + dt.timedelta(days=1)
        (row,) = await _rows(store, chat)
        assert row.status is OutboxStatus.PENDING


async def test_a_digest_with_nothing_new_is_queued_only_when_asked_for(store: Store) -> None:
    quiet, empty = await _subscribed(store, DigestSettings(), DigestSettings(send_empty=True))
    due = (await _current(store, quiet)).next_due_at
    assert (await store.digests.decide_batch(due, BAKU, _render)).queued == 1
    assert await _rows(store, quiet) == [] and len(await _rows(store, empty)) == 1
    assert (await _current(store, quiet)).next_due_at > due  # its schedule moved on all the same


async def test_digests_now_are_decided_by_chat_whatever_the_schedule(store: Store) -> None:
    chats = await _subscribed(store, *[DigestSettings(send_empty=True)] * 3)
    before = await _current(store, chats[0])
    now = NOW + dt.timedelta(hours=1)  # none is due
    batch = await store.digests.decide_batch(
        now, BAKU, _render, at_once=True, after=chats[1] - 1, limit=2
    )
    assert batch == Decided(2, chats[2])  # by chat id, from after ``after``
    assert await _rows(store, chats[0]) == []
    after = await _current(store, chats[1])
    assert after.period_start == now and after.next_due_at == before.next_due_at
    # The same moment again: the digests of that period are there already.
    again = await store.digests.decide_batch(
        now, BAKU, _render, at_once=True, after=chats[1] - 1, limit=2
    )
    assert again.queued == 0 and len(await _rows(store, chats[1])) == 1


# -- sending --------------------------------------------------------------------------------------


async def _queued(store: Store, render: Render = _render) -> int:
    """One chat's digest in the outbox, decided at ``NOW``."""
    (chat,) = await _subscribed(store, DigestSettings(send_empty=True))
    await store.digests.decide_batch(NOW, BAKU, render, at_once=True, after=chat - 1, limit=1)
    return chat


async def test_a_claim_holds_for_its_lease_and_is_renewed_before_sending(store: Store) -> None:
    chat = await _queued(store)
    digests = store.digests
    (row,) = await digests.claim("w1", NOW, limit=10, lease=LEASE)
    assert row.chat_id == chat and row.parts == (f"digest of {chat}",)
    assert row.claimed_until == NOW + LEASE
    assert await digests.claim("w2", NOW + LEASE / 2, limit=10, lease=LEASE) == []
    # w1 stalled past its lease but nobody took the row: renewing keeps it.
    late = NOW + LEASE + dt.timedelta(seconds=1)
    assert await digests.renew(row.id, "w1", late, LEASE)
    assert await digests.claim("w2", late, limit=10, lease=LEASE) == []
    # Past the renewed lease, w2 takes it over: w1 may neither renew nor record it.
    later = late + LEASE + dt.timedelta(seconds=1)
    (taken,) = await digests.claim("w2", later, limit=10, lease=LEASE)
    assert taken.id == row.id and taken.attempts == 2
    assert not await digests.renew(row.id, "w1", later, LEASE)
    assert not await digests.record_sent(row.id, "w1", later)
    assert await digests.record_sent(row.id, "w2", later)
    assert [r.status for r in await _rows(store, chat)] == [OutboxStatus.SENT]


async def test_failures_back_off_then_give_up(store: Store) -> None:
    chat = await _queued(store)
    digests = Digests(store.db, max_attempts=2)
    (row,) = await digests.claim("w", NOW, limit=10, lease=LEASE)
    assert await digests.record_failed(row.id, "w", NOW, "timeout") is OutboxStatus.PENDING
    assert await digests.soonest_retry() == NOW + outbox.backoff(1)
    assert await digests.claim("w", NOW, limit=10, lease=LEASE) == []  # not before the backoff
    (row,) = await digests.claim("w", NOW + outbox.backoff(1), limit=10, lease=LEASE)
    assert await digests.record_failed(row.id, "w", NOW, "timeout") is OutboxStatus.FAILED
    assert await digests.soonest_retry() is None
    assert not await digests.record_failed(row.id, "other", NOW, "timeout")  # not its claim
    (stored,) = await _rows(store, chat)
    assert stored.status is OutboxStatus.FAILED and stored.last_error == "timeout"


async def test_a_429_never_gives_a_digest_up(store: Store) -> None:
    await _queued(store)
    digests = Digests(store.db, max_attempts=1)
    for _ in range(3):
        (row,) = await digests.claim("w", NOW, limit=10, lease=LEASE)
        status = await digests.record_failed(row.id, "w", NOW, "429", retry_after=dt.timedelta(0))
        assert status is OutboxStatus.PENDING


async def test_a_long_digest_resumes_after_the_parts_it_delivered(store: Store) -> None:
    await _queued(store, _long)
    digests = store.digests
    (row,) = await digests.claim("w", NOW, limit=10, lease=LEASE)
    assert row.unsent == ("part 1", "part 2", "part 3")
    assert await digests.record_part_sent(row.id, "w", 1)
    await digests.record_failed(row.id, "w", NOW, "NetworkError: Bad Gateway")
    (again,) = await digests.claim("w", NOW + outbox.backoff(1), limit=10, lease=LEASE)
    assert again.parts_sent == 1 and again.unsent == ("part 2", "part 3")
