"""Incidents as readers see them (/incidents, digests) and where the data come from (/sources)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from db.domain.figures import Counts, DatedValue
from db.domain.records import DatePrecision, Device


@dataclass(frozen=True, slots=True)
class SourceRef:
    url: str
    title: str | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    date: DatedValue
    district_id: int | None
    settlement: str | None
    counts: Counts
    device: Device
    activity: str | None
    sources: tuple[SourceRef, ...]


@dataclass(frozen=True, slots=True)
class IncidentPage:
    rows: tuple[IncidentRow, ...]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class IssuerSummary:
    issuer: str
    statements: int
    latest: dt.date


@dataclass(frozen=True, slots=True)
class SourcesSummary:
    incidents: int
    source_links: int
    outlets: tuple[tuple[str, int], ...]
    #: Official totals by named issuer.
    issuers: tuple[IssuerSummary, ...]
    #: Figures from media reports that name no issuer (kept, never shown as official).
    unattributed: int
    first_incident: dt.date | None
    latest_incident: dt.date | None
    #: When the records in this store last changed (a load or an edit).
    last_change: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ExportRow:
    """Everything public about one published incident. Not here: who recorded or changed it
    (admins' Telegram ids) and its status (only published incidents are exported)."""

    id: int
    date: dt.date
    date_end: dt.date
    date_precision: DatePrecision
    date_note: str | None
    district_id: int | None
    settlement: str | None
    #: Restricted to the filter's category, as /stats and /incidents count them.
    counts: Counts
    device: Device
    activity: str | None
    description: str
    #: In the order they were recorded; never empty for incidents recorded through the bot.
    sources: tuple[SourceRef, ...]
    version: int
    #: When the incident was recorded here (UTC).
    recorded_at: dt.datetime
    #: When it last changed (UTC).
    updated_at: dt.datetime


#: Host prefixes that name an edition of an outlet, not another outlet (en.trend.az is Trend).
_EDITION_PREFIXES = ("www.", "m.", "en.", "ru.", "az.")


def outlet(url: str) -> str:
    """The outlet of a source link: its host without ``www.`` or a language edition's prefix."""
    host = urlsplit(url).hostname or url
    for prefix in _EDITION_PREFIXES:
        if host.startswith(prefix) and host.count(".") > 1:
            host = host.removeprefix(prefix)
    return host
