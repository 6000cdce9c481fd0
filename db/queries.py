"""Read queries and small writes, returning plain typed results. Handlers never build SQL."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

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
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.domain.figures import Counts, DatedValue
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.records import DatePrecision, Device, IncidentStatus
from db.models import (
    Chat,
    DataVersion,
    Incident,
    IncidentSource,
    IncidentTotal,
    OfficialTotal,
    TotalsGrain,
    as_utc,
)
from db.totals import NO_DISTRICT, month_bounds

#: Ids per ``IN (…)`` when loading rows by id.
_ID_CHUNK = 1000

#: Read queries run on a Core connection (``Database.read()``, the cheap path) or in a session.
Reader = AsyncConnection | AsyncSession


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
class SourceRef:
    url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    date: DatedValue
    district_id: int | None
    settlement: str | None
    counts: Counts
    device: Device
    activity: str | None
    sources: tuple[SourceRef, ...]


@dataclass(frozen=True, slots=True)
class IncidentPage:
    rows: tuple[IncidentRow, ...]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class IssuerSummary:
    issuer: str
    statements: int
    latest: dt.date


@dataclass(frozen=True, slots=True)
class SourcesSummary:
    incidents: int
    source_links: int
    outlets: tuple[tuple[str, int], ...]
    #: Official totals by named issuer.
    issuers: tuple[IssuerSummary, ...]
    #: Figures from media reports that name no issuer (kept, never shown as official).
    unattributed: int
    first_incident: dt.date | None
    latest_incident: dt.date | None
    #: When the records in this store last changed (a load or an edit).
    last_change: dt.datetime | None


_CATEGORY_COLUMNS = {
    Category.CIVILIAN: (Incident.civilian_killed, Incident.civilian_injured),
    Category.MILITARY: (Incident.military_killed, Incident.military_injured),
}


def incident_conditions(f: IncidentFilter) -> ColumnElement[bool]:
    conds: list[ColumnElement[bool]] = [Incident.status == IncidentStatus.PUBLISHED]
    if f.districts:
        conds.append(Incident.district_id.in_(f.districts))
    if f.period.start is not None:
        conds.append(Incident.date >= f.period.start)
    if f.period.end is not None:
        conds.append(Incident.date_end <= f.period.end)
    if f.category is not None:
        a, b = _CATEGORY_COLUMNS[f.category]
        conds.append(a + b > 0)
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
class _Part:
    """Rows of one grain whose span starts in [low, high] (either may be open)."""

    grain: TotalsGrain
    low: dt.date | None
    high: dt.date | None


def totals_parts(f: IncidentFilter) -> list[_Part]:
    """The parts of ``incident_totals`` whose rows add up to the filter's figures: the whole months
    from MONTH rows, the edge months from SPAN rows, and LONG rows. Each part bounds ``date`` on
    both sides where it can, so that the (grain, date) index narrows it; every row must also end
    by the period's end."""
    start, end = f.period.start, f.period.end
    parts = [_Part(TotalsGrain.LONG, start, end)]
    months = _full_months(f.period)
    if months is None:  # no whole month: SPAN rows only
        return [*parts, _Part(TotalsGrain.SPAN, start, end)]
    first, last = months
    parts.append(_Part(TotalsGrain.MONTH, first, last))
    if first is not None and start is not None and start < first:
        parts.append(_Part(TotalsGrain.SPAN, start, first - dt.timedelta(days=1)))
    if last is not None and end is not None and end > last:
        parts.append(_Part(TotalsGrain.SPAN, last + dt.timedelta(days=1), end))
    return parts


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
    requests: Sequence[tuple[IncidentFilter, int, bool]],
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
    (result,) = await _stats_many(db, [(f, leading, latest)])
    return result


async def _stats_many(
    db: Reader, requests: Sequence[tuple[IncidentFilter, int, bool]]
) -> list[Stats]:
    """Several filters' figures in one statement: each filter's rows of ``incident_totals``
    tagged with its index, grouped by (tag, district), latest dates as scalar subqueries."""
    figures, _ = await _stats_and_start(db, requests, with_start=False)
    return figures


async def _stats_and_start(
    db: Reader, requests: Sequence[tuple[IncidentFilter, int, bool]], *, with_start: bool = True
) -> tuple[list[Stats], dt.date | None]:
    """:func:`_stats_many`, and with ``with_start`` where the records start (two more scalar
    subqueries in the same statement, read again on their own only when no row matched)."""
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
    return results, records_from


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
    are national: None when districts are named."""
    if f.districts:
        return None
    statement = _official_statement(f.category, f.period.end is not None)
    row = (await db.execute(statement, {"end": f.period.end})).first()
    return OfficialFigures(*row) if row is not None else None


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


async def stats_report(
    db: Reader, f: IncidentFilter, *, today: dt.date | None = None
) -> StatsReport:
    """Everything /stats shows: the official figure, then in one statement the figures for the
    filter, for the official figure's window and, given ``today``, for the period before the
    filter's (the trend; not when the records do not cover that period)."""
    official = await latest_official(db, f)
    requests: list[tuple[IncidentFilter, int, bool]] = [(f, 5, True)]
    if official is not None:
        requests.append((_window(official, f), 0, False))
    periods = previous_period(f.period, today) if today is not None else None
    if periods is not None:  # asked for at once, kept only if the records cover that period
        requests.append((IncidentFilter(f.districts, periods[1], f.category), 0, False))
    results, start = await _stats_and_start(db, requests, with_start=periods is not None)
    comparison = (
        OfficialComparison(official, f.category, results[1]) if official is not None else None
    )
    if periods is None:
        return StatsReport(f, results[0], comparison)
    previous = periods[1].start
    if start is None or previous is None or previous < start:
        return StatsReport(f, results[0], comparison, records_start=start)
    return StatsReport(f, results[0], comparison, Trend(periods[0], periods[1], results[-1]))


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two filters' figures side by side (``/compare``)."""

    left: IncidentFilter
    right: IncidentFilter
    figures: tuple[Stats, Stats]
    records_start: dt.date | None


async def compare(db: Reader, left: IncidentFilter, right: IncidentFilter) -> Comparison:
    """Both filters' figures in one statement, and where the records start."""
    (first, second), start = await _stats_and_start(db, [(left, 0, True), (right, 0, True)])
    return Comparison(left, right, (first, second), start)


async def list_incidents(
    session: AsyncSession, f: IncidentFilter, *, offset: int, limit: int
) -> IncidentPage:
    """One page of matching incidents, latest first (the count comes from the totals)."""
    total = (await stats(session, f, leading=0, latest=False)).incidents
    incidents = (
        await session.scalars(
            select(Incident)
            .where(incident_conditions(f))
            .order_by(Incident.date_end.desc(), Incident.date.desc(), Incident.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    rows = await _incident_rows(session, incidents, f.category)
    return IncidentPage(rows=rows, total=int(total), offset=offset)


async def sources_of(db: Reader, ids: Sequence[int]) -> dict[int, list[SourceRef]]:
    """Each incident's sources in the order recorded (every id a key, perhaps with none)."""
    sources: dict[int, list[SourceRef]] = {int(i): [] for i in ids}
    unique = list(sources)
    for first in range(0, len(unique), _ID_CHUNK):
        for incident_id, url, title in await db.execute(
            select(IncidentSource.incident_id, IncidentSource.url, IncidentSource.title)
            .where(IncidentSource.incident_id.in_(unique[first : first + _ID_CHUNK]))
            .order_by(IncidentSource.id)
        ):
            sources[int(incident_id)].append(SourceRef(url, title))
    return sources


async def _incident_rows(
    session: AsyncSession, incidents: Sequence[Incident], category: Category | None
) -> tuple[IncidentRow, ...]:
    """Incidents with their sources, their counts restricted to the category."""
    sources = await sources_of(session, [i.id for i in incidents])
    rows = tuple(
        IncidentRow(
            id=i.id,
            date=DatedValue(i.date, i.date_precision),
            district_id=i.district_id,
            settlement=i.settlement,
            counts=restrict_counts(
                Counts(
                    i.civilian_killed, i.civilian_injured, i.military_killed, i.military_injured
                ),
                category,
            ),
            device=i.device,
            activity=i.activity,
            sources=tuple(sources[i.id]),
        )
        for i in incidents
    )
    return rows


@dataclass(frozen=True, slots=True)
class Recorded:
    """An incident as a digest finds it: when it was recorded, and at which version it is."""

    id: int
    recorded_at: dt.datetime
    version: int


async def recorded_between(
    db: Reader, f: IncidentFilter, start: dt.datetime, end: dt.datetime
) -> list[Recorded]:
    """Published incidents matching the filter that were recorded in (start, end], in the order
    lists show them (latest first): a digest's new incidents."""
    rows = await db.execute(
        select(Incident.id, Incident.created_at, Incident.version)
        .where(incident_conditions(f), Incident.created_at > start, Incident.created_at <= end)
        .order_by(Incident.date_end.desc(), Incident.date.desc(), Incident.id.desc())
    )
    return [Recorded(int(i), as_utc(at), int(v)) for i, at, v in rows]


async def incident_rows(
    session: AsyncSession, ids: Sequence[int], category: Category | None
) -> dict[int, IncidentRow]:
    """Incidents by id, with their sources, their counts restricted to the category."""
    found: dict[int, IncidentRow] = {}
    unique = list(dict.fromkeys(ids))
    for first in range(0, len(unique), _ID_CHUNK):
        chunk = unique[first : first + _ID_CHUNK]
        incidents = (await session.scalars(select(Incident).where(Incident.id.in_(chunk)))).all()
        found.update((row.id, row) for row in await _incident_rows(session, incidents, category))
    return found


async def sources_summary(db: Reader, *, outlets: int = 8) -> SourcesSummary:
    """Where the data come from: outlets of incident reports, issuers of official totals, dates."""
    published = Incident.status == IncidentStatus.PUBLISHED
    incidents, first, latest, changed = (
        await db.execute(
            select(
                func.count(),
                func.min(Incident.date),
                func.max(Incident.date_end),
                func.max(Incident.updated_at),
            ).where(published)
        )
    ).one()
    urls = (
        await db.scalars(
            select(IncidentSource.url)
            .join(Incident, Incident.id == IncidentSource.incident_id)
            .where(published)
            .distinct()
        )
    ).all()
    hosts = Counter(outlet(u) for u in urls)
    issuer_rows = (
        await db.execute(
            select(OfficialTotal.issuer, func.count(), func.max(OfficialTotal.as_of))
            .group_by(OfficialTotal.issuer)
            .order_by(func.count().desc(), OfficialTotal.issuer)
        )
    ).all()
    totals_changed = await db.scalar(select(func.max(OfficialTotal.created_at)))
    last_change = max((c for c in (changed, totals_changed) if c is not None), default=None)
    return SourcesSummary(
        incidents=int(incidents),
        source_links=len(urls),
        outlets=tuple(sorted(hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:outlets]),
        issuers=tuple(
            IssuerSummary(i, int(n), d) for i, n, d in issuer_rows if i != UNATTRIBUTED_ISSUER
        ),
        unattributed=sum(int(n) for i, n, _ in issuer_rows if i == UNATTRIBUTED_ISSUER),
        first_incident=first,
        latest_incident=latest,
        last_change=last_change,
    )


#: Host prefixes that name an edition of an outlet, not another outlet (en.trend.az is Trend).
_EDITION_PREFIXES = ("www.", "m.", "en.", "ru.", "az.")


def outlet(url: str) -> str:
    """The outlet of a source link: its host without ``www.`` or a language edition's prefix."""
    host = urlsplit(url).hostname or url
    for prefix in _EDITION_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host.removeprefix(prefix)
    return host


async def chat_language(db: Reader, chat_id: int) -> str | None:
    return await db.scalar(select(Chat.language).where(Chat.chat_id == chat_id))


_DATA_VERSION = select(DataVersion.version).where(DataVersion.id == 1).scalar_subquery()


async def data_version(db: Reader) -> int:
    """How many times the tables the figures come from have changed (``DataVersion``)."""
    return int(await db.scalar(select(_DATA_VERSION)) or 0)


async def language_and_version(db: Reader, chat_id: int | None) -> tuple[str | None, int]:
    """A chat's stored language and :func:`data_version`, in one statement."""
    if chat_id is None:
        return None, await data_version(db)
    language = select(Chat.language).where(Chat.chat_id == chat_id).scalar_subquery()
    stored, version = (await db.execute(select(language, _DATA_VERSION))).one()
    return stored, int(version or 0)


async def chat_languages(db: Reader, chat_ids: Sequence[int]) -> dict[int, str | None]:
    """The languages chats chose, for those of ``chat_ids`` that did."""
    found: dict[int, str | None] = {}
    for first in range(0, len(chat_ids), _ID_CHUNK):
        rows = await db.execute(
            select(Chat.chat_id, Chat.language).where(
                Chat.chat_id.in_(list(chat_ids[first : first + _ID_CHUNK]))
            )
        )
        found.update((int(chat_id), language) for chat_id, language in rows)
    return found


async def set_chat_language(session: AsyncSession, chat_id: int, language: str) -> None:
    """Remember a chat's language (one upsert, safe when two processes race)."""
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Chat).values(chat_id=chat_id, language=language)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[Chat.chat_id],
            set_={"language": language, "updated_at": func.now()},
        )
    )
