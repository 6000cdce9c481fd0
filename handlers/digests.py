"""Sending the digests: decide the ones that fell due (in the store), then send the outbox, through
the bot's flood limiter like every other message.

Run by the digest job every ``DIGEST_CHECK_SECONDS`` (``bot.digests``: the schedule itself is in
the store, so a restart or a downtime loses nothing: what fell due meanwhile is decided at the next
run, once), and by /digest_now (``Services.deliver_digests``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from functools import partial
from typing import Any

from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from db.domain.digests import Claimed, Delivery
from db.domain.records import OutboxStatus, SubscriptionEnd
from handlers.context import Services
from handlers.ratelimit import SendOptions, retry_after_seconds
from handlers.render.digest import DigestRenderer

log = logging.getLogger(__name__)

#: Rows a sender claims at a time (a claim lasts ``DIGEST_LEASE_SECONDS``).
CLAIM_BATCH = 30
#: A digest's messages give way to interactive replies, and a 429 goes back to the outbox (with
#: Telegram's ``retry_after``) instead of holding a sender.
DIGEST_SEND = SendOptions(bulk=True, max_retries=0)
#: How long a run waits for rows a 429 or a failure put back, before leaving them to the next.
RETRY_WAIT = dt.timedelta(seconds=10)
#: How often a sender looks for rows while the digests are still being decided.
POLL_SECONDS = 0.2


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def decide_due(
    services: Services, *, at_once: bool = False, stop: asyncio.Event | None = None
) -> int:
    """Decide every digest that fell due (``at_once``: every running one, now), a batch of
    chats to a transaction, until ``stop`` is set (what is left is decided by the next run);
    returns how many were queued."""
    now = _now()
    render = DigestRenderer(services.catalogs, services.gazetteer)
    queued = 0
    after = None
    while stop is None or not stop.is_set():
        batch = await services.store.digests.decide_batch(
            now, services.settings.tz, render, at_once=at_once, after=after
        )
        queued += batch.queued
        # None left; or nothing moved on (cannot happen; never loop on it).
        if batch.last is None or batch.last == after:
            return queued
        after = batch.last
    return queued


class _Sender:
    """Sends claimed rows, ``senders`` at a time: the rows of one chat in order, one after the
    other; each row from its first undelivered part."""

    def __init__(self, bot: ExtBot[Any], services: Services, worker: str, senders: int) -> None:
        self.bot = bot
        self.digests = services.store.digests
        self.subscriptions = services.store.subscriptions
        self.worker = worker
        self.lease = dt.timedelta(seconds=services.settings.digest_lease_seconds)
        self.sent = self.failed = self.ended = 0
        self._slots = asyncio.Semaphore(senders)
        self._last_of_chat: dict[int, asyncio.Task[None]] = {}
        self.in_flight: set[asyncio.Task[None]] = set()

    def delivery(self, queued: int = 0) -> Delivery:
        return Delivery(queued=queued, sent=self.sent, failed=self.failed, ended=self.ended)

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
        worker = self.worker
        now = _now()
        # Claimed a while ago (this process may have stalled): renew the claim, or leave the row
        # to the sender that took it over.
        stale = row.claimed_until is None or now >= row.claimed_until - self.lease / 2
        if stale and not await self.digests.renew(row.id, worker, now, self.lease):
            log.warning("digest row %s: claim lost before sending, left to its sender", row.id)
            return
        sent = row.parts_sent
        try:
            for part in row.unsent:
                await self.bot.send_message(row.chat_id, part, rate_limit_args=DIGEST_SEND)
                sent += 1
                if sent < len(row.parts):
                    await self.digests.record_part_sent(row.id, worker, sent)
        except Forbidden as exc:  # blocked by the user, or the account is deactivated
            await self._end(row.chat_id, SubscriptionEnd.BLOCKED, f"403: {exc.message}")
            log.info("chat %s blocked the bot: its digest is ended", row.chat_id)
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            await self.digests.record_failed(
                row.id,
                worker,
                _now(),
                f"429: retry after {seconds} s",
                retry_after=dt.timedelta(seconds=seconds),
            )
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                await self._end(row.chat_id, SubscriptionEnd.REMOVED, exc.message)
            else:
                await self._failed(row.id, exc)
        except TelegramError as exc:
            await self._failed(row.id, exc)
        else:
            await self.digests.record_sent(row.id, worker, _now())
            self.sent += 1

    async def _end(self, chat_id: int, reason: SubscriptionEnd, detail: str) -> None:
        """The chat refuses the bot: its subscription ends and what waits for it is dropped."""
        await self.subscriptions.end(chat_id, reason, detail=detail)
        self.ended += 1

    async def _failed(self, row_id: int, exc: TelegramError) -> None:
        log.warning("digest row %s failed: %s", row_id, exc)
        status = await self.digests.record_failed(
            row_id, self.worker, _now(), f"{type(exc).__name__}: {exc}"
        )
        self.failed += 1
        if status is OutboxStatus.FAILED:
            log.error("digest row %s given up after %d attempts", row_id, self.digests.max_attempts)


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
    senders = services.settings.digest_senders
    sender = _Sender(bot, services, worker, senders)
    while True:
        if stop is not None and stop.is_set():
            if sender.in_flight:
                await asyncio.wait(sender.in_flight)
            return sender.delivery()
        room = 2 * senders - len(sender.in_flight)
        if room < senders:  # claim in batches, once half of what is queued has gone
            await asyncio.wait(sender.in_flight, return_when=asyncio.FIRST_COMPLETED)
            continue
        rows = await sender.digests.claim(
            worker, _now(), limit=min(room, CLAIM_BATCH), lease=sender.lease
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
        retry = await sender.digests.soonest_retry()
        if retry is None or retry > _now() + RETRY_WAIT:
            return sender.delivery()
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
    return dataclasses.replace(delivery, queued=await deciding)
