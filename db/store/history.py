"""An incident's history: every recorded change, oldest first, with who approved reviewed ones."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.changes import incident_state
from db.models import AuditEntry, Change, Incident, as_utc


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: dt.datetime
    actor: int | None
    action: str
    version: int | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    #: For an entry applied on review: who approved it.
    approved_by: int | None = None

    @property
    def changed(self) -> list[str]:
        """The fields whose value differs between before and after (all of after for an add)."""
        after = self.after or {}
        before = self.before or {}
        return [k for k in after if k != "date_end" and before.get(k) != after.get(k)]


@dataclass(frozen=True, slots=True)
class History:
    incident_id: int
    current: dict[str, Any]
    created_at: dt.datetime
    created_by: int | None
    entries: tuple[HistoryEntry, ...]


async def history(db: AsyncConnection, incident_id: int) -> History | None:
    """Every recorded change of an incident, oldest first, with who approved reviewed ones."""
    current = await incident_state(db, incident_id)
    if current is None:
        return None
    created = (
        await db.execute(
            select(Incident.created_at, Incident.created_by).where(Incident.id == incident_id)
        )
    ).one()
    rows = await db.execute(
        select(
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.version,
            AuditEntry.reason,
            AuditEntry.before,
            AuditEntry.after,
            AuditEntry.change_id,
        )
        .where(AuditEntry.incident_id == incident_id)
        .order_by(AuditEntry.id)
    )
    entries = list(rows)
    change_ids = [r[7] for r in entries if r[7] is not None]
    approvers: dict[int, int | None] = {}
    if change_ids:
        for change_id, decided_by in await db.execute(
            select(Change.id, Change.decided_by).where(Change.id.in_(change_ids))
        ):
            approvers[int(change_id)] = decided_by
    return History(
        incident_id=incident_id,
        current=current,
        created_at=as_utc(created[0]),
        created_by=created[1],
        entries=tuple(
            HistoryEntry(
                at=as_utc(r[0]),
                actor=r[1],
                action=str(r[2]),
                version=r[3],
                reason=r[4],
                before=r[5],
                after=r[6],
                approved_by=approvers.get(r[7]) if r[7] is not None else None,
            )
            for r in entries
        ),
    )
