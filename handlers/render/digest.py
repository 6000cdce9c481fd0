"""Digests and subscription settings as localised Telegram HTML; a long digest is split into
messages below Telegram's limit, between entries."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from babel.dates import get_day_names
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.digests import Correction, Digest, SubscriptionView
from db.domain.gazetteer import Gazetteer
from db.domain.listing import IncidentRow
from db.domain.schedule import Frequency
from handlers.callbacks import SubscriptionAction, encode_subscription
from handlers.render import (
    MAX_MESSAGE,
    Rendered,
    bold,
    counts_block,
    escape,
    filters_text,
    visible_length,
)
from handlers.render.incidents import diff_lines
from handlers.render.listing import incident_entry
from locales.i18n import Catalogs, Translator

#: Room kept in each part for the "(2/3)" mark and safety.
_RESERVE = 100


def _filters(t: Translator, gazetteer: Gazetteer, digest: Digest) -> str:
    return filters_text(t, gazetteer, digest.subscription.settings.filter)


class DigestRenderer:
    """Renders the digests of one run, each in its chat's language (``Digest.language``): an
    incident listed in many digests is rendered once per language."""

    def __init__(self, catalogs: Catalogs, gazetteer: Gazetteer) -> None:
        self.catalogs = catalogs
        self.gazetteer = gazetteer
        self._entries: dict[tuple[str, IncidentRow], str] = {}

    def __call__(self, digest: Digest) -> list[str]:
        t = self.catalogs.translator(digest.language)
        return render_digest(t, self.gazetteer, digest, self._entry)

    def _entry(self, t: Translator, gazetteer: Gazetteer, row: IncidentRow) -> str:
        key = (t.lang, row)
        found = self._entries.get(key)
        if found is None:
            found = self._entries[key] = incident_entry(t, gazetteer, row)
        return found


def render_digest(
    t: Translator,
    gazetteer: Gazetteer,
    digest: Digest,
    entry: Callable[[Translator, Gazetteer, IncidentRow], str] = incident_entry,
) -> list[str]:
    """The digest's messages, in order, each within Telegram's limit."""
    head = [
        bold(t._("Digest of new mine and UXO casualty reports")),
        escape(_filters(t, gazetteer, digest)),
        escape(t._("Since {start}").format(start=t.datetime(digest.start))),
    ]
    blocks: list[str] = []
    if digest.empty:
        blocks.append(escape(t._("Nothing new since the previous digest.")))
    if digest.new:
        count = t.ngettext(
            "{n} new incident recorded", "{n} new incidents recorded", digest.new_total
        ).format(n=t.number(digest.new_total))
        blocks.append(bold(count))
        blocks += [entry(t, gazetteer, row) for row in digest.new]
        if digest.new_total > len(digest.new):
            more = digest.new_total - len(digest.new)
            blocks.append(
                escape(
                    t.ngettext(
                        "… and {n} more: see /incidents.", "… and {n} more: see /incidents.", more
                    ).format(n=t.number(more))
                )
            )
    if digest.corrections:
        blocks.append(bold(t._("Corrections to incidents in earlier digests")))
        blocks += [_correction(t, gazetteer, c) for c in digest.corrections]
    blocks.append(_totals(t, digest))
    blocks.append(
        "<i>"
        + escape(
            t._(
                "Source: incidents reported individually by news media and official statements, "
                "each with its link in /incidents; see /sources. /subscription changes or stops "
                "this digest."
            )
        )
        + "</i>"
    )
    return split_blocks("\n".join(head), blocks)


def _correction(t: Translator, gazetteer: Gazetteer, correction: Correction) -> str:
    """An incident the chat was sent that changed since: retracted, or what was corrected."""
    if correction.after.get("status") == "retracted":
        heading = t._("#{id} was retracted: it no longer counts.").format(id=correction.incident_id)
    else:
        heading = t._("#{id} was corrected:").format(id=correction.incident_id)
    lines = [escape(heading)]
    if correction.after.get("status") != "retracted":
        lines += diff_lines(t, gazetteer, correction.before, correction.after)
    return "\n".join(lines)


def _totals(t: Translator, digest: Digest) -> str:
    totals = digest.totals
    return "\n".join(
        [
            bold(t._("Totals for these filters, all dates")),
            *counts_block(t, totals.counts, digest.subscription.settings.filter.category)[1:],
            escape(
                t.ngettext(
                    "{n} incident recorded", "{n} incidents recorded", totals.incidents
                ).format(n=t.number(totals.incidents))
            ),
        ]
    )


def split_blocks(head: str, blocks: Sequence[str]) -> list[str]:
    """Messages of whole blocks, the first one headed, each within Telegram's limit."""
    parts: list[list[str]] = [[head]]
    used = visible_length(head)
    for block in blocks:
        size = visible_length(block) + 2
        if used + size > MAX_MESSAGE - _RESERVE and parts[-1]:
            parts.append([])
            used = 0
        parts[-1].append(block)
        used += size
    return ["\n\n".join(part) for part in parts if part]


# -- /subscribe, /subscription --------------------------------------------------------------------


def schedule_text(t: Translator, view: SubscriptionView) -> str:
    s = view.settings
    at = s.at.strftime("%H:%M")
    if s.frequency is Frequency.DAILY:
        return t._("daily at {time}").format(time=at)
    return t._("weekly on {weekday} at {time}").format(weekday=_weekday(t, s.weekday), time=at)


def _weekday(t: Translator, weekday: int) -> str:
    return str(get_day_names("wide", locale=t.locale)[weekday])


def render_subscription(
    t: Translator, gazetteer: Gazetteer, view: SubscriptionView | None
) -> Rendered:
    if view is None or not view.active:
        return Rendered(
            escape(
                t._(
                    "This chat has no digest. /subscribe starts one: daily at 09:00, or for "
                    "example /subscribe weekly 18:30 Kalbajar civilian."
                )
            )
        )
    s = view.settings
    lines = [
        bold(t._("Digest of this chat")),
        escape(schedule_text(t, view)),
        escape(filters_text(t, gazetteer, s.filter)),
        escape(t._("Next: {when}").format(when=t.datetime(view.next_due_at))),
    ]
    other = Frequency.WEEKLY if s.frequency is Frequency.DAILY else Frequency.DAILY
    switch = (
        t.pgettext("button", "Weekly instead")
        if other is Frequency.WEEKLY
        else t.pgettext("button", "Daily instead")
    )
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    switch,
                    callback_data=encode_subscription(
                        SubscriptionAction.WEEKLY
                        if other is Frequency.WEEKLY
                        else SubscriptionAction.DAILY
                    ),
                ),
                InlineKeyboardButton(
                    t.pgettext("button", "Stop"),
                    callback_data=encode_subscription(SubscriptionAction.STOP),
                ),
            ]
        ]
    )
    return Rendered("\n".join(lines), keyboard)


def render_subscribed(t: Translator, gazetteer: Gazetteer, view: SubscriptionView) -> Rendered:
    rendered = render_subscription(t, gazetteer, view)
    intro = escape(
        t._("Subscribed. You will get what is new {schedule}.").format(
            schedule=schedule_text(t, view)
        )
    )
    return Rendered(intro + "\n\n" + rendered.text, rendered.keyboard)


def render_unsubscribed(t: Translator, stopped: bool) -> str:
    if stopped:
        return escape(t._("The digest of this chat is stopped. /subscribe starts it again."))
    return escape(t._("This chat has no digest."))


def render_group_admins_only(t: Translator) -> str:
    return t._("In a group, only its admins can change the digest.")


def render_digest_now(t: Translator, queued: int, sent: int, failed: int, ended: int) -> str:
    """What /digest_now did (labels and numbers, so no plural forms are needed)."""
    figures = (
        (t._("digests decided"), queued),
        (t._("sent"), sent),
        (t._("failed"), failed),
        (t._("subscriptions ended"), ended),
    )
    return escape(" · ".join(f"{label}: {t.number(n)}" for label, n in figures))
