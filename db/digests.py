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
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import changes, chats, listing, outbox, queries
from db.domain.digests import Correction, Digest, SubscriptionView
from db.domain.filters import Category, IncidentFilter
from db.domain.schedule import Frequency, next_due
from db.domain.stats import Stats
from db.listing import Recorded
from db.models import AuditEntry, DigestItem, Incident, Subscription, as_utc
from db.subscriptions import view_of

#: New incidents listed in one digest; more are counted, with a pointer to /incidents.
MAX_NEW = 50
MAX_CORRECTIONS = 50


def subscription_filter(subscription: SubscriptionView) -> IncidentFilter:
    return subscription.settings.filter


class _Composer:
    """Composes the digests of many chats up to one moment, in one transaction, sharing what
    they have in common: each filter's totals and recorded incidents are read once, each
    incident once. Use it inside ``Database.write()``, where nothing changes meanwhile."""

    def __init__(self, session: AsyncSession, end: dt.datetime) -> None:
        self.session = session
        self.end = end
        self._totals: dict[IncidentFilter, Stats] = {}
        self._recorded: dict[IncidentFilter, list[Recorded]] = {}
        self._states: dict[int, dict[str, Any] | None] = {}

    async def compose(
        self, views: Sequence[SubscriptionView], languages: dict[int, str | None]
    ) -> list[Digest]:
        groups: dict[IncidentFilter, list[SubscriptionView]] = {}
        for view in views:
            groups.setdefault(subscription_filter(view), []).append(view)
        for f, group in groups.items():
            earliest = min(v.period_start for v in group)
            self._recorded[f] = await listing.recorded_between(self.session, f, earliest, self.end)
            self._totals[f] = await queries.stats(self.session, f, leading=0)
        new: dict[int, list[Recorded]] = {}
        wanted: dict[Category | None, set[int]] = {}
        for view in views:
            f = subscription_filter(view)
            new[view.chat_id] = [r for r in self._recorded[f] if r.recorded_at > view.period_start]
            wanted.setdefault(f.category, set()).update(r.id for r in new[view.chat_id][:MAX_NEW])
        rows = {
            category: await listing.incident_rows(self.session, sorted(ids), category)
            for category, ids in wanted.items()
        }
        corrections = await self._corrections(views)
        out = []
        for view in views:
            f = subscription_filter(view)
            recorded = new[view.chat_id]
            shown = recorded[:MAX_NEW]
            out.append(
                Digest(
                    subscription=view,
                    chat_language=languages.get(view.chat_id),
                    start=view.period_start,
                    end=self.end,
                    new=tuple(rows[f.category][r.id] for r in shown),
                    new_total=len(recorded),
                    corrections=tuple(corrections.get(view.chat_id, ())),
                    totals=self._totals[f],
                    new_versions={r.id: r.version for r in shown},
                )
            )
        return out

    async def _corrections(self, views: Sequence[SubscriptionView]) -> dict[int, list[Correction]]:
        """Incidents each chat was sent that changed in its period, as sent and as they are."""
        starts = {v.chat_id: v.period_start for v in views}
        changed = await self.session.execute(
            select(
                DigestItem.chat_id, DigestItem.incident_id, DigestItem.version, Incident.updated_at
            )
            .join(Incident, Incident.id == DigestItem.incident_id)
            .where(
                DigestItem.chat_id.in_(list(starts)),
                Incident.version > DigestItem.version,
                Incident.updated_at > min(starts.values()),
                Incident.updated_at <= self.end,
            )
            .order_by(DigestItem.chat_id, DigestItem.incident_id)
        )
        out: dict[int, list[Correction]] = {}
        befores: dict[tuple[int, int], dict[str, Any] | None] = {}
        for chat_id, incident_id, seen, updated_at in changed.all():
            chat_id, incident_id, seen = int(chat_id), int(incident_id), int(seen)
            found = out.setdefault(chat_id, [])
            if as_utc(updated_at) <= starts[chat_id] or len(found) >= MAX_CORRECTIONS:
                continue
            if incident_id not in self._states:
                self._states[incident_id] = await changes.incident_state(self.session, incident_id)
            if (incident_id, seen) not in befores:
                befores[incident_id, seen] = await self._as_seen(incident_id, seen)
            current, before = self._states[incident_id], befores[incident_id, seen]
            if current is not None and before:
                found.append(Correction(incident_id, before, current))
        return out

    async def _as_seen(self, incident_id: int, seen: int) -> dict[str, Any] | None:
        """The incident at version ``seen``: the state before the first change after it."""
        before: dict[str, Any] | None = await self.session.scalar(
            select(AuditEntry.before)
            .where(
                and_(
                    AuditEntry.incident_id == incident_id,
                    AuditEntry.version == seen + 1,
                    AuditEntry.action.like("incident.%"),
                )
            )
            .limit(1)
        )
        return before


#: Turns a digest into the messages to send (the chat's language, Telegram HTML, each part
#: under Telegram's limit); given by the caller, so that the store knows nothing of rendering.
Render = Callable[[Digest], Sequence[str]]


async def decide_many(
    session: AsyncSession,
    chat_ids: Sequence[int],
    now: dt.datetime,
    tz: ZoneInfo,
    render: Render,
    *,
    now_instead_of_schedule: bool = False,
) -> list[int]:
    """For each chat whose digest has fallen due by ``now``: compose it, put it in the outbox
    (unless there is nothing new and the chat asked for nothing then), and move the schedule on.
    Returns the chats whose digest was queued. Call it in ``Database.write()``: deciders of
    several processes take turns, and the due times are read again here.

    ``now_instead_of_schedule`` (``/digest_now``): decide at once whatever the schedule says,
    keyed by ``now``; the next scheduled digest then covers only what comes after."""
    if not chat_ids:
        return []
    rows = (
        await session.scalars(
            select(Subscription)
            .where(Subscription.chat_id.in_(list(chat_ids)), Subscription.active.is_(True))
            .order_by(Subscription.chat_id)
            .execution_options(populate_existing=True)
        )
    ).all()
    if not now_instead_of_schedule:
        rows = [row for row in rows if as_utc(row.next_due_at) <= now]
    if not rows:
        return []
    languages = await chats.chat_languages(session, [row.chat_id for row in rows])
    views = [view_of(row) for row in rows]
    digests = await _Composer(session, now).compose(views, languages)
    queued = []
    for row, view, digest in zip(rows, views, digests, strict=True):
        s = view.settings
        if not digest.empty or s.send_empty:
            due = now if now_instead_of_schedule else view.next_due_at
            queued.append(outbox.Queued(row.chat_id, due, render(digest), digest.shown))
        row.period_start = now
        if not now_instead_of_schedule:
            row.next_due_at = next_due(now, Frequency(s.frequency), s.at, tz, s.weekday)
    written = await outbox.enqueue(session, queued, now)
    await session.flush()
    return [item.chat_id for item in queued if item.chat_id in written]


async def decide(
    session: AsyncSession,
    chat_id: int,
    now: dt.datetime,
    tz: ZoneInfo,
    render: Render,
    *,
    now_instead_of_schedule: bool = False,
) -> bool:
    """``decide_many`` for one chat: whether its digest was queued."""
    queued = await decide_many(
        session, [chat_id], now, tz, render, now_instead_of_schedule=now_instead_of_schedule
    )
    return bool(queued)
