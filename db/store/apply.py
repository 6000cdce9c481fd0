"""Applying a change: the edits, retractions, restorations and official totals that an owner makes
at once and that an approval makes on its proposer's behalf.

Every function works in the caller's transaction, writes its audit entry and keeps
``incident_totals`` in step; none checks who may do what (the feature services do, before). What
is checked here is what the store itself guarantees: a change applies only to the version of the
incident it was made on (``base_version``), a change that changes nothing is refused, and an
official figure is recorded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import totals
from db.changes import audit, now
from db.domain.drafts import OfficialDraft, field_value, snapshot
from db.domain.records import ChangeKind, ChangeStatus, IncidentStatus
from db.models import Change, Incident, IncidentSource, OfficialTotal
from db.store.errors import ChangeRefused, Refusal


async def load_incident(session: AsyncSession, incident_id: int) -> Incident:
    """The incident with its sources, locked for this transaction on PostgreSQL."""
    incident = await session.get(
        Incident,
        incident_id,
        options=[selectinload(Incident.sources)],
        with_for_update=session.get_bind().dialect.name == "postgresql",
        populate_existing=True,
    )
    if incident is None:
        raise ChangeRefused(Refusal.NOT_FOUND, incident_id)
    return incident


def urls(incident: Incident) -> list[str]:
    return [s.url for s in incident.sources]


def _check_version(incident: Incident, base_version: int | None) -> None:
    if base_version is not None and incident.version != base_version:
        raise ChangeRefused(Refusal.STALE, incident.id)


async def _change_incident(
    session: AsyncSession,
    incident: Incident,
    action: str,
    actor: int | None,
    values: Mapping[str, Any],
    *,
    reason: str | None,
    change_id: int | None,
) -> Incident:
    before_sources = urls(incident)
    before = snapshot(incident, before_sources)
    contribution_before = totals.Contribution.of(incident)
    for key, value in values.items():
        if key == "sources":
            if list(value) != before_sources:
                incident.sources = [IncidentSource(url=url) for url in value]
        else:
            setattr(incident, key, field_value(key, value))
    after = snapshot(incident, list(values.get("sources", before_sources)))
    if after == before:
        raise ChangeRefused(Refusal.NOTHING_CHANGED, incident.id)
    incident.version += 1
    incident.updated_by = actor
    incident.updated_at = now()
    await session.flush()
    await totals.apply(session, contribution_before, totals.Contribution.of(incident))
    audit(
        session,
        action,
        actor,
        incident=incident,
        change_id=change_id,
        reason=reason,
        before=before,
        after=after,
    )
    await session.flush()
    return incident


async def edit_incident(
    session: AsyncSession,
    incident_id: int,
    patch: Mapping[str, Any],
    actor: int | None,
    reason: str,
    *,
    base_version: int | None = None,
    change_id: int | None = None,
) -> Incident:
    """Change some fields of an incident (``patch`` in ``patch_storage`` form)."""
    incident = await load_incident(session, incident_id)
    _check_version(incident, base_version)
    return await _change_incident(
        session, incident, "incident.edit", actor, patch, reason=reason, change_id=change_id
    )


async def _set_status(
    session: AsyncSession,
    incident: Incident,
    status: IncidentStatus,
    action: str,
    actor: int | None,
    reason: str | None,
    change_id: int | None,
) -> Incident:
    """Retract (status RETRACTED) or restore (PUBLISHED), refused when it is so already."""
    if incident.status == status:
        refusal = (
            Refusal.ALREADY_RETRACTED
            if status is IncidentStatus.RETRACTED
            else Refusal.NOT_RETRACTED
        )
        raise ChangeRefused(refusal, incident.id)
    return await _change_incident(
        session, incident, action, actor, {"status": status.value}, reason=reason,
        change_id=change_id,
    )  # fmt: skip


async def retract_incident(
    session: AsyncSession,
    incident_id: int,
    actor: int | None,
    reason: str | None,
    *,
    base_version: int | None = None,
    change_id: int | None = None,
) -> Incident:
    """Hide an incident from figures and lists; it stays in the store and can be restored."""
    incident = await load_incident(session, incident_id)
    _check_version(incident, base_version)
    return await _set_status(
        session, incident, IncidentStatus.RETRACTED, "incident.retract", actor, reason, change_id
    )


async def restore_incident(
    session: AsyncSession,
    incident_id: int,
    actor: int | None,
    reason: str | None,
    *,
    base_version: int | None = None,
    change_id: int | None = None,
) -> Incident:
    """Count a retracted incident again."""
    incident = await load_incident(session, incident_id)
    _check_version(incident, base_version)
    return await _set_status(
        session, incident, IncidentStatus.PUBLISHED, "incident.restore", actor, reason, change_id
    )


async def undo_add(session: AsyncSession, incident_id: int, actor: int) -> Incident:
    """The Undo button under a new incident: retract it, if ``actor`` recorded it and it is still
    as it was recorded (anything else is a retraction, which needs a reason)."""
    incident = await load_incident(session, incident_id)
    if incident.created_by != actor:
        raise ChangeRefused(Refusal.NOT_YOURS, incident_id)
    if incident.status == IncidentStatus.RETRACTED:
        raise ChangeRefused(Refusal.ALREADY_RETRACTED, incident_id)
    _check_version(incident, 1)
    return await _set_status(
        session, incident, IncidentStatus.RETRACTED, "incident.undo", actor, None, None
    )


async def status_change(
    session: AsyncSession,
    kind: ChangeKind,
    incident_id: int,
    actor: int | None,
    reason: str | None,
    *,
    base_version: int | None = None,
    change_id: int | None = None,
) -> Incident:
    """A retraction (``kind`` RETRACT) or a restoration (RESTORE)."""
    apply = retract_incident if kind is ChangeKind.RETRACT else restore_incident
    return await apply(
        session, incident_id, actor, reason, base_version=base_version, change_id=change_id
    )


# -- official totals ------------------------------------------------------------------------------


async def check_official_is_new(session: AsyncSession, draft: OfficialDraft) -> None:
    """Refuse a second figure of one issuer as of one day (recorded, or waiting for review)."""
    recorded = await session.scalar(
        select(OfficialTotal.id)
        .where(OfficialTotal.issuer == draft.issuer, OfficialTotal.as_of == draft.as_of)
        .limit(1)
    )
    if recorded is not None:
        raise ChangeRefused(Refusal.OFFICIAL_EXISTS, int(recorded))
    waiting = await session.execute(
        select(Change.id, Change.payload).where(
            Change.status == ChangeStatus.PENDING, Change.kind == ChangeKind.OFFICIAL
        )
    )
    for change_id, payload in waiting:
        other = OfficialDraft.from_json(payload)
        if (other.issuer, other.as_of) == (draft.issuer, draft.as_of):
            raise ChangeRefused(Refusal.OFFICIAL_EXISTS, int(change_id))


async def add_official(
    session: AsyncSession, draft: OfficialDraft, actor: int | None, *, change_id: int | None = None
) -> OfficialTotal:
    """Record an official total; refused if that issuer's figure as of that day is recorded or
    waiting for review (a change being approved is no longer waiting)."""
    await check_official_is_new(session, draft)
    official = OfficialTotal(
        as_of=draft.as_of,
        published_on=draft.published_on,
        period_start=draft.period_start,
        period_start_assumed=False,
        issuer=draft.issuer,
        source_url=draft.source_url,
        note=draft.note,
        created_by=actor,
        created_at=now(),
        **dict(draft.figures),
    )
    session.add(official)
    await session.flush()
    audit(
        session,
        "official.add",
        actor,
        official_id=official.id,
        change_id=change_id,
        after=draft.to_json(),
    )
    await session.flush()
    return official
