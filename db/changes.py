"""The lowest layer of admins' writes: new incidents (one by one or imported in bulk), the audit
trail, and an incident's current state in storage form.

Every function here works in the caller's transaction: it writes its audit entry beside the change
it records, and keeps ``incident_totals`` in step. Nothing here checks who may do what or refuses
anything: the store (``db.store``) decides, then calls these (a bulk import from the command
line too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db import totals
from db.domain.drafts import COUNT_FIELDS, ImportReport, IncidentDraft, natural_key, snapshot
from db.domain.records import IncidentStatus
from db.models import AuditEntry, Incident, IncidentSource
from db.queries import Reader


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- audit ----------------------------------------------------------------------------------------


def audit(session: AsyncSession, action: str, actor: int | None, **details: Any) -> AuditEntry:
    """Record a change in the session's transaction (see :func:`audit_entry` for the details)."""
    entry = audit_entry(action, actor, **details)
    session.add(entry)
    return entry


def audit_entry(
    action: str,
    actor: int | None,
    *,
    incident: Incident | None = None,
    incident_id: int | None = None,
    official_id: int | None = None,
    change_id: int | None = None,
    subject_user: int | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """An audit row; ``incident`` gives the incident and its version, ``incident_id`` only the
    incident (for a decision on a change that concerns it)."""
    return AuditEntry(
        at=now(),
        actor=actor,
        action=action,
        incident_id=incident.id if incident is not None else incident_id,
        version=incident.version if incident is not None else None,
        official_id=official_id,
        change_id=change_id,
        subject_user=subject_user,
        reason=reason,
        before=before,
        after=after,
    )


# -- new incidents --------------------------------------------------------------------------------


def _new_incident(draft: IncidentDraft, actor: int | None) -> Incident:
    start, end = draft.span
    stamp = now()
    return Incident(
        date=start,
        date_end=end,
        date_precision=draft.precision,
        district_id=draft.district_id,
        settlement=draft.settlement,
        civilian_killed=draft.civilian_killed,
        civilian_injured=draft.civilian_injured,
        military_killed=draft.military_killed,
        military_injured=draft.military_injured,
        device=draft.device,
        activity=draft.activity,
        description=draft.note or "",
        date_note=draft.date_note,
        status=IncidentStatus.PUBLISHED,
        created_by=actor,
        created_at=stamp,
        updated_by=actor,
        updated_at=stamp,
        version=1,
        sources=[IncidentSource(url=draft.source_url, title=draft.source_title)],
    )


async def add_incident(
    session: AsyncSession, draft: IncidentDraft, actor: int | None, *, change_id: int | None = None
) -> Incident:
    """Record a new, published incident."""
    return (await add_incidents(session, [draft], actor, change_id=change_id))[0]


async def add_incidents(
    session: AsyncSession,
    drafts: Sequence[IncidentDraft],
    actor: int | None,
    *,
    change_id: int | None = None,
) -> list[Incident]:
    """Record new, published incidents: one flush for all, the totals moved once per row of
    ``incident_totals`` they touch, an audit entry for each."""
    incidents = [_new_incident(draft, actor) for draft in drafts]
    session.add_all(incidents)
    await session.flush()
    await totals.apply_many(session, [totals.Contribution.of(i) for i in incidents])
    session.add_all(
        audit_entry(
            "incident.add",
            actor,
            incident=incident,
            change_id=change_id,
            after=snapshot(incident, [draft.source_url]),
        )
        for incident, draft in zip(incidents, drafts, strict=True)
    )
    await session.flush()
    return incidents


#: Rows added per flush (bounded memory and statement size for big imports).
IMPORT_CHUNK = 500


async def import_incidents(
    session: AsyncSession,
    rows: Sequence[tuple[int, IncidentDraft]],
    actor: int | None,
    *,
    change_id: int | None = None,
) -> ImportReport:
    """Add every row (line number, draft) that is not in the store yet; skip the others."""
    report = ImportReport()
    present = {
        tuple(r)
        for r in await session.execute(
            select(
                Incident.date,
                Incident.district_id,
                *(getattr(Incident, name) for name in COUNT_FIELDS),
                IncidentSource.url,
            ).join(IncidentSource, IncidentSource.incident_id == Incident.id)
        )
    }
    new: list[IncidentDraft] = []
    for line, draft in rows:
        key = natural_key(draft)
        if key in present:
            report.skipped.append(line)
            continue
        present.add(key)
        new.append(draft)
    for start in range(0, len(new), IMPORT_CHUNK):
        added = await add_incidents(
            session, new[start : start + IMPORT_CHUNK], actor, change_id=change_id
        )
        report.added += [incident.id for incident in added]
    audit(
        session,
        "import",
        actor,
        change_id=change_id,
        after={"added": report.added, "skipped_lines": report.skipped},
    )
    return report


# -- an incident's state --------------------------------------------------------------------------

_STATE_COLUMNS = (
    Incident.id,
    Incident.version,
    Incident.date,
    Incident.date_end,
    Incident.date_precision,
    Incident.district_id,
    Incident.settlement,
    *(getattr(Incident, name) for name in COUNT_FIELDS),
    Incident.device,
    Incident.activity,
    Incident.description,
    Incident.status,
)


async def incident_state(db: Reader, incident_id: int) -> dict[str, Any] | None:
    """An incident's current snapshot with its ``id`` and ``version``, or None."""
    row = (await db.execute(select(*_STATE_COLUMNS).where(Incident.id == incident_id))).first()
    if row is None:
        return None
    urls = await db.execute(
        select(IncidentSource.url)
        .where(IncidentSource.incident_id == incident_id)
        .order_by(IncidentSource.id)
    )
    state = snapshot(row, [str(u[0]) for u in urls])
    state["id"] = int(row.id)
    state["version"] = int(row.version)
    return state
