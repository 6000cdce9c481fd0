"""What admins ask the store to record, as plain values: a new incident or official total
(validated, not stored yet), an edit's fields, and an incident's storage form.

The storage form is an incident's editable fields and status as JSON values: the audit trail keeps
it as each change's before and after, a change kept for review keeps its payload in it, and the
rendering layer shows it. Pure: no database, no Telegram.
"""

from __future__ import annotations

import calendar
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from db.domain.records import DatePrecision, Device, IncidentStatus

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


def date_span(day: dt.date, precision: DatePrecision) -> tuple[dt.date, dt.date]:
    """The first and last day that a date of this precision may stand for."""
    if precision is DatePrecision.DAY:
        return day, day
    if precision is DatePrecision.MONTH:
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)
    return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)


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


def natural_key(draft: IncidentDraft) -> tuple[Any, ...]:
    """What makes two rows the same incident for an import (as for the shipped dataset)."""
    return (
        draft.span[0],
        draft.district_id,
        *(getattr(draft, name) for name in COUNT_FIELDS),
        draft.source_url,
    )


@dataclass
class ImportReport:
    """What an import did: the incidents it added, and the lines it skipped."""

    added: list[int] = field(default_factory=list)
    #: Line numbers of rows already in the store (or repeated in the file).
    skipped: list[int] = field(default_factory=list)


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


# -- the storage form -----------------------------------------------------------------------------


def snapshot(incident: Any, sources: Sequence[str]) -> dict[str, Any]:
    """An incident's editable fields and status, as JSON values (the audit's before and after);
    ``incident`` is a stored incident or a row with the same columns."""
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
