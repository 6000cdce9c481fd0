"""What ``/status`` shows of the store: the database, the schema, counts, the last digest run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DatabaseName:
    """A database named without credentials: its kind and its file name or host and name."""

    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class DigestRun:
    """The last run of the digests that decided something, and what became of its digests."""

    decided_at: dt.datetime
    decided: int
    sent: int
    waiting: int
    failed: int
    #: Not sent because the chat's subscription ended meanwhile.
    dropped: int
    #: When the last of them was sent (None: none yet).
    last_sent_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class StoreStatus:
    database: DatabaseName
    #: The schema's revision (None: not migrated), and the latest this version of the bot knows.
    revision: str | None
    head_revision: str | None
    published_incidents: int
    active_subscribers: int
    outbox_waiting: int
    outbox_failed: int
    last_run: DigestRun | None
