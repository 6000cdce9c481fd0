"""/compare: two periods or two districts side by side, with the change and what a reader must
know to use it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from db.domain.dimensions import DISTRICTS, PERIOD
from db.domain.filters import IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.periods import period_text
from db.domain.stats import Comparison
from handlers.render import bold, escape, filters_summary
from handlers.render.stats import MIN_PERCENT_BASE, change_row, source_line
from locales.i18n import Translator


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
    # What both sides share: every filter but the one compared.
    shared = filters_summary(t, gazetteer, left, without=PERIOD.key if by_period else DISTRICTS.key)
    lines = [
        bold(t._("{first} and {second} compared").format(first=names[0], second=names[1])),
        escape(t._("Filters: {filters}").format(filters=shared)),
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
    lines += ["• " + escape(change_row(t, label, x, y)) for label, x, y in rows]
    notes = _comparison_notes(t, comparison, by_period, today)
    if a.incidents == 0 and b.incidents == 0:
        notes.insert(0, t._("No incidents are recorded for either side."))
    notes.append(
        t._("A change in percent is given where the first figure is at least {n}.").format(
            n=t.number(MIN_PERCENT_BASE)
        )
    )
    lines += ["", *(escape(note) for note in notes), "", source_line(t)]
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
