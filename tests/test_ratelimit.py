"""The bot's own flood limiter: per-chat and overall buckets, and per-request 429 handling."""

from __future__ import annotations

import datetime as dt

import pytest
from telegram.error import RetryAfter

from bot.config import ConfigError, load_settings
from bot.ratelimit import Bucket, FloodLimiter, FloodLimits


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
    assert fake.now == pytest.approx(2.0)  # 10 at once, then 10 a second


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


def test_flood_settings_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOOD_GLOBAL_PER_SECOND", "0")
    with pytest.raises(ConfigError, match="FLOOD_GLOBAL_PER_SECOND is malformed"):
        load_settings(_env_file=None)
