"""Read queries and small writes, returning plain typed results. Handlers never build SQL."""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, func, select, true, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Chat,
    DatePrecision,
    Device,
    Incident,
    IncidentSource,
    IncidentStatus,
    IncidentTotal,
    OfficialTotal,
    TotalsGrain,
)
from db.totals import NO_DISTRICT, month_bounds


class Category(enum.StrEnum):
    CIVILIAN = "civilian"
    MILITARY = "military"


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive date range; either end may be open (None)."""

    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def is_open(self) -> bool:
        return self.start is None and self.end is None


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    districts: tuple[int, ...] = ()
    period: Period = Period()
    category: Category | None = None


@dataclass(frozen=True, slots=True)
class Counts:
    civilian_killed: int = 0
    civilian_injured: int = 0
    military_killed: int = 0
    military_injured: int = 0

    @property
    def killed(self) -> int:
        return self.civilian_killed + self.military_killed

    @property
    def injured(self) -> int:
        return self.civilian_injured + self.military_injured

    @property
    def total(self) -> int:
        return self.killed + self.injured

    @property
    def civilian(self) -> int:
        return self.civilian_killed + self.civilian_injured

    @property
    def military(self) -> int:
        return self.military_killed + self.military_injured


@dataclass(frozen=True, slots=True)
class DatedValue:
    date: dt.date
    precision: DatePrecision


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


@dataclass(frozen=True, slots=True)
class OfficialFigures:
    as_of: dt.date
    period_start: dt.date
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
class StatsReport:
    """Everything /stats shows: the figures for a filter and, when national, the official figure."""

    filter: IncidentFilter
    stats: Stats
    official: OfficialComparison | None


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
    issuers: tuple[IssuerSummary, ...]
    first_incident: dt.date | None
    latest_incident: dt.date | None
    last_change: dt.datetime | None


_CATEGORY_COLUMNS = {
    Category.CIVILIAN: (Incident.civilian_killed, Incident.civilian_injured),
    Category.MILITARY: (Incident.military_killed, Incident.military_injured),
}


def _conditions(f: IncidentFilter) -> ColumnElement[bool]:
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


def _restrict(counts: Counts, category: Category | None) -> Counts:
    if category is Category.CIVILIAN:
        return Counts(counts.civilian_killed, counts.civilian_injured, 0, 0)
    if category is Category.MILITARY:
        return Counts(0, 0, counts.military_killed, counts.military_injured)
    return counts


_COUNT_COLUMN = {
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


def _within(period: Period) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if period.start is not None:
        conds.append(IncidentTotal.date >= period.start)
    if period.end is not None:
        conds.append(IncidentTotal.date_end <= period.end)
    return conds


def _totals_parts(f: IncidentFilter) -> list[list[ColumnElement[bool]]]:
    """The WHERE clauses over ``incident_totals`` whose rows add up to the filter's figures."""
    base: list[ColumnElement[bool]] = []
    if f.districts:
        base.append(IncidentTotal.district.in_(f.districts))
    span = [*base, IncidentTotal.grain == TotalsGrain.SPAN.value]
    single = [*span, IncidentTotal.multi_month.is_(False)]
    parts = [[*span, IncidentTotal.multi_month.is_(True), *_within(f.period)]]
    months = _full_months(f.period)
    if months is None:
        return [*parts, [*single, *_within(f.period)]]
    first, last = months
    month_rows = [*base, IncidentTotal.grain == TotalsGrain.MONTH.value]
    month_rows += _within(Period(first, last))
    parts.append(month_rows)
    if first is not None and f.period.start is not None and f.period.start < first:
        parts.append([*single, *_within(f.period), IncidentTotal.date < first])
    if last is not None and f.period.end is not None and f.period.end > last:
        parts.append([*single, *_within(f.period), IncidentTotal.date > last])
    return parts


async def stats(session: AsyncSession, f: IncidentFilter, *, leading: int = 5) -> Stats:
    """Casualty counts, incident count and latest date for a filter; leading districts if asked.

    Reads the pre-aggregated ``incident_totals`` (see ``db.totals``), not the incidents.
    """
    count_column = _COUNT_COLUMN[f.category]
    columns = (
        IncidentTotal.district,
        IncidentTotal.civilian_killed,
        IncidentTotal.civilian_injured,
        IncidentTotal.military_killed,
        IncidentTotal.military_injured,
        count_column.label("n"),
    )
    union = union_all(*(select(*columns).where(*conds) for conds in _totals_parts(f))).subquery()
    grouped = await session.execute(
        select(
            union.c.district,
            func.sum(union.c.civilian_killed),
            func.sum(union.c.civilian_injured),
            func.sum(union.c.military_killed),
            func.sum(union.c.military_injured),
            func.sum(union.c.n),
        ).group_by(union.c.district)
    )
    sums = [0, 0, 0, 0, 0]
    per_district: dict[int, Counts] = {}
    for district, *values in grouped:
        numbers = [int(v or 0) for v in values]
        sums = [a + b for a, b in zip(sums, numbers, strict=True)]
        if district != NO_DISTRICT:
            per_district[int(district)] = _restrict(Counts(*numbers[:4]), f.category)
    counts = _restrict(Counts(*sums[:4]), f.category)
    incidents = sums[4]
    latest = None
    if incidents:
        conds = [IncidentTotal.grain == TotalsGrain.SPAN.value, count_column > 0]
        conds += _within(f.period)
        if f.districts:
            conds.append(IncidentTotal.district.in_(f.districts))
        row = (
            await session.execute(
                select(IncidentTotal.date, IncidentTotal.date_end)
                .where(*conds)
                .order_by(IncidentTotal.date_end.desc(), IncidentTotal.date.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            latest = DatedValue(row[0], _precision(row[0], row[1]))
    top: tuple[DistrictTotal, ...] = ()
    if leading and not f.districts:
        ranked = sorted(
            ((d, c.total) for d, c in per_district.items() if c.total > 0),
            key=lambda item: (-item[1], item[0]),
        )
        top = tuple(DistrictTotal(d, t) for d, t in ranked[:leading])
    return Stats(counts=counts, incidents=incidents, latest=latest, leading=top)


def _precision(start: dt.date, end: dt.date) -> DatePrecision:
    if start == end:
        return DatePrecision.DAY
    if (start, end) == month_bounds(start):
        return DatePrecision.MONTH
    return DatePrecision.YEAR


_RELEVANT_FIGURES = {
    None: (OfficialTotal.total, OfficialTotal.killed, OfficialTotal.injured),
    Category.CIVILIAN: (OfficialTotal.civilian_killed, OfficialTotal.civilian_injured),
    Category.MILITARY: (OfficialTotal.military_killed, OfficialTotal.military_injured),
}


async def official_comparison(
    session: AsyncSession, f: IncidentFilter
) -> OfficialComparison | None:
    """The latest official total published by the end of the period that states the figures the
    filter asks for, beside what the recorded incidents add up to over its own window.

    Official totals are national: None when the filter names districts.
    """
    if f.districts:
        return None
    figures = _RELEVANT_FIGURES[f.category]
    query = select(OfficialTotal).where(
        func.coalesce(*figures).is_not(None) if len(figures) > 1 else figures[0].is_not(None)
    )
    if f.period.end is not None:
        query = query.where(OfficialTotal.as_of <= f.period.end)
    official = await session.scalar(
        query.order_by(OfficialTotal.as_of.desc(), OfficialTotal.id.desc()).limit(1)
    )
    if official is None:
        return None
    window = IncidentFilter(
        period=Period(official.period_start, official.as_of), category=f.category
    )
    recorded = await stats(session, window, leading=0)
    return OfficialComparison(
        official=OfficialFigures(
            as_of=official.as_of,
            period_start=official.period_start,
            issuer=official.issuer,
            source_url=official.source_url,
            total=official.total,
            killed=official.killed,
            injured=official.injured,
            civilian_killed=official.civilian_killed,
            civilian_injured=official.civilian_injured,
            military_killed=official.military_killed,
            military_injured=official.military_injured,
        ),
        category=f.category,
        recorded=recorded,
    )


async def stats_report(session: AsyncSession, f: IncidentFilter) -> StatsReport:
    return StatsReport(f, await stats(session, f), await official_comparison(session, f))


async def list_incidents(
    session: AsyncSession, f: IncidentFilter, *, offset: int, limit: int
) -> IncidentPage:
    """One page of matching incidents, latest first."""
    total = await session.scalar(select(func.count()).where(_conditions(f))) or 0
    incidents = (
        await session.scalars(
            select(Incident)
            .where(_conditions(f))
            .order_by(Incident.date_end.desc(), Incident.date.desc(), Incident.id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    ids = [i.id for i in incidents]
    sources: dict[int, list[SourceRef]] = {i: [] for i in ids}
    if ids:
        for incident_id, url, title in await session.execute(
            select(IncidentSource.incident_id, IncidentSource.url, IncidentSource.title)
            .where(IncidentSource.incident_id.in_(ids))
            .order_by(IncidentSource.id)
        ):
            sources[incident_id].append(SourceRef(url, title))
    rows = tuple(
        IncidentRow(
            id=i.id,
            date=DatedValue(i.date, i.date_precision),
            district_id=i.district_id,
            settlement=i.settlement,
            counts=_restrict(
                Counts(
                    i.civilian_killed, i.civilian_injured, i.military_killed, i.military_injured
                ),
                f.category,
            ),
            device=i.device,
            activity=i.activity,
            sources=tuple(sources[i.id]),
        )
        for i in incidents
    )
    return IncidentPage(rows=rows, total=int(total), offset=offset)


async def sources_summary(session: AsyncSession, *, outlets: int = 8) -> SourcesSummary:
    """Where the data come from: outlets of incident reports, issuers of official totals, dates."""
    published = Incident.status == IncidentStatus.PUBLISHED
    incidents, first, latest, changed = (
        await session.execute(
            select(
                func.count(),
                func.min(Incident.date),
                func.max(Incident.date_end),
                func.max(Incident.updated_at),
            ).where(published)
        )
    ).one()
    urls = (
        await session.scalars(
            select(IncidentSource.url)
            .join(Incident, Incident.id == IncidentSource.incident_id)
            .where(published)
            .distinct()
        )
    ).all()
    hosts = Counter(outlet(u) for u in urls)
    issuer_rows = await session.execute(
        select(OfficialTotal.issuer, func.count(), func.max(OfficialTotal.as_of))
        .group_by(OfficialTotal.issuer)
        .order_by(func.count().desc(), OfficialTotal.issuer)
    )
    totals_changed = await session.scalar(select(func.max(OfficialTotal.created_at)))
    last_change = max((c for c in (changed, totals_changed) if c is not None), default=None)
    return SourcesSummary(
        incidents=int(incidents),
        source_links=len(urls),
        outlets=tuple(sorted(hosts.items(), key=lambda kv: (-kv[1], kv[0]))[:outlets]),
        issuers=tuple(IssuerSummary(i, int(n), d) for i, n, d in issuer_rows),
        first_incident=first,
        latest_incident=latest,
        last_change=last_change,
    )


def outlet(url: str) -> str:
    """The outlet of a source link: its host without ``www.``."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


async def chat_language(session: AsyncSession, chat_id: int) -> str | None:
    return await session.scalar(select(Chat.language).where(Chat.chat_id == chat_id))


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
