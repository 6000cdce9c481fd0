"""The one rendering layer: typed results -> localised Telegram HTML. This package module holds
what every reply shares (escaping, limits, labels, filters, counts); each feature has its module.

Every dynamic value is escaped here, every number and date is formatted by Babel for the chat's
locale, every count goes through ``ngettext``, and nothing returned can exceed Telegram's limits.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from babel.numbers import format_decimal
from telegram import InlineKeyboardMarkup

from db.domain.dimensions import CATEGORY, REGISTRY
from db.domain.figures import Counts
from db.domain.filters import Category, IncidentFilter
from db.domain.gazetteer import Gazetteer
from db.domain.problems import ProblemKind
from db.domain.records import Device
from db.domain.schedule import Frequency
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

#: Words that choose how often a digest comes, space-separated, translated per language.
FREQUENCY_WORDS = {
    # NOTE: /subscribe words for a digest every day, separated by spaces.
    Frequency.DAILY: N_("daily day"),
    # NOTE: /subscribe words for a digest every week, separated by spaces.
    Frequency.WEEKLY: N_("weekly week"),
}


def people(t: Translator, n: int) -> str:
    return t.ngettext("{n} person", "{n} people", n).format(n=t.number(n))


def signed(t: Translator, n: int) -> str:
    """A difference with its sign (``+292``, ``-5``); zero has none."""
    if n == 0:
        return t.number(0)
    return format_decimal(n, format="+#,##0;-#,##0", locale=t.locale)


# -- filters and periods -------------------------------------------------------------------------


def filters_summary(
    t: Translator, gazetteer: Gazetteer, f: IncidentFilter, *, without: str | None = None
) -> str:
    """``Fuzuli · 2023 · civilians``: each dimension's label (but the one keyed ``without``)."""
    labels = (d.label(d.get(f), t, gazetteer) for d in REGISTRY if d.key != without)
    return SEPARATOR.join(label for label in labels if label is not None)


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
        civilian=CATEGORY.query_words(Category.CIVILIAN, t, gazetteer)[0],
        military=CATEGORY.query_words(Category.MILITARY, t, gazetteer)[0],
    )


def example_district(t: Translator, gazetteer: Gazetteer, index: int = 0) -> str:
    ids = gazetteer.sorted_ids(t.lang)
    return gazetteer.name(ids[min(index, len(ids) - 1)], t.lang) if ids else "—"


# -- counts --------------------------------------------------------------------------------------


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


# -- replies to any command ---------------------------------------------------------------------


def expired_text(t: Translator) -> str:
    return t._("This button is no longer valid. Send the command again.")


def error_text(t: Translator) -> str:
    """Plain text (for an alert or, escaped, a message)."""
    return t._("Sorry, something went wrong while answering. Please try again later.")


def unavailable_text(t: Translator) -> str:
    """Plain text (for an alert or, escaped, a message)."""
    return t._("The database is temporarily unavailable. Please try again in a few minutes.")
