"""Digest subscriptions through the store: one per chat, started, changed, ended and read here,
for the chat (/subscribe, /unsubscribe, /subscription, the bot blocked or removed) and for the
digest senders (a chat that refuses the bot).

The rules: a new subscription is daily at the configured time unless /subscribe names another
frequency or time; subscribing again while one runs keeps what the request does not say (its
frequency, time, weekday and empty digests) and takes the request's filters; an ended one starts
again from the defaults, with a new period. A subscription ends (unsubscribed, the bot blocked by
the user, a 403 to a digest, or removed from the group) together with every undelivered digest of
its chat, in one transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from db import outbox, subscriptions
from db.domain.digests import DigestSettings, SubscriptionView
from db.domain.filters import IncidentFilter
from db.domain.records import SubscriptionEnd
from db.domain.schedule import Frequency
from db.session import Database


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """What /subscribe asked for: the filters, and the frequency and time when it named them."""

    #: The filters, with no period.
    filter: IncidentFilter = field(default_factory=IncidentFilter)
    frequency: Frequency | None = None
    at: dt.time | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Subscriptions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def current(self, chat_id: int) -> SubscriptionView | None:
        """The chat's subscription, running or ended (None: it never had one)."""
        async with self._db.session() as session:
            return await subscriptions.get(session, chat_id)

    async def subscribe(
        self,
        chat_id: int,
        request: SubscribeRequest,
        *,
        actor: int | None,
        tz: ZoneInfo,
        default_at: dt.time,
        language: str | None = None,
        now: dt.datetime | None = None,
    ) -> SubscriptionView:
        """Start the chat's digest, or change the running one (see the module's rules);
        ``language``: the one the chat is answered in now, for its digests."""
        async with self._db.write() as session:
            current = await subscriptions.get(session, chat_id)
            base = (
                current.settings
                if current is not None and current.active
                else DigestSettings(at=default_at)
            )
            settings = DigestSettings(
                frequency=request.frequency or base.frequency,
                at=request.at or base.at,
                weekday=base.weekday,
                filter=request.filter,
                send_empty=base.send_empty,
            )
            return await subscriptions.subscribe(
                session, chat_id, settings, actor, now or _now(), tz, language=language
            )

    async def change_frequency(
        self,
        chat_id: int,
        frequency: Frequency,
        *,
        actor: int | None,
        tz: ZoneInfo,
        now: dt.datetime | None = None,
    ) -> SubscriptionView | None:
        """The running digest made daily or weekly, the rest kept; None when none runs."""
        async with self._db.write() as session:
            current = await subscriptions.get(session, chat_id)
            if current is None or not current.active:
                return None
            settings = dataclasses.replace(current.settings, frequency=frequency)
            return await subscriptions.subscribe(
                session, chat_id, settings, actor, now or _now(), tz
            )

    async def end(
        self,
        chat_id: int,
        reason: SubscriptionEnd,
        *,
        detail: str | None = None,
        now: dt.datetime | None = None,
    ) -> bool:
        """Stop the chat's digest and drop what waits for it in the outbox (marked with
        ``detail``, such as Telegram's refusal, else the reason); False when none was running."""
        async with self._db.write() as session:
            stopped = await subscriptions.end(session, chat_id, reason, now or _now())
            await outbox.drop_chat(session, chat_id, detail or reason.value)
        return stopped
