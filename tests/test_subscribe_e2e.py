"""Digests through the emulator: /subscribe in three languages, /digest_now, corrections to those
who were sent the old figure, nothing sent twice, blocked and deactivated subscribers ended; with
the bot long polling and in webhook mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete, select

from bot.config import Settings
from bot.emulator import SentMessage
from bot.harness import EmulatedBot, TrackedApplication
from db import outbox, subscriptions
from db.domain.records import OutboxStatus, SubscriptionEnd
from db.models import DigestItem, OutboxMessage, Subscription
from handlers.context import Services
from locales.i18n import Catalogs
from tests.conftest import ADMIN_ID, emulated_bot

OWNER = ADMIN_ID
EN, RU, AZ, LATE, GONE, LONG, SLOW = 7001, 7002, 7003, 7004, 7005, 7006, 7007
USERS = {EN: "en", RU: "ru", AZ: "az", LATE: "en", GONE: "en", LONG: "en", SLOW: "en"}


@pytest_asyncio.fixture(scope="module", loop_scope="session", params=["polling", "webhook"])
async def bot(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[EmulatedBot]:
    # A fan-out to a thousand chats takes longer than one reply. Every test runs with the bot
    # long polling and with the emulator posting to its webhook.
    async with emulated_bot(
        settings, "123456789:DIGEST-TOKEN", wait=120, mode=request.param
    ) as running:
        running.emulator.add_private_chat(OWNER, first_name="Owner", language_code="en")
        for user, lang in USERS.items():
            running.emulator.add_private_chat(user, first_name="Reader", language_code=lang)
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def store(sandbox: Services) -> AsyncIterator[Services]:
    yield sandbox
    chats = list(USERS)
    async with sandbox.store.db.transaction() as session:
        for model in (OutboxMessage, DigestItem, Subscription):
            await session.execute(delete(model).where(model.chat_id.in_(chats)))


def _text(messages: list[SentMessage]) -> str:
    return "\n".join(m.plain or "" for m in messages)


def _digests(bot: EmulatedBot, since: int, chat: int) -> list[str]:
    """The digest messages a chat received since ``since`` (a long one may be several)."""
    headings = tuple(
        t._("Digest of new mine and UXO casualty reports") for t in bot.services.catalogs.all()
    )
    return [
        m.plain or ""
        for m in bot.emulator.sent[since:]
        if m.chat_id == chat and (m.plain or "").startswith(headings)
    ]


async def _digest_now(bot: EmulatedBot) -> str:
    return _text(await bot.send(OWNER, "/digest_now"))


async def test_subscribers_get_each_new_incident_once_and_corrections(
    bot: EmulatedBot, catalogs: Catalogs, store: Services
) -> None:
    assert "Subscribed." in _text(await bot.send(EN, "/subscribe"))
    reply = _text(await bot.send(RU, "/subscribe weekly 18:30 Лачин"))
    ru = catalogs.translator("ru")
    assert ru._("Subscribed. You will get what is new {schedule}.").split("{")[0] in reply
    assert "18:30" in reply and "Лачин" in reply
    await bot.send(AZ, "/subscribe mülki")

    lachin = _text(
        await bot.send(
            OWNER,
            "/add date=2026-05-04 district=Lachin civilian_killed=1 source=https://d.az/lachin",
        )
    )
    lachin_id = int(lachin.split("#")[1].split()[0])
    await bot.send(
        OWNER,
        "/add date=2026-05-05 district=Kalbajar military_injured=2 source=https://d.az/kalbajar",
    )
    since = len(bot.emulator.sent)
    summary = await _digest_now(bot)
    assert summary == ("digests decided: 3 · sent: 3 · failed: 0 · subscriptions ended: 0")
    en = "\n".join(_digests(bot, since, EN))
    assert "2 new incidents recorded" in en and "Lachin" in en and "Kalbajar" in en
    assert f"#{lachin_id}" in en
    ru_digest = "\n".join(_digests(bot, since, RU))
    assert "Лачин" in ru_digest and "Кельбаджар" not in ru_digest
    az_digest = "\n".join(_digests(bot, since, AZ))
    assert "Laçın" in az_digest and "Kəlbəcər" not in az_digest  # civilians only

    # Nothing new: nothing is sent again.
    since = len(bot.emulator.sent)
    assert (await _digest_now(bot)).startswith("digests decided: 0 · sent: 0")
    assert all(not _digests(bot, since, chat) for chat in (EN, RU, AZ))

    # A subscriber who joins now was never sent the Lachin incident: no correction for them.
    await bot.send(LATE, "/subscribe")
    await bot.send(OWNER, f'/edit {lachin_id} civilian_killed=2 reason="ANAMA"')
    since = len(bot.emulator.sent)
    assert (await _digest_now(bot)).startswith("digests decided: 3 · sent: 3")
    for chat in (EN, RU, AZ):
        text = "\n".join(_digests(bot, since, chat))
        assert f"#{lachin_id}" in text, chat
    assert "#" + str(lachin_id) + " was corrected:" in "\n".join(_digests(bot, since, EN))
    assert "civilians killed: 1 → 2" in "\n".join(_digests(bot, since, EN))
    assert not _digests(bot, since, LATE)


async def test_blocked_and_deactivated_subscribers_are_ended(
    bot: EmulatedBot, store: Services
) -> None:
    await bot.send(GONE, "/subscribe")
    await bot.send(EN, "/subscribe")
    # Blocking the bot sends a my_chat_member update: the digest ends at once.
    update = bot.emulator.user_blocks_bot(GONE)
    app = bot.app
    assert isinstance(app, TrackedApplication)
    await app.expect(update["update_id"])
    async with store.store.db.session() as session:
        gone = await subscriptions.get(session, GONE)
    assert gone is not None and not gone.active and gone.ended_reason is SubscriptionEnd.BLOCKED
    # A deactivated account answers 403 to the first send: ended, not retried.
    bot.emulator.deactivate_user(EN)
    await bot.send(
        OWNER, "/add date=2026-06-01 district=Aghdam civilian_injured=1 source=https://d.az/ag"
    )
    since = len(bot.emulator.requests)
    summary = await _digest_now(bot)
    assert "subscriptions ended: 1" in summary
    async with store.store.db.session() as session:
        en = await subscriptions.get(session, EN)
    assert en is not None and en.ended_reason is SubscriptionEnd.BLOCKED
    assert (await _digest_now(bot)).endswith("subscriptions ended: 0")
    # One 403, never retried.
    tries = [
        r.http_status
        for r in bot.emulator.requests[since:]
        if r.method == "sendMessage" and r.params.get("chat_id") == EN
    ]
    assert tries == [403]


async def test_subscription_settings_and_buttons(bot: EmulatedBot, store: Services) -> None:
    assert _text(await bot.send(LATE, "/unsubscribe")) == "This chat has no digest."
    shown = _text(await bot.send(LATE, "/subscription"))
    assert "This chat has no digest." in shown
    reply = (await bot.send(LATE, "/subscribe 07:15 Kalbajar"))[0]
    assert "daily at 07:15" in (reply.plain or "")
    weekly = (await bot.press(LATE, reply.message_id, reply.buttons[0]["callback_data"]))[0]
    assert "weekly on Monday at 07:15" in (weekly.plain or "")
    stopped = (await bot.press(LATE, reply.message_id, "sub|x"))[0]
    assert "The digest of this chat is stopped." in (stopped.plain or "")
    bad = _text(await bot.send(LATE, "/subscribe 25:00 2023"))
    assert "“25:00” is not a time of day like 09:00." in bad
    assert "A subscription has no period" in bad


async def test_a_thousand_subscribers_each_get_exactly_one_digest(
    bot: EmulatedBot, catalogs: Catalogs, store: Services
) -> None:
    import datetime as dt

    from db.domain.digests import DigestSettings

    first = 800_000
    readers = {first + i: ("az", "en", "ru")[i % 3] for i in range(1000)}
    now = dt.datetime.now(dt.UTC)
    async with store.store.db.write() as session:
        for user, lang in readers.items():
            bot.emulator.add_private_chat(user, first_name="Reader", language_code=lang)
            await subscriptions.subscribe(
                session, user, DigestSettings(), user, now, store.settings.tz, language=lang
            )
    try:
        await bot.send(
            OWNER, "/add date=2026-06-02 district=Tartar civilian_injured=1 source=https://d.az/t"
        )
        since = len(bot.emulator.sent)
        summary = await _digest_now(bot)
        assert "sent: 1,000" in summary and "failed: 0" in summary
        headings = {
            t.lang: t._("Digest of new mine and UXO casualty reports") for t in catalogs.all()
        }
        received: dict[int, list[str]] = {}
        for message in bot.emulator.sent[since:]:
            if message.chat_id in readers:
                received.setdefault(message.chat_id, []).append(message.plain or "")
        assert len(received) == 1000
        for user, texts in received.items():
            assert len(texts) == 1, user
            assert texts[0].startswith(headings[readers[user]]), user
        # Nothing new: a second run sends nothing.
        since = len(bot.emulator.sent)
        assert (await _digest_now(bot)).startswith("digests decided: 0 · sent: 0")
        assert not [m for m in bot.emulator.sent[since:] if m.chat_id in readers]
    finally:
        async with store.store.db.transaction() as session:
            for model in (OutboxMessage, DigestItem, Subscription):
                await session.execute(delete(model).where(model.chat_id.in_(list(readers))))


async def test_in_a_group_only_its_admins_change_the_digest(
    bot: EmulatedBot, store: Services
) -> None:
    group = -100_555
    bot.emulator.add_group_chat(group, title="Newsroom", member_ids=(LATE, RU), admin_ids=(RU,))
    try:
        refused = _text(await bot.send(LATE, "/subscribe", chat_id=group))
        assert refused == "In a group, only its admins can change the digest."
        async with store.store.db.session() as session:
            assert await subscriptions.get(session, group) is None
        subscribed = _text(await bot.send(RU, "/subscribe weekly", chat_id=group))
        assert subscribed.startswith("Подписка оформлена.")  # the group admin writes in Russian
        async with store.store.db.session() as session:
            view = await subscriptions.get(session, group)
        assert view is not None and view.active
        assert _text(await bot.send(LATE, "/unsubscribe", chat_id=group)) == refused
        # Removed from the group: its digest ends at once, and nothing more is queued for it.
        update = bot.emulator.remove_bot_from_group(group, by_user_id=RU)
        app = bot.app
        assert isinstance(app, TrackedApplication)
        await app.expect(update["update_id"])
        async with store.store.db.session() as session:
            ended = await subscriptions.get(session, group)
        assert ended is not None and not ended.active
        assert ended.ended_reason is SubscriptionEnd.REMOVED
    finally:
        async with store.store.db.transaction() as session:
            await session.execute(delete(Subscription).where(Subscription.chat_id == group))


async def _subscribed_before_the_dataset(store: Services, *chats: int) -> None:
    """Subscriptions whose period began two days ago: every incident of the dataset is new."""
    import datetime as dt

    from sqlalchemy import update

    from db.domain.digests import DigestSettings

    now = dt.datetime.now(dt.UTC)
    async with store.store.db.write() as session:
        for chat in chats:
            await subscriptions.subscribe(
                session, chat, DigestSettings(), chat, now, store.settings.tz, language="en"
            )
        await session.execute(
            update(Subscription)
            .where(Subscription.chat_id.in_(chats))
            .values(period_start=now - dt.timedelta(days=2))
        )


async def test_a_long_digest_cut_by_a_failure_resumes_where_it_stopped(
    bot: EmulatedBot, store: Services
) -> None:
    import datetime as dt

    from sqlalchemy import update

    await _subscribed_before_the_dataset(store, LONG)
    # The first message of the digest goes through, the second meets a failing gateway.
    bot.emulator.fail_sends(LONG, 502, "Bad Gateway", after=1)
    since = len(bot.emulator.sent)
    assert "sent: 0 · failed: 1" in await _digest_now(bot)
    first = [m.plain for m in bot.emulator.sent[since:] if m.chat_id == LONG]
    assert len(first) == 1
    async with store.store.db.session() as session:
        (row,) = await outbox.rows_of_chat(session, LONG)
    assert row.status is OutboxStatus.PENDING and row.last_error == "NetworkError: Bad Gateway"
    # The retry (made due now instead of after its backoff) sends the rest, not the first again.
    async with store.store.db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)
            .values(next_attempt_at=dt.datetime.now(dt.UTC))
        )
    assert "sent: 1 · failed: 0" in await _digest_now(bot)
    received = [m.plain for m in bot.emulator.sent[since:] if m.chat_id == LONG]
    async with store.store.db.session() as session:
        parts = (
            await session.scalars(select(OutboxMessage.parts).where(OutboxMessage.id == row.id))
        ).one()
    assert len(parts) >= 2 and len(received) == len(parts) == len(set(received))
    assert received[0] == first[0]


async def test_a_429_delays_that_digest_only_for_its_retry_after(
    bot: EmulatedBot, store: Services
) -> None:
    await _subscribed_before_the_dataset(store, SLOW, LATE)
    bot.emulator.fail_sends(SLOW, 429, "Too Many Requests: retry after 1", retry_after=1, after=0)
    since = len(bot.emulator.requests)
    assert "sent: 2 · failed: 0" in await _digest_now(bot)
    sends = [
        (r.time, r.params["chat_id"], r.http_status)
        for r in bot.emulator.requests[since:]
        if r.method == "sendMessage" and r.params.get("chat_id") in (SLOW, LATE)
    ]
    refused = [at for at, chat, status in sends if chat == SLOW and status == 429]
    slow = [at for at, chat, status in sends if chat == SLOW and status == 200]
    late = [at for at, chat, status in sends if chat == LATE and status == 200]
    assert len(refused) == 1 and slow and late
    assert min(slow) - refused[0] >= 1.0  # Telegram's retry_after, for that digest
    assert max(late) < min(slow)  # the other digest did not wait for it
