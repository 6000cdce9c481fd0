"""/status through the emulator: an owner sees every field, with the store's own counts, in each
language; anyone else gets what an unknown command gets, and a group gets nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.harness import EmulatedBot
from db import migrate
from db.domain.records import IncidentStatus, OutboxStatus
from db.models import Incident, OutboxMessage, Subscription
from db.status import database_name, last_digest_run
from handlers.context import Services
from tests.conftest import emulated_bot

OWNERS = {"az": 7101, "en": 7102, "ru": 7103}
STRANGER = 7104
GROUP = -7105


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(
        settings, "123456789:STATUS-TOKEN", admin_ids=frozenset(OWNERS.values())
    ) as running:
        for lang, user in OWNERS.items():
            running.emulator.add_private_chat(user, first_name="Owner", language_code=lang)
        running.emulator.add_private_chat(STRANGER, first_name="Reader", language_code="en")
        running.emulator.add_group_chat(GROUP, "Newsroom", member_ids=(*OWNERS.values(), STRANGER))
        yield running


def _row(chat_id: int, at: dt.datetime, status: OutboxStatus, **extra: object) -> dict[str, object]:
    # Due far ahead and claimed far ahead: no digest run of another test would take them.
    later = at + dt.timedelta(days=3650)
    row: dict[str, object] = {
        "chat_id": chat_id,
        "period_end": at,
        "parts": ["x"],
        "shown": [],
        "status": status,
        "attempts": 1,
        "next_attempt_at": later,
        "created_at": at,
        "sent_at": None,
        "claimed_until": later if status is OutboxStatus.SENDING else None,
    }
    row.update(extra)
    return row


@pytest_asyncio.fixture(loop_scope="session")
async def outbox_runs(bot: EmulatedBot) -> AsyncIterator[dt.datetime]:
    """Two digest runs in the outbox: an older one, and the newest (two sent, one being sent,
    one waiting, one failed, one dropped); removed afterwards."""
    db = bot.services.store.db
    older = dt.datetime(2031, 3, 1, 9, 0, tzinfo=dt.UTC)
    newest = dt.datetime(2031, 3, 2, 9, 0, 30, tzinfo=dt.UTC)
    sent = newest + dt.timedelta(seconds=40)
    rows = [
        _row(-990_001, older, OutboxStatus.SENT, sent_at=older + dt.timedelta(seconds=5)),
        _row(-990_002, older, OutboxStatus.FAILED),
        _row(-990_001, newest, OutboxStatus.SENT, sent_at=newest + dt.timedelta(seconds=10)),
        _row(-990_002, newest, OutboxStatus.SENT, sent_at=sent),
        _row(-990_003, newest, OutboxStatus.SENDING),
        _row(-990_004, newest, OutboxStatus.PENDING),
        _row(-990_005, newest, OutboxStatus.FAILED),
        _row(-990_006, newest, OutboxStatus.DROPPED),
    ]
    async with db.transaction() as session:
        await session.execute(insert(OutboxMessage), rows)
    yield newest
    async with db.transaction() as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id <= -990_001))


async def _direct_counts(services: Services) -> dict[str, int]:
    async with services.store.db.session() as session:

        async def count(model: type, *where: object) -> int:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)))

        return {
            "incidents": await count(Incident, Incident.status == IncidentStatus.PUBLISHED),
            "subscribers": await count(Subscription, Subscription.active.is_(True)),
            "waiting": await count(
                OutboxMessage,
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
            ),
            "failed": await count(OutboxMessage, OutboxMessage.status == OutboxStatus.FAILED),
        }


@pytest.mark.parametrize("lang", ["az", "en", "ru"])
async def test_an_owner_sees_every_field(
    bot: EmulatedBot, outbox_runs: dt.datetime, lang: str
) -> None:
    services = bot.services
    counts = await _direct_counts(services)
    assert counts["incidents"] > 0 and counts["waiting"] >= 2 and counts["failed"] >= 2
    messages = await bot.send(OWNERS[lang], "/status")
    assert len(messages) == 1
    text = messages[0].plain or ""
    t = services.catalogs.translator(lang)  # the bot's, in the bot's time zone
    database = database_name(services.store.db.url)
    expected = [
        t._("Bot status"),
        t._("Version: {version}").format(version="0.1.0"),
        t.datetime(services.started_at),  # running since
        t._("Database: {kind}, {name}").format(kind=database.kind, name=database.name),
        t._("Schema revision: {revision}").format(revision=migrate.head_revision()),
        t.ngettext("{n} published incident", "{n} published incidents", counts["incidents"]).format(
            n=t.number(counts["incidents"])
        ),
        t.ngettext("{n} active subscriber", "{n} active subscribers", counts["subscribers"]).format(
            n=t.number(counts["subscribers"])
        ),
        t.ngettext("{n} digest waiting", "{n} digests waiting", counts["waiting"]).format(
            n=t.number(counts["waiting"])
        ),
        # The newest run: decided at 09:00:30 on 2 March 2031, six digests, its last sent at 09:01:10.
        t.datetime(outbox_runs),
        t.ngettext("{n} digest", "{n} digests", 6).format(n=t.number(6)),
        t.ngettext("{n} sent", "{n} sent", 2).format(n=t.number(2)),
        t.ngettext("{n} waiting", "{n} waiting", 2).format(n=t.number(2)),
        t.ngettext("{n} failed", "{n} failed", 1).format(n=t.number(1)),
        t.ngettext(
            "{n} dropped (subscription ended)", "{n} dropped (subscriptions ended)", 1
        ).format(n=t.number(1)),
        t._("Last digest sent: {when}.").format(
            when=t.datetime(outbox_runs + dt.timedelta(seconds=40))
        ),
    ]
    missing = [line for line in expected if line not in text]
    assert missing == [], text
    outbox_line = t._("Outbox: {waiting}, {failed}").format(
        waiting=t.ngettext("{n} digest waiting", "{n} digests waiting", counts["waiting"]).format(
            n=t.number(counts["waiting"])
        ),
        failed=t.ngettext("{n} failed", "{n} failed", counts["failed"]).format(
            n=t.number(counts["failed"])
        ),
    )
    assert outbox_line in text
    # No credentials, no folder: only the file's name or the host and database.
    url = make_url(services.settings.database_url)
    if url.password:
        assert str(url.password) not in text
    if url.username:
        assert f"{url.username}@" not in text
    if url.get_backend_name() == "sqlite":
        assert str(url.database).rsplit("/", 1)[0] not in text


async def test_the_last_run_is_read_from_the_newest_rows(
    bot: EmulatedBot, outbox_runs: dt.datetime
) -> None:
    async with bot.services.store.db.read() as connection:
        run = await last_digest_run(connection)
    assert run is not None
    assert run.decided_at == outbox_runs
    assert (run.decided, run.sent, run.waiting, run.failed, run.dropped) == (6, 2, 2, 1, 1)
    assert run.last_sent_at == outbox_runs + dt.timedelta(seconds=40)


async def test_others_get_the_unknown_command_answer(bot: EmulatedBot) -> None:
    unknown = [m.plain for m in await bot.send(STRANGER, "/no_such_command")]
    assert unknown and [m.plain for m in await bot.send(STRANGER, "/status")] == unknown
    # In a group, not even an owner gets it (it names the database's host), nor anyone else.
    assert await bot.send(OWNERS["en"], "/status", chat_id=GROUP) == []
    assert await bot.send(STRANGER, "/status", chat_id=GROUP) == []


def test_the_database_is_named_without_credentials() -> None:
    pg = database_name("postgresql+asyncpg://bot:s3cret@db.example:5433/casualties")
    assert (pg.kind, pg.name) == ("PostgreSQL", "db.example:5433/casualties")
    lite = database_name("sqlite+aiosqlite:////srv/bot/data/casualty-bot.sqlite3")
    assert (lite.kind, lite.name) == ("SQLite", "casualty-bot.sqlite3")
