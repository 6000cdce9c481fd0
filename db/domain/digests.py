"""The plain types of the digests: what a chat asked for, its subscription as stored, an outbox
row claimed for sending, and what one run of the digests did."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from db.domain.filters import IncidentFilter
from db.domain.listing import IncidentRow
from db.domain.records import SubscriptionEnd
from db.domain.schedule import MONDAY, Frequency
from db.domain.stats import Stats


@dataclass(frozen=True, slots=True)
class DigestSettings:
    """What a chat asked for: how often, when (local time), about what."""

    frequency: Frequency = Frequency.DAILY
    at: dt.time = dt.time(9, 0)
    weekday: int = MONDAY
    #: The filters, with no period (a digest covers what is new since the previous one).
    filter: IncidentFilter = field(default_factory=IncidentFilter)
    send_empty: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    chat_id: int
    settings: DigestSettings
    language: str | None
    active: bool
    ended_reason: SubscriptionEnd | None
    period_start: dt.datetime
    next_due_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row a sender holds: the digest's messages, sent in order."""

    id: int
    chat_id: int
    parts: tuple[str, ...]
    attempts: int
    #: Parts delivered by an earlier attempt: sending resumes after them.
    parts_sent: int = 0
    #: When the claim runs out (another sender may take the row after that).
    claimed_until: dt.datetime | None = None

    @property
    def unsent(self) -> tuple[str, ...]:
        return self.parts[self.parts_sent :]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one run of the digests did: decided, sent, failed (for now), subscriptions ended."""

    queued: int = 0
    sent: int = 0
    failed: int = 0
    ended: int = 0


@dataclass(frozen=True, slots=True)
class Correction:
    incident_id: int
    #: The incident as this chat was sent it, and as it is now (``db.domain.drafts.snapshot`` form).
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Digest:
    subscription: SubscriptionView
    #: The language the chat chose with /language, if it did (else the one it subscribed in).
    chat_language: str | None
    start: dt.datetime
    end: dt.datetime
    new: tuple[IncidentRow, ...]
    new_total: int
    corrections: tuple[Correction, ...]
    totals: Stats
    #: The version each new incident is shown at.
    new_versions: dict[int, int]

    @property
    def language(self) -> str | None:
        return self.chat_language or self.subscription.language

    @property
    def empty(self) -> bool:
        return not self.new and not self.corrections

    @property
    def shown(self) -> list[tuple[int, int]]:
        """[incident id, version] of what this digest shows (recorded once it is sent)."""
        return [(row.id, self.new_versions.get(row.id, 1)) for row in self.new] + [
            (c.incident_id, int(c.after["version"])) for c in self.corrections
        ]
