"""Faults: the database going away and coming back while updates arrive, the Bot API answering
500, timing out and answering 429 for a while, and the bot process killed at random points of
admin writes. Nothing committed is lost, nothing is half-written, the bot recovers by itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import build_services, prepare_database
from bot.config import Settings
from bot.emulator import BotAPIEmulator, RateLimits
from bot.harness import EmulatedBot
from db import queries, subscriptions, totals
from db.domain.filters import IncidentFilter
from db.domain.records import IncidentStatus
from db.models import AuditEntry, Incident, IncidentTotal
from handlers.context import Services
from handlers.render import error_text, unavailable_text
from locales.i18n import Catalogs
from tests.conftest import bot_environment, emulated_bot, only, own_database, start_bot_process

OWNER = 4242


class ErrorLog(logging.Handler):
    """The error handler's reports: ``records`` the errors (an exception that reached it),
    ``warnings`` the rest."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.warnings: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        (self.records if record.levelno >= logging.ERROR else self.warnings).append(record)


@contextlib.contextmanager
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logger = logging.getLogger("handlers.errors")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


# -- the database goes away and comes back ------------------------------------------------------


class Proxy:
    """A TCP forwarder between the bot and PostgreSQL that can be cut (every connection closed,
    new ones refused) and restored: the database server going away and coming back."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.pipes: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        self.server = None
        for writer in list(self.writers):
            writer.transport.abort()
        for task in list(self.pipes):
            task.cancel()
        await asyncio.gather(*self.pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, upstream_writer}
        tasks = [
            asyncio.create_task(self._pipe(reader, upstream_writer)),
            asyncio.create_task(self._pipe(upstream_reader, writer)),
        ]
        self.pipes.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self.pipes.difference_update(tasks)
            self.writers -= {writer, upstream_writer}
            for w in (writer, upstream_writer):
                w.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()


@pytest_asyncio.fixture(loop_scope="session")
async def proxied(settings: Settings) -> AsyncIterator[tuple[Settings, Proxy]]:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a database server going away: PostgreSQL (SQLite is a file in the process)")
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield settings.model_copy(update={"database_url": through}), proxy
    if proxy.server is not None:
        await proxy.cut()


async def test_the_database_going_away_and_coming_back(
    proxied: tuple[Settings, Proxy], catalogs: Catalogs, user_id: int
) -> None:
    settings, proxy = proxied
    async with emulated_bot(settings, "123456789:FAULT-DB") as bot:
        bot.emulator.add_private_chat(user_id, first_name="Leyla", language_code="ru")
        t = catalogs.translator("ru")
        before = only(await bot.send(user_id, "/stats 2023")).plain or ""
        assert t._("Mine and UXO casualties") in before
        await proxy.cut()
        with error_log() as errors:
            # Every update while the server is away gets the localised notice, nothing else.
            for text in ("/stats 2023", "/incidents", "/subscribe daily", "Füzuli"):
                reply = only(await bot.send(user_id, text))
                assert reply.plain == unavailable_text(t), (text, reply.plain)
        assert len(errors.records) == 4  # each logged once, with its update and chat
        assert all(f"chat_id={user_id}" in r.getMessage() for r in errors.records)
        await proxy.start()
        # Back without a restart: the pool replaces its dead connections (pre-ping).
        assert only(await bot.send(user_id, "/stats 2023")).plain == before
        # Nothing was written while the server was away: /subscribe did not subscribe.
        async with bot.services.store.db.session() as session:
            assert await subscriptions.get(session, user_id) is None
        # And writes work again.
        subscribed = t._("Subscribed. You will get what is new {schedule}.").split("{")[0]
        assert subscribed in (only(await bot.send(user_id, "/subscribe daily")).plain or "")
        async with bot.services.store.db.session() as session:
            assert await subscriptions.get(session, user_id) is not None
        await bot.send(user_id, "/unsubscribe")  # the store as the test found it


# -- the Bot API fails for a while --------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:FAULT-API", wait=20.0) as running:
        yield running


async def test_500s_lose_only_the_replies_they_hit(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int
) -> None:
    bot.emulator.add_private_chat(user_id, first_name="Leyla", language_code="en")
    expected = only(await bot.send(user_id, "/stats 2023")).plain
    # The reply and the apology after it both get a 500: the user sees nothing for that one.
    bot.emulator.fail_sends(user_id, 500, "Internal Server Error", times=2)
    with error_log() as errors:
        assert await bot.send(user_id, "/stats 2023") == []
    assert len(errors.records) == 1
    # Then Telegram is back: the next message is answered as before, once.
    assert only(await bot.send(user_id, "/stats 2023")).plain == expected


async def test_a_reply_that_times_out_is_not_followed_by_an_apology(
    bot: EmulatedBot, catalogs: Catalogs, user_id: int
) -> None:
    """Telegram may have delivered a message whose request timed out: an apology after it would
    tell the user something went wrong with an answer they have."""
    bot.emulator.add_private_chat(user_id, first_name="Leyla", language_code="en")
    bot.emulator.slow_sends(user_id, seconds=7.0, times=1)
    with error_log() as errors:
        sent = await bot.send(user_id, "/sources")
    assert [m.plain for m in sent if m.plain == error_text(catalogs.translator("en"))] == []
    assert len(sent) == 1  # delivered late; the bot gave up waiting and said nothing more
    assert errors.records == []  # a timeout is a warning, not an error to alert owners about
    assert [r.getMessage().split(" update_id")[0] for r in errors.warnings] == [
        "timed out handling"
    ]
    assert only(await bot.send(user_id, "/help")).plain


async def test_429s_for_a_while_delay_the_reply_and_lose_nothing(
    bot: EmulatedBot, user_id: int
) -> None:
    bot.emulator.add_private_chat(user_id, first_name="Leyla", language_code="en")
    bot.emulator.fail_sends(
        user_id, 429, "Too Many Requests: retry after 1", times=2, retry_after=1
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    with error_log() as errors:
        reply = only(await bot.send(user_id, "/stats Fuzuli"))
    assert loop.time() - started >= 2.0  # waited as told, twice
    assert "Fuzuli" in (reply.plain or "")
    assert errors.records == []


# -- the process is killed in the middle of admin writes ----------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def store(settings: Settings, tmp_path: Path) -> AsyncIterator[Services]:
    """A migrated and seeded database of the test's own (a SQLite file, or a PostgreSQL database
    named after the suite's with ``_faults``), read by the test, written by the bot process."""
    own = await own_database(settings, tmp_path, "faults")
    services = build_services(settings.model_copy(update={"database_url": own}))
    await prepare_database(services)
    yield services
    await services.store.db.dispose()


async def _start(store: Services, emulator: BotAPIEmulator, log: Path) -> Any:
    env = bot_environment(
        DATABASE_URL=store.settings.database_url,
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_URL=emulator.base_url,
        ADMIN_IDS=str(OWNER),
        DIGEST_CHECK_SECONDS="0",
        FLOOD_GLOBAL_PER_SECOND="1000",
        FLOOD_PRIVATE_PER_SECOND="1000",
    )
    return await start_bot_process("run", env, log)


async def _consistent(store: Services) -> dict[int, tuple[int, int]]:
    """Checks what a half-done write would break; returns each incident's (version,
    civilian_injured)."""
    async with store.store.db.session() as session:
        # The pre-aggregated figures are exactly what the incidents add up to.
        expected = {
            (r["grain"], r["district"], r["date"], r["date_end"]): tuple(
                r[k] for k in totals.SUMMED
            )
            for r in totals.rows_from_groups(
                await session.execute(totals.grouped_incidents_query())
            )
            if any(r[k] for k in totals.SUMMED)
        }
        t = IncidentTotal.__table__.c
        actual = {
            (grain, int(district), day, end): tuple(int(v) for v in values)
            for grain, district, day, end, *values in await session.execute(
                select(t.grain, t.district, t.date, t.date_end, *(t[k] for k in totals.SUMMED))
            )
            if any(values)
        }
        assert actual == expected
        # Every version of an incident past the first has exactly one audit entry, which holds
        # what the incident is now when it is the latest.
        rows = (
            await session.execute(
                select(Incident.id, Incident.version, Incident.civilian_injured).where(
                    Incident.status == IncidentStatus.PUBLISHED
                )
            )
        ).all()
        entries: dict[int, list[tuple[int, Any]]] = {}
        for incident_id, version, after in await session.execute(
            select(AuditEntry.incident_id, AuditEntry.version, AuditEntry.after)
            .where(AuditEntry.action == "incident.edit")
            .order_by(AuditEntry.id)
        ):
            entries.setdefault(int(incident_id), []).append((int(version), after))
        state = {}
        for incident_id, version, injured in rows:
            mine = entries.get(int(incident_id), [])
            assert [v for v, _ in mine] == list(range(2, version + 1)), incident_id
            if mine:
                assert mine[-1][1]["civilian_injured"] == injured
            state[int(incident_id)] = (int(version), int(injured))
        figures = await queries.stats(session, IncidentFilter())
        total = await session.scalar(
            select(func.sum(Incident.civilian_injured)).where(
                Incident.status == IncidentStatus.PUBLISHED
            )
        )
        assert figures.counts.civilian_injured == int(total or 0)
        return state


async def test_killed_at_random_points_of_admin_writes(store: Services, tmp_path: Path) -> None:
    emulator = BotAPIEmulator(token="123456789:FAULT-KILL", limits=RateLimits(enabled=False))
    emulator.add_private_chat(OWNER, first_name="Owner", language_code="en")
    async with store.store.db.read() as connection:
        ids = [
            int(i)
            for i in (
                await connection.execute(
                    select(Incident.id)
                    .where(Incident.status == IncidentStatus.PUBLISHED)
                    .order_by(Incident.id)
                    .limit(8)
                )
            ).scalars()
        ]
    log = tmp_path / "bot.log"
    chance = random.Random(20201110)
    applied: list[int] = []  # edits applied per round
    async with emulator:
        state = await _consistent(store)
        for round_ in range(1, 6):
            process = await _start(store, emulator, log)
            sent_before = len(emulator.sent)
            for incident_id in ids:
                emulator.user_sends(
                    OWNER,
                    f"/edit {incident_id} civilian_injured={round_ * 10 + incident_id % 7} "
                    f'reason="round {round_}"',
                )
            if round_ < 5:
                # Somewhere in the middle of the edits: after a random number of them were
                # confirmed, a few milliseconds into the next one.
                target = chance.randint(0, len(ids) - 2)
                for _ in range(3000):
                    if len(emulator.sent) - sent_before >= target:
                        break
                    await asyncio.sleep(0.005)
                await asyncio.sleep(chance.random() * 0.03)
                process.send_signal(signal.SIGKILL)
                await process.wait()
            else:
                for _ in range(300):
                    if len(emulator.sent) - sent_before >= len(ids):
                        break
                    await asyncio.sleep(0.1)
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 30)
            now = await _consistent(store)
            applied.append(sum(now[i][0] - state[i][0] for i in ids))
            # Each incident moved at most as far as the edits sent; none went back.
            for incident_id in ids:
                assert now[incident_id][0] >= state[incident_id][0]
            state = now
            # Updates not confirmed to Telegram are fetched again by the next process: an edit
            # re-applied there is refused as a stale version or applies anew, never twice.
        confirmed = [m for m in emulator.sent if m.chat_id == OWNER]
        assert confirmed
    # The kills fell at different points: some rounds got some of their edits in, not all.
    print("edits applied per round:", applied)
    assert any(0 < n < len(ids) for n in applied[:-1]), applied
    # The last round ran to the end: every incident has its value from it.
    for incident_id in ids:
        assert state[incident_id][1] == 50 + incident_id % 7
    assert "Traceback" not in log.read_text(errors="replace").split("round 5")[-1]
