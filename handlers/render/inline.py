"""Inline mode: the stats card shared in any chat, the filters typed back as a query, and the
button that shares a /stats reply."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from db.domain.dimensions import REGISTRY
from db.domain.filters import IncidentFilter
from db.domain.gazetteer import Gazetteer
from db.domain.stats import StatsReport
from handlers.parsing import Problem
from handlers.render import filters_summary
from handlers.render.stats import render_stats
from locales.i18n import Translator


def filter_query(t: Translator, gazetteer: Gazetteer, f: IncidentFilter) -> str:
    """Filters as words that :func:`handlers.parsing.parse_filters` reads back to ``f``, in the
    reader's language: what an inline query for the same card says."""
    return " ".join(w for d in REGISTRY for w in d.query_words(d.get(f), t, gazetteer))


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
