"""Possible duplicates of a new incident: published incidents, or adds awaiting review, that may
describe the same event (same district and date, or the same source)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.domain.drafts import IncidentDraft
from db.domain.records import ChangeKind, ChangeStatus, DatePrecision, IncidentStatus
from db.models import Change, Incident, IncidentSource
from db.store.errors import StoreError


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A published incident, or an add awaiting review, that may describe the same event."""

    incident_id: int | None
    change_id: int | None
    date: dt.date
    precision: DatePrecision
    district_id: int | None
    settlement: str | None
    casualties: int
    same_source: bool


class PossibleDuplicates(StoreError):
    """A new incident looks like incidents already recorded or waiting: it is saved only when the
    admin confirms (nothing was written)."""

    def __init__(self, duplicates: Sequence[Duplicate]) -> None:
        super().__init__(f"{len(duplicates)} possible duplicates")
        self.duplicates = tuple(duplicates)


async def possible_duplicates(
    db: AsyncConnection, draft: IncidentDraft, *, limit: int = 5
) -> list[Duplicate]:
    """Published incidents in the same district on the same date, or with the same source URL;
    and adds awaiting review that match the same way."""
    start, end = draft.span
    same_place_and_date = (
        (Incident.district_id == draft.district_id)
        & (Incident.date == start)
        & (Incident.date_end == end)
    )
    same_source = Incident.id.in_(
        select(IncidentSource.incident_id).where(IncidentSource.url == draft.source_url)
    )
    rows = await db.execute(
        select(
            Incident.id,
            Incident.date,
            Incident.date_precision,
            Incident.district_id,
            Incident.settlement,
            Incident.civilian_killed
            + Incident.civilian_injured
            + Incident.military_killed
            + Incident.military_injured,
            same_source,
        )
        .where(Incident.status == IncidentStatus.PUBLISHED, or_(same_place_and_date, same_source))
        .order_by(Incident.id.desc())
        .limit(limit)
    )
    found = [
        Duplicate(int(r[0]), None, r[1], DatePrecision(r[2]), r[3], r[4], int(r[5]), bool(r[6]))
        for r in rows
    ]
    pending = await db.execute(
        select(Change.id, Change.payload)
        .where(Change.status == ChangeStatus.PENDING, Change.kind == ChangeKind.ADD)
        .order_by(Change.id.desc())
        .limit(200)
    )
    for change_id, payload in pending:
        other = IncidentDraft.from_json(payload)
        matches_source = other.source_url == draft.source_url
        if matches_source or (other.district_id == draft.district_id and other.span == draft.span):
            found.append(
                Duplicate(
                    None,
                    int(change_id),
                    other.date,
                    other.precision,
                    other.district_id,
                    other.settlement,
                    other.casualties,
                    matches_source,
                )
            )
    return found[:limit]
