"""What ``/status`` shows of the store: schema, incidents, subscribers, the outbox, the digests.

The last digest run is read from the outbox, the one record every process shares: a run that
decides digests writes its rows with one ``created_at`` (the moment the run started), and its
senders mark them sent or failed. So the status names the last run that decided something, how
many digests it decided and what became of them, whichever process ran it. A run that finds
nothing due writes nothing and leaves no trace (that needs a write every minute per process).
Every count here is read through an index or a range of the outbox's primary key.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, func, select, text
from sqlalchemy.engine import URL, make_url

from db import migrate
from db.domain.records import IncidentStatus, OutboxStatus
from db.domain.status import DatabaseName, DigestRun, StoreStatus
from db.models import Incident, OutboxMessage, Subscription, as_utc
from db.queries import Reader

WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def database_name(url: str | URL) -> DatabaseName:
    """``SQLite`` and the file's name, or ``PostgreSQL`` and host[:port]/database; never a user
    name, a password or a folder."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ":memory:"
        name = database if database == ":memory:" else database.replace("\\", "/").rsplit("/")[-1]
        return DatabaseName("SQLite", name)
    host = parsed.host or "localhost"
    if parsed.port:
        host = f"{host}:{parsed.port}"
    return DatabaseName("PostgreSQL", f"{host}/{parsed.database or ''}")


async def _count(db: Reader, statement: Select[int]) -> int:
    return int(await db.scalar(statement) or 0)


async def last_digest_run(db: Reader) -> DigestRun | None:
    """The rows of the newest run: from the newest row back to the first row of an older run (a
    backward walk of the primary key that stops there)."""
    newest = (
        await db.execute(
            select(OutboxMessage.id, OutboxMessage.created_at)
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    ).first()
    if newest is None:
        return None
    newest_id = int(newest.id)
    at = select(OutboxMessage.created_at).where(OutboxMessage.id == newest_id).scalar_subquery()
    before = await db.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.created_at != at, OutboxMessage.id < newest_id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    rows = await db.execute(
        select(OutboxMessage.status, func.count(), func.max(OutboxMessage.sent_at))
        .where(OutboxMessage.id > int(before or 0), OutboxMessage.created_at == at)
        .group_by(OutboxMessage.status)
    )
    counts: dict[OutboxStatus, int] = {}
    last_sent: dt.datetime | None = None
    for status, count, sent_at in rows:
        counts[OutboxStatus(status)] = int(count)
        if sent_at is not None:
            sent_at = as_utc(sent_at)
            last_sent = sent_at if last_sent is None else max(last_sent, sent_at)
    return DigestRun(
        decided_at=as_utc(newest.created_at),
        decided=sum(counts.values()),
        sent=counts.get(OutboxStatus.SENT, 0),
        waiting=sum(counts.get(s, 0) for s in WAITING),
        failed=counts.get(OutboxStatus.FAILED, 0),
        dropped=counts.get(OutboxStatus.DROPPED, 0),
        last_sent_at=last_sent,
    )


async def store_status(db: Reader, url: str | URL) -> StoreStatus:
    """The store as ``/status`` shows it; ``url``: the database's (named without credentials)."""
    revision = await db.scalar(text("SELECT version_num FROM alembic_version"))
    return StoreStatus(
        database=database_name(url),
        revision=str(revision) if revision is not None else None,
        head_revision=migrate.head_revision(),
        published_incidents=await _count(
            db,
            select(func.count())
            .select_from(Incident)
            .where(Incident.status == IncidentStatus.PUBLISHED),
        ),
        active_subscribers=await _count(
            db, select(func.count()).select_from(Subscription).where(Subscription.active)
        ),
        outbox_waiting=await _count(
            db,
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(WAITING)),
        ),
        outbox_failed=await _count(
            db,
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.FAILED),
        ),
        last_run=await last_digest_run(db),
    )
