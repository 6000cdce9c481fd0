"""The figures' read queries: the filter's conditions on incidents, and the figures of filters
summed from the pre-aggregated ``incident_totals`` (see ``db.totals``), several filters in one
statement; where the records start; the latest official figure. Used by the store
(``db.store.stats``) and the digests; handlers never build SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.domain.dimensions import REGISTRY, Dimension, Narrowing, by_rollup, national
from db.domain.figures import Counts, DatedValue
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.records import DatePrecision, IncidentStatus
from db.domain.stats import DistrictTotal, OfficialFigures, Stats
from db.models import Incident, IncidentTotal, OfficialTotal, TotalsGrain
from db.totals import NO_DISTRICT, month_bounds

#: Ids per ``IN (…)`` when loading rows by id.
ID_CHUNK = 1000

#: Read queries run on a Core connection (``Database.read()``, the cheap path) or in a session.
Reader = AsyncConnection | AsyncSession


def _narrowed(dimension: Dimension[Any], value: Any) -> list[ColumnElement[bool]]:
    """The conditions on incidents of one dimension's value (by its kind of narrowing)."""
    c = Incident.__table__.c
    if dimension.narrowing is Narrowing.IN:
        assert dimension.column is not None
        return [c[dimension.column].in_(dimension.operands(value))]
    if dimension.narrowing is Narrowing.SPAN:
        start = [c.date >= value.start] if value.start is not None else []
        return [*start, *([c.date_end <= value.end] if value.end is not None else [])]
    return [c[f"{value}_killed"] + c[f"{value}_injured"] > 0]  # Narrowing.PEOPLE


def incident_conditions(f: IncidentFilter) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = [Incident.status == IncidentStatus.PUBLISHED]
    for dimension in REGISTRY:
        if dimension.is_set(f):
            conds += _narrowed(dimension, dimension.get(f))
    return and_(true(), *conds)


def restrict_counts(counts: Counts, category: Category | None) -> Counts:
    if category is Category.CIVILIAN:
        return Counts(counts.civilian_killed, counts.civilian_injured, 0, 0)
    if category is Category.MILITARY:
        return Counts(0, 0, counts.military_killed, counts.military_injured)
    return counts


TOTALS = IncidentTotal.__table__.c  # Core columns: these reads need no ORM machinery

COUNT_COLUMN = {
    None: IncidentTotal.incidents,
    Category.CIVILIAN: IncidentTotal.civilian_incidents,
    Category.MILITARY: IncidentTotal.military_incidents,
}


def _full_months(period: Period) -> tuple[dt.date | None, dt.date | None] | None:
    """The first day of the first whole month inside the period and the last day of the last one
    (None for an open end), or None when the period holds no whole month."""
    first = period.start
    if first is not None and first.day != 1:
        first = month_bounds(first)[1] + dt.timedelta(days=1)
    last = period.end
    if last is not None and last != month_bounds(last)[1]:
        last = last.replace(day=1) - dt.timedelta(days=1)
    if first is not None and last is not None and first > last:
        return None
    return first, last


@dataclass(frozen=True, slots=True)
class TotalsPart:
    """Rows of one grain whose span starts in [low, high] (either may be open)."""

    grain: TotalsGrain
    low: dt.date | None
    high: dt.date | None


def totals_parts(f: IncidentFilter) -> list[TotalsPart]:
    """The parts of ``incident_totals`` whose rows add up to the filter's figures: the whole months
    from MONTH rows, the edge months from SPAN rows, and LONG rows. Each part bounds ``date`` on
    both sides where it can, so that the (grain, date) index narrows it; every row must also end
    by the period's end."""
    start, end = f.period.start, f.period.end
    parts = [TotalsPart(TotalsGrain.LONG, start, end)]
    months = _full_months(f.period)
    if months is None:  # no whole month: SPAN rows only
        return [*parts, TotalsPart(TotalsGrain.SPAN, start, end)]
    first, last = months
    parts.append(TotalsPart(TotalsGrain.MONTH, first, last))
    if first is not None and start is not None and start < first:
        parts.append(TotalsPart(TotalsGrain.SPAN, start, first - dt.timedelta(days=1)))
    if last is not None and end is not None and end > last:
        parts.append(TotalsPart(TotalsGrain.SPAN, last + dt.timedelta(days=1), end))
    return parts


#: One filter's figures as asked of :func:`stats_many`: the filter, how many leading districts,
#: whether its latest (and earliest) dates.
StatsRequest = tuple[IncidentFilter, int, bool]

# The statements are built once per shape (which parts, which bounds, districts or not) with bound
# parameters, and reused: building a union of selects costs more than running it.
_Shape = tuple[
    tuple[
        Category | None,  # category
        bool,  # districts named
        bool,  # period start given
        bool,  # period end given
        bool,  # latest date wanted
        tuple[tuple[TotalsGrain, bool, bool], ...],  # parts: grain, low given, high given
    ],
    ...,
]


def _shape_and_params(
    requests: Sequence[StatsRequest],
) -> tuple[_Shape, dict[str, Any]]:
    shape = []
    params: dict[str, Any] = {}
    for tag, (f, _, latest) in enumerate(requests):
        parts = totals_parts(f)
        shape.append(
            (
                f.category,
                bool(f.districts),
                f.period.start is not None,
                f.period.end is not None,
                latest,
                tuple((p.grain, p.low is not None, p.high is not None) for p in parts),
            )
        )
        params[f"d{tag}"] = list(f.districts)
        params[f"s{tag}"] = f.period.start
        params[f"e{tag}"] = f.period.end
        for index, part in enumerate(parts):
            params[f"lo{tag}_{index}"] = part.low
            params[f"hi{tag}_{index}"] = part.high
    return tuple(shape), params


@functools.lru_cache(maxsize=512)
def _stats_statement(shape: _Shape, with_start: bool = False) -> Select[Any]:
    t = TOTALS
    selects = []
    latest_columns: list[Any] = []
    for tag, (category, districts, has_start, has_end, latest, parts) in enumerate(shape):
        count = t[COUNT_COLUMN[category].key]
        base: list[ColumnElement[bool]] = []
        if districts:
            base.append(t.district.in_(bindparam(f"d{tag}", expanding=True)))
        end = [t.date_end <= bindparam(f"e{tag}", type_=Date)] if has_end else []
        columns = (
            literal(tag).label("tag"), t.district, t.civilian_killed, t.civilian_injured,
            t.military_killed, t.military_injured, count.label("n"),
        )  # fmt: skip
        for index, (grain, has_low, has_high) in enumerate(parts):
            conds = [*base, t.grain == grain.value, *end]
            if has_low:
                conds.append(t.date >= bindparam(f"lo{tag}_{index}", type_=Date))
            if has_high:
                conds.append(t.date <= bindparam(f"hi{tag}_{index}", type_=Date))
            selects.append(select(*columns).where(*conds))
        if latest:
            start = [t.date >= bindparam(f"s{tag}", type_=Date)] if has_start else []
            for grain in (TotalsGrain.SPAN, TotalsGrain.LONG):
                conds = [*base, t.grain == grain.value, count > 0, *start, *end]
                for column in (t.date_end, t.date):
                    latest_columns.append(
                        select(column)
                        .where(*conds)
                        .order_by(t.date_end.desc(), t.date.desc())
                        .limit(1)
                        .scalar_subquery()
                    )
                for column in (t.date, t.date_end):  # the earliest: by start, then end
                    latest_columns.append(
                        select(column)
                        .where(*conds)
                        .order_by(t.date, t.date_end)
                        .limit(1)
                        .scalar_subquery()
                    )
    union = union_all(*selects).subquery()
    return select(
        union.c.tag,
        union.c.district,
        func.sum(union.c.civilian_killed),
        func.sum(union.c.civilian_injured),
        func.sum(union.c.military_killed),
        func.sum(union.c.military_injured),
        func.sum(union.c.n),
        *latest_columns,
        *(_records_start_statement().selected_columns if with_start else ()),
    ).group_by(union.c.tag, union.c.district)


async def stats(db: Reader, f: IncidentFilter, *, leading: int = 5, latest: bool = True) -> Stats:
    """Casualty counts, incident count and latest date for a filter; leading districts if asked.

    Reads the pre-aggregated ``incident_totals`` (see ``db.totals``), not the incidents.
    """
    (result,), _ = await stats_many(db, [(f, leading, latest)], with_start=False)
    return result


async def stats_many(
    db: Reader, requests: Sequence[StatsRequest], *, with_start: bool = True
) -> tuple[list[Stats], dt.date | None]:
    """Several filters' figures in one statement: each filter's rows of ``incident_totals``
    tagged with its index, grouped by (tag, district), latest dates as scalar subqueries; and
    with ``with_start`` where the records start (two more scalar subqueries in the same
    statement, read again on their own only when no row matched). A filter narrowed by a
    dimension that does not key ``incident_totals`` is read from the incidents."""
    if not all(by_rollup(f) for f, _, _ in requests):
        results = [await _stats_of_incidents(db, *request) for request in requests]
        return results, await records_start(db) if with_start else None
    shape, params = _shape_and_params(requests)
    rows = (await db.execute(_stats_statement(shape, with_start), params)).all()
    records_from = None
    if with_start:
        if rows:
            found = rows[0][-2:]
            rows = [row[:-2] for row in rows]
            records_from = min((day for day in found if day is not None), default=None)
        else:
            records_from = await records_start(db)
    return _figures(requests, rows), records_from


def _figures(requests: Sequence[StatsRequest], rows: Sequence[Any]) -> list[Stats]:
    """The rows of :func:`_stats_statement` as each request's figures."""
    sums = [[0] * 5 for _ in requests]
    per_district: list[dict[int, Counts]] = [{} for _ in requests]
    spans: list[list[tuple[dt.date, dt.date]]] = [[] for _ in requests]
    earliest: list[list[tuple[dt.date, dt.date]]] = [[] for _ in requests]
    for tag, district, *values in rows:
        numbers = [int(v or 0) for v in values[:5]]
        sums[tag] = [a + b for a, b in zip(sums[tag], numbers, strict=True)]
        category = requests[tag][0].category
        if district != NO_DISTRICT:
            per_district[tag][int(district)] = restrict_counts(Counts(*numbers[:4]), category)
        # Per latest request and grain (SPAN, LONG): the latest row's (end, start), then the
        # earliest row's (start, end).
        found = values[5:]
        offset = 8 * sum(1 for _, _, latest in requests[:tag] if latest)
        if requests[tag][2]:
            mine = found[offset : offset + 8]
            spans[tag] = [(e, d) for e, d in (mine[0:2], mine[4:6]) if e is not None]
            earliest[tag] = [(d, e) for d, e in (mine[2:4], mine[6:8]) if d is not None]
    results = []
    for tag, (f, leading, _) in enumerate(requests):
        last_seen = first_seen = None
        if spans[tag]:
            end, start = max(spans[tag])
            last_seen = DatedValue(start, _precision(start, end))
        if earliest[tag]:
            start, end = min(earliest[tag])
            first_seen = DatedValue(start, _precision(start, end))
        top: tuple[DistrictTotal, ...] = ()
        if leading and not f.districts:
            ranked = sorted(
                ((d, c.total) for d, c in per_district[tag].items() if c.total > 0),
                key=lambda item: (-item[1], item[0]),
            )
            top = tuple(DistrictTotal(d, total) for d, total in ranked[:leading])
        results.append(
            Stats(
                counts=restrict_counts(Counts(*sums[tag][:4]), f.category),
                incidents=sums[tag][4],
                latest=last_seen,
                leading=top,
                first=first_seen,
            )
        )
    return results


async def _stats_of_incidents(db: Reader, f: IncidentFilter, leading: int, latest: bool) -> Stats:
    """What :func:`_figures` gives for one filter, read from the incidents (slower: for the
    dimensions that ``incident_totals`` is not keyed by)."""
    i = Incident.__table__.c
    where = incident_conditions(f)
    figures = (i.civilian_killed, i.civilian_injured, i.military_killed, i.military_injured)
    rows = (
        await db.execute(
            select(i.district_id, *(func.sum(c) for c in figures), func.count())
            .where(where)
            .group_by(i.district_id)
        )
    ).all()
    per_district = {
        int(d): restrict_counts(Counts(*(int(v or 0) for v in vs[:4])), f.category)
        for d, *vs in rows
        if d is not None
    }
    sums = [sum(int(row[k] or 0) for row in rows) for k in range(1, 6)]
    last_seen = first_seen = None
    if latest:
        order = ((i.date_end.desc(), i.date.desc()), (i.date, i.date_end))
        found = [
            (
                await db.execute(select(i.date, i.date_end).where(where).order_by(*by).limit(1))
            ).first()
            for by in order
        ]
        last_seen, first_seen = (
            DatedValue(row[0], _precision(row[0], row[1])) if row is not None else None
            for row in found
        )
    top: tuple[DistrictTotal, ...] = ()
    if leading and not f.districts:
        ranked = sorted(
            ((d, c.total) for d, c in per_district.items() if c.total > 0),
            key=lambda item: (-item[1], item[0]),
        )
        top = tuple(DistrictTotal(d, total) for d, total in ranked[:leading])
    counts = restrict_counts(Counts(*sums[:4]), f.category)
    return Stats(counts=counts, incidents=sums[4], latest=last_seen, leading=top, first=first_seen)


def _precision(start: dt.date, end: dt.date) -> DatePrecision:
    if start == end:
        return DatePrecision.DAY
    if (start, end) == month_bounds(start):
        return DatePrecision.MONTH
    return DatePrecision.YEAR


#: The dataset format's issuer for a figure that a media report gives without naming its source:
#: such figures are not official totals and are never shown as one.
UNATTRIBUTED_ISSUER = "other"

_BREAKDOWN = (
    OfficialTotal.civilian_killed,
    OfficialTotal.civilian_injured,
    OfficialTotal.military_killed,
    OfficialTotal.military_injured,
)

_RELEVANT_FIGURES = {
    None: (OfficialTotal.total, OfficialTotal.killed, OfficialTotal.injured),
    Category.CIVILIAN: (OfficialTotal.civilian_killed, OfficialTotal.civilian_injured),
    Category.MILITARY: (OfficialTotal.military_killed, OfficialTotal.military_injured),
}


@functools.lru_cache(maxsize=8)
def _official_statement(category: Category | None, has_end: bool) -> Select[Any]:
    o = OfficialTotal.__table__.c
    figures = [o[c.key] for c in _RELEVANT_FIGURES[category]]
    stated: ColumnElement[bool] = func.coalesce(*figures).is_not(None)
    if category is None:  # a full civilian/military breakdown states the figures too
        stated = or_(stated, and_(*(o[c.key].is_not(None) for c in _BREAKDOWN)))
    query = select(
        o.as_of, o.published_on, o.period_start, o.period_start_assumed, o.issuer, o.source_url, o.total,
        o.killed, o.injured, o.civilian_killed, o.civilian_injured, o.military_killed,
        o.military_injured,
    ).where(stated, o.issuer != UNATTRIBUTED_ISSUER)  # fmt: skip
    if has_end:  # made public by the end of the period
        query = query.where(func.coalesce(o.published_on, o.as_of) <= bindparam("end", type_=Date))
    return query.order_by(o.as_of.desc(), o.id.desc()).limit(1)


async def latest_official(db: Reader, f: IncidentFilter) -> OfficialFigures | None:
    """The latest official total (by the date its figures refer to) made public by the end of
    the period, from a named authority, that states figures the filter asks for. Official totals
    are national: None when a dimension they do not break down by narrows it (districts)."""
    if not national(f):
        return None
    statement = _official_statement(f.category, f.period.end is not None)
    row = (await db.execute(statement, {"end": f.period.end})).first()
    return OfficialFigures(*row) if row is not None else None


@functools.cache
def _records_start_statement() -> Select[Any]:
    """The earliest SPAN row and the earliest LONG row: each an ordered read of the primary key
    (grain, date, …), where ``min()`` over both grains would scan them."""
    t = TOTALS
    return select(
        *(
            select(t.date)
            .where(t.grain == grain.value, t.incidents > 0)
            .order_by(t.date)
            .limit(1)
            .scalar_subquery()
            for grain in (TotalsGrain.SPAN, TotalsGrain.LONG)
        )
    )


async def records_start(db: Reader) -> dt.date | None:
    """The day the records start: the earliest date of any published incident."""
    found = (await db.execute(_records_start_statement())).one()
    return min((day for day in found if day is not None), default=None)
