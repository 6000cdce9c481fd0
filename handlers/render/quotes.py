"""The sentences a journalist can quote from a /stats reply.

A quoted sentence names where its figure comes from: the authority that published an official
total (with that total's own window), or the incidents recorded here (with "at least": they are
not a complete register). It states only figures the data hold.
"""

from __future__ import annotations

import datetime as dt

from db.domain.figures import Counts
from db.domain.filters import Category, Period
from db.domain.gazetteer import Gazetteer
from db.domain.stats import OfficialComparison, OfficialFigures, Stats, StatsReport
from locales.i18n import Translator


def full_breakdown(o: OfficialFigures) -> bool:
    return None not in (
        o.civilian_killed,
        o.civilian_injured,
        o.military_killed,
        o.military_injured,
    )


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
        return _day_template(t, official=official, details=bool(details)).format(**values)
    values["start"], values["end"] = period
    return _range_template(t, official=official, details=bool(details)).format(**values)


def _day_template(t: Translator, *, official: bool, details: bool) -> str:
    if official:
        return (
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
    return (
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


def _range_template(t: Translator, *, official: bool, details: bool) -> str:
    if official:
        return (
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
    return (
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
        breakdown = full_breakdown(o)
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
