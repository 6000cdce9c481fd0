"""The one rendering layer: typed results -> localised Telegram HTML.

Every dynamic value is escaped here, every number and date is formatted by Babel for the chat's
locale, every count goes through ``ngettext``, and nothing returned can exceed Telegram's limits.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from babel.numbers import format_decimal
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.figures import Counts
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.listing import IncidentPage, IncidentRow, SourcesSummary, outlet
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.schedule import Frequency
from handlers.callbacks import IncidentsPageData, encode_language
from handlers.parsing import MAX_SUGGESTED, Problem
from locales.i18n import N_, Translator

#: Telegram's limit for a message's text after entity parsing.
MAX_MESSAGE = 4096
SEPARATOR = " · "


#: Control characters other than tab and newline: Telegram's parser stops at NUL, and none of
#: them has any use in a message.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def utf16_length(text: str) -> int:
    """What Telegram counts against its limits (an HTML text counts at least this much)."""
    return len(text.encode("utf-16-le")) // 2


_TAG = re.compile(r"<[^>]*>")


def visible_length(markup: str) -> int:
    """What Telegram counts of an HTML text: its text after the tags are parsed (a link's address
    does not count), in UTF-16 units."""
    return utf16_length(html.unescape(_TAG.sub("", markup)))


def escape(value: object) -> str:
    """Escape a dynamic value for Telegram HTML text (``&``, ``<`` and ``>``)."""
    return html.escape(_CONTROL.sub("", str(value)), quote=False)


def bold(text: str) -> str:
    return f"<b>{escape(text)}</b>"


def link(url: str, text: str) -> str:
    return f'<a href="{html.escape(_CONTROL.sub("", url), quote=True)}">{escape(text)}</a>'


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


# -- vocabulary ----------------------------------------------------------------------------------

DEVICE_LABELS = {
    Device.ANTIPERSONNEL: N_("anti-personnel mine"),
    Device.ANTIVEHICLE: N_("anti-vehicle mine"),
    Device.IMPROVISED: N_("improvised explosive device"),
    Device.UXO: N_("unexploded ordnance"),
    Device.UNKNOWN: N_("device not stated"),
}

#: The activities the shipped data use; another dataset's values are shown as they are.
ACTIVITY_LABELS = {
    "demining": N_("demining"),
    "farming": N_("farming"),
    "herding": N_("herding"),
    "construction": N_("construction work"),
    "road-building": N_("road building"),
    "travel": N_("travelling"),
    "military-duty": N_("military duty"),
    "returning-home": N_("returning home"),
    "journalism": N_("journalistic work"),
    "utility-work": N_("utility work"),
    "body-recovery": N_("search for the dead"),
}

#: Words that select a category in filters, space-separated, translated per language.
CATEGORY_WORDS = {
    # NOTE: filter words for civilians, separated by spaces; users may type any of them.
    Category.CIVILIAN: N_("civilian civilians"),
    # NOTE: filter words for military personnel, separated by spaces; users may type any of them.
    Category.MILITARY: N_("military soldiers servicemen"),
}


#: Words that choose how often a digest comes, space-separated, translated per language.
FREQUENCY_WORDS = {
    # NOTE: /subscribe words for a digest every day, separated by spaces.
    Frequency.DAILY: N_("daily day"),
    # NOTE: /subscribe words for a digest every week, separated by spaces.
    Frequency.WEEKLY: N_("weekly week"),
}


def category_words(t: Translator, category: Category) -> list[str]:
    return t._(CATEGORY_WORDS[category]).split()


def people(t: Translator, n: int) -> str:
    return t.ngettext("{n} person", "{n} people", n).format(n=t.number(n))


def signed(t: Translator, n: int) -> str:
    """A difference with its sign (``+292``, ``-5``); zero has none."""
    if n == 0:
        return t.number(0)
    return format_decimal(n, format="+#,##0;-#,##0", locale=t.locale)


# -- filters and periods -------------------------------------------------------------------------


def period_text(t: Translator, period: Period) -> str:
    """``2023``, ``July 2023``, ``13 July 2023``, ``1 Jan 2021 – 30 Jun 2021``, ``from …``."""
    start, end = period.start, period.end
    if start and end:
        if start == end:
            return t.date(start)
        if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
            same_year = start.year == end.year
            if same_year and start.month == 1 and end.month == 12:
                return t.date(start, DatePrecision.YEAR)
            if same_year and start.month == end.month:
                return t.date(start, DatePrecision.MONTH)
        return t._("{start} to {end}").format(start=t.date(start), end=t.date(end))
    if start:
        return t._("from {start}").format(start=t.date(start))
    if end:
        return t._("until {end}").format(end=t.date(end))
    return t._("all dates")


def category_label(t: Translator, category: Category) -> str:
    if category is Category.CIVILIAN:
        return t._("civilians")
    return t._("military personnel")


def filters_summary(t: Translator, gazetteer: Gazetteer, f: IncidentFilter) -> str:
    """``Fuzuli · 2023 · civilians``."""
    districts = (
        ", ".join(gazetteer.name(d, t.lang) for d in f.districts)
        if f.districts
        else t._("all districts")
    )
    parts = [districts, period_text(t, f.period)]
    if f.category is not None:
        parts.append(category_label(t, f.category))
    return SEPARATOR.join(parts)


def filters_text(t: Translator, gazetteer: Gazetteer, f: IncidentFilter) -> str:
    return t._("Filters: {filters}").format(filters=filters_summary(t, gazetteer, f))


MAX_PROBLEMS = MAX_SUGGESTED
MAX_ECHOED_WORD = 60


def render_problems(t: Translator, gazetteer: Gazetteer, problems: Sequence[Problem]) -> str:
    """Name each word that was not understood (at most a few), then how filters are written."""
    lines = []
    for problem in problems[:MAX_PROBLEMS]:
        word = problem.word
        if len(word) > MAX_ECHOED_WORD:
            word = word[: MAX_ECHOED_WORD - 1] + "…"
        if problem.kind is ProblemKind.UNKNOWN_WORD:
            line = t._("I did not understand “{word}”.").format(word=word)
            if problem.suggestions:
                names = ", ".join(gazetteer.name(d, t.lang) for d in problem.suggestions)
                line += " " + t._("Did you mean: {districts}?").format(districts=names)
        elif problem.kind is ProblemKind.BAD_DATE:
            line = t._("“{word}” is not a valid date.").format(word=word)
        elif problem.kind is ProblemKind.BAD_RANGE:
            line = t._(
                "“{word}” is not a valid period: its start must not be after its end."
            ).format(word=word)
        elif problem.kind is ProblemKind.EMPTY_RANGE:
            line = t._(
                "“{word}” is not a period: give a start, an end or both, as in 2021..2022."
            ).format(word=word)
        elif problem.kind is ProblemKind.TWO_PERIODS:
            line = t._("Give one period only (“{word}” is a second one).").format(word=word)
        elif problem.kind is ProblemKind.BAD_TIME:
            line = t._("“{word}” is not a time of day like 09:00.").format(word=word)
        elif problem.kind is ProblemKind.PERIOD_IN_SUBSCRIPTION:
            line = t._(
                "A subscription has no period: each digest covers what is new since the "
                "previous one."
            )
        elif problem.kind is ProblemKind.COMPARE_WHAT:
            line = t._(
                "Give two periods or two districts to compare, as in /compare 2022 2023 or "
                "/compare {first} {second}."
            ).format(first=example_district(t, gazetteer), second=example_district(t, gazetteer, 1))
        elif problem.kind is ProblemKind.TWO_FREQUENCIES:
            line = t._("Choose daily or weekly, not both (“{word}”).").format(word=word)
        else:
            line = t._("Choose civilians or military, not both (“{word}”).").format(word=word)
        lines.append(line)
    lines += ["", filter_syntax(t, gazetteer)]
    return "\n".join(escape(line) for line in lines)


def filter_syntax(t: Translator, gazetteer: Gazetteer) -> str:
    """Plain text: how filters are written, with examples in the reader's language."""
    return t._(
        "Filters, in any order: a district ({district}), a period ({periods}) and "
        "{civilian} or {military}."
    ).format(
        district=example_district(t, gazetteer),
        periods="2023, 2023-07, 2023-07-13, 2021-01-01..2021-06-30, 2022..",
        civilian=category_words(t, Category.CIVILIAN)[0],
        military=category_words(t, Category.MILITARY)[0],
    )


def example_district(t: Translator, gazetteer: Gazetteer, index: int = 0) -> str:
    ids = gazetteer.sorted_ids(t.lang)
    return gazetteer.name(ids[min(index, len(ids) - 1)], t.lang) if ids else "—"


# -- /stats --------------------------------------------------------------------------------------


def killed_line(t: Translator, n: int) -> str:
    return t.ngettext("{n} person killed", "{n} people killed", n).format(n=t.number(n))


def injured_line(t: Translator, n: int) -> str:
    return t.ngettext("{n} person injured", "{n} people injured", n).format(n=t.number(n))


def breakdown(t: Translator, civilian: int, military: int) -> str:
    return t._("{civilians}, {military}").format(
        civilians=t.ngettext("{n} civilian", "{n} civilians", civilian).format(
            n=t.number(civilian)
        ),
        military=t.ngettext("{n} military", "{n} military", military).format(n=t.number(military)),
    )


def counts_block(t: Translator, counts: Counts, category: Category | None) -> list[str]:
    total = t.ngettext(
        "{n} person killed or injured", "{n} people killed or injured", counts.total
    ).format(n=t.number(counts.total))
    lines = [bold(total)]
    if category is None:
        lines.append(
            f"• {escape(killed_line(t, counts.killed))}: "
            f"{escape(breakdown(t, counts.civilian_killed, counts.military_killed))}"
        )
        lines.append(
            f"• {escape(injured_line(t, counts.injured))}: "
            f"{escape(breakdown(t, counts.civilian_injured, counts.military_injured))}"
        )
    else:
        lines.append(f"• {escape(killed_line(t, counts.killed))}")
        lines.append(f"• {escape(injured_line(t, counts.injured))}")
    return lines


# -- /incidents ----------------------------------------------------------------------------------

PAGE_SIZE = 5
MAX_SOURCES_SHOWN = 3


def incident_counts(t: Translator, c: Counts) -> str:
    """``1 civilian killed, 2 military injured``: the non-zero counts of one incident."""
    counted = (
        (c.civilian_killed, t.ngettext("{n} civilian killed", "{n} civilians killed", c.civilian_killed)),
        (c.civilian_injured, t.ngettext("{n} civilian injured", "{n} civilians injured", c.civilian_injured)),
        (c.military_killed, t.ngettext("{n} military killed", "{n} military killed", c.military_killed)),
        (c.military_injured, t.ngettext("{n} military injured", "{n} military injured", c.military_injured)),
    )  # fmt: skip
    parts = [template.format(n=t.number(n)) for n, template in counted if n]
    return ", ".join(parts) or t._("no casualties in this category")


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


# -- /sources, /start, /help, /language, errors -------------------------------------------------


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


def render_start(t: Translator, name: str | None) -> str:
    greeting = t._("Hello, {name}!").format(name=name) if name else t._("Hello!")
    return "\n".join(
        [
            bold(greeting),
            escape(
                t._(
                    "I answer questions about people killed or injured by landmines and unexploded "
                    "ordnance, with the source of every figure."
                )
            ),
            "",
            escape(
                t._(
                    "Try /stats for the figures, /incidents for the latest incidents, /help for "
                    "examples and /language to change the language."
                )
            ),
        ]
    )


def render_help(t: Translator, gazetteer: Gazetteer, bot_username: str | None = None) -> str:
    district = example_district(t, gazetteer)
    other = example_district(t, gazetteer, 1)
    civilian = category_words(t, Category.CIVILIAN)[0]
    lines = [
        bold(t._("What I can do")),
        "",
        "/stats " + escape(t._("[filters] — killed and injured, with the official figure")),
        escape(
            t._("Examples: {examples}").format(
                examples="; ".join(
                    [
                        "/stats",
                        f"/stats {district}",
                        f"/stats {district} 2023",
                        f"/stats 2021-01-01..2021-06-30 {civilian}",
                    ]
                )
            )
        ),
        "",
        "/incidents " + escape(t._("[filters] — incidents, latest first, with their sources")),
        escape(
            t._("Examples: {examples}").format(
                examples="; ".join(["/incidents", f"/incidents {district} 2024"])
            )
        ),
        "",
        "/compare " + escape(t._("[two periods or two districts] — side by side, with the change")),
        escape(
            t._("Examples: {examples}").format(
                examples="; ".join(["/compare 2022 2023", f"/compare {district} {other}"])
            )
        ),
        "",
        "/chart " + escape(t._("[filters] — a chart of casualties per month")),
        "/export " + escape(t._("[filters] — the incidents as a CSV file")),
        "/sources — " + escape(t._("where the data come from and when they were updated")),
        "/subscribe " + escape(t._("[daily|weekly] [HH:MM] [filters] — a digest of what is new")),
        "/subscription — " + escape(t._("this chat's digest: change or stop it")),
        "/language — " + escape(t._("choose Azerbaijani, English or Russian")),
        "/help — " + escape(t._("this message")),
        "",
        escape(filter_syntax(t, gazetteer)),
    ]
    if bot_username:
        lines += [
            "",
            escape(
                t._(
                    "In any chat, type @{bot} and filters (@{bot} {example}) to share the figures "
                    "there."
                ).format(bot=bot_username, example=f"{district} 2023")
            ),
        ]
    return "\n".join(lines)


def render_language_prompt(t: Translator, languages: Sequence[Translator]) -> Rendered:
    buttons = [
        InlineKeyboardButton(
            ("✓ " if lang.lang == t.lang else "") + lang.own_name(),
            callback_data=encode_language(lang.lang),
        )
        for lang in languages
    ]
    return Rendered(
        escape(t._("Choose the language of this chat:")), InlineKeyboardMarkup([buttons])
    )


def render_language_set(t: Translator) -> str:
    return escape(t._("Language set: {language}.").format(language=t.own_name()))


def expired_text(t: Translator) -> str:
    return t._("This button is no longer valid. Send the command again.")


def error_text(t: Translator) -> str:
    """Plain text (for an alert or, escaped, a message)."""
    return t._("Sorry, something went wrong while answering. Please try again later.")


def unavailable_text(t: Translator) -> str:
    """Plain text (for an alert or, escaped, a message)."""
    return t._("The database is temporarily unavailable. Please try again in a few minutes.")


def render_edited_command(t: Translator) -> str:
    return escape(t._("An edited command is not run again: send it as a new message."))


def render_nothing_to_cancel(t: Translator) -> str:
    return escape(t._("There is nothing to cancel."))


def render_unknown_command(t: Translator) -> str:
    return escape(t._("I do not know that command. Send /help to see what I can do."))


def bot_commands(t: Translator) -> list[BotCommand]:
    """The command menu in one language (``setMyCommands`` with ``language_code``)."""
    return [
        BotCommand("stats", t._("Casualty figures with filters")),
        BotCommand("incidents", t._("Latest incidents with sources")),
        BotCommand("compare", t._("Compare two periods or two districts")),
        BotCommand("chart", t._("A chart of casualties per month")),
        BotCommand("export", t._("The incidents as a CSV file")),
        BotCommand("sources", t._("Where the data come from")),
        BotCommand("subscribe", t._("Get a daily or weekly digest")),
        BotCommand("subscription", t._("This chat's digest: change or stop it")),
        BotCommand("language", t._("Change the language")),
        BotCommand("help", t._("How to use the bot")),
    ]
