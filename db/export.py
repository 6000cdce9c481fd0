"""/export's read side: every published incident matching a filter, in keyset-paginated batches.

Rows come ordered by (date, id), a batch at a time (``WHERE (date, id) > (:date, :id) ORDER BY
date, id LIMIT :batch``), each batch with its sources, so an export of any size holds one batch in
memory. Run the batches on one :func:`snapshot` connection: every batch then sees the store as it
was when the first one was read, so an incident edited or recorded meanwhile is neither lost nor
repeated, and the file adds up to what /stats said at that moment.

The filter and the category restriction are ``db.queries``' own (``incident_conditions``,
``restrict_counts``), the ones /stats and /incidents use, so that the file's sums are /stats' figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from db.domain.figures import Counts
from db.domain.filters import IncidentFilter
from db.domain.listing import ExportRow
from db.listing import sources_of
from db.models import Incident, as_utc
from db.queries import Reader, incident_conditions, restrict_counts
from db.session import Database


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """A read connection whose statements all see one state of the store: REPEATABLE READ on
    PostgreSQL; on SQLite one read transaction (WAL) gives the same."""
    async with db.engine.connect() as connection:
        if not db.is_sqlite:
            connection = await connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        yield connection


_COLUMNS = (
    Incident.id,
    Incident.date,
    Incident.date_end,
    Incident.date_precision,
    Incident.date_note,
    Incident.district_id,
    Incident.settlement,
    Incident.civilian_killed,
    Incident.civilian_injured,
    Incident.military_killed,
    Incident.military_injured,
    Incident.device,
    Incident.activity,
    Incident.description,
    Incident.version,
    Incident.created_at,
    Incident.updated_at,
)


async def export_batches(
    db: Reader, f: IncidentFilter, *, batch: int
) -> AsyncGenerator[tuple[ExportRow, ...]]:
    """The published incidents matching ``f`` ordered by date then id, ``batch`` at a time
    (never an empty batch)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    after: tuple[dt.date, int] | None = None
    while True:
        statement = select(*_COLUMNS).where(incident_conditions(f))
        if after is not None:
            statement = statement.where(tuple_(Incident.date, Incident.id) > after)
        found = (
            await db.execute(statement.order_by(Incident.date, Incident.id).limit(batch))
        ).all()
        if not found:
            return
        sources = await sources_of(db, [int(r.id) for r in found])
        yield tuple(
            ExportRow(
                id=int(r.id),
                date=r.date,
                date_end=r.date_end,
                date_precision=r.date_precision,
                date_note=r.date_note,
                district_id=r.district_id,
                settlement=r.settlement,
                counts=restrict_counts(
                    Counts(
                        r.civilian_killed, r.civilian_injured, r.military_killed, r.military_injured
                    ),
                    f.category,
                ),
                device=r.device,
                activity=r.activity,
                description=r.description or "",
                sources=tuple(sources[int(r.id)]),
                version=int(r.version),
                recorded_at=as_utc(r.created_at),
                updated_at=as_utc(r.updated_at),
            )
            for r in found
        )
        if len(found) < batch:
            return
        last = found[-1]
        after = (last.date, int(last.id))


async def export_rows(db: Reader, f: IncidentFilter, *, batch: int) -> AsyncGenerator[ExportRow]:
    """The same incidents one at a time (read ``batch`` at a time)."""
    async for rows in export_batches(db, f, batch=batch):
        for row in rows:
            yield row
