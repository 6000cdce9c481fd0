"""Drafts in the store (``db.store.drafts``): the guided /add and "Save anyway" outlive the process
that began them.

First the store's own rules (expiry, versions, the newest ten, owners), then the real application
twice on one database through the Bot API emulator: a conversation begun on one instance goes on
on another, and on an instance started after a restart; "Save anyway" works wherever it is
pressed; an expired draft is told as such and changes nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select, update
from telegram import Update

from bot.config import Settings
from bot.emulator import BotAPIEmulator, RateLimits, SentMessage, load_spec
from bot.harness import EmulatedBot
from db.models import Draft as DraftRow
from db.models import Incident
from db.store.drafts import GRACE, DraftChanged, DraftExpired, DraftKey, DraftKind, Drafts
from handlers.add_conversation import build_add_conversation
from handlers.context import Services
from handlers.ratelimit import FloodLimits
from tests.conftest import ADMIN_ID, only

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
    yield Drafts(services.store.db, clock), clock, user
    async with services.store.db.transaction() as session:
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
    async with services.store.db.read() as connection:
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
    other = Drafts(services.store.db, store._clock)  # another process's store on the same database
    key = _add(user)
    await store.put(key, {"step": "date"}, HOUR)
    await other.put(key, {"step": "district", "by": "other"}, HOUR, version=1)
    with pytest.raises(DraftChanged):
        await store.put(key, {"step": "district", "by": "this"}, HOUR, version=1)
    found = await store.get(key)
    assert found is not None and found.data["by"] == "other"


# -- the application twice on one database ---------------------------------------------------------

TOKEN = "123456789:DRAFTS-INSTANCES"
SAVED = "Saved as #"
TIMED_OUT = "No answer for 30 minutes: the /add in progress was dropped and nothing was saved."
EXPIRED = "This button is no longer valid. Send the command again."
CANCELLED = "Cancelled. Nothing was saved."


class Instances:
    """Bot instances (each with its own webhook server and database engine) on one database and
    one emulator. Each update goes to the instance the test names, as a proxy in front of several
    webhook processes may send it: the webhook is pointed at that instance first. Telegram's limits
    are ten times faster; the two instances that run at a time keep under them together."""

    def __init__(self, settings: Settings, emulator: BotAPIEmulator) -> None:
        self.settings = settings.model_copy(
            update={
                "flood_global_per_second": 150.0,
                "flood_private_per_second": 3.0,
                "flood_group_per_minute": 100.0,
            }
        )
        self.emulator = emulator
        self.running: list[EmulatedBot] = []

    async def start(self) -> EmulatedBot:
        """One more instance (a process started: nothing of the others' memory)."""
        bot = EmulatedBot(self.settings, emulator=self.emulator, token=TOKEN, mode="webhook")
        await bot.start()
        self.running.append(bot)
        return bot

    async def stop(self, bot: EmulatedBot) -> None:
        """An instance stopped (its memory and scheduled jobs gone with it)."""
        self.running.remove(bot)
        await bot.stop()

    async def to(self, bot: EmulatedBot) -> EmulatedBot:
        """The next update goes to ``bot``."""
        await bot.app.bot.set_webhook(
            bot.webhook_url, secret_token=bot.webhook_secret, allowed_updates=Update.ALL_TYPES
        )
        return bot

    async def send(self, bot: EmulatedBot, text: str, user: int = ADMIN_ID) -> SentMessage:
        return only(await (await self.to(bot)).send(user, text))

    async def press(
        self, bot: EmulatedBot, message: SentMessage, label: str, user: int = ADMIN_ID
    ) -> list[SentMessage]:
        return await (await self.to(bot)).press(user, message.message_id, _data(message, label))

    def alerts_since(self, before: int) -> list[str]:
        return [
            str(r.params.get("text"))
            for r in self.emulator.requests[before:]
            if r.method == "answerCallbackQuery" and r.params.get("show_alert")
        ]


def _data(message: SentMessage, label: str) -> str:
    for button in message.buttons:
        if button["text"] == label:
            return str(button["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in message.buttons]}")


def _text(message: SentMessage) -> str:
    assert message.plain is not None
    return message.plain


@pytest_asyncio.fixture(loop_scope="session")
async def instances(settings: Settings, services: Services) -> AsyncIterator[Instances]:
    """Two instances running; the owner's drafts deleted before and after the test. Each instance
    keeps to its share of Telegram's limits but bursts on its own: the chat's burst is theirs
    together."""
    limits = dataclasses.replace(
        RateLimits().scaled(10), private_burst=int(2 * FloodLimits().private_burst)
    )
    emulator = BotAPIEmulator(token=TOKEN, spec=load_spec(), limits=limits)
    emulator.add_private_chat(ADMIN_ID, first_name="Owner", language_code="en")
    await _forget(services, ADMIN_ID)
    async with emulator:
        running = Instances(settings, emulator)
        try:
            await running.start()
            await running.start()
            yield running
        finally:
            for bot in list(running.running):
                await running.stop(bot)
    await _forget(services, ADMIN_ID)
    assert emulator.spec_problems == []
    assert emulator.count_429 == 0, (emulator.limiter.rejections, emulator.limiter.sends)


async def _forget(services: Services, user: int) -> None:
    async with services.store.db.transaction() as session:
        await session.execute(delete(DraftRow).where(DraftRow.user_id == user))


async def _expire(services: Services, user: int, kind: DraftKind) -> None:
    """Time passes for the user's drafts of ``kind`` (no process is left watching them)."""
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    async with services.store.db.transaction() as session:
        found = await session.execute(
            update(DraftRow)
            .where(DraftRow.user_id == user, DraftRow.kind == kind.value)
            .values(expires_at=past)
        )
        assert found.rowcount >= 1  # type: ignore[attr-defined]


async def _incidents(services: Services) -> int:
    async with services.store.db.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(Incident)) or 0)


async def test_a_conversation_goes_on_on_another_instance_and_after_a_restart(
    instances: Instances, sandbox: Services
) -> None:
    first, second = instances.running
    before = await _incidents(sandbox)
    prompt = await instances.send(first, "/add")
    assert "When did it happen?" in _text(prompt)
    prompt = await instances.send(second, "2021-03-04")
    assert "In which district?" in _text(prompt)
    prompt = only(await instances.press(first, prompt, "Tartar"))
    assert "✓ district: Tartar" in _text(prompt)
    prompt = only(await instances.press(second, prompt, "Skip"))
    assert "How many people" in _text(prompt)
    # A restart in the middle: the first instance stops, a new one starts.
    await instances.stop(first)
    third = await instances.start()
    prompt = await instances.send(third, "0 0 0 2")
    assert "✓ 2 military injured" in _text(prompt)
    prompt = only(await instances.press(second, prompt, "Unexploded ordnance"))
    prompt = await instances.send(third, "https://example.org/instances")
    preview = only(await instances.press(second, prompt, "Skip"))
    assert "Not saved yet" in _text(preview)
    assert await _incidents(sandbox) == before
    saved = only(await instances.press(third, preview, "Confirm"))
    assert _text(saved).startswith(SAVED)
    assert await _incidents(sandbox) == before + 1
    # Over everywhere: text is read as /stats filters, and Confirm does not save twice.
    assert "Filters: Tartar" in _text(await instances.send(second, "Tartar"))
    requests = len(instances.emulator.requests)
    assert await instances.press(second, preview, "Confirm") == []
    assert instances.alerts_since(requests) == [EXPIRED]
    assert await _incidents(sandbox) == before + 1


async def test_save_anyway_is_taken_once_by_whichever_instance_gets_it(
    instances: Instances, sandbox: Services, user_id: int
) -> None:
    first, second = instances.running
    before = await _incidents(sandbox)
    # The dataset has incidents in Kalbajar on 13 July 2023.
    add = "/add date=2023-07-13 district=Kalbajar civilian_injured=1 source=https://example.org/k"
    shown = await instances.send(first, add)
    assert "Possible duplicates:" in _text(shown)
    requests = len(instances.emulator.requests)
    # Another admin pressing the owner's button (forged in their own chat) finds nothing.
    assert "is now an editor" in _text(await instances.send(second, f"/admin add {user_id}"))
    instances.emulator.add_private_chat(user_id, first_name="Editor", language_code="en")
    own = await instances.send(second, "/start", user=user_id)
    data = _data(shown, "Save anyway")
    assert await (await instances.to(first)).press(user_id, own.message_id, data) == []
    assert instances.alerts_since(requests) == [EXPIRED]
    saved = only(await instances.press(second, shown, "Save anyway"))
    assert _text(saved).startswith(SAVED)
    assert await _incidents(sandbox) == before + 1
    requests = len(instances.emulator.requests)
    assert await instances.press(first, shown, "Save anyway") == []
    assert instances.alerts_since(requests) == [EXPIRED]
    assert await _incidents(sandbox) == before + 1


async def test_an_expired_draft_is_told_and_changes_nothing(
    instances: Instances, sandbox: Services
) -> None:
    first, second = instances.running
    before = await _incidents(sandbox)
    prompt = await instances.send(first, "/add")
    prompt = await instances.send(second, "2021-03-04")
    await _expire(sandbox, ADMIN_ID, DraftKind.ADD)
    # The district typed now: told that the /add expired, once; then it is read as filters.
    assert _text(await instances.send(second, "Tartar")) == TIMED_OUT
    assert "Filters: Tartar" in _text(await instances.send(first, "Tartar"))
    requests = len(instances.emulator.requests)
    assert await instances.press(first, prompt, "Tartar") == []
    assert instances.alerts_since(requests) == [EXPIRED]

    # A preview whose time ran out: Confirm saves nothing; /cancel says why.
    prompt = await instances.send(second, "/add")
    prompt = only(await instances.press(first, prompt, "Today"))
    prompt = only(await instances.press(second, prompt, "Tartar"))
    prompt = only(await instances.press(first, prompt, "Skip"))
    prompt = only(await instances.press(second, prompt, "1 civilian injured"))
    prompt = only(await instances.press(first, prompt, "Device not stated"))
    prompt = await instances.send(second, "https://example.org/expired")
    preview = only(await instances.press(first, prompt, "Skip"))
    await _expire(sandbox, ADMIN_ID, DraftKind.ADD)
    requests = len(instances.emulator.requests)
    assert await instances.press(second, preview, "Confirm") == []
    assert instances.alerts_since(requests) == [EXPIRED]
    await instances.send(first, "/add")
    await _expire(sandbox, ADMIN_ID, DraftKind.ADD)
    assert _text(await instances.send(second, "/cancel")) == TIMED_OUT
    assert _text(await instances.send(first, "/cancel")) == "There is nothing to cancel."

    # "Save anyway" whose time ran out.
    add = "/add date=2023-07-13 district=Kalbajar civilian_killed=1 source=https://example.org/e"
    shown = await instances.send(first, add)
    await _expire(sandbox, ADMIN_ID, DraftKind.SAVE)
    requests = len(instances.emulator.requests)
    assert await instances.press(second, shown, "Save anyway") == []
    assert instances.alerts_since(requests) == [EXPIRED]
    assert await _incidents(sandbox) == before


async def test_a_silent_conversation_is_told_once_whichever_instance_watched(
    instances: Instances,
) -> None:
    first, second = instances.running
    quick = dt.timedelta(seconds=1.5)
    handlers = [build_add_conversation(quick) for _ in instances.running]
    for bot, handler in zip(instances.running, handlers, strict=True):
        bot.app.handlers[0].insert(0, handler)
    try:
        prompt = await instances.send(first, "/add")
        await instances.press(second, prompt, "Today")
        sent = len(instances.emulator.sent)
        # The first instance's time is up first: it finds the conversation moved on and looks
        # again when the second's is up; both look then, one tells.
        await instances.emulator.wait_for_sent(1, since=sent, timeout=10)
        await asyncio.sleep(1.5)
        told = [_text(m) for m in instances.emulator.sent[sent:] if m.chat_id == ADMIN_ID]
        assert told == [
            "No answer for 1 minute: the /add in progress was dropped and nothing was saved."
        ]
        assert "Filters: Shusha" in _text(await instances.send(first, "Shusha"))
    finally:
        for bot, handler in zip(instances.running, handlers, strict=True):
            bot.app.remove_handler(handler, group=0)
