"""Pre-aggregated figures (``incident_totals``), kept in step with the incidents.

Every published incident counts in one row of its district and exact date span: a SPAN row when the
span lies inside one calendar month (and then also in that month's MONTH row), a LONG row when it
crosses a month boundary (a year-precision date). A period query reads the MONTH rows of the months
it covers whole, the SPAN rows of the months at its edges, and the LONG rows: a few hundred rows
whatever the number of incidents.

Writes call :func:`apply` in the same transaction as the change to the incident (with the incident as
it was and as it is), so the figures can never disagree with the incidents they sum.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, case, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.domain.records import IncidentStatus
from db.models import Incident, IncidentTotal, TotalsGrain

SUMMED = (
    "incidents",
    "civilian_incidents",
    "military_incidents",
    "civilian_killed",
    "civilian_injured",
    "military_killed",
    "military_injured",
)
NO_DISTRICT = 0


def month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def same_month(a: dt.date, b: dt.date) -> bool:
    return (a.year, a.month) == (b.year, b.month)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one published incident adds to the totals."""

    district_id: int | None
    date: dt.date
    date_end: dt.date
    civilian_killed: int
    civilian_injured: int
    military_killed: int
    military_injured: int

    @classmethod
    def of(cls, incident: Incident) -> Contribution | None:
        """The incident's contribution, or None when it does not count (not published)."""
        if incident.status != IncidentStatus.PUBLISHED:
            return None
        return cls(
            incident.district_id,
            incident.date,
            incident.date_end,
            incident.civilian_killed or 0,
            incident.civilian_injured or 0,
            incident.military_killed or 0,
            incident.military_injured or 0,
        )

    def values(self, sign: int) -> dict[str, int]:
        civilian = self.civilian_killed + self.civilian_injured
        military = self.military_killed + self.military_injured
        return {
            "incidents": sign,
            "civilian_incidents": sign * (civilian > 0),
            "military_incidents": sign * (military > 0),
            "civilian_killed": sign * self.civilian_killed,
            "civilian_injured": sign * self.civilian_injured,
            "military_killed": sign * self.military_killed,
            "military_injured": sign * self.military_injured,
        }

    def rows(self) -> list[dict[str, object]]:
        """The rows this incident counts in: its SPAN (or LONG) row and its MONTH row."""
        district = self.district_id or NO_DISTRICT
        single = same_month(self.date, self.date_end)
        rows: list[dict[str, object]] = [
            {
                "grain": (TotalsGrain.SPAN if single else TotalsGrain.LONG).value,
                "district": district,
                "date": self.date,
                "date_end": self.date_end,
            }
        ]
        if single:
            first, last = month_bounds(self.date)
            rows.append(
                {
                    "grain": TotalsGrain.MONTH.value,
                    "district": district,
                    "date": first,
                    "date_end": last,
                }
            )
        return rows


async def apply(
    session: AsyncSession, before: Contribution | None, after: Contribution | None
) -> None:
    """Move the totals from an incident's old contribution to its new one (either may be None)."""
    if before == after:
        return
    for contribution, sign in ((before, -1), (after, 1)):
        if contribution is None:
            continue
        values = contribution.values(sign)
        for key in contribution.rows():
            await _add(session, {**key, **values})


async def apply_many(session: AsyncSession, contributions: Iterable[Contribution | None]) -> None:
    """Count several new incidents: their values added up per row of the totals first, so that
    each row is written once however many incidents it gains."""
    summed: dict[tuple[object, ...], dict[str, int]] = {}
    for contribution in contributions:
        if contribution is None:
            continue
        values = contribution.values(1)
        for key in contribution.rows():
            ident = (key["grain"], key["district"], key["date"], key["date_end"])
            row = summed.setdefault(ident, dict.fromkeys(SUMMED, 0))
            for name in SUMMED:
                row[name] += values[name]
    rows = [
        {"grain": grain, "district": district, "date": start, "date_end": end, **values}
        for (grain, district, start, end), values in summed.items()
    ]
    if rows:
        # One statement for every row (executemany), not one built and compiled per row.
        await session.execute(_upsert(session), rows)


def _upsert(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding the SUMMED values to a row of the totals."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = IncidentTotal.__table__
    assert isinstance(table, Table)
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["grain", "district", "date", "date_end"],
        set_={name: table.c[name] + statement.excluded[name] for name in SUMMED},
    )


async def _add(session: AsyncSession, row: dict[str, object]) -> None:
    await session.execute(_upsert(session), [row])


def grouped_incidents_query() -> Select[*tuple[Any, ...]]:
    """Published incidents grouped by (district, date, date_end), with the SUMMED figures."""
    civilian = Incident.civilian_killed + Incident.civilian_injured
    military = Incident.military_killed + Incident.military_injured
    district = func.coalesce(Incident.district_id, NO_DISTRICT)
    return (
        select(
            district,
            Incident.date,
            Incident.date_end,
            func.count(),
            func.sum(case((civilian > 0, 1), else_=0)),
            func.sum(case((military > 0, 1), else_=0)),
            func.sum(Incident.civilian_killed),
            func.sum(Incident.civilian_injured),
            func.sum(Incident.military_killed),
            func.sum(Incident.military_injured),
        )
        .where(Incident.status == IncidentStatus.PUBLISHED)
        .group_by(district, Incident.date, Incident.date_end)
    )


def rows_from_groups(groups: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """SPAN, LONG and MONTH rows from the result of :func:`grouped_incidents_query`."""
    span_rows: list[dict[str, Any]] = []
    months: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0] * len(SUMMED))
    for district, start, end, *values in groups:
        numbers = [int(v or 0) for v in values]
        single = same_month(start, end)
        span_rows.append(
            {
                "grain": (TotalsGrain.SPAN if single else TotalsGrain.LONG).value,
                "district": int(district),
                "date": start,
                "date_end": end,
                **dict(zip(SUMMED, numbers, strict=True)),
            }
        )
        if single:
            sums = months[(int(district), month_bounds(start)[0])]
            for i, number in enumerate(numbers):
                sums[i] += number
    month_rows = [
        {
            "grain": TotalsGrain.MONTH.value,
            "district": district_id,
            "date": first,
            "date_end": month_bounds(first)[1],
            **dict(zip(SUMMED, sums, strict=True)),
        }
        for (district_id, first), sums in months.items()
    ]
    return span_rows + month_rows


async def rebuild(session: AsyncSession) -> int:
    """Recompute every total from the incidents (after a bulk load); returns the rows written."""
    await session.execute(delete(IncidentTotal))
    rows = rows_from_groups(await session.execute(grouped_incidents_query()))
    for chunk in _chunks(rows, 5000):
        await session.execute(insert(IncidentTotal), chunk)
    return len(rows)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
