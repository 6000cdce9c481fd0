"""The digest job's wiring: PTB's JobQueue runs ``handlers.digests.run_digests`` every
``DIGEST_CHECK_SECONDS``, under this process's outbox worker name, and stops it cleanly with the
process."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from typing import Any

from telegram.ext import JobQueue

from handlers.context import SERVICES_KEY, Services
from handlers.digests import run_digests

log = logging.getLogger(__name__)

DIGEST_JOB = "digests"
#: Where the process's outbox worker name is kept in ``bot_data``.
WORKER_KEY = "outbox_worker"


def worker_name() -> str:
    """Names this process's claims in the outbox (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


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
