"""Telegram's flood limits as token buckets, with an injectable monotonic clock.

Every message sent or edited takes a token from the global bucket and from its chat's bucket:
private chats (positive ids) allow ``private_per_second`` with bursts of ``private_burst``, groups,
supergroups and channels (negative ids) ``group_per_minute`` with bursts of ``group_burst``. A send
that finds a bucket empty is refused with "Too Many Requests: retry after N".
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

__all__ = ["RATE_LIMITED_METHODS", "RateLimiter", "RateLimits", "Rejection", "TokenBucket"]

# Lower-cased names of the methods that send or edit messages.
RATE_LIMITED_METHODS = frozenset(
    name.lower()
    for name in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendSticker",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendGame",
        "sendInvoice",
        "sendPaidMedia",
        "sendMediaGroup",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "stopPoll",
    )
)


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Flood limits; the defaults are Telegram's documented ones."""

    global_per_second: float = 30.0
    private_per_second: float = 1.0
    private_burst: int = 5
    group_per_minute: float = 20.0
    group_burst: int = 20
    enabled: bool = True
    retry_after_seconds: int | None = None  # answer this instead of the computed wait

    def scaled(self, factor: float) -> RateLimits:
        """The same limits with every rate multiplied by ``factor`` (bursts unchanged)."""
        if factor <= 0:
            raise ValueError("factor must be positive")
        return replace(
            self,
            global_per_second=self.global_per_second * factor,
            private_per_second=self.private_per_second * factor,
            group_per_minute=self.group_per_minute * factor,
        )

    def chat_rate(self, chat_id: int) -> tuple[float, float]:
        """(tokens per second, capacity) of a chat's bucket."""
        if chat_id < 0:
            return self.group_per_minute / 60.0, float(self.group_burst)
        return self.private_per_second, float(self.private_burst)

    @property
    def global_capacity(self) -> float:
        """The global bucket holds one second's worth of sends."""
        return max(1.0, self.global_per_second)


class TokenBucket:
    """A token bucket that refills continuously at ``rate`` tokens per second."""

    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token is available (0 if one is)."""
        self._refill(now)
        if self.tokens >= 1.0 - 1e-9:
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1.0


@dataclass(frozen=True, slots=True)
class Rejection:
    """A send refused with 429."""

    chat_id: int
    method: str
    time: float
    retry_after: int


@dataclass(slots=True)
class RateLimiter:
    """Applies RateLimits and records every counted send and every refusal."""

    limits: RateLimits = field(default_factory=RateLimits)
    clock: Callable[[], float] = time.monotonic
    sends: dict[int, list[float]] = field(default_factory=dict)  # chat id -> send times
    rejections: list[Rejection] = field(default_factory=list)
    _global: TokenBucket | None = None
    _chats: dict[int, TokenBucket] = field(default_factory=dict)

    @staticmethod
    def counts(method: str) -> bool:
        """Whether ``method`` sends or edits a message (and so is rate limited)."""
        return method.lower() in RATE_LIMITED_METHODS

    @property
    def count_429(self) -> int:
        return len(self.rejections)

    def acquire(self, chat_id: int, method: str = "sendMessage") -> int | None:
        """Takes the tokens for one send: None if allowed, else the retry_after to answer."""
        now = self.clock()
        if not self.limits.enabled:
            self.sends.setdefault(chat_id, []).append(now)
            return None
        if self._global is None:
            self._global = TokenBucket(
                self.limits.global_per_second, self.limits.global_capacity, now
            )
        bucket = self._chats.get(chat_id)
        if bucket is None:
            rate, capacity = self.limits.chat_rate(chat_id)
            bucket = self._chats[chat_id] = TokenBucket(rate, capacity, now)
        wait = max(self._global.wait_time(now), bucket.wait_time(now))
        if wait > 0:
            retry_after = self.limits.retry_after_seconds or max(1, math.ceil(wait))
            self.rejections.append(Rejection(chat_id, method, now, retry_after))
            return retry_after
        self._global.take(now)
        bucket.take(now)
        self.sends.setdefault(chat_id, []).append(now)
        return None

    def max_in_window(self, chat_id: int, window: float) -> int:
        """The most sends to ``chat_id`` within any ``window`` seconds."""
        times = self.sends.get(chat_id, [])
        best = 0
        start = 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def chats_over_limit(self, limits: RateLimits | None = None) -> list[int]:
        """Chats whose recorded sends exceed their bucket (``limits`` default to this limiter's).

        A bucket allows at most ``capacity + rate * (t_j - t_i)`` sends in any interval
        ``[t_i, t_j]``; this checks every interval in linear time.
        """
        limits = limits or self.limits
        over: list[int] = []
        for chat_id, times in self.sends.items():
            rate, capacity = limits.chat_rate(chat_id)
            lowest = math.inf
            for index, moment in enumerate(times):
                lowest = min(lowest, index - rate * moment)
                if (index - rate * moment) - lowest > capacity - 1 + 1e-6:
                    over.append(chat_id)
                    break
        return over
