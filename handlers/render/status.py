"""Rendering of ``/status`` for admins: version, uptime, database, figures, outbox, digests.

Every value escaped, numbers and dates through Babel in the chat's language, counts through
``ngettext``; the database is named without credentials (see ``db.status.database_name``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_timedelta

from db.domain.status import DigestRun, StoreStatus
from handlers.render import bold, escape
from locales.i18n import Translator


@dataclass(frozen=True, slots=True)
class BotStatus:
    """What the process knows of itself, beside what the store says."""

    version: str | None
    started_at: dt.datetime
    now: dt.datetime
    store: StoreStatus


def _uptime(t: Translator, started_at: dt.datetime, now: dt.datetime) -> str:
    delta = max(now - started_at, dt.timedelta(0))
    return format_timedelta(delta, granularity="second", locale=t.locale)


def _digest_lines(t: Translator, run: DigestRun | None) -> list[str]:
    if run is None:
        return [escape(t._("Digests: none decided yet."))]
    decided = t.ngettext("{n} digest", "{n} digests", run.decided).format(n=t.number(run.decided))
    outcome = [
        t.ngettext("{n} sent", "{n} sent", run.sent).format(n=t.number(run.sent)),
        t.ngettext("{n} waiting", "{n} waiting", run.waiting).format(n=t.number(run.waiting)),
        t.ngettext("{n} failed", "{n} failed", run.failed).format(n=t.number(run.failed)),
    ]
    if run.dropped:
        outcome.append(
            t.ngettext(
                "{n} dropped (subscription ended)", "{n} dropped (subscriptions ended)", run.dropped
            ).format(n=t.number(run.dropped))
        )
    lines = [
        escape(
            # NOTE: {digests} is "6 digests", {outcome} a list such as "2 sent, 1 waiting, 1 failed".
            t._("Last digest run: {when}, {digests} decided: {outcome}.").format(
                when=t.datetime(run.decided_at), digests=decided, outcome=", ".join(outcome)
            )
        )
    ]
    if run.last_sent_at is not None:
        lines.append(
            escape(t._("Last digest sent: {when}.").format(when=t.datetime(run.last_sent_at)))
        )
    return lines


def render_status(t: Translator, status: BotStatus) -> str:
    store = status.store
    revision = store.revision or "—"
    if store.revision != store.head_revision:
        schema = t._("Schema revision: {revision} (this version's latest: {head})").format(
            revision=revision, head=store.head_revision or "—"
        )
    else:
        schema = t._("Schema revision: {revision}").format(revision=revision)
    waiting, failed = store.outbox_waiting, store.outbox_failed
    outbox = t._("Outbox: {waiting}, {failed}").format(
        waiting=t.ngettext("{n} digest waiting", "{n} digests waiting", waiting).format(
            n=t.number(waiting)
        ),
        failed=t.ngettext("{n} failed", "{n} failed", failed).format(n=t.number(failed)),
    )
    incidents, subscribers = store.published_incidents, store.active_subscribers
    lines = [
        bold(t._("Bot status")),
        escape(t._("Version: {version}").format(version=status.version or t._("unknown"))),
        escape(
            t._("Running since {since} ({uptime})").format(
                since=t.datetime(status.started_at),
                uptime=_uptime(t, status.started_at, status.now),
            )
        ),
        escape(
            # NOTE: {kind} is SQLite or PostgreSQL; {name} a file name or host/database.
            t._("Database: {kind}, {name}").format(
                kind=store.database.kind, name=store.database.name
            )
        ),
        escape(schema),
        escape(
            t.ngettext("{n} published incident", "{n} published incidents", incidents).format(
                n=t.number(incidents)
            )
        ),
        escape(
            t.ngettext("{n} active subscriber", "{n} active subscribers", subscribers).format(
                n=t.number(subscribers)
            )
        ),
        escape(outbox),
        *_digest_lines(t, store.last_run),
    ]
    return "\n".join(lines)
