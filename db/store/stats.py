"""The figures: /stats (with the official figure and the trend), /compare, /chart's series.

Every method reads on one Core connection (``Database.read()``, the cheap path): the figures of
all the filters a reply needs come in one statement (``db.queries.stats_many``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from db import chats, queries
from db.domain.filters import IncidentFilter, Period
from db.domain.series import MonthlySeries
from db.domain.stats import (
    Comparison,
    OfficialComparison,
    OfficialFigures,
    Stats,
    StatsReport,
    Trend,
)
from db.queries import Reader, StatsRequest
from db.series import monthly_series
from db.session import Database
from db.totals import month_bounds

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class KeptOrRead(Generic[K]):
    """What :meth:`StatsReads.report_unless_kept` found: the chat's stored language and the data
    version, then either what the caller kept for them or the report read."""

    language: str | None
    version: int
    kept: K | None
    report: StatsReport | None


class StatsReads:
    """The figures readers ask for; each method one read of the store."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def report(self, f: IncidentFilter, *, today: dt.date | None = None) -> StatsReport:
        """Everything /stats shows for ``f`` (see :func:`stats_report`)."""
        async with self._db.read() as connection:
            return await stats_report(connection, f, today=today)

    async def report_unless_kept(
        self,
        chat_id: int | None,
        f: IncidentFilter,
        *,
        today: dt.date,
        lookup: Callable[[str | None, int], K | None],
    ) -> KeptOrRead[K]:
        """/stats with a cache of its replies: the chat's language and the data version in one
        statement, then ``lookup(language, version)`` (what the caller kept for them), and only
        when it kept nothing the report, on the same connection (one read transaction: the
        report is of the version read)."""
        async with self._db.read() as connection:
            language, version = await chats.language_and_version(connection, chat_id)
            kept = lookup(language, version)
            report = None
            if kept is None:
                report = await stats_report(connection, f, today=today)
        return KeptOrRead(language, version, kept, report)

    async def compare(self, left: IncidentFilter, right: IncidentFilter) -> Comparison:
        async with self._db.read() as connection:
            return await compare(connection, left, right)

    async def figures(self, f: IncidentFilter, *, leading: int = 5, latest: bool = True) -> Stats:
        """The figures of one filter alone (no official figure, no trend)."""
        async with self._db.read() as connection:
            return await queries.stats(connection, f, leading=leading, latest=latest)

    async def official(self, f: IncidentFilter) -> OfficialFigures | None:
        """The official figure /stats sets against ``f`` (see ``db.queries.latest_official``)."""
        async with self._db.read() as connection:
            return await queries.latest_official(connection, f)

    async def records_start(self) -> dt.date | None:
        """The day the records start: the earliest date of any published incident."""
        async with self._db.read() as connection:
            return await queries.records_start(connection)

    async def monthly(self, f: IncidentFilter, *, today: dt.date | None = None) -> MonthlySeries:
        """Casualties per month for /chart (see ``db.series.monthly_series``)."""
        async with self._db.read() as connection:
            return await monthly_series(connection, f, today=today)


def _window(official: OfficialFigures, f: IncidentFilter) -> IncidentFilter:
    """The official figure's own window, with the filter's category."""
    return IncidentFilter(period=Period(official.period_start, official.as_of), category=f.category)


def _shift_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` earlier (negative: later), or the month's last day if shorter."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def previous_period(period: Period, today: dt.date) -> tuple[Period, Period] | None:
    """The period as far as it has run (ended today at the latest) and the one before it, of
    the same length: the year before a year, the month before a month, as many months before
    whole months (``2026`` on 27 November: 1 Jan–27 Nov 2026 against 1 Jan–27 Nov 2025), else
    as many days before. None for a period without a start or one that starts after today."""
    start, end = period.start, period.end
    if start is None or start > today:
        return None
    stated_end = end or today
    current_end = min(stated_end, today)
    if start.day == 1 and stated_end == month_bounds(stated_end)[1]:
        months = (stated_end.year - start.year) * 12 + stated_end.month - start.month + 1
        previous_start = _shift_months(start, months)
        if current_end == stated_end:
            previous_end = start - dt.timedelta(days=1)
        else:
            previous_end = _shift_months(current_end, months)
    else:
        days = (current_end - start).days + 1
        previous_start = start - dt.timedelta(days=days)
        previous_end = start - dt.timedelta(days=1)
    return Period(start, current_end), Period(previous_start, previous_end)


async def stats_report(
    db: Reader, f: IncidentFilter, *, today: dt.date | None = None
) -> StatsReport:
    """Everything /stats shows: the official figure, then in one statement the figures for the
    filter, for the official figure's window and, given ``today``, for the period before the
    filter's (the trend; not when the records do not cover that period)."""
    official = await queries.latest_official(db, f)
    requests: list[StatsRequest] = [(f, 5, True)]
    if official is not None:
        requests.append((_window(official, f), 0, False))
    periods = previous_period(f.period, today) if today is not None else None
    if periods is not None:  # asked for at once, kept only if the records cover that period
        requests.append((IncidentFilter(f.districts, periods[1], f.category), 0, False))
    results, start = await queries.stats_many(db, requests, with_start=periods is not None)
    comparison = (
        OfficialComparison(official, f.category, results[1]) if official is not None else None
    )
    if periods is None:
        return StatsReport(f, results[0], comparison)
    previous = periods[1].start
    if start is None or previous is None or previous < start:
        return StatsReport(f, results[0], comparison, records_start=start)
    return StatsReport(f, results[0], comparison, Trend(periods[0], periods[1], results[-1]))


async def compare(db: Reader, left: IncidentFilter, right: IncidentFilter) -> Comparison:
    """Both filters' figures in one statement, and where the records start."""
    (first, second), start = await queries.stats_many(db, [(left, 0, True), (right, 0, True)])
    return Comparison(left, right, (first, second), start)
