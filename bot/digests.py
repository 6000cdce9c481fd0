"""The scheduled digest job: decide the digests that fell due, then send the outbox.

Run by PTB's JobQueue every ``DIGEST_CHECK_SECONDS`` (the schedule itself is in the store, so a
restart or a downtime loses nothing: what fell due meanwhile is decided at the next run, once),
and by ``/digest_now``. Sends go through the bot's flood limiter like every other message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import secrets
import socket
from functools import partial
from typing import Any

from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot, JobQueue

from bot.config import settings_of
from db import digests, outbox, subscriptions
from db.domain.records import OutboxStatus, SubscriptionEnd
from db.outbox import Claimed, Delivery
from handlers.context import SERVICES_KEY, Services
from handlers.ratelimit import SendOptions, retry_after_seconds
from handlers.render.digest import DigestRenderer

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"
#: Where the process's outbox worker name is kept in ``bot_data``.
WORKER_KEY = "outbox_worker"
#: Rows a sender claims at a time (a claim lasts ``DIGEST_LEASE_SECONDS``).
CLAIM_BATCH = 30
#: Chats whose digests are decided in one transaction (which holds the write lock meanwhile).
DECIDE_BATCH = 200


def worker_name() -> str:
    """Names this process's claims in the outbox (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def decide_due(
    services: Services, *, at_once: bool = False, stop: asyncio.Event | None = None
) -> int:
    """Decide every digest that fell due (``at_once``: every running one, now), ``DECIDE_BATCH``
    chats to a transaction, until ``stop`` is set (what is left is decided by the next run);
    returns how many were queued."""
    now = _now()
    render = DigestRenderer(services.catalogs, services.gazetteer)
    queued = 0
    after = None
    while stop is None or not stop.is_set():
        async with services.db.read() as connection:
            if at_once:
                chats = await subscriptions.active(connection, after=after, limit=DECIDE_BATCH)
            else:
                chats = await subscriptions.due(connection, now, limit=DECIDE_BATCH)
        if not chats:
            return queued
        async with services.db.write() as session:
            decided = await digests.decide_many(
                session,
                chats,
                now,
                services.settings.tz,
                render,
                now_instead_of_schedule=at_once,
            )
        queued += len(decided)
        if chats[-1] == after:  # nothing moved on (cannot happen; never loop on it)
            return queued
        after = chats[-1]
    return queued


async def _end(services: Services, chat_id: int, reason: SubscriptionEnd, error: str) -> None:
    async with services.db.write() as session:
        await subscriptions.end(session, chat_id, reason, _now())
        await outbox.drop_chat(session, chat_id, error)


#: A digest's messages give way to interactive replies, and a 429 goes back to the outbox (with
#: Telegram's ``retry_after``) instead of holding a sender.
DIGEST_SEND = SendOptions(bulk=True, max_retries=0)
#: How long a run waits for rows a 429 or a failure put back, before leaving them to the next.
RETRY_WAIT = dt.timedelta(seconds=10)
#: How often a sender looks for rows while the digests are still being decided.
POLL_SECONDS = 0.2


class _Sender:
    """Sends claimed rows, ``senders`` at a time: the rows of one chat in order, one after the
    other; each row from its first undelivered part."""

    def __init__(self, bot: ExtBot[Any], services: Services, worker: str, senders: int) -> None:
        self.bot = bot
        self.services = services
        self.worker = worker
        self.lease = dt.timedelta(seconds=settings_of(services).digest_lease_seconds)
        self.delivery = Delivery()
        self._slots = asyncio.Semaphore(senders)
        self._last_of_chat: dict[int, asyncio.Task[None]] = {}
        self.in_flight: set[asyncio.Task[None]] = set()

    def start(self, row: Claimed) -> None:
        previous = self._last_of_chat.get(row.chat_id)
        task = asyncio.create_task(self._after(previous, row))
        self._last_of_chat[row.chat_id] = task
        self.in_flight.add(task)
        task.add_done_callback(partial(self._done, row.chat_id))

    def _done(self, chat_id: int, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        if self._last_of_chat.get(chat_id) is task:
            del self._last_of_chat[chat_id]

    async def _after(self, previous: asyncio.Task[None] | None, row: Claimed) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        async with self._slots:
            try:
                await self._send(row)
            except Exception:  # a store error: the row's claim runs out and it is sent again
                log.exception("digest row %s could not be recorded", row.id)

    async def _send(self, row: Claimed) -> None:
        services, worker = self.services, self.worker
        now = _now()
        if row.claimed_until is None or now >= row.claimed_until - self.lease / 2:
            # Claimed a while ago (this process may have stalled): renew the claim, or leave
            # the row to the sender that took it over.
            async with services.db.transaction() as session:
                held = await outbox.renew(session, row.id, worker, now, self.lease)
            if not held:
                log.warning("digest row %s: claim lost before sending, left to its sender", row.id)
                return
        sent = row.parts_sent
        try:
            for part in row.unsent:
                await self.bot.send_message(row.chat_id, part, rate_limit_args=DIGEST_SEND)
                sent += 1
                if sent < len(row.parts):
                    async with services.db.transaction() as session:
                        await outbox.mark_part_sent(session, row.id, worker, sent)
        except Forbidden as exc:  # blocked by the user, or the account is deactivated
            await _end(services, row.chat_id, SubscriptionEnd.BLOCKED, f"403: {exc.message}")
            self.delivery.ended += 1
            log.info("chat %s blocked the bot: its digest is ended", row.chat_id)
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            async with services.db.transaction() as session:
                await outbox.mark_failed(
                    session,
                    row.id,
                    worker,
                    _now(),
                    f"429: retry after {seconds} s",
                    retry_after=dt.timedelta(seconds=seconds),
                )
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                await _end(services, row.chat_id, SubscriptionEnd.REMOVED, exc.message)
                self.delivery.ended += 1
            else:
                await self._failed(row.id, exc)
        except TelegramError as exc:
            await self._failed(row.id, exc)
        else:
            async with services.db.transaction() as session:
                await outbox.mark_sent(session, row.id, worker, _now())
            self.delivery.sent += 1

    async def _failed(self, row_id: int, exc: TelegramError) -> None:
        log.warning("digest row %s failed: %s", row_id, exc)
        async with self.services.db.transaction() as session:
            status = await outbox.mark_failed(
                session, row_id, self.worker, _now(), f"{type(exc).__name__}: {exc}"
            )
        self.delivery.failed += 1
        if status is OutboxStatus.FAILED:
            log.error("digest row %s given up after %d attempts", row_id, outbox.MAX_ATTEMPTS)


async def send_outbox(
    bot: ExtBot[Any],
    services: Services,
    worker: str,
    *,
    deciding: asyncio.Future[Any] | None = None,
    stop: asyncio.Event | None = None,
) -> Delivery:
    """Send every claimable row, ``DIGEST_SENDERS`` at a time, until none is left and
    ``deciding`` (the decider, running meanwhile) is done: 403 ends the subscription at once,
    429 puts the row back for Telegram's ``retry_after``, other failures back off and are
    retried a few times (rows falling due again within ``RETRY_WAIT`` are waited for).

    Once ``stop`` is set, nothing more is claimed: the rows in hand are sent and recorded, and
    the rest stay in the outbox, unclaimed, for the next run of any process."""
    senders = settings_of(services).digest_senders
    sender = _Sender(bot, services, worker, senders)
    while True:
        if stop is not None and stop.is_set():
            if sender.in_flight:
                await asyncio.wait(sender.in_flight)
            return sender.delivery
        room = 2 * senders - len(sender.in_flight)
        if room < senders:  # claim in batches, once half of what is queued has gone
            await asyncio.wait(sender.in_flight, return_when=asyncio.FIRST_COMPLETED)
            continue
        rows = await outbox.claim(
            services.db, worker, _now(), limit=min(room, CLAIM_BATCH), lease=sender.lease
        )
        for row in rows:
            sender.start(row)
        if rows:
            continue
        waits: set[asyncio.Future[Any]] = set(sender.in_flight)
        if deciding is not None and not deciding.done():
            waits.add(deciding)
        if waits:
            await asyncio.wait(waits, timeout=POLL_SECONDS)
            continue
        async with services.db.read() as connection:
            retry = await outbox.soonest_retry(connection)
        if retry is None or retry > _now() + RETRY_WAIT:
            return sender.delivery
        await _sleep(max(0.0, (retry - _now()).total_seconds()), stop)


async def _sleep(seconds: float, stop: asyncio.Event | None) -> None:
    """``asyncio.sleep``, cut short when ``stop`` is set."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def run_digests(
    bot: ExtBot[Any],
    services: Services,
    worker: str,
    *,
    at_once: bool = False,
    stop: asyncio.Event | None = None,
) -> Delivery:
    """Decide the digests that fell due (all of them: ``at_once``) and send them, sending from
    the first one decided; ``stop`` ends both after what is in hand (see ``send_outbox``)."""
    deciding = asyncio.create_task(decide_due(services, at_once=at_once, stop=stop))
    try:
        delivery = await send_outbox(bot, services, worker, deciding=deciding, stop=stop)
    finally:
        if not deciding.done():
            deciding.cancel()
    delivery.queued = await deciding
    return delivery


def schedule_digests(job_queue: Any, interval: float, *, first: float | None = None) -> None:
    """Run the digest job ``first`` seconds from now (default: ``interval``); each run schedules
    the next when it ends, so that a long fan-out never overlaps the next run."""
    job_queue.run_once(
        digest_job, when=interval if first is None else first, name=DIGEST_JOB, data=interval
    )


class DigestJobQueue(JobQueue[Any]):
    """PTB's JobQueue, stopped so that a fan-out ends cleanly when the process stops.

    ``stop`` (called by ``Application.stop`` once the updates in hand are answered) first
    pauses the scheduler: APScheduler shuts down on a later turn of the event loop, and a job
    falling due in between would be started and cancelled at once (an error in the log, and a
    run cut anywhere). Then it sets ``stopping``: a running digest run sends the rows it has
    claimed, records them and returns, leaving the rest unclaimed for the next run, here after
    a restart or in another process, instead of holding the stop for the whole fan-out or
    leaving claims to run out."""

    def __init__(self) -> None:
        super().__init__()
        self.stopping = asyncio.Event()

    async def stop(self, wait: bool = True) -> None:
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.pause()
        await super().stop(wait)


async def digest_job(context: Any) -> None:
    """The JobQueue's callback (named ``digests``): decides and sends, then schedules itself
    ``DIGEST_CHECK_SECONDS`` after it ends."""
    services: Services = context.application.bot_data[SERVICES_KEY]
    worker: str = context.application.bot_data.setdefault(WORKER_KEY, worker_name())
    queue = context.job_queue
    stop = queue.stopping if isinstance(queue, DigestJobQueue) else None
    try:
        delivery = await run_digests(context.bot, services, worker, stop=stop)
    finally:
        if context.application.running and not (stop is not None and stop.is_set()):
            schedule_digests(queue, context.job.data)
    if delivery.queued or delivery.sent or delivery.failed or delivery.ended:
        log.info(
            "digests: %d decided, %d sent, %d failed, %d ended",
            delivery.queued,
            delivery.sent,
            delivery.failed,
            delivery.ended,
        )
