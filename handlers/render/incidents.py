"""Rendering of incidents and official totals for admins: cards, one field as the reader knows it,
and the differences between two versions.

An incident is given in the storage form of ``db.domain.drafts.snapshot``. Same rules as the rest
of the rendering layer: every dynamic value escaped, numbers and dates through Babel.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from db.domain.drafts import COUNT_FIELDS, IncidentDraft, OfficialDraft
from db.domain.figures import Counts
from db.domain.gazetteer import Gazetteer
from db.domain.listing import outlet
from db.domain.records import DatePrecision, Device
from handlers.render import (
    ACTIVITY_LABELS,
    DEVICE_LABELS,
    SEPARATOR,
    bold,
    escape,
    incident_counts,
    link,
)
from handlers.render.problems import short
from locales.i18n import N_, Translator

#: A note is shown whole in cards, shortened in lists and in the history's differences; so is a
#: link (its outlet is a link in cards).
MAX_NOTE_IN_LIST = 120
MAX_URL_IN_LIST = 80


def place_of(t: Translator, gazetteer: Gazetteer, state: Mapping[str, Any]) -> str:
    district = state.get("district_id")
    place = [gazetteer.name(district, t.lang) if district else t._("district not stated")]
    if state.get("settlement"):
        place.append(str(state["settlement"]))
    return ", ".join(place)


def _date(t: Translator, state: Mapping[str, Any]) -> str:
    return t.date(dt.date.fromisoformat(state["date"]), DatePrecision(state["date_precision"]))


def _counts(state: Mapping[str, Any]) -> Counts:
    return Counts(*(int(state.get(name) or 0) for name in COUNT_FIELDS))


def _device(t: Translator, value: str) -> str:
    return t._(DEVICE_LABELS[Device(value)])


def _activity(t: Translator, value: str) -> str:
    label = ACTIVITY_LABELS.get(value)
    return t._(label) if label else value


STATUS_LABELS = {
    "published": N_("published"),
    "retracted": N_("retracted: not counted in figures or lists"),
}


def incident_card(
    t: Translator, gazetteer: Gazetteer, state: Mapping[str, Any], heading: str
) -> str:
    """An incident (in the storage form of ``db.domain.drafts.snapshot``) as a few lines of HTML."""
    details = [incident_counts(t, _counts(state)), _device(t, state["device"])]
    if state.get("activity"):
        details.append(_activity(t, state["activity"]))
    sources = ", ".join(link(url, outlet(url)) for url in state.get("sources", ()))
    lines = [
        bold(heading),
        f"{bold(_date(t, state))} · {escape(place_of(t, gazetteer, state))}",
        escape(SEPARATOR.join(details)),
        escape(t._("Source: {links}")).format(links=sources or "—"),
    ]
    if state.get("description"):
        lines.append(escape(t._("Note: {note}").format(note=state["description"])))
    return "\n".join(lines)


def draft_card(t: Translator, gazetteer: Gazetteer, draft: IncidentDraft, heading: str) -> str:
    return incident_card(t, gazetteer, draft.storage(), heading)


FIELD_LABELS = {
    "date": N_("date"),
    "district_id": N_("district"),
    "settlement": N_("place"),
    "civilian_killed": N_("civilians killed"),
    "civilian_injured": N_("civilians injured"),
    "military_killed": N_("military killed"),
    "military_injured": N_("military injured"),
    "device": N_("device"),
    "activity": N_("activity"),
    "description": N_("note"),
    "sources": N_("source"),
    "status": N_("status"),
}


def field_value(t: Translator, gazetteer: Gazetteer, key: str, state: Mapping[str, Any]) -> str:
    """Plain text: one field of an incident as the reader knows it."""
    value = state.get(key)
    if value is None or value == "" or value == []:
        return "—"
    if key == "date":
        return _date(t, state)
    if key == "district_id":
        return gazetteer.name(int(value), t.lang)
    if key == "device":
        return _device(t, value)
    if key == "activity":
        return _activity(t, value)
    if key == "sources":
        return ", ".join(short(url, MAX_URL_IN_LIST) for url in value)
    if key == "status":
        label = STATUS_LABELS.get(value)
        return t._(label) if label else str(value)
    if key == "description":
        return short(str(value), MAX_NOTE_IN_LIST)
    if key in COUNT_FIELDS:
        return t.number(int(value))
    return str(value)


def diff_lines(
    t: Translator, gazetteer: Gazetteer, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[str]:
    """``• civilians injured: 1 → 2`` for every field that differs (HTML)."""
    lines = []
    for key in FIELD_LABELS:
        # ``after`` may be a whole incident or only the fields an edit sets.
        if key == "date":
            changed = "date" in after and any(
                before.get(k) != after.get(k) for k in ("date", "date_precision")
            )
        else:
            changed = key in after and before.get(key) != after.get(key)
        if changed:
            lines.append(
                escape(
                    f"• {t._(FIELD_LABELS[key])}: {field_value(t, gazetteer, key, before)} → "
                    f"{field_value(t, gazetteer, key, after)}"
                )
            )
    return lines


def summary(t: Translator, gazetteer: Gazetteer, state: Mapping[str, Any]) -> str:
    """Plain text: an incident's date, place and counts on one line."""
    counts = incident_counts(t, _counts(state))
    return f"{_date(t, state)} · {place_of(t, gazetteer, state)} · {counts}"


# -- official totals --------------------------------------------------------------------------------

OFFICIAL_FIGURE_LABELS = {
    "total": N_("total"),
    "killed": N_("killed"),
    "injured": N_("injured"),
    "civilian_killed": N_("civilians killed"),
    "civilian_injured": N_("civilians injured"),
    "military_killed": N_("military killed"),
    "military_injured": N_("military injured"),
}


def official_card(t: Translator, gazetteer: Gazetteer, draft: OfficialDraft, heading: str) -> str:
    figures = SEPARATOR.join(
        f"{t._(label)}: {t.number(value)}"
        for key, label in OFFICIAL_FIGURE_LABELS.items()
        if (value := draft.figures.get(key)) is not None
    )
    lines = [
        bold(heading),
        escape(
            t._("{issuer}, as of {date}, counting from {start}").format(
                issuer=gazetteer.issuer(draft.issuer, t.lang),
                date=t.date(draft.as_of),
                start=t.date(draft.period_start),
            )
        ),
        escape(figures),
        escape(t._("Source: {links}")).format(
            links=link(draft.source_url, outlet(draft.source_url))
        ),
    ]
    if draft.published_on:
        lines.append(escape(t._("Made public on {date}").format(date=t.date(draft.published_on))))
    if draft.note:
        lines.append(escape(t._("Note: {note}").format(note=draft.note)))
    return "\n".join(lines)
