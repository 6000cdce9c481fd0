"""Incidents a page at a time (/incidents) and where the data come from (/sources)."""

from __future__ import annotations

from db import listing
from db.domain.filters import IncidentFilter
from db.domain.listing import IncidentPage, SourcesSummary
from db.session import Database


class IncidentLists:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def incidents(self, f: IncidentFilter, *, offset: int, limit: int) -> IncidentPage:
        """A page of the incidents matching ``f``, latest first, from ``offset``. An offset past
        the last incident (a stale button: incidents retracted since; or a forged one) gives the
        last page."""
        async with self._db.session() as session:
            page = await listing.list_incidents(session, f, offset=offset, limit=limit)
            if not page.rows and page.total:
                last = (page.total - 1) // limit * limit
                page = await listing.list_incidents(session, f, offset=last, limit=limit)
        return page

    async def sources(self) -> SourcesSummary:
        async with self._db.read() as connection:
            return await listing.sources_summary(connection)
