"""The scheduled digest job: decide the digests that fell due, then send the outbox.

Run by PTB's JobQueue every ``DIGEST_CHECK_SECONDS`` (the schedule itself is in the store, so a
restart or a downtime loses nothing: what fell due meanwhile is decided at the next run, once),
and by ``/digest_now``. Sends go through the bot's flood limiter like every other message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from functools import partial
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.ratelimit import retry_after_seconds
from db import digests, outbox, queries, subscriptions
from db.models import SubscriptionEnd
from db.outbox import Delivery
from handlers.context import SERVICES_KEY, Services
from handlers.render.digest import render_digest

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"
#: Where the process's outbox worker name is kept in ``bot_data``.
WORKER_KEY = "outbox_worker"
#: Rows a sender claims at a time (a claim lasts ``outbox.DEFAULT_LEASE``).
CLAIM_BATCH = 30


def worker_name() -> str:
    """Names this process's claims in the outbox (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def decide_due(services: Services, *, at_once: bool = False) -> int:
    """Decide every digest that fell due (``at_once``: every running one, now); returns how
    many were queued."""
    now = _now()
    async with services.db.read() as connection:
        chats = await (
            subscriptions.active(connection) if at_once else subscriptions.due(connection, now)
        )
    catalogs = services.catalogs
    queued = 0
    for chat_id in chats:
        async with services.db.write() as session:
            # The chat's choice (/language), else the language it subscribed in.
            chosen = await queries.chat_language(session, chat_id)
            subscribed_in = await subscriptions.language(session, chat_id)
            t = catalogs.translator(catalogs.pick(chosen, subscribed_in))
            if await digests.decide(
                session,
                chat_id,
                now,
                services.settings.tz,
                partial(render_digest, t, services.gazetteer),
                now_instead_of_schedule=at_once,
            ):
                queued += 1
    return queued


async def _end(services: Services, chat_id: int, reason: SubscriptionEnd, error: str) -> None:
    async with services.db.write() as session:
        await subscriptions.end(session, chat_id, reason, _now())
        await outbox.drop_chat(session, chat_id, error)


async def send_outbox(bot: Bot, services: Services, worker: str) -> Delivery:
    """Send every claimable row: 403 ends the subscription at once, 429 waits Telegram's
    ``retry_after`` for that row only, other failures back off and are retried a few times."""
    delivery = Delivery()
    while rows := await outbox.claim(services.db, worker, _now(), limit=CLAIM_BATCH):
        for row in rows:
            try:
                for part in row.parts:
                    await bot.send_message(row.chat_id, part)
            except Forbidden as exc:  # blocked by the user, or the account is deactivated
                await _end(services, row.chat_id, SubscriptionEnd.BLOCKED, f"403: {exc.message}")
                delivery.ended += 1
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
                    delivery.ended += 1
                else:
                    await _failed(services, row.id, worker, exc)
                    delivery.failed += 1
            except TelegramError as exc:
                await _failed(services, row.id, worker, exc)
                delivery.failed += 1
            else:
                async with services.db.transaction() as session:
                    await outbox.mark_sent(session, row.id, worker, _now())
                delivery.sent += 1
    return delivery


async def _failed(services: Services, row_id: int, worker: str, exc: TelegramError) -> None:
    log.warning("digest row %s failed: %s", row_id, exc)
    async with services.db.transaction() as session:
        await outbox.mark_failed(session, row_id, worker, _now(), f"{type(exc).__name__}: {exc}")


async def run_digests(
    bot: Bot, services: Services, worker: str, *, at_once: bool = False
) -> Delivery:
    queued = await decide_due(services, at_once=at_once)
    delivery = await send_outbox(bot, services, worker)
    delivery.queued = queued
    return delivery


async def digest_job(context: Any) -> None:
    """The JobQueue's callback (named ``digests``): one run at a time per process."""
    services: Services = context.application.bot_data[SERVICES_KEY]
    worker: str = context.application.bot_data.setdefault(WORKER_KEY, worker_name())
    delivery = await run_digests(context.bot, services, worker)
    if delivery.queued or delivery.sent or delivery.failed or delivery.ended:
        log.info(
            "digests: %d decided, %d sent, %d failed, %d ended",
            delivery.queued,
            delivery.sent,
            delivery.failed,
            delivery.ended,
        )
