"""Admins' writes: incidents added, edited, retracted and restored, official totals, editors, bulk
imports and changes awaiting review. Every function here writes its audit entry in the caller's
transaction, beside the change it records, and keeps ``incident_totals`` in step.

Nothing here checks who may do what (``handlers.auth`` does, before calling); what is checked is
what the store itself must guarantee: a change reviewed later applies only to the version of the
incident it was made on, and a change is decided once.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db import totals
from db.domain.records import ChangeKind, ChangeStatus, DatePrecision, Device, IncidentStatus
from db.models import (
    AuditEntry,
    Change,
    Editor,
    Incident,
    IncidentSource,
    IssuerName,
    OfficialTotal,
    as_utc,
)
from db.queries import Reader
from db.seed import date_span

COUNT_FIELDS = ("civilian_killed", "civilian_injured", "military_killed", "military_injured")
#: What an edit may set, in storage form (``date`` goes with ``date_precision``).
EDITABLE = (
    "date",
    "date_precision",
    "district_id",
    "settlement",
    *COUNT_FIELDS,
    "device",
    "activity",
    "description",
    "sources",
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Refusal(enum.StrEnum):
    NOT_FOUND = "not_found"
    #: The incident changed after the change was proposed (or the form was filled in).
    STALE = "stale"
    ALREADY_RETRACTED = "already_retracted"
    NOT_RETRACTED = "not_retracted"
    NOTHING_CHANGED = "nothing_changed"
    ALREADY_DECIDED = "already_decided"
    OWN_CHANGE = "own_change"
    NOT_YOURS = "not_yours"
    #: An editor's Undo of an incident when review is on: that is a retraction to review.
    NEEDS_REVIEW = "needs_review"
    #: An official total of the same issuer as of the same day is recorded (or waiting).
    OFFICIAL_EXISTS = "official_exists"
    ALREADY_EDITOR = "already_editor"
    NOT_EDITOR = "not_editor"


class ChangeRefused(Exception):
    """The store refuses a change; nothing was written."""

    def __init__(self, refusal: Refusal, subject: int | None = None) -> None:
        super().__init__(f"{refusal.value}: {subject}")
        self.refusal = refusal
        self.subject = subject


# -- drafts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    """A new incident as an admin described it, validated (see ``handlers.forms``)."""

    date: dt.date
    precision: DatePrecision
    #: None only where a dataset row does not say (admins' forms require a district).
    district_id: int | None
    source_url: str
    settlement: str | None = None
    civilian_killed: int = 0
    civilian_injured: int = 0
    military_killed: int = 0
    military_injured: int = 0
    device: Device = Device.UNKNOWN
    activity: str | None = None
    note: str | None = None
    #: From a CSV import: the source's title and a note on how the date is known.
    source_title: str | None = None
    date_note: str | None = None

    @property
    def span(self) -> tuple[dt.date, dt.date]:
        return date_span(self.date, self.precision)

    @property
    def casualties(self) -> int:
        return sum(getattr(self, name) for name in COUNT_FIELDS)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["precision"] = self.precision.value
        data["device"] = self.device.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> IncidentDraft:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["date"] = dt.date.fromisoformat(values["date"])
        values["precision"] = DatePrecision(values["precision"])
        values["device"] = Device(values["device"])
        return cls(**values)

    def storage(self) -> dict[str, Any]:
        """The draft in the storage form of :func:`snapshot` (without the status)."""
        start, end = self.span
        return {
            "date": start.isoformat(),
            "date_end": end.isoformat(),
            "date_precision": self.precision.value,
            "district_id": self.district_id,
            "settlement": self.settlement,
            **{name: getattr(self, name) for name in COUNT_FIELDS},
            "device": self.device.value,
            "activity": self.activity,
            "description": self.note or "",
            "sources": [self.source_url],
        }


@dataclass(frozen=True, slots=True)
class OfficialDraft:
    """An official total as an admin entered it; figures not stated are None."""

    as_of: dt.date
    period_start: dt.date
    issuer: str
    source_url: str
    figures: Mapping[str, int | None]
    published_on: dt.date | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "period_start": self.period_start.isoformat(),
            "issuer": self.issuer,
            "source_url": self.source_url,
            "figures": dict(self.figures),
            "published_on": self.published_on.isoformat() if self.published_on else None,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OfficialDraft:
        published = data.get("published_on")
        return cls(
            as_of=dt.date.fromisoformat(data["as_of"]),
            period_start=dt.date.fromisoformat(data["period_start"]),
            issuer=data["issuer"],
            source_url=data["source_url"],
            figures=dict(data["figures"]),
            published_on=dt.date.fromisoformat(published) if published else None,
            note=data.get("note"),
        )


def snapshot(incident: Any, sources: Sequence[str]) -> dict[str, Any]:
    """An incident's editable fields and status, as JSON values (the audit's before and after);
    ``incident`` is an :class:`Incident` or a row with the same columns."""
    return {
        "date": incident.date.isoformat(),
        "date_end": incident.date_end.isoformat(),
        "date_precision": DatePrecision(incident.date_precision).value,
        "district_id": incident.district_id,
        "settlement": incident.settlement,
        **{name: getattr(incident, name) for name in COUNT_FIELDS},
        "device": Device(incident.device).value,
        "activity": incident.activity,
        "description": incident.description,
        "sources": list(sources),
        "status": IncidentStatus(incident.status).value,
    }


def field_value(key: str, value: Any) -> Any:
    """A value of the JSON storage form as the model's attribute takes it."""
    if value is None:
        return None
    if key in ("date", "date_end"):
        return dt.date.fromisoformat(value)
    if key == "date_precision":
        return DatePrecision(value)
    if key == "device":
        return Device(value)
    if key == "status":
        return IncidentStatus(value)
    return value


def patch_storage(patch: Mapping[str, Any]) -> dict[str, Any]:
    """An edit (keys of :data:`EDITABLE`, typed values) in the JSON storage form."""
    out: dict[str, Any] = {}
    for key, value in patch.items():
        if key not in EDITABLE:
            raise ValueError(f"{key} cannot be edited")
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    if "date" in out:
        out.setdefault("date_precision", DatePrecision.DAY.value)
        start, end = date_span(
            dt.date.fromisoformat(out["date"]), DatePrecision(out["date_precision"])
        )
        out["date"], out["date_end"] = start.isoformat(), end.isoformat()
    return out


# -- audit ----------------------------------------------------------------------------------------


def audit(session: AsyncSession, action: str, actor: int | None, **details: Any) -> AuditEntry:
    """Record a change in the session's transaction (see :func:`_audit_entry` for the details)."""
    entry = _audit_entry(action, actor, **details)
    session.add(entry)
    return entry


def _audit_entry(
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


# -- incidents ------------------------------------------------------------------------------------


async def _load(session: AsyncSession, incident_id: int) -> Incident:
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


def _urls(incident: Incident) -> list[str]:
    return [s.url for s in incident.sources]


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
        _audit_entry(
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
    before_sources = _urls(incident)
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


def _check_version(incident: Incident, base_version: int | None) -> None:
    if base_version is not None and incident.version != base_version:
        raise ChangeRefused(Refusal.STALE, incident.id)


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
    """Change some fields of an incident (``patch`` in :func:`patch_storage` form)."""
    incident = await _load(session, incident_id)
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
    incident = await _load(session, incident_id)
    _check_version(incident, base_version)
    return await _set_status(
        session, incident, IncidentStatus.RETRACTED, "incident.retract", actor, reason, change_id
    )


async def undo_add(session: AsyncSession, incident_id: int, actor: int) -> Incident:
    """The Undo button under a new incident: retract it, if ``actor`` recorded it and it is still
    as it was recorded (anything else is a retraction, which needs a reason)."""
    incident = await _load(session, incident_id)
    if incident.created_by != actor:
        raise ChangeRefused(Refusal.NOT_YOURS, incident_id)
    if incident.status == IncidentStatus.RETRACTED:
        raise ChangeRefused(Refusal.ALREADY_RETRACTED, incident_id)
    _check_version(incident, 1)
    return await _set_status(
        session, incident, IncidentStatus.RETRACTED, "incident.undo", actor, None, None
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
    incident = await _load(session, incident_id)
    _check_version(incident, base_version)
    return await _set_status(
        session, incident, IncidentStatus.PUBLISHED, "incident.restore", actor, reason, change_id
    )


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


# -- possible duplicates ------------------------------------------------------------------------


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


async def possible_duplicates(
    db: Reader, draft: IncidentDraft, *, limit: int = 5
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


# -- official totals ----------------------------------------------------------------------------


async def check_official_is_new(db: Reader, draft: OfficialDraft) -> None:
    """Refuse a second figure of one issuer as of one day (recorded, or waiting for review)."""
    recorded = await db.scalar(
        select(OfficialTotal.id)
        .where(OfficialTotal.issuer == draft.issuer, OfficialTotal.as_of == draft.as_of)
        .limit(1)
    )
    if recorded is not None:
        raise ChangeRefused(Refusal.OFFICIAL_EXISTS, int(recorded))
    waiting = await db.execute(
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


async def official_defaults(db: Reader) -> tuple[str | None, dt.date | None]:
    """What /official assumes when not given: the dataset's default issuer (``issuers.csv``) and
    where that issuer's latest figure counts from (not where it was only assumed)."""
    issuer = await db.scalar(
        select(IssuerName.issuer).where(IssuerName.is_default.is_(True)).limit(1)
    )
    if issuer is None:
        return None, None
    start = await db.scalar(
        select(OfficialTotal.period_start)
        .where(OfficialTotal.issuer == issuer, OfficialTotal.period_start_assumed.is_(False))
        .order_by(OfficialTotal.as_of.desc(), OfficialTotal.id.desc())
        .limit(1)
    )
    return str(issuer), start


async def known_issuers(db: Reader) -> list[str]:
    rows = await db.execute(select(OfficialTotal.issuer).distinct().order_by(OfficialTotal.issuer))
    return [str(r[0]) for r in rows]


# -- bulk import ----------------------------------------------------------------------------------


def natural_key(draft: IncidentDraft) -> tuple[Any, ...]:
    """What makes two rows the same incident for an import (as for the shipped dataset)."""
    return (
        draft.span[0],
        draft.district_id,
        *(getattr(draft, name) for name in COUNT_FIELDS),
        draft.source_url,
    )


#: Rows added per flush (bounded memory and statement size for big imports).
IMPORT_CHUNK = 500


@dataclass
class ImportReport:
    added: list[int] = field(default_factory=list)
    #: Line numbers of rows already in the store (or repeated in the file).
    skipped: list[int] = field(default_factory=list)


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


# -- editors --------------------------------------------------------------------------------------


async def is_editor(db: Reader, user_id: int) -> bool:
    found = await db.execute(select(Editor.user_id).where(Editor.user_id == user_id))
    return found.first() is not None


async def editors(db: Reader) -> list[tuple[int, int | None, dt.datetime]]:
    rows = await db.execute(
        select(Editor.user_id, Editor.added_by, Editor.added_at).order_by(Editor.added_at)
    )
    return [(int(r[0]), r[1], as_utc(r[2])) for r in rows]


async def add_editor(session: AsyncSession, user_id: int, actor: int) -> None:
    if await session.get(Editor, user_id) is not None:
        raise ChangeRefused(Refusal.ALREADY_EDITOR, user_id)
    session.add(Editor(user_id=user_id, added_by=actor, added_at=now()))
    audit(session, "editor.add", actor, subject_user=user_id)
    await session.flush()


async def remove_editor(session: AsyncSession, user_id: int, actor: int) -> None:
    removed = await session.execute(delete(Editor).where(Editor.user_id == user_id))
    if not getattr(removed, "rowcount", 0):
        raise ChangeRefused(Refusal.NOT_EDITOR, user_id)
    audit(session, "editor.remove", actor, subject_user=user_id)
    await session.flush()


# -- review ---------------------------------------------------------------------------------------


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
        incident = await _load(session, incident_id)
        base_version = incident.version
        if kind is ChangeKind.RETRACT and incident.status == IncidentStatus.RETRACTED:
            raise ChangeRefused(Refusal.ALREADY_RETRACTED, incident_id)
        if kind is ChangeKind.RESTORE and incident.status != IncidentStatus.RETRACTED:
            raise ChangeRefused(Refusal.NOT_RETRACTED, incident_id)
        if kind is ChangeKind.EDIT:
            current = snapshot(incident, _urls(incident))
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


@dataclass(frozen=True, slots=True)
class Decision:
    change: Change
    approved: bool
    incident_id: int | None = None
    official_id: int | None = None
    imported: ImportReport | None = None


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


class CannotApply(ChangeRefused):
    """An approved change can no longer be applied (the incident changed, was retracted...);
    :func:`close` takes it off the list."""


async def approve(session: AsyncSession, change_id: int, actor: int) -> Decision:
    """Apply a pending change on behalf of its proposer, approved by ``actor`` (another admin)."""
    change = await _claim(session, change_id, actor, ChangeStatus.APPROVED)
    try:
        return await _apply(session, change, actor)
    except CannotApply:
        raise
    except ChangeRefused as refused:
        raise CannotApply(refused.refusal, refused.subject) from refused


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
    return Decision(change, False, change.incident_id)


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
        incident_id = (
            await add_incident(
                session, IncidentDraft.from_json(payload), proposer, change_id=change.id
            )
        ).id
    elif change.kind is ChangeKind.EDIT:
        assert incident_id is not None
        await edit_incident(session, incident_id, payload, proposer, change.reason or "", **bound)
    elif change.kind in (ChangeKind.RETRACT, ChangeKind.RESTORE):
        assert incident_id is not None
        status_change = retract_incident if change.kind is ChangeKind.RETRACT else restore_incident
        await status_change(session, incident_id, proposer, change.reason, **bound)
    elif change.kind is ChangeKind.OFFICIAL:
        official_id = (
            await add_official(
                session, OfficialDraft.from_json(payload), proposer, change_id=change.id
            )
        ).id
    elif change.kind is ChangeKind.IMPORT:
        rows = [(int(line), IncidentDraft.from_json(d)) for line, d in payload["rows"]]
        imported = await import_incidents(session, rows, proposer, change_id=change.id)
    return Decision(change, True, incident_id, official_id, imported)


async def reject(session: AsyncSession, change_id: int, actor: int) -> Decision:
    change = await _claim(session, change_id, actor, ChangeStatus.REJECTED)
    audit(session, "change.reject", actor, incident_id=change.incident_id, change_id=change.id)
    return Decision(change, False, change.incident_id)


async def withdraw(session: AsyncSession, change_id: int, actor: int) -> Decision:
    """The proposer takes a pending change back (the Undo button of a proposal)."""
    change = await _claim(session, change_id, actor, ChangeStatus.WITHDRAWN)
    audit(session, "change.withdraw", actor, incident_id=change.incident_id, change_id=change.id)
    return Decision(change, False, change.incident_id)


# -- reading the trail ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingChange:
    id: int
    kind: ChangeKind
    incident_id: int | None
    payload: dict[str, Any]
    reason: str | None
    proposed_by: int
    proposed_at: dt.datetime


_PENDING_COLUMNS = (
    Change.id,
    Change.kind,
    Change.incident_id,
    Change.payload,
    Change.reason,
    Change.proposed_by,
    Change.proposed_at,
)


def _pending(r: Any) -> PendingChange:
    return PendingChange(
        int(r[0]), ChangeKind(r[1]), r[2], dict(r[3]), r[4], int(r[5]), as_utc(r[6])
    )


async def pending_changes(db: Reader, *, limit: int = 20) -> tuple[list[PendingChange], int]:
    """The oldest changes awaiting review (up to ``limit``) and how many are waiting in all."""
    waiting = await db.scalar(
        select(func.count()).select_from(Change).where(Change.status == ChangeStatus.PENDING)
    )
    rows = await db.execute(
        select(*_PENDING_COLUMNS)
        .where(Change.status == ChangeStatus.PENDING)
        .order_by(Change.id)
        .limit(limit)
    )
    return [_pending(r) for r in rows], int(waiting or 0)


async def pending_change(db: Reader, change_id: int) -> PendingChange | None:
    """One change if it is still waiting for review."""
    rows = await db.execute(
        select(*_PENDING_COLUMNS).where(
            Change.id == change_id, Change.status == ChangeStatus.PENDING
        )
    )
    row = rows.first()
    return _pending(row) if row is not None else None


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


async def history(db: Reader, incident_id: int) -> History | None:
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
