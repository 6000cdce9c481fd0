"""Changes kept for review: proposed, then decided once (approved and applied, rejected, closed or
withdrawn), each step with its audit entry.

Every function works in the caller's transaction. What is checked here is what the store
guarantees whoever asks: a change is decided once (of two admins pressing at the same moment, one
wins), its author cannot decide it (only withdraw it), and an approval applies the change to the
version of the incident it was made on. Who may propose and who may decide is the feature
services' part (``db.store.review``, ``db.store.incidents``...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.changes import add_incident, audit, import_incidents, incident_state, now
from db.domain.drafts import ImportReport, IncidentDraft, OfficialDraft, snapshot
from db.domain.records import ChangeKind, ChangeStatus, IncidentStatus
from db.models import Change, as_utc
from db.store.apply import (
    add_official,
    edit_incident,
    load_incident,
    status_change,
    urls,
)
from db.store.errors import CannotApply, ChangeRefused, Refusal


@dataclass(frozen=True, slots=True)
class PendingChange:
    """A change as it was proposed (``current``: the incident it concerns as it is now, for an
    edit, a retraction or a restoration)."""

    id: int
    kind: ChangeKind
    incident_id: int | None
    payload: dict[str, Any]
    reason: str | None
    proposed_by: int
    proposed_at: dt.datetime
    #: The proposer's language when they proposed it (they are told of the decision in it).
    language: str | None = None
    current: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A change just kept for review, and the owners who are to review it (all but its author)."""

    change: PendingChange
    reviewers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    change: PendingChange
    approved: bool
    incident_id: int | None = None
    official_id: int | None = None
    imported: ImportReport | None = None


_PENDING_COLUMNS = (
    Change.id,
    Change.kind,
    Change.incident_id,
    Change.payload,
    Change.reason,
    Change.proposed_by,
    Change.proposed_at,
    Change.language,
)


def _pending(r: Any) -> PendingChange:
    return PendingChange(
        int(r[0]), ChangeKind(r[1]), r[2], dict(r[3]), r[4], int(r[5]), as_utc(r[6]), r[7]
    )


def _of(change: Change) -> PendingChange:
    return PendingChange(
        change.id,
        ChangeKind(change.kind),
        change.incident_id,
        dict(change.payload),
        change.reason,
        change.proposed_by,
        as_utc(change.proposed_at),
        change.language,
    )


async def with_current(db: AsyncConnection | AsyncSession, change: PendingChange) -> PendingChange:
    """The change with the incident it concerns as it is now."""
    if change.incident_id is None:
        return change
    return replace(change, current=await incident_state(db, change.incident_id))


async def propose(
    session: AsyncSession,
    kind: ChangeKind,
    actor: int,
    payload: dict[str, Any],
    *,
    incident_id: int | None = None,
    reason: str | None = None,
    language: str | None = None,
) -> Change:
    """Keep a change for review. Edits, retractions and restorations are checked against the
    incident now (so that a proposal that could never apply is refused at once) and bound to
    its current version."""
    base_version = None
    incident = None
    if incident_id is not None:
        incident = await load_incident(session, incident_id)
        base_version = incident.version
        if kind is ChangeKind.RETRACT and incident.status == IncidentStatus.RETRACTED:
            raise ChangeRefused(Refusal.ALREADY_RETRACTED, incident_id)
        if kind is ChangeKind.RESTORE and incident.status != IncidentStatus.RETRACTED:
            raise ChangeRefused(Refusal.NOT_RETRACTED, incident_id)
        if kind is ChangeKind.EDIT:
            current = snapshot(incident, urls(incident))
            if all(current.get(k) == v for k, v in payload.items()):
                raise ChangeRefused(Refusal.NOTHING_CHANGED, incident_id)
    change = Change(
        kind=kind,
        status=ChangeStatus.PENDING,
        incident_id=incident_id,
        base_version=base_version,
        payload=payload,
        reason=reason,
        proposed_by=actor,
        language=language,
        proposed_at=now(),
    )
    session.add(change)
    await session.flush()
    # With the incident (and its version unchanged), so the proposal shows in its /history.
    audit(
        session,
        "change.propose",
        actor,
        incident=incident,
        change_id=change.id,
        reason=reason,
        after={"kind": kind.value, "payload": payload},
    )
    await session.flush()
    return change


async def proposal(session: AsyncSession, change: Change, owners: Iterable[int]) -> Proposal:
    """What the proposer is shown and the reviewers are sent, of a change just proposed."""
    pending = await with_current(session, _of(change))
    return Proposal(pending, tuple(sorted(set(owners) - {change.proposed_by})))


async def _claim(session: AsyncSession, change_id: int, actor: int, status: ChangeStatus) -> Change:
    """Move a pending change to ``status``, once: of two admins pressing at the same moment,
    one wins and the other is told it was already decided."""
    change = await session.get(Change, change_id)
    if change is None:
        raise ChangeRefused(Refusal.NOT_FOUND, change_id)
    if change.status != ChangeStatus.PENDING:
        raise ChangeRefused(Refusal.ALREADY_DECIDED, change_id)
    if status is ChangeStatus.WITHDRAWN:
        if change.proposed_by != actor:
            raise ChangeRefused(Refusal.NOT_YOURS, change_id)
    elif change.proposed_by == actor:
        raise ChangeRefused(Refusal.OWN_CHANGE, change_id)
    claimed = await session.execute(
        update(Change)
        .where(Change.id == change_id, Change.status == ChangeStatus.PENDING)
        .values(status=status, decided_by=actor, decided_at=now())
        .execution_options(synchronize_session=False)
    )
    if not getattr(claimed, "rowcount", 0):
        raise ChangeRefused(Refusal.ALREADY_DECIDED, change_id)
    await session.refresh(change)
    return change


async def approve(session: AsyncSession, change_id: int, actor: int) -> Decision:
    """Apply a pending change on behalf of its proposer, approved by ``actor`` (another admin);
    :class:`CannotApply` when it can no longer apply (nothing is written: it stays pending)."""
    change = await _claim(session, change_id, actor, ChangeStatus.APPROVED)
    try:
        return await _apply(session, change, actor)
    except CannotApply:
        raise
    except ChangeRefused as refused:
        raise CannotApply(refused.refusal, refused.subject) from refused


async def _apply(session: AsyncSession, change: Change, actor: int) -> Decision:
    audit(session, "change.approve", actor, incident_id=change.incident_id, change_id=change.id)
    proposer = change.proposed_by
    payload = change.payload
    incident_id = change.incident_id
    official_id = None
    imported = None
    # A change to an incident applies to the version it was made on, and names its change.
    bound: dict[str, Any] = {"base_version": change.base_version, "change_id": change.id}
    if change.kind is ChangeKind.ADD:
        draft = IncidentDraft.from_json(payload)
        incident_id = (await add_incident(session, draft, proposer, change_id=change.id)).id
    elif change.kind is ChangeKind.EDIT:
        assert incident_id is not None
        await edit_incident(session, incident_id, payload, proposer, change.reason or "", **bound)
    elif change.kind in (ChangeKind.RETRACT, ChangeKind.RESTORE):
        assert incident_id is not None
        await status_change(session, change.kind, incident_id, proposer, change.reason, **bound)
    elif change.kind is ChangeKind.OFFICIAL:
        draft_official = OfficialDraft.from_json(payload)
        official_id = (
            await add_official(session, draft_official, proposer, change_id=change.id)
        ).id
    elif change.kind is ChangeKind.IMPORT:
        rows = [(int(line), IncidentDraft.from_json(d)) for line, d in payload["rows"]]
        imported = await import_incidents(session, rows, proposer, change_id=change.id)
    return Decision(_of(change), True, incident_id, official_id, imported)


async def close(session: AsyncSession, change_id: int, actor: int, refusal: Refusal) -> Decision:
    """Close a change that can no longer be applied, saying why (after :class:`CannotApply`)."""
    change = await _claim(session, change_id, actor, ChangeStatus.REJECTED)
    audit(
        session,
        "change.close",
        actor,
        incident_id=change.incident_id,
        change_id=change.id,
        reason=refusal.value,
    )
    return Decision(_of(change), False, change.incident_id)


async def reject(session: AsyncSession, change_id: int, actor: int) -> Decision:
    change = await _claim(session, change_id, actor, ChangeStatus.REJECTED)
    audit(session, "change.reject", actor, incident_id=change.incident_id, change_id=change.id)
    return Decision(_of(change), False, change.incident_id)


async def withdraw(session: AsyncSession, change_id: int, actor: int) -> Decision:
    """The proposer takes a pending change back (the Undo button of a proposal)."""
    change = await _claim(session, change_id, actor, ChangeStatus.WITHDRAWN)
    audit(session, "change.withdraw", actor, incident_id=change.incident_id, change_id=change.id)
    return Decision(_of(change), False, change.incident_id)


# -- what is waiting -----------------------------------------------------------------------------


async def pending_changes(
    db: AsyncConnection, *, limit: int = 20
) -> tuple[list[PendingChange], int]:
    """The oldest changes awaiting review (up to ``limit``), each with the incident it concerns
    as it is now, and how many are waiting in all."""
    waiting = await db.scalar(
        select(func.count()).select_from(Change).where(Change.status == ChangeStatus.PENDING)
    )
    rows = await db.execute(
        select(*_PENDING_COLUMNS)
        .where(Change.status == ChangeStatus.PENDING)
        .order_by(Change.id)
        .limit(limit)
    )
    changes = [await with_current(db, _pending(r)) for r in rows.all()]
    return changes, int(waiting or 0)


async def pending_change(db: AsyncConnection, change_id: int) -> PendingChange | None:
    """One change if it is still waiting for review."""
    rows = await db.execute(
        select(*_PENDING_COLUMNS).where(
            Change.id == change_id, Change.status == ChangeStatus.PENDING
        )
    )
    row = rows.first()
    return _pending(row) if row is not None else None
