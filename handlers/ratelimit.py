"""Telegram's flood limits, kept on our side so that the Bot API rarely has to answer 429.

PTB's ``AIORateLimiter`` limits groups and the overall rate but not private chats, and on a 429 it
pauses every request of the process. This limiter keeps a bucket per chat (about one message a
second to a private chat, 20 a minute to a group) and one overall (30 a second), and honours a
429's ``retry_after`` for the request that got it only, a bounded number of times.

Interactive replies keep priority over bulk sends (digests, marked with ``rate_limit_args=BULK``):
a reply reserves the next free slot of the overall bucket, as far ahead as needed, while a bulk
send only takes a slot that is free at that moment. So a reply waits at most one slot behind a
fan-out, and the fan-out takes what the replies leave.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]

#: Bot API methods that send or edit a message: the ones Telegram's flood limits count.
LIMITED_METHODS = frozenset(
    name.lower()
    for name in (
        "sendMessage", "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendAnimation",
        "sendVoice", "sendVideoNote", "sendMediaGroup", "sendLocation", "sendVenue",
        "sendContact", "sendPoll", "sendDice", "sendSticker", "copyMessage", "copyMessages",
        "forwardMessage", "forwardMessages", "editMessageText", "editMessageCaption",
        "editMessageMedia", "editMessageReplyMarkup",
    )
)  # fmt: skip


def retry_after_seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds, whichever type PTB gives (int now, timedelta from v23)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = exc.retry_after
    return float(wait) if isinstance(wait, int | float) else wait.total_seconds()


@dataclass(frozen=True, slots=True)
class SendOptions:
    """``rate_limit_args`` of a request: whether it is a bulk send, and its 429 retries."""

    bulk: bool = False
    #: Retries after a 429 (None: ``FloodLimits.max_retries``).
    max_retries: int | None = None


#: A message of a fan-out (a digest): it gives way to interactive replies.
BULK = SendOptions(bulk=True)


class Bucket:
    """A token bucket by virtual scheduling: each caller reserves the next free slot and waits
    for it, so waiting callers are served in order and never wake together."""

    __slots__ = ("_available_at", "burst", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._available_at = float("-inf")

    def reserve(self, now: float) -> float:
        """Take one token; returns how long to wait before using it (0 if at once)."""
        interval = 1.0 / self.rate
        earliest = max(self._available_at, now - (self.burst - 1) * interval)
        self._available_at = earliest + interval
        return max(0.0, earliest - now)

    def take_if_free(self, now: float) -> float:
        """Take one token if one is free now (returns 0); else take nothing and return how long
        until one is (others may reserve it meanwhile)."""
        interval = 1.0 / self.rate
        earliest = max(self._available_at, now - (self.burst - 1) * interval)
        if earliest > now:
            return earliest - now
        self._available_at = earliest + interval
        return 0.0

    def idle(self, now: float) -> bool:
        """True once the bucket is full again (it can be forgotten)."""
        return self._available_at + (self.burst - 1) / self.rate <= now


@dataclass(frozen=True, slots=True)
class FloodLimits:
    global_per_second: float = 30.0
    #: Messages sent at once before the overall rate applies: half a second's worth, so that
    #: Telegram's bucket (a second's worth) keeps room for the jitter of requests on the way.
    global_burst: float | None = None
    private_per_second: float = 1.0
    private_burst: float = 3.0
    group_per_minute: float = 20.0
    group_burst: float = 3.0
    #: How many times one request is retried after a 429 before the error is raised.
    max_retries: int = 3


class FloodLimiter(BaseRateLimiter[SendOptions]):
    """A PTB rate limiter: per-chat and overall buckets, and per-request handling of 429."""

    MAX_IDLE_BUCKETS = 10_000

    def __init__(
        self,
        limits: FloodLimits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        self.limits = limits or FloodLimits()
        self._clock = clock
        self._sleep = sleep
        limits = self.limits
        burst = limits.global_burst
        self._overall = Bucket(
            limits.global_per_second, limits.global_per_second / 2 if burst is None else burst
        )
        self._chats: dict[int | str, Bucket] = {}
        self.retries = 0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        self._chats.clear()

    def _chat_bucket(self, chat_id: int | str) -> Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) >= self.MAX_IDLE_BUCKETS:
                now = self._clock()
                for key in [k for k, b in self._chats.items() if b.idle(now)]:
                    del self._chats[key]
            group = isinstance(chat_id, str) or chat_id < 0
            limits = self.limits
            bucket = (
                Bucket(limits.group_per_minute / 60.0, limits.group_burst)
                if group
                else Bucket(limits.private_per_second, limits.private_burst)
            )
            self._chats[chat_id] = bucket
        return bucket

    def delay_for(self, chat_id: int | str | None) -> float:
        """Reserve a slot for one message to ``chat_id``; returns the wait before sending it."""
        now = self._clock()
        wait = 0.0
        if chat_id is not None:
            wait = self._chat_bucket(chat_id).reserve(now)
        return max(wait, self._overall.reserve(now + wait))

    async def _admit_bulk(self, chat_id: int | str | None) -> None:
        """Wait for the chat's slot, then for an overall slot free at that moment."""
        if chat_id is not None:
            wait = self._chat_bucket(chat_id).reserve(self._clock())
            if wait > 0:
                await self._sleep(wait)
        while (wait := self._overall.take_if_free(self._clock())) > 0:
            await self._sleep(wait)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: SendOptions | None,
    ) -> JSON:
        options = rate_limit_args or SendOptions()
        if endpoint.lower() in LIMITED_METHODS:
            chat_id = data.get("chat_id")
            if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
                chat_id = int(chat_id)
            chat = chat_id if isinstance(chat_id, int | str) else None
            if options.bulk:
                await self._admit_bulk(chat)
            elif (delay := self.delay_for(chat)) > 0:
                await self._sleep(delay)
        retries = self.limits.max_retries if options.max_retries is None else options.max_retries
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= retries:
                    raise
                attempt += 1
                self.retries += 1
                seconds = retry_after_seconds(exc)
                log.info("429 on %s: retrying in %.1f s (attempt %d)", endpoint, seconds, attempt)
                await self._sleep(seconds)
