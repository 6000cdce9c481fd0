"""Drafts in the store (``db.store.drafts``): the guided /add and "Save anyway" outlive the process
that began them.

First the store's own rules (expiry, versions, the newest ten, owners), then the real application
twice on one database through the Bot API emulator: a conversation begun on one instance goes on
on another, and on an instance started after a restart; "Save anyway" works wherever it is
pressed; an expired draft is told as such and changes nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from db.models import Draft as DraftRow
from db.store.drafts import GRACE, DraftChanged, DraftExpired, DraftKey, DraftKind, Drafts
from handlers.context import Services

HOUR = dt.timedelta(hours=1)
_users = itertools.count(880_001)


class Clock:
    """A clock the test moves on."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest_asyncio.fixture(loop_scope="session")
async def drafts(services: Services) -> AsyncIterator[tuple[Drafts, Clock, int]]:
    """The store's drafts on a clock of the test's own, and a fresh user; their drafts are
    deleted afterwards."""
    clock = Clock()
    user = next(_users)
    yield Drafts(services.db, clock), clock, user
    async with services.db.transaction() as session:
        await session.execute(delete(DraftRow).where(DraftRow.user_id == user))


def _add(user: int, chat: int | None = None) -> DraftKey:
    return DraftKey(chat or user, user, DraftKind.ADD)


async def test_a_draft_is_put_read_moved_on_and_taken_once(
    drafts: tuple[Drafts, Clock, int],
) -> None:
    store, clock, user = drafts
    key = _add(user)
    assert await store.get(key) is None
    first = await store.put(key, {"step": "date", "answers": {}}, HOUR)
    assert first.version == 1
    read = await store.get(key)
    assert read is not None
    assert (read.data, read.version, read.expires_at) == (first.data, 1, clock.now + HOUR)
    clock.now += dt.timedelta(minutes=30)
    moved = await store.put(key, {"step": "district"}, HOUR, version=1)
    assert moved.version == 2 and moved.expires_at == clock.now + HOUR
    # A write on the version read before is refused and changes nothing.
    with pytest.raises(DraftChanged):
        await store.put(key, {"step": "place"}, HOUR, version=1)
    with pytest.raises(DraftChanged):
        await store.take(key, version=1)
    again = await store.get(key)
    assert again is not None and again.data == {"step": "district"} and again.version == 2
    # Put without a version replaces it (a new /add): the version still moves on.
    replaced = await store.put(key, {"step": "date"}, HOUR)
    assert replaced.version == 3
    taken = await store.take(key, version=3)
    assert taken is not None and taken.data == {"step": "date"}
    assert await store.take(key) is None
    assert await store.get(key) is None
    assert await store.clear(key) is False


async def test_an_expired_draft_is_never_returned_and_told_once(
    drafts: tuple[Drafts, Clock, int],
) -> None:
    store, clock, user = drafts
    key = _add(user)
    await store.put(key, {"step": "date"}, HOUR)
    clock.now += HOUR
    with pytest.raises(DraftExpired) as expired:
        await store.get(key)
    assert expired.value.draft.data == {"step": "date"}
    assert await store.get(key) is None  # deleted by the first look
    # Nor is an expired one moved on, taken or counted as cleared.
    await store.put(key, {"step": "date"}, HOUR)
    clock.now += 2 * HOUR
    with pytest.raises(DraftChanged):
        await store.put(key, {"step": "district"}, HOUR, version=1)
    with pytest.raises(DraftExpired):
        await store.take(key)
    await store.put(key, {"step": "date"}, HOUR)
    clock.now += 2 * HOUR
    assert await store.clear(key) is False
    assert await store.get(key) is None


async def test_drafts_long_expired_are_cleaned_up_by_any_write(
    services: Services, drafts: tuple[Drafts, Clock, int]
) -> None:
    store, clock, user = drafts
    await store.put(_add(user, chat=1), {}, HOUR)
    await store.put(_add(user, chat=2), {}, GRACE + 2 * HOUR)
    clock.now += GRACE + 90 * dt.timedelta(minutes=1)
    await store.put(_add(user, chat=3), {}, HOUR)
    async with services.db.read() as connection:
        chats = (
            await connection.scalars(
                select(DraftRow.chat_id).where(DraftRow.user_id == user).order_by("chat_id")
            )
        ).all()
    assert chats == [2, 3]


async def test_the_newest_drafts_of_a_user_are_kept_and_only_theirs(
    drafts: tuple[Drafts, Clock, int],
) -> None:
    store, clock, user = drafts
    tokens = [f"{n:012x}" for n in range(13)]
    for token in tokens:
        clock.now += dt.timedelta(seconds=1)
        # In two chats: the limit is the user's.
        key = DraftKey(user if int(token, 16) % 2 else -100, user, DraftKind.SAVE, token)
        await store.put(key, {"token": token}, HOUR, keep=10)

    def key_of(token: str) -> DraftKey:
        return DraftKey(user if int(token, 16) % 2 else -100, user, DraftKind.SAVE, token)

    assert [await store.get(key_of(t)) is not None for t in tokens] == [False] * 3 + [True] * 10
    # The token alone reaches nothing: the chat and user are part of the key.
    newest = key_of(tokens[-1])
    stranger = DraftKey(newest.chat_id, user + 1, DraftKind.SAVE, newest.token)
    assert await store.take(stranger) is None
    taken = await store.take(newest)
    assert taken is not None and taken.data == {"token": tokens[-1]}
    assert await store.take(newest) is None
    # The conversation is another kind: not counted, not trimmed.
    await store.put(_add(user), {"step": "date"}, HOUR, keep=1)
    assert await store.get(key_of(tokens[-2])) is not None


async def test_two_processes_racing_on_one_version_move_it_on_once(
    services: Services, drafts: tuple[Drafts, Clock, int]
) -> None:
    store, _, user = drafts
    other = Drafts(services.db, store._clock)  # another process's store on the same database
    key = _add(user)
    await store.put(key, {"step": "date"}, HOUR)
    await other.put(key, {"step": "district", "by": "other"}, HOUR, version=1)
    with pytest.raises(DraftChanged):
        await store.put(key, {"step": "district", "by": "this"}, HOUR, version=1)
    found = await store.get(key)
    assert found is not None and found.data["by"] == "other"
