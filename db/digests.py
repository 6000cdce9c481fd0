"""What a chat's digest holds, and deciding it: the outbox row and the next due time are written
in one transaction, so a digest is decided once per period however often the job runs.

A digest covers the period from the subscription's ``period_start`` to the moment it is decided:
- the published incidents matching its filters that were recorded in that period;
- corrections and retractions, made in that period, of incidents an earlier digest showed this
  chat (``digest_items`` holds the version each chat was sent);
- the running totals for its filters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes, outbox, queries
from db.changes import as_utc
from db.models import AuditEntry, DigestItem, Incident, Subscription
from db.queries import IncidentFilter, IncidentRow, Stats
from db.schedule import Frequency, next_due
from db.subscriptions import SubscriptionView, view_of

#: New incidents listed in one digest; more are counted, with a pointer to /incidents.
MAX_NEW = 50
MAX_CORRECTIONS = 50


@dataclass(frozen=True, slots=True)
class Correction:
    incident_id: int
    #: The incident as this chat was sent it, and as it is now (``db.changes.snapshot`` form).
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Digest:
    subscription: SubscriptionView
    start: dt.datetime
    end: dt.datetime
    new: tuple[IncidentRow, ...]
    new_total: int
    corrections: tuple[Correction, ...]
    totals: Stats
    #: The version each new incident is shown at.
    new_versions: dict[int, int]

    @property
    def empty(self) -> bool:
        return not self.new and not self.corrections

    @property
    def shown(self) -> list[tuple[int, int]]:
        """[incident id, version] of what this digest shows (recorded once it is sent)."""
        return [(row.id, self.new_versions.get(row.id, 1)) for row in self.new] + [
            (c.incident_id, int(c.after["version"])) for c in self.corrections
        ]


def subscription_filter(subscription: SubscriptionView) -> IncidentFilter:
    s = subscription.settings
    return IncidentFilter(districts=s.districts, category=s.category)


async def _corrections(
    session: AsyncSession, chat_id: int, start: dt.datetime, end: dt.datetime
) -> list[Correction]:
    """Incidents this chat was sent that changed in (start, end], as sent and as they are."""
    changed = await session.execute(
        select(DigestItem.incident_id, DigestItem.version)
        .join(Incident, Incident.id == DigestItem.incident_id)
        .where(
            DigestItem.chat_id == chat_id,
            Incident.version > DigestItem.version,
            Incident.updated_at > start,
            Incident.updated_at <= end,
        )
        .order_by(DigestItem.incident_id)
        .limit(MAX_CORRECTIONS)
    )
    out = []
    for incident_id, seen in changed.all():
        current = await changes.incident_state(session, int(incident_id))
        # The incident as seen: the state before the first change after that version.
        before = await session.scalar(
            select(AuditEntry.before)
            .where(
                and_(
                    AuditEntry.incident_id == incident_id,
                    AuditEntry.version == int(seen) + 1,
                    AuditEntry.action.like("incident.%"),
                )
            )
            .limit(1)
        )
        if current is not None and before:
            out.append(Correction(int(incident_id), before, current))
    return out


async def compose(
    session: AsyncSession, subscription: SubscriptionView, end: dt.datetime
) -> Digest:
    start = subscription.period_start
    f = subscription_filter(subscription)
    new, new_total = await queries.incidents_recorded_between(session, f, start, end, limit=MAX_NEW)
    # The versions the new incidents are shown at.
    versions: dict[int, int] = {}
    if new:
        rows = await session.execute(
            select(Incident.id, Incident.version).where(Incident.id.in_([r.id for r in new]))
        )
        versions = {int(i): int(v) for i, v in rows}
    corrections = await _corrections(session, subscription.chat_id, start, end)
    totals = await queries.stats(session, f, leading=0)
    return Digest(subscription, start, end, new, new_total, tuple(corrections), totals, versions)


#: Turns a digest into the messages to send (the chat's language, Telegram HTML, each part
#: under Telegram's limit); given by the caller, so that the store knows nothing of rendering.
Render = Callable[[Digest], Sequence[str]]


async def decide(
    session: AsyncSession,
    chat_id: int,
    now: dt.datetime,
    tz: ZoneInfo,
    render: Render,
    *,
    now_instead_of_schedule: bool = False,
) -> bool:
    """If the chat's digest has fallen due by ``now``: compose it, put it in the outbox (unless
    there is nothing new and the chat asked for nothing then), and move the schedule on. Returns
    whether a digest was queued. Call it in ``Database.write()``: deciders of several processes
    take turns, and the due time is read again here.

    ``now_instead_of_schedule`` (``/digest_now``): decide at once whatever the schedule says,
    keyed by ``now``; the next scheduled digest then covers only what comes after."""
    row = await session.get(Subscription, chat_id, populate_existing=True)
    if row is None or not row.active:
        return False
    if not now_instead_of_schedule and as_utc(row.next_due_at) > now:
        return False
    subscription = view_of(row)
    due = now if now_instead_of_schedule else subscription.next_due_at
    digest = await compose(session, subscription, now)
    queued = False
    if not digest.empty or subscription.settings.send_empty:
        queued = await outbox.enqueue(session, chat_id, due, render(digest), digest.shown, now)
    s = subscription.settings
    row.period_start = now
    if not now_instead_of_schedule:
        row.next_due_at = next_due(now, Frequency(s.frequency), s.at, tz, s.weekday)
    await session.flush()
    return queued
