"""/stats, /compare and the inline stats card: figures with their sources, how they compare with
the period before, and a sentence a journalist can quote.

A quoted sentence names where its figure comes from: the authority that published an official
total (with that total's own window), or the incidents recorded here (with "at least": they are
not a complete register). It states only figures the data hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from babel.numbers import format_percent
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.figures import Counts
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.stats import (
    Comparison,
    OfficialComparison,
    OfficialFigures,
    Stats,
    StatsReport,
    Trend,
)
from handlers.parsing import Problem
from handlers.render import (
    SEPARATOR,
    bold,
    category_label,
    category_words,
    counts_block,
    escape,
    filters_summary,
    filters_text,
    link,
    people,
    period_text,
    signed,
)
from locales.i18n import Translator

#: A change is given in percent only from a figure at least this large: from 2 to 3 is "+50 %",
#: which says more about chance than about a trend.
MIN_PERCENT_BASE = 10


def signed_percent(t: Translator, ratio: float) -> str:
    """``+25 %``, ``-33%``: the locale's percent pattern with an explicit sign."""
    pattern = t.locale.percent_formats[None].pattern
    return format_percent(ratio, format=f"+{pattern};-{pattern}", locale=t.locale)


def change_text(t: Translator, before: int, after: int) -> str:
    """The difference with its sign and, where it means something, in percent."""
    difference = signed(t, after - before)
    if before >= MIN_PERCENT_BASE:
        return t._("{difference}; {percent}").format(
            difference=difference, percent=signed_percent(t, (after - before) / before)
        )
    return difference


def _source_line(t: Translator) -> str:
    return (
        "<i>"
        + escape(
            t._(
                "Source: incidents reported individually by news media and official statements, "
                "each with its link in /incidents; see /sources."
            )
        )
        + "</i>"
    )


# -- /stats --------------------------------------------------------------------------------------


def render_stats(
    t: Translator,
    gazetteer: Gazetteer,
    report: StatsReport,
    *,
    compiled_by: str,
    today: dt.date,
) -> str:
    """The /stats reply: figures, the trend, the official figure, sentences to quote, the source.

    ``compiled_by``: who compiled the recorded incidents, as quotes name it (the bot's @name).
    """
    f, stats = report.filter, report.stats
    lines = [bold(t._("Mine and UXO casualties")), escape(filters_text(t, gazetteer, f)), ""]
    if stats.incidents == 0:
        lines.append(escape(t._("No incidents are recorded for these filters.")))
    else:
        lines += counts_block(t, stats.counts, f.category)
        recorded = t.ngettext(
            "{n} incident recorded", "{n} incidents recorded", stats.incidents
        ).format(n=t.number(stats.incidents))
        line = recorded
        if stats.latest is not None:
            line += "; " + t._("latest: {date}").format(
                date=t.date(stats.latest.date, stats.latest.precision)
            )
        lines.append(escape(line))
        if stats.leading:
            leading = ", ".join(
                f"{gazetteer.name(d.district_id, t.lang)} {t.number(d.total)}"
                for d in stats.leading
            )
            lines.append(
                escape(t._("Most affected districts: {districts}").format(districts=leading))
            )
    if report.trend is not None:
        lines += ["", *trend_block(t, report.trend, stats)]
    elif report.records_start is not None:
        lines += [
            "",
            escape(
                t._("No comparison with the period before: the records start on {date}.").format(
                    date=t.date(report.records_start)
                )
            ),
        ]
    if report.official is not None:
        lines += ["", *official_block(t, gazetteer, report.official)]
    quotes = quotable(t, gazetteer, report, compiled_by=compiled_by, today=today)
    if quotes:
        lines += ["", bold(t._("To quote:"))]
        lines += [f"<blockquote>{escape(sentence)}</blockquote>" for sentence in quotes]
    lines += ["", _source_line(t)]
    return "\n".join(lines)


def trend_block(t: Translator, trend: Trend, now: Stats) -> list[str]:
    """How the period compares with the one before it, of the same length."""
    before = trend.before
    head = t._("{current} compared with {previous}:").format(
        current=period_text(t, trend.current), previous=period_text(t, trend.previous)
    )
    rows = [
        (t._("killed or injured"), before.counts.total, now.counts.total),
        (t._("killed"), before.counts.killed, now.counts.killed),
        (t._("injured"), before.counts.injured, now.counts.injured),
    ]
    lines = [bold(head)]
    for label, earlier, later in rows:
        lines.append("• " + escape(_change_row(t, label, earlier, later)))
    return lines


def _change_row(t: Translator, label: str, before: int, after: int) -> str:
    return t._("{label}: {before} → {after} ({change})").format(
        label=label,
        before=t.number(before),
        after=t.number(after),
        change=change_text(t, before, after),
    )


def official_block(
    t: Translator, gazetteer: Gazetteer, comparison: OfficialComparison
) -> list[str]:
    o, recorded = comparison.official, comparison.recorded.counts
    issuer = gazetteer.issuer(o.issuer, t.lang)
    if o.period_start_assumed:
        head = t._(
            "Official figure: {issuer}, as of {date}; the source does not say from when it counts "
            "(taken as {start})"
        ).format(issuer=issuer, date=t.date(o.as_of), start=t.date(o.period_start))
    else:
        head = t._("Official figure: {issuer}, as of {date}, counting from {start}").format(
            issuer=issuer, date=t.date(o.as_of), start=t.date(o.period_start)
        )
    if o.published_on is not None and o.published_on != o.as_of:
        head += " " + t._("(made public on {date})").format(date=t.date(o.published_on))
    lines = [bold(head) + " " + link(o.source_url, t._("source"))]
    rows: list[tuple[str, int | None, int]] = []
    if comparison.category is None:
        rows = [
            (t._("killed or injured"), o.total, recorded.total),
            (t._("killed"), o.killed, recorded.killed),
            (t._("injured"), o.injured, recorded.injured),
        ]
        if _full_breakdown(o):
            rows += [
                (t._("civilians killed"), o.civilian_killed, recorded.civilian_killed),
                (t._("civilians injured"), o.civilian_injured, recorded.civilian_injured),
                (t._("military killed"), o.military_killed, recorded.military_killed),
                (t._("military injured"), o.military_injured, recorded.military_injured),
            ]
    elif comparison.category is Category.CIVILIAN:
        rows = [
            (t._("civilians killed"), o.civilian_killed, recorded.civilian_killed),
            (t._("civilians injured"), o.civilian_injured, recorded.civilian_injured),
        ]
    else:
        rows = [
            (t._("military killed"), o.military_killed, recorded.military_killed),
            (t._("military injured"), o.military_injured, recorded.military_injured),
        ]
    for label, official, mine in rows:
        if official is None:
            continue
        lines.append(
            "• "
            + escape(
                t._(
                    "{label}: {official} officially, {recorded} in the incidents recorded here "
                    "(difference {difference})"
                ).format(
                    label=label,
                    official=people(t, official),
                    recorded=people(t, mine),
                    difference=signed(t, official - mine),
                )
            )
        )
    lines.append(
        escape(
            t._(
                "The recorded incidents are those reported individually with a source; they are "
                "not a complete register, so they can add up to less than the official figure."
            )
        )
    )
    return lines


def _full_breakdown(o: OfficialFigures) -> bool:
    return None not in (
        o.civilian_killed,
        o.civilian_injured,
        o.military_killed,
        o.military_injured,
    )


# -- sentences to quote --------------------------------------------------------------------------


def quotable(
    t: Translator,
    gazetteer: Gazetteer,
    report: StatsReport,
    *,
    compiled_by: str,
    today: dt.date,
) -> list[str]:
    """Plain-text sentences to quote: the official figure's (when the reply shows one), then the
    recorded incidents' (when there are any)."""
    sentences = []
    if report.official is not None:
        sentence = official_sentence(t, gazetteer, report.official)
        if sentence is not None:
            sentences.append(sentence)
    if report.stats.incidents:
        sentences.append(recorded_sentence(t, gazetteer, report, compiled_by, today))
    return sentences


def _killed_injured(t: Translator, killed: int, injured: int) -> str:
    """``44 killed, 99 injured``; a part that is zero is left out."""
    parts = []
    if killed or not injured:
        parts.append(
            t.npgettext("quote", "{n} killed", "{n} killed", killed).format(n=t.number(killed))
        )
    if injured:
        parts.append(
            t.npgettext("quote", "{n} injured", "{n} injured", injured).format(n=t.number(injured))
        )
    if len(parts) == 1:
        return parts[0]
    return t._("{killed}, {injured}").format(killed=parts[0], injured=parts[1])


def _who(t: Translator, n: int, category: Category | None, *, at_least: bool) -> str:
    if category is Category.CIVILIAN:
        if at_least:
            template = t.npgettext("quote", "at least {n} civilian", "at least {n} civilians", n)
        else:
            template = t.npgettext("quote", "{n} civilian", "{n} civilians", n)
    elif category is Category.MILITARY:
        if at_least:
            template = t.npgettext(
                "quote", "at least {n} military serviceman", "at least {n} military personnel", n
            )
        else:
            template = t.npgettext("quote", "{n} military serviceman", "{n} military personnel", n)
    elif at_least:
        template = t.npgettext("quote", "at least {n} person", "at least {n} people", n)
    else:
        template = t.npgettext("quote", "{n} person", "{n} people", n)
    return template.format(n=t.number(n))


def _breakdown(t: Translator, counts: Counts) -> str:
    """``143 civilians (44 killed, 99 injured) and 161 military personnel (13 killed, 148
    injured)``; a side with nobody is left out."""
    civilians = t._("{who} ({details})").format(
        who=_who(t, counts.civilian, Category.CIVILIAN, at_least=False),
        details=_killed_injured(t, counts.civilian_killed, counts.civilian_injured),
    )
    military = t._("{who} ({details})").format(
        who=_who(t, counts.military, Category.MILITARY, at_least=False),
        details=_killed_injured(t, counts.military_killed, counts.military_injured),
    )
    if counts.civilian and counts.military:
        return t._("{civilians} and {military}").format(civilians=civilians, military=military)
    return civilians if counts.civilian else military


def _sentence(
    t: Translator,
    source: str,
    who: str,
    period: tuple[str, str] | str,
    details: str | None,
    *,
    official: bool,
) -> str:
    """One sentence. ``source``: the issuer of an official figure, or who compiled the recorded
    incidents; ``period``: a day or a (start, end) pair, already formatted. The two kinds of
    source have sentences of their own, as languages attribute them differently."""
    values = {"source": source, "who": who, "details": details}
    if isinstance(period, str):
        values["date"] = period
        if official:
            template = (
                t._(
                    "According to {source}, mines and unexploded ordnance killed or injured {who} "
                    "on {date}: {details}."
                )
                if details
                else t._(
                    "According to {source}, mines and unexploded ordnance killed or injured {who} "
                    "on {date}."
                )
            )
        else:
            template = (
                t._(
                    "According to incidents reported by news media and official statements and "
                    "compiled by {source}, mines and unexploded ordnance killed or injured {who} "
                    "on {date}: {details}."
                )
                if details
                else t._(
                    "According to incidents reported by news media and official statements and "
                    "compiled by {source}, mines and unexploded ordnance killed or injured {who} "
                    "on {date}."
                )
            )
        return template.format(**values)
    values["start"], values["end"] = period
    if official:
        template = (
            t._(
                "According to {source}, mines and unexploded ordnance killed or injured {who} "
                "between {start} and {end}: {details}."
            )
            if details
            else t._(
                "According to {source}, mines and unexploded ordnance killed or injured {who} "
                "between {start} and {end}."
            )
        )
    else:
        template = (
            t._(
                "According to incidents reported by news media and official statements and "
                "compiled by {source}, mines and unexploded ordnance killed or injured {who} "
                "between {start} and {end}: {details}."
            )
            if details
            else t._(
                "According to incidents reported by news media and official statements and "
                "compiled by {source}, mines and unexploded ordnance killed or injured {who} "
                "between {start} and {end}."
            )
        )
    return template.format(**values)


def official_sentence(
    t: Translator, gazetteer: Gazetteer, comparison: OfficialComparison
) -> str | None:
    """The official total as its issuer stated it, over its own window; None when it states no
    figure for the category asked."""
    o, category = comparison.official, comparison.category
    source = gazetteer.issuer(o.issuer, t.lang)
    period = (t.date(o.period_start), t.date(o.as_of))
    details: str | None = None
    if category is None:
        breakdown = _full_breakdown(o)
        total = o.total
        if total is None and breakdown:
            total = sum(
                int(n or 0)
                for n in (
                    o.civilian_killed,
                    o.civilian_injured,
                    o.military_killed,
                    o.military_injured,
                )
            )
        if total is None and o.killed is not None and o.injured is not None:
            total = o.killed + o.injured
        if total is None:
            return None
        if breakdown:
            details = _breakdown(
                t,
                Counts(
                    int(o.civilian_killed or 0),
                    int(o.civilian_injured or 0),
                    int(o.military_killed or 0),
                    int(o.military_injured or 0),
                ),
            )
        elif o.killed is not None and o.injured is not None:
            details = _killed_injured(t, o.killed, o.injured)
        who = _who(t, total, None, at_least=False)
        return _sentence(t, source, who, period, details, official=True)
    killed, injured = (
        (o.civilian_killed, o.civilian_injured)
        if category is Category.CIVILIAN
        else (o.military_killed, o.military_injured)
    )
    if killed is None or injured is None:
        return None
    who = _who(t, killed + injured, category, at_least=False)
    return _sentence(t, source, who, period, _killed_injured(t, killed, injured), official=True)


def recorded_sentence(
    t: Translator, gazetteer: Gazetteer, report: StatsReport, compiled_by: str, today: dt.date
) -> str:
    """What the incidents recorded here add up to, "at least", over the filter's period (or from
    the first incident to the latest when the period is open)."""
    f, stats = report.filter, report.stats
    counts = stats.counts
    who = _who(t, counts.total, f.category, at_least=True)
    if f.districts:
        names = ", ".join(gazetteer.name(d, t.lang) for d in f.districts)
        who = t.ngettext(
            "{who} in the {districts} district", "{who} in the districts {districts}",
            len(f.districts),
        ).format(who=who, districts=names)  # fmt: skip
    if f.category is None:
        details = _breakdown(t, counts)
    else:
        details = _killed_injured(t, counts.killed, counts.injured)
    period = _quoted_period(t, f.period, stats, today)
    return _sentence(t, compiled_by, who, period, details, official=False)


def _quoted_period(
    t: Translator, period: Period, stats: Stats, today: dt.date
) -> tuple[str, str] | str:
    """The filter's period as far as it has run; an open end is where the incidents end."""
    if period.start is not None:
        start = t.date(period.start)
    elif stats.first is not None:
        start = t.date(stats.first.date, stats.first.precision)
    else:
        start = "…"
    if period.end is not None:
        end = t.date(min(period.end, today))
    elif stats.latest is not None:
        end = t.date(stats.latest.date, stats.latest.precision)
    else:
        end = "…"
    if start == end:
        return start
    return start, end


# -- /compare ------------------------------------------------------------------------------------


def _side_label(t: Translator, gazetteer: Gazetteer, f: IncidentFilter, by_period: bool) -> str:
    if by_period:
        return period_text(t, f.period)
    return ", ".join(gazetteer.name(d, t.lang) for d in f.districts)


def _days(period: Period, today: dt.date) -> int | None:
    if period.start is None:
        return None
    end = min(period.end or today, today)
    return (end - period.start).days + 1


def render_comparison(
    t: Translator, gazetteer: Gazetteer, comparison: Comparison, *, today: dt.date
) -> str:
    left, right = comparison.left, comparison.right
    by_period = left.period != right.period
    a, b = comparison.figures
    names = (
        _side_label(t, gazetteer, left, by_period),
        _side_label(t, gazetteer, right, by_period),
    )
    # What both sides share: the districts when comparing periods, the period when comparing
    # districts, and the category.
    shared = []
    if by_period:
        shared.append(
            ", ".join(gazetteer.name(d, t.lang) for d in left.districts)
            if left.districts
            else t._("all districts")
        )
    else:
        shared.append(period_text(t, left.period))
    if left.category is not None:
        shared.append(category_label(t, left.category))
    lines = [
        bold(t._("{first} and {second} compared").format(first=names[0], second=names[1])),
        escape(t._("Filters: {filters}").format(filters=SEPARATOR.join(shared))),
        "",
        bold(t._("{first} → {second}").format(first=names[0], second=names[1])),
    ]
    rows: list[tuple[str, int, int]] = [
        (t._("killed or injured"), a.counts.total, b.counts.total),
        (t._("killed"), a.counts.killed, b.counts.killed),
        (t._("injured"), a.counts.injured, b.counts.injured),
    ]
    if left.category is None:
        rows += [
            (t._("civilians"), a.counts.civilian, b.counts.civilian),
            (t._("military personnel"), a.counts.military, b.counts.military),
        ]
    rows.append((t._("incidents recorded"), a.incidents, b.incidents))
    lines += ["• " + escape(_change_row(t, label, x, y)) for label, x, y in rows]
    notes = _comparison_notes(t, comparison, by_period, today)
    if a.incidents == 0 and b.incidents == 0:
        notes.insert(0, t._("No incidents are recorded for either side."))
    notes.append(
        t._("A change in percent is given where the first figure is at least {n}.").format(
            n=t.number(MIN_PERCENT_BASE)
        )
    )
    lines += ["", *(escape(note) for note in notes), "", _source_line(t)]
    return "\n".join(lines)


def _comparison_notes(
    t: Translator, comparison: Comparison, by_period: bool, today: dt.date
) -> list[str]:
    """What a reader must know to use the comparison: unequal lengths, unfinished periods,
    periods the records do not cover."""
    notes = []
    periods: Sequence[Period] = (
        (comparison.left.period, comparison.right.period)
        if by_period
        else (comparison.left.period,)
    )
    if by_period:
        first, second = (_days(p, today) for p in periods)
        if first is not None and second is not None and first != second:
            notes.append(
                t._("The periods differ in length: {first} and {second}.").format(
                    first=t.ngettext("{n} day", "{n} days", first).format(n=t.number(first)),
                    second=t.ngettext("{n} day", "{n} days", second).format(n=t.number(second)),
                )
            )
    for period in periods:
        if period.end is not None and period.end > today and (period.start or today) <= today:
            notes.append(
                t._("{period} is not over: its figures run to {today}.").format(
                    period=period_text(t, period), today=t.date(today)
                )
            )
        elif period.start is not None and period.start > today:
            notes.append(t._("{period} has not begun.").format(period=period_text(t, period)))
        start = comparison.records_start
        if start is not None and period.start is not None and period.start < start:
            if period.end is None or period.end >= start:
                notes.append(
                    t._("The records start on {date}: {period} is covered from then on.").format(
                        date=t.date(start), period=period_text(t, period)
                    )
                )
            else:
                notes.append(
                    t._("The records start on {date}: {period} is not covered.").format(
                        date=t.date(start), period=period_text(t, period)
                    )
                )
    return notes


# -- inline mode ---------------------------------------------------------------------------------


def period_query(period: Period) -> str:
    """A period as a user types it: ``2023``, ``2023-07``, ``2023-07-13``, ``2021-01-05..2021-06``
    style ranges with ISO days (either end open); empty for all dates."""
    start, end = period.start, period.end
    if start is None and end is None:
        return ""
    if start is not None and end is not None:
        if start == end:
            return start.isoformat()
        if start.day == 1 and (end + dt.timedelta(days=1)).day == 1:
            if start.year == end.year and (start.month, end.month) == (1, 12):
                return f"{start.year:04d}"
            if (start.year, start.month) == (end.year, end.month):
                return f"{start.year:04d}-{start.month:02d}"
    return f"{start.isoformat() if start else ''}..{end.isoformat() if end else ''}"


def filter_query(t: Translator, gazetteer: Gazetteer, f: IncidentFilter) -> str:
    """Filters as words that :func:`handlers.parsing.parse_filters` reads back to ``f``, in the
    reader's language: what an inline query for the same card says."""
    words = [gazetteer.name(d, t.lang) for d in f.districts]
    if period := period_query(f.period):
        words.append(period)
    if f.category is not None:
        words.append(category_words(t, f.category)[0])
    return " ".join(words)


def stats_keyboard(t: Translator, gazetteer: Gazetteer, f: IncidentFilter) -> InlineKeyboardMarkup:
    """A button that shares the same card in another chat (through inline mode)."""
    button = InlineKeyboardButton(
        t.pgettext("button", "Share in a chat"),
        switch_inline_query=filter_query(t, gazetteer, f),
    )
    return InlineKeyboardMarkup([[button]])


#: Telegram's limit for the text of an inline results button.
MAX_BUTTON_TEXT = 64


@dataclass(frozen=True, slots=True)
class InlineCard:
    title: str
    description: str
    text: str


def render_inline_card(
    t: Translator,
    gazetteer: Gazetteer,
    report: StatsReport,
    *,
    compiled_by: str,
    today: dt.date,
) -> InlineCard:
    """The stats card shared by inline mode: the /stats reply, titled with its filters and
    described by its main figure."""
    f, counts = report.filter, report.stats.counts
    title = filters_summary(t, gazetteer, f)
    if report.stats.incidents:
        description = t.ngettext(
            "{n} person killed or injured", "{n} people killed or injured", counts.total
        ).format(n=t.number(counts.total))
    else:
        description = t._("No incidents are recorded for these filters.")
    text = render_stats(t, gazetteer, report, compiled_by=compiled_by, today=today)
    return InlineCard(title, description, text)


def render_inline_problem(t: Translator, gazetteer: Gazetteer, problems: Sequence[Problem]) -> str:
    """Plain text for the results button when the query holds words that are not filters."""
    del gazetteer  # the button has no room for suggestions: the help it opens has examples
    word = problems[0].word if problems else ""
    if len(word) > 20:
        word = word[:19] + "…"
    text = t._("“{word}” is not a filter: tap for help").format(word=word)
    if len(text) > MAX_BUTTON_TEXT:
        text = text[: MAX_BUTTON_TEXT - 1] + "…"
    return text
