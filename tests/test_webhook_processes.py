"""``python -m bot webhook`` as it runs in production, against the emulator posting the updates:
one process answers and stops cleanly with its secrets kept out of the log; two processes started
together on one empty database migrate and seed it once, and behind a round-robin proxy answer
every update once and share a digest fan-out.

Each test has a database of its own (a SQLite file, or on PostgreSQL a database named after the
suite's with ``_hooks``), which the bot processes migrate and seed."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import signal
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest_asyncio
from aiohttp import ClientError, ClientSession, web
from sqlalchemy import func, select

from bot.app import build_services
from bot.config import DEFAULT_SEED_DIR, Settings
from bot.emulator import BotAPIEmulator, RateLimits
from bot.harness import free_port
from db import migrate
from db.models import Incident
from handlers.context import Services
from tests.conftest import bot_environment, own_database, start_bot_process
from tests.test_digest_processes import (
    _outbox,
    _received,
    _stop,
    _subscribe,
    _tracebacks,
    _until_all_sent,
)

TOKEN = "123456789:WEBHOOK-PROCESS-TOKEN"
SECRET = "process_Secret-7"
PATH = "/telegram"
FIRST_USER = 620_000
FIRST_CHAT = 630_000
#: Telegram's limits five times faster, on both sides.
SPEED = 5


@pytest_asyncio.fixture(loop_scope="session")
async def store(settings: Settings, tmp_path: Path) -> AsyncIterator[Services]:
    """An empty database of the test's own, and the services to read it."""
    own = await own_database(settings, tmp_path, "hooks")
    services = build_services(settings.model_copy(update={"database_url": own}))
    yield services
    await services.store.db.dispose()


def _env(
    store: Services, emulator: BotAPIEmulator, url: str, port: int, processes: int
) -> dict[str, str]:
    return bot_environment(
        DATABASE_URL=store.settings.database_url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=emulator.base_url,
        WEBHOOK_URL=url,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=SECRET,
        DIGEST_CHECK_SECONDS="0.5",
        # Few senders, so that one process cannot claim the whole fan-out at once.
        DIGEST_SENDERS="4",
        DIGEST_LEASE_SECONDS="60",
        FLOOD_GLOBAL_PER_SECOND=str(30 * SPEED / processes),
        FLOOD_PRIVATE_PER_SECOND=str(SPEED),
        FLOOD_GROUP_PER_MINUTE=str(20 * SPEED),
    )


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    return await start_bot_process("webhook", env, log)


async def _listening(port: int, process: asyncio.subprocess.Process, log: Path) -> None:
    """Waits until the process's webhook server accepts connections."""
    for _ in range(600):
        if process.returncode is not None:
            raise AssertionError(f"the process ended: see {log}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on port {port}")


@asynccontextmanager
async def _round_robin(ports: list[int]) -> AsyncIterator[tuple[str, Counter[int]]]:
    """A load balancer in front of the processes: each request goes to the next one in turn,
    its body and the headers Telegram sets passed on, the answer passed back. Yields the URL to
    give as WEBHOOK_URL and the number of updates each port accepted."""
    accepted: Counter[int] = Counter()
    turn = 0

    async def forward(request: web.Request) -> web.Response:
        nonlocal turn
        port = ports[turn % len(ports)]
        turn += 1
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() in {"content-type", "x-telegram-bot-api-secret-token"}
        }
        try:
            async with session.post(
                f"http://127.0.0.1:{port}{PATH}", data=await request.read(), headers=headers
            ) as response:
                body = await response.read()
        except ClientError:
            return web.Response(status=502)
        if response.status == 200:
            accepted[port] += 1
        return web.Response(status=response.status, body=body)

    app = web.Application()
    app.router.add_post(PATH, forward)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    async with ClientSession() as session:
        await site.start()
        try:
            yield f"http://127.0.0.1:{port}{PATH}", accepted
        finally:
            await runner.cleanup()


async def test_a_webhook_process_answers_and_stops_cleanly_keeping_its_secrets(
    store: Services, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    async with BotAPIEmulator(token=TOKEN) as emulator:
        emulator.add_private_chat(77, first_name="Aysel", language_code="en")
        env = _env(store, emulator, url, port, processes=1)
        env["LOG_LEVEL"] = "DEBUG"  # PTB logs its requests, setWebhook's secret included
        process = await _start(env, log)
        try:
            await _listening(port, process, log)
            assert emulator.webhook.url == url
            assert emulator.webhook.secret_token == SECRET
            emulator.user_sends(77, "/start")
            await emulator.wait_for_sent(1, timeout=30)
            assert (emulator.sent[-1].plain or "").startswith("Hello, Aysel!")
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)
        finally:
            await _stop(process)
        # Stopping one process leaves the webhook set, for the others and the next start.
        assert emulator.webhook.url == url
        assert not any(r.method in {"getUpdates", "deleteWebhook"} for r in emulator.requests)
    assert process.returncode == 0
    text = log.read_text(encoding="utf-8", errors="replace")
    calls = [line for line in text.splitlines() if "endpoint `setWebhook` with" in line]
    assert len(calls) == 1 and "'secret_token': '***'" in calls[0]  # logged, masked
    assert SECRET not in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert _tracebacks(log) == []


async def test_two_webhook_processes_answer_each_update_once_and_share_the_digests(
    store: Services, tmp_path: Path
) -> None:
    users = [FIRST_USER + i for i in range(60)]
    chats = [FIRST_CHAT + i for i in range(240)]
    log = tmp_path / "bot.log"
    ports = [free_port(), free_port()]
    emulator = BotAPIEmulator(token=TOKEN, limits=RateLimits().scaled(SPEED))
    for chat in users + chats:
        emulator.add_private_chat(chat, first_name="Reader", language_code="en")
    async with emulator, _round_robin(ports) as (url, accepted):
        processes = []
        try:
            for port in ports:
                env = _env(store, emulator, url, port, processes=2)
                processes.append(await _start(env, log))
            for port, process in zip(ports, processes, strict=True):
                await _listening(port, process, log)
            # Started together on an empty database: migrated and seeded once, in turn.
            assert await migrate.current_revision(store.store.db) == migrate.head_revision()
            with (DEFAULT_SEED_DIR / "incidents.csv").open(encoding="utf-8") as dataset:
                incidents = len(list(csv.DictReader(dataset)))
            async with store.store.db.session() as session:
                assert await session.scalar(select(func.count(Incident.id))) == incidents
            for user in users:
                emulator.user_sends(user, "/stats")
            await emulator.wait_until(lambda: len(_received(emulator, users)) == len(users), 60)
            # Digests due now: both processes find them due and send a share each.
            await _subscribe(store, chats, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
            await emulator.wait_until(lambda: len(_received(emulator, chats)) == len(chats), 60)
            await _until_all_sent(store)
            await asyncio.sleep(0.5)  # a second copy would have arrived by now
        finally:
            for process in processes:
                await _stop(process)
    answers = _received(emulator, users)
    assert set(answers) == set(users) and max(answers.values()) == 1
    replies = {m.plain for m in emulator.sent if m.chat_id in set(users)}
    assert len(replies) == 1 and "126" in (replies.pop() or "")  # the national /stats
    # Every update went to one process (the emulator delivers each until one accepts it), and
    # both processes took their turn.
    assert sorted(accepted) == sorted(ports) and min(accepted.values()) > 0
    assert sum(accepted.values()) == len(users)
    received = _received(emulator, chats)
    assert set(received) == set(chats) and max(received.values()) == 1
    workers = Counter(worker for _, _, worker in await _outbox(store))
    assert len(workers) == 2, workers  # both processes sent a share
    assert emulator.count_429 == 0
    assert _tracebacks(log) == []
