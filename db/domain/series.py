"""Casualties per calendar month for a filter (``/chart``), as the store returns them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from db.domain.figures import Counts
from db.domain.filters import IncidentFilter


@dataclass(frozen=True, slots=True)
class MonthCounts:
    #: The first day of the month.
    month: dt.date
    counts: Counts
    incidents: int


@dataclass(frozen=True, slots=True)
class MonthlySeries:
    filter: IncidentFilter
    #: Consecutive months (empty ones included) from the first to the last to show; empty when
    #: no incident can be placed in a month.
    months: tuple[MonthCounts, ...]
    #: Figures of incidents whose dates span several months (not placed in any one).
    unplaced: Counts
    unplaced_incidents: int
    #: When the records last changed (an incident published or edited, an official total added),
    #: in UTC.
    data_as_of: dt.datetime | None

    @property
    def placed(self) -> Counts:
        return _sum(m.counts for m in self.months)

    @property
    def placed_incidents(self) -> int:
        return sum(m.incidents for m in self.months)

    @property
    def incidents(self) -> int:
        """Every incident counted, placed in a month or not (what /stats counts)."""
        return self.placed_incidents + self.unplaced_incidents

    @property
    def counts(self) -> Counts:
        """Every casualty counted, placed in a month or not (what /stats counts)."""
        return _sum((self.placed, self.unplaced))


def _sum(counts: Iterable[Counts]) -> Counts:
    totals = [0, 0, 0, 0]
    for c in counts:
        for i, value in enumerate(
            (c.civilian_killed, c.civilian_injured, c.military_killed, c.military_injured)
        ):
            totals[i] += value
    return Counts(*totals)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> int:
    """How many months from ``first``'s to ``last``'s, both counted."""
    return (last.year - first.year) * 12 + last.month - first.month + 1
