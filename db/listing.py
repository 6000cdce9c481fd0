"""Incidents as lists show them (/incidents, digests), with their sources, and the summary of
where the data come from (/sources)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.domain.figures import Counts, DatedValue
from db.domain.filters import Category, IncidentFilter
from db.domain.listing import (
    IncidentPage,
    IncidentRow,
    IssuerSummary,
    SourceRef,
    SourcesSummary,
    outlet,
)
from db.domain.records import IncidentStatus
from db.models import Incident, IncidentSource, OfficialTotal, as_utc
from db.queries import (
    ID_CHUNK,
    UNATTRIBUTED_ISSUER,
    Reader,
    incident_conditions,
    restrict_counts,
    stats,
)


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
    for first in range(0, len(unique), ID_CHUNK):
        for incident_id, url, title in await db.execute(
            select(IncidentSource.incident_id, IncidentSource.url, IncidentSource.title)
            .where(IncidentSource.incident_id.in_(unique[first : first + ID_CHUNK]))
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
    for first in range(0, len(unique), ID_CHUNK):
        chunk = unique[first : first + ID_CHUNK]
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
