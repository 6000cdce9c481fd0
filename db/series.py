"""Casualties per calendar month for a filter (``/chart``), read from ``incident_totals``.

The rows are the ones /stats sums (``queries.totals_parts``): MONTH rows for the whole months
inside the period, SPAN rows for the months at its edges, LONG rows. MONTH and SPAN rows lie in
one calendar month each and are placed in it; a LONG row's span crosses months (a date known
only to the year, say), so its figures cannot be placed and are returned apart. The months plus
the unplaced figures are therefore exactly what ``queries.stats`` returns for the same filter.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, union_all

from db.domain.dimensions import by_rollup
from db.domain.figures import Counts
from db.domain.filters import IncidentFilter
from db.domain.records import IncidentStatus
from db.domain.series import MonthCounts, MonthlySeries, month_start, months_between, next_month
from db.models import Incident, OfficialTotal, TotalsGrain, as_utc
from db.queries import (
    COUNT_COLUMN,
    TOTALS,
    Reader,
    incident_conditions,
    restrict_counts,
    totals_parts,
)

#: A stated period longer than this is not drawn whole: the axis runs over the months with data.
MAX_PERIOD_MONTHS = 240


def _statement(f: IncidentFilter) -> Select[Any]:
    """The filter's rows of ``incident_totals`` (as /stats reads them), summed per grain and date."""
    t = TOTALS
    count = t[COUNT_COLUMN[f.category].key]
    base: list[ColumnElement[bool]] = []
    if f.districts:
        base.append(t.district.in_(f.districts))
    if f.period.end is not None:
        base.append(t.date_end <= f.period.end)
    selects = []
    for part in totals_parts(f):
        conds = [*base, t.grain == part.grain.value]
        if part.low is not None:
            conds.append(t.date >= part.low)
        if part.high is not None:
            conds.append(t.date <= part.high)
        selects.append(
            select(
                literal(part.grain.value).label("grain"),
                t.date,
                func.sum(t.civilian_killed).label("civilian_killed"),
                func.sum(t.civilian_injured).label("civilian_injured"),
                func.sum(t.military_killed).label("military_killed"),
                func.sum(t.military_injured).label("military_injured"),
                func.sum(count).label("n"),
            )
            .where(*conds)
            .group_by(t.date)
        )
    return select(union_all(*selects).subquery())


async def _rows(db: Reader, f: IncidentFilter) -> list[Any]:
    """(grain, date, four counts, incidents) as :func:`_statement` gives them; for a filter that
    ``incident_totals`` is not keyed by, one row per incident (LONG when it crosses months)."""
    if by_rollup(f):
        return list(await db.execute(_statement(f)))
    i = Incident.__table__.c
    figures = (i.civilian_killed, i.civilian_injured, i.military_killed, i.military_injured)
    found = await db.execute(select(i.date, i.date_end, *figures).where(incident_conditions(f)))
    return [
        (TotalsGrain.LONG.value if month_start(day) != month_start(end) else "", day, *counts, 1)
        for day, end, *counts in found
    ]


async def data_as_of(db: Reader) -> dt.datetime | None:
    """When the records last changed: the latest edit of a published incident or the latest
    official total added (as ``listing.sources_summary`` reports it), in UTC."""
    changed, added = (
        await db.execute(
            select(
                select(func.max(Incident.updated_at))
                .where(Incident.status == IncidentStatus.PUBLISHED)
                .scalar_subquery(),
                select(func.max(OfficialTotal.created_at)).scalar_subquery(),
            )
        )
    ).one()
    found = [as_utc(value) for value in (changed, added) if value is not None]
    return max(found) if found else None


async def monthly_series(
    db: Reader, f: IncidentFilter, *, today: dt.date | None = None
) -> MonthlySeries:
    """Casualties per month for the filter, counted as /stats counts them.

    The months run from the period's start (else the first month with an incident) to its end
    (else the last month with an incident), never past ``today``'s month unless incidents are
    dated later, and over the months with incidents only when the stated period is longer than
    :data:`MAX_PERIOD_MONTHS`.
    """
    placed: dict[dt.date, list[int]] = defaultdict(lambda: [0] * 5)
    unplaced = [0] * 5
    for grain, day, *values in await _rows(db, f):
        numbers = [int(v or 0) for v in values]
        target = unplaced if grain == TotalsGrain.LONG.value else placed[month_start(day)]
        for i, number in enumerate(numbers):
            target[i] += number
    with_incidents = sorted(month for month, sums in placed.items() if sums[4] > 0)
    months: tuple[MonthCounts, ...] = ()
    if with_incidents:
        first, last = with_incidents[0], with_incidents[-1]
        start, end = f.period.start, f.period.end
        if today is not None and end is not None and end > today:
            end = max(today, last)
        wanted_first = month_start(start) if start is not None else first
        wanted_last = month_start(end) if end is not None else last
        if months_between(wanted_first, wanted_last) <= MAX_PERIOD_MONTHS:
            first, last = min(first, wanted_first), max(last, wanted_last)
        rows = []
        month = first
        while month <= last:
            sums = placed.get(month, [0] * 5)
            rows.append(MonthCounts(month, restrict_counts(Counts(*sums[:4]), f.category), sums[4]))
            month = next_month(month)
        months = tuple(rows)
    return MonthlySeries(
        filter=f,
        months=months,
        unplaced=restrict_counts(Counts(*unplaced[:4]), f.category),
        unplaced_incidents=unplaced[4],
        data_as_of=await data_as_of(db),
    )
