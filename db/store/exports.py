"""/export: the published incidents matching a filter, streamed in batches from one snapshot."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from db import export
from db.domain.filters import IncidentFilter
from db.domain.listing import ExportRow
from db.session import Database

#: Incidents read per statement.
BATCH = 500


class Exports:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def batches(
        self, f: IncidentFilter, *, batch: int = BATCH
    ) -> AsyncGenerator[tuple[ExportRow, ...]]:
        """The incidents matching ``f`` ordered by date then id, ``batch`` at a time, all read on
        one snapshot (see ``db.export``): one unit of work for as long as the generator runs.
        Close it (``contextlib.aclosing``) when stopping early, to give the connection back."""
        async with export.snapshot(self._db) as connection:
            async for rows in export.export_batches(connection, f, batch=batch):
                yield rows
