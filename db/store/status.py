"""``/status``: the store as its admins see it (the schema, counts, the outbox, the digests)."""

from __future__ import annotations

from db import status
from db.domain.status import StoreStatus
from db.session import Database


class StatusReads:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def read(self) -> StoreStatus:
        async with self._db.read() as connection:
            return await status.store_status(connection, self._db.url)
