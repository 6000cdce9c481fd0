"""What /stats, /compare and the inline card show: figures for filters, the official figure they
are set against, and the trend against the period before."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from db.domain.figures import Counts, DatedValue
from db.domain.filters import Category, IncidentFilter, Period


@dataclass(frozen=True, slots=True)
class DistrictTotal:
    district_id: int
    total: int


@dataclass(frozen=True, slots=True)
class Stats:
    counts: Counts
    incidents: int
    latest: DatedValue | None
    leading: tuple[DistrictTotal, ...] = ()
    #: The earliest incident counted (its date as recorded), when ``latest`` was asked for.
    first: DatedValue | None = None


@dataclass(frozen=True, slots=True)
class OfficialFigures:
    as_of: dt.date
    #: Set where the figures were made public later than ``as_of``.
    published_on: dt.date | None
    period_start: dt.date
    period_start_assumed: bool
    issuer: str
    source_url: str
    total: int | None
    killed: int | None
    injured: int | None
    civilian_killed: int | None
    civilian_injured: int | None
    military_killed: int | None
    military_injured: int | None


@dataclass(frozen=True, slots=True)
class OfficialComparison:
    official: OfficialFigures
    category: Category | None
    #: What the incidents recorded here add up to over the official figure's own window.
    recorded: Stats


@dataclass(frozen=True, slots=True)
class Trend:
    """The filter's figures against those of the period before it, of the same length."""

    #: The filter's period, ended today when it runs on past today.
    current: Period
    previous: Period
    #: The previous period's figures (the current ones are the report's own).
    before: Stats


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Everything /stats shows: the figures for a filter and, when national, the official figure."""

    filter: IncidentFilter
    stats: Stats
    official: OfficialComparison | None
    trend: Trend | None = None
    #: Set when the filter's period has a previous one that the records do not cover: the day
    #: the records start (no trend is shown then, rather than a comparison with nothing).
    records_start: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two filters' figures side by side (``/compare``)."""

    left: IncidentFilter
    right: IncidentFilter
    figures: tuple[Stats, Stats]
    records_start: dt.date | None
