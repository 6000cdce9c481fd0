"""When a digest falls due: pure functions on aware datetimes, no I/O.

A subscription is due daily or weekly at a local time of day in a time zone. Due times are stored
in UTC; the local time is kept across daylight-saving changes: a time that does not exist on the
day of the change (02:30 when clocks jump from 02:00 to 03:00) falls due as much later as the
clocks jumped (03:30), and a time that happens twice falls due the first time (PEP 495, fold=0).
"""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo


class Frequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


#: Monday, as ``datetime.date.weekday()`` counts.
MONDAY = 0


def local_due(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """``at`` on ``day`` in ``tz`` as an aware UTC datetime (see the module's note on DST)."""
    naive = dt.datetime.combine(day, at.replace(tzinfo=None))
    return naive.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)


def next_due(
    after: dt.datetime,
    frequency: Frequency,
    at: dt.time,
    tz: ZoneInfo,
    weekday: int = MONDAY,
) -> dt.datetime:
    """The first due time strictly after ``after`` (aware), in UTC."""
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware")
    day = after.astimezone(tz).date()
    # A due time is at most a week away; start a day early so that the local "today" counts.
    for offset in range(-1, 9):
        candidate_day = day + dt.timedelta(days=offset)
        if frequency is Frequency.WEEKLY and candidate_day.weekday() != weekday:
            continue
        due = local_due(candidate_day, at, tz)
        if due > after:
            return due
    raise AssertionError("no due time within nine days")  # pragma: no cover


def previous_due(
    before: dt.datetime,
    frequency: Frequency,
    at: dt.time,
    tz: ZoneInfo,
    weekday: int = MONDAY,
) -> dt.datetime:
    """The last due time at or before ``before`` (the start of a new subscriber's first period)."""
    day = before.astimezone(tz).date()
    for offset in range(1, -9, -1):
        candidate_day = day + dt.timedelta(days=offset)
        if frequency is Frequency.WEEKLY and candidate_day.weekday() != weekday:
            continue
        due = local_due(candidate_day, at, tz)
        if due <= before:
            return due
    raise AssertionError("no due time within nine days")  # pragma: no cover
