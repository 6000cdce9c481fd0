"""When digests fall due: daily and weekly, local time kept across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from db.domain.schedule import Frequency, local_due, next_due, previous_due

BAKU = ZoneInfo("Asia/Baku")
BERLIN = ZoneInfo("Europe/Berlin")
NINE = dt.time(9, 0)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_daily_at_nine_in_baku() -> None:
    # Baku is UTC+4 all year: 09:00 there is 05:00 UTC.
    assert next_due(utc(2026, 11, 27, 4, 59), Frequency.DAILY, NINE, BAKU) == utc(2026, 11, 27, 5)
    assert next_due(utc(2026, 11, 27, 5, 0), Frequency.DAILY, NINE, BAKU) == utc(2026, 11, 28, 5)
    assert previous_due(utc(2026, 11, 27, 5, 0), Frequency.DAILY, NINE, BAKU) == utc(
        2026, 11, 27, 5
    )


def test_weekly_on_monday() -> None:
    # 27 November 2026 is a Friday: the next Monday is 30 November.
    due = next_due(utc(2026, 11, 27, 12), Frequency.WEEKLY, NINE, BAKU)
    assert due == utc(2026, 11, 30, 5)
    assert previous_due(utc(2026, 11, 27, 12), Frequency.WEEKLY, NINE, BAKU) == utc(2026, 11, 23, 5)
    assert next_due(utc(2026, 11, 27, 12), Frequency.WEEKLY, NINE, BAKU, weekday=4) == utc(
        2026, 12, 4, 5
    )


def test_a_time_skipped_by_the_clocks_falls_due_as_much_later() -> None:
    # Berlin, 29 March 2026: 02:00 -> 03:00. 02:30 does not exist; it falls due at 03:30 (01:30 UTC).
    assert local_due(dt.date(2026, 3, 29), dt.time(2, 30), BERLIN) == utc(2026, 3, 29, 1, 30)


def test_a_time_that_happens_twice_falls_due_the_first_time() -> None:
    # Berlin, 25 October 2026: 03:00 -> 02:00. 02:30 happens twice; the first is 00:30 UTC.
    assert local_due(dt.date(2026, 10, 25), dt.time(2, 30), BERLIN) == utc(2026, 10, 25, 0, 30)


def test_naive_datetimes_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError):
        next_due(dt.datetime(2026, 1, 1), Frequency.DAILY, NINE, BAKU)


ZONES = st.sampled_from([BAKU, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("UTC")])
MOMENTS = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2035, 1, 1), timezones=st.just(dt.UTC)
)
TIMES = st.times()


@given(MOMENTS, st.sampled_from(list(Frequency)), TIMES, ZONES, st.integers(0, 6))
def test_the_next_due_time_is_the_first_after(
    after: dt.datetime, frequency: Frequency, at: dt.time, tz: ZoneInfo, weekday: int
) -> None:
    due = next_due(after, frequency, at, tz, weekday)
    assert due > after
    assert due - after <= dt.timedelta(days=7, hours=2)
    local = due.astimezone(tz)
    if frequency is Frequency.WEEKLY:
        assert local.weekday() == weekday
    # The previous due time is at or before ``after``: nothing falls due in between.
    previous = previous_due(after, frequency, at, tz, weekday)
    assert previous <= after < due
    assert next_due(previous, frequency, at, tz, weekday) == due
