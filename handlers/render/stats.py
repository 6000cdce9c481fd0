"""/stats: figures with their sources, how they compare with the period before, the official
figure beside them, and the sentences to quote (``handlers.render.quotes``)."""

from __future__ import annotations

import datetime as dt

from babel.numbers import format_percent

from db.domain.filters import Category
from db.domain.gazetteer import Gazetteer
from db.domain.periods import period_text
from db.domain.stats import OfficialComparison, Stats, StatsReport, Trend
from handlers.render import (
    bold,
    counts_block,
    escape,
    filters_text,
    link,
    people,
    signed,
)
from handlers.render.quotes import full_breakdown, quotable
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


def source_line(t: Translator) -> str:
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
    lines += ["", source_line(t)]
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
        lines.append("• " + escape(change_row(t, label, earlier, later)))
    return lines


def change_row(t: Translator, label: str, before: int, after: int) -> str:
    return t._("{label}: {before} → {after} ({change})").format(
        label=label,
        before=t.number(before),
        after=t.number(after),
        change=change_text(t, before, after),
    )


def official_block(
    t: Translator, gazetteer: Gazetteer, comparison: OfficialComparison
) -> list[str]:
    o = comparison.official
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
    for label, official, mine in _official_rows(t, comparison):
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


def _official_rows(
    t: Translator, comparison: OfficialComparison
) -> list[tuple[str, int | None, int]]:
    """(label, official figure, recorded figure) for each figure the category asks for."""
    o, recorded = comparison.official, comparison.recorded.counts
    rows: list[tuple[str, int | None, int]] = []
    if comparison.category is None:
        rows = [
            (t._("killed or injured"), o.total, recorded.total),
            (t._("killed"), o.killed, recorded.killed),
            (t._("injured"), o.injured, recorded.injured),
        ]
        if full_breakdown(o):
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
    return rows
