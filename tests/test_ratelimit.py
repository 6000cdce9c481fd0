"""The bot's own flood limiter: per-chat and overall buckets, and per-request 429 handling."""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.config import ConfigError, load_settings
from handlers.ratelimit import BULK, Bucket, FloodLimiter, FloodLimits


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_then_one_per_interval() -> None:
    bucket = Bucket(rate=1.0, burst=3)
    assert [bucket.reserve(0.0) for _ in range(5)] == [0.0, 0.0, 0.0, 1.0, 2.0]
    assert not bucket.idle(4.9)  # the last slot was taken at 2 s; two more refill by 5 s
    assert bucket.idle(5.0)


async def test_private_chat_is_paced_and_groups_slower() -> None:
    fake = FakeTime()
    limiter = FloodLimiter(
        FloodLimits(private_burst=2, group_burst=1), clock=fake.clock, sleep=fake.sleep
    )
    sent: list[float] = []

    async def send(**_: object) -> bool:
        sent.append(fake.now)
        return True

    for _ in range(4):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": 5}, None)
    assert sent == [0.0, 0.0, 1.0, 2.0]
    sent.clear()
    for _ in range(2):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": -100}, None)
    assert sent[1] - sent[0] == pytest.approx(3.0)  # 20 a minute
    # Requests that are not messages are never delayed.
    before = fake.now
    for _ in range(10):
        await limiter.process_request(send, (), {}, "answerCallbackQuery", {"chat_id": 5}, None)
    assert fake.now == before


async def test_overall_limit_spans_chats() -> None:
    fake = FakeTime()
    limiter = FloodLimiter(FloodLimits(global_per_second=10), clock=fake.clock, sleep=fake.sleep)

    async def send(**_: object) -> bool:
        return True

    for chat in range(1, 31):
        await limiter.process_request(send, (), {}, "sendMessage", {"chat_id": chat}, None)
    assert fake.now == pytest.approx(2.5)  # 5 at once (half a second's worth), then 10 a second


async def test_retry_after_is_honoured_for_that_request_only() -> None:
    fake = FakeTime()
    limiter = FloodLimiter(FloodLimits(max_retries=2), clock=fake.clock, sleep=fake.sleep)
    calls = 0

    async def flaky(**_: object) -> bool:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RetryAfter(dt.timedelta(seconds=4))
        return True

    assert await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert calls == 3
    assert fake.slept == [4.0, 4.0]

    async def always(**_: object) -> bool:
        raise RetryAfter(dt.timedelta(seconds=1))

    with pytest.raises(RetryAfter):
        await limiter.process_request(always, (), {}, "sendMessage", {"chat_id": 2}, None)


class VirtualTime:
    """A virtual clock for concurrent tasks: ``sleep`` parks a task until ``run`` moves time to
    its wake-up, in order, once every task is parked (a small discrete-event simulation)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self.now + seconds, self._seq, future))
        await future

    async def run(self, tasks: list[asyncio.Task[None]]) -> None:
        while not all(task.done() for task in tasks):
            for _ in range(5):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if self._sleepers:
                wake, _, future = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake)
                future.set_result(None)


async def test_interactive_replies_go_before_a_fan_out() -> None:
    clock = VirtualTime()
    limiter = FloodLimiter(FloodLimits(global_per_second=10), clock=clock.clock, sleep=clock.sleep)
    sent: list[tuple[float, str]] = []

    def sender(kind: str) -> Callable[..., Coroutine[Any, Any, bool]]:
        async def send(**_: object) -> bool:
            sent.append((clock.now, kind))
            return True

        return send

    async def fan_out(chat: int) -> None:
        for _ in range(3):
            await limiter.process_request(
                sender("bulk"), (), {}, "sendMessage", {"chat_id": chat}, BULK
            )

    async def reply_at(when: float) -> None:
        await clock.sleep(when)
        await limiter.process_request(sender("reply"), (), {}, "sendMessage", {"chat_id": 1}, None)

    tasks = [asyncio.create_task(fan_out(chat)) for chat in range(100, 140)]
    tasks += [asyncio.create_task(reply_at(when)) for when in (2.05, 5.55, 5.56)]
    await clock.run(tasks)
    replies = [at for at, kind in sent if kind == "reply"]
    # Each reply waits at most one slot of the overall limit behind the fan-out.
    assert replies[0] <= 2.05 + 0.1 + 1e-9
    assert replies[1] <= 5.55 + 0.1 + 1e-9 and replies[2] <= 5.56 + 0.2 + 1e-9
    # The fan-out takes the rest: 120 bulk messages at 10 a second after a burst of 5; once
    # the burst is spent, never more than the overall limit in any second.
    times = [at for at, _ in sent]
    assert len(times) == 123
    assert max(times) == pytest.approx((123 - 5) / 10, abs=0.11)
    for start in (t for t in times if t >= 1.0):
        assert sum(start <= t < start + 1.0 for t in times) <= 10 + 1


def test_a_bulk_send_takes_only_a_free_slot() -> None:
    bucket = Bucket(rate=10.0, burst=1)
    assert bucket.take_if_free(0.0) == 0.0
    assert bucket.take_if_free(0.0) == pytest.approx(0.1)  # nothing taken
    assert bucket.reserve(0.0) == pytest.approx(0.1)  # a reply reserves that slot
    assert bucket.take_if_free(0.1) == pytest.approx(0.1)  # so the bulk send waits one more
    assert bucket.take_if_free(0.2) == 0.0


def test_flood_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOOD_GLOBAL_PER_SECOND", "0")
    with pytest.raises(ConfigError, match="FLOOD_GLOBAL_PER_SECOND is malformed"):
        load_settings(_env_file=None)
