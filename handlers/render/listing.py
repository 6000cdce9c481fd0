"""/incidents (a page of incidents, latest first, with their sources) and /sources (where the
data come from)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.filters import IncidentFilter
from db.domain.gazetteer import Gazetteer
from db.domain.listing import IncidentPage, IncidentRow, SourcesSummary, outlet
from handlers.callbacks import IncidentsPageData
from handlers.render import (
    ACTIVITY_LABELS,
    DEVICE_LABELS,
    MAX_MESSAGE,
    SEPARATOR,
    Rendered,
    bold,
    escape,
    filters_text,
    incident_counts,
    link,
)
from locales.i18n import Translator

PAGE_SIZE = 5
MAX_SOURCES_SHOWN = 3


def incident_entry(t: Translator, gazetteer: Gazetteer, row: IncidentRow) -> str:
    place = (
        [gazetteer.name(row.district_id, t.lang)]
        if row.district_id
        else [t._("district not stated")]
    )
    if row.settlement:
        place.append(row.settlement)
    details = [incident_counts(t, row.counts), t._(DEVICE_LABELS[row.device])]
    if row.activity:
        label = ACTIVITY_LABELS.get(row.activity)
        details.append(t._(label) if label else row.activity)
    sources = ", ".join(link(s.url, outlet(s.url)) for s in row.sources[:MAX_SOURCES_SHOWN])
    if len(row.sources) > MAX_SOURCES_SHOWN:
        sources += escape(f" (+{t.number(len(row.sources) - MAX_SOURCES_SHOWN)})")
    return "\n".join(
        [
            f"{bold(t.date(row.date.date, row.date.precision))} · {escape(', '.join(place))} "
            f"· #{row.id}",
            escape(SEPARATOR.join(details)),
            escape(t._("Source: {links}")).format(links=sources),
        ]
    )


def render_incidents(
    t: Translator, gazetteer: Gazetteer, f: IncidentFilter, page: IncidentPage
) -> Rendered:
    head = [bold(t._("Incidents, latest first")), escape(filters_text(t, gazetteer, f))]
    if page.total == 0:
        return Rendered(
            "\n".join([*head, "", escape(t._("No incidents are recorded for these filters."))])
        )
    # As many entries as fit in one message (the markup counts too, so this is conservative);
    # the next page starts after the last one shown.
    entries: list[str] = []
    room = MAX_MESSAGE - 200 - sum(len(line) + 1 for line in head)
    for row in page.rows:
        entry = incident_entry(t, gazetteer, row)
        if entries and len(entry) + 2 > room:
            break
        entries.append(entry)
        room -= len(entry) + 2
    first, last = page.offset + 1, page.offset + len(entries)
    head.append(
        escape(
            t._("{first}–{last} of {total}").format(
                first=t.number(first), last=t.number(last), total=t.number(page.total)
            )
        )
    )
    text = "\n\n".join(["\n".join(head), *entries])
    buttons = []
    if page.offset > 0:
        data = IncidentsPageData(max(0, page.offset - PAGE_SIZE), f).encode()
        if data:
            buttons.append(
                InlineKeyboardButton(t.pgettext("button", "‹ Newer"), callback_data=data)
            )
    if last < page.total:
        data = IncidentsPageData(last, f).encode()
        if data:
            buttons.append(
                InlineKeyboardButton(t.pgettext("button", "Older ›"), callback_data=data)
            )
    return Rendered(text, InlineKeyboardMarkup([buttons]) if buttons else None)


def render_sources(t: Translator, gazetteer: Gazetteer, summary: SourcesSummary) -> str:
    lines = [bold(t._("Where the figures come from")), ""]
    lines.append(
        escape(
            t._(
                "Incidents: reports of individual mine and unexploded-ordnance incidents in news media and "
                "official statements, each kept with its link. Victims are never named."
            )
        )
    )
    lines.append(
        escape(
            t.ngettext("{n} incident recorded", "{n} incidents recorded", summary.incidents).format(
                n=t.number(summary.incidents)
            )
        )
        + (
            escape(
                "; "
                + t._("from {start} to {end}").format(
                    start=t.date(summary.first_incident), end=t.date(summary.latest_incident)
                )
            )
            if summary.first_incident and summary.latest_incident
            else ""
        )
    )
    if summary.outlets:
        outlets = ", ".join(f"{host} ({t.number(n)})" for host, n in summary.outlets)
        lines.append(escape(t._("Most cited outlets: {outlets}").format(outlets=outlets)))
    lines += _official_lines(t, gazetteer, summary)
    if summary.last_change is not None:
        lines += [
            "",
            escape(
                t._("These records last changed here on {when}.").format(
                    when=t.datetime(summary.last_change)
                )
            ),
        ]
    return "\n".join(lines)


def _official_lines(t: Translator, gazetteer: Gazetteer, summary: SourcesSummary) -> list[str]:
    """The official totals by issuer, and how many figures name no issuer."""
    lines = []
    if summary.issuers:
        lines += ["", bold(t._("Official totals"))]
        for issuer in summary.issuers:
            lines.append(
                "• "
                + escape(
                    t.ngettext(
                        "{issuer}: {n} statement, latest as of {date}",
                        "{issuer}: {n} statements, latest as of {date}",
                        issuer.statements,
                    ).format(
                        issuer=gazetteer.issuer(issuer.issuer, t.lang),
                        n=t.number(issuer.statements),
                        date=t.date(issuer.latest),
                    )
                )
            )
    if summary.unattributed:
        lines.append(
            escape(
                t.ngettext(
                    "{n} further figure comes from a media report that does not name its source; "
                    "it is kept in the data but never shown as an official figure.",
                    "{n} further figures come from media reports that do not name their source; "
                    "they are kept in the data but never shown as official figures.",
                    summary.unattributed,
                ).format(n=t.number(summary.unattributed))
            )
        )
    return lines
