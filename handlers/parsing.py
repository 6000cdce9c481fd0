"""Command arguments to typed filters: pure functions, no I/O.

``/stats kalbajar 2023 civilian`` -> IncidentFilter(districts=(1,), period=2023, category=civilian).
Filters come in any order; each word is read by the filter dimensions (``db.domain.dimensions``):
periods (``2023``, ``2023-07``, ``2021-01-01..2021-06-30``...), districts (any name or alias, case-
and diacritics-insensitive, several words allowed) and the catalogs' words, so every language's
words work in every chat.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from db.domain.dimensions import DISTRICTS, PERIOD, READING, REGISTRY, Found, Words
from db.domain.filters import IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.problems import ProblemKind
from db.domain.schedule import Frequency
from db.domain.vocabulary import Vocabulary

_SPLIT = re.compile(r"[\s,\x00-\x1f\x7f]+")
#: Unknown words that get the nearest districts suggested (the reply names at most this many).
MAX_SUGGESTED = 5


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    word: str
    #: Districts nearest to an unknown word, best first.
    suggestions: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFilters:
    filter: IncidentFilter
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def tokenize(text: str) -> list[str]:
    return [t for t in _SPLIT.split(text.strip()) if t]


def _tokens(args: str | Iterable[str]) -> list[str]:
    return tokenize(args) if isinstance(args, str) else [t for a in args for t in tokenize(a)]


@dataclass(frozen=True, slots=True)
class _Scanned:
    #: Per dimension key, the distinct values read, in the order given (at most its limit: more
    #: are problems).
    values: dict[str, list[Any]] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()

    def filter(self, **given: Any) -> IncidentFilter:
        """The filter of the values read (each dimension's :meth:`join`), ``given`` replaced."""
        joined = {d.field: d.join(self.values[d.key]) for d in REGISTRY}
        return replace(IncidentFilter(), **(joined | given))


def _scan(tokens: list[str], words: Words, *, limits: dict[str, int] | None = None) -> _Scanned:
    """Filter words in any order; every word is either understood or reported. A dimension that
    takes one value takes at most ``limits[key]`` (default one) distinct ones."""
    values: dict[str, list[Any]] = {d.key: [] for d in REGISTRY}
    problems: list[Problem] = []
    unknown = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        for dimension in READING:
            read = dimension.read(tokens, i, words)
            if read is not None:
                break
        else:
            # Suggestions cost a fuzzy search each: only for the first few unknown words (no more
            # are shown), so that a long message of nonsense stays cheap.
            near = tuple(words.gazetteer.suggest(token)) if unknown < MAX_SUGGESTED else ()
            problems.append(Problem(ProblemKind.UNKNOWN_WORD, token, near))
            unknown += 1
            i += 1
            continue
        if not isinstance(read, Found):
            problems.append(Problem(read.kind, token))
            i += 1
            continue
        found = values[dimension.key]
        limit = (limits or {}).get(dimension.key, 1)
        if read.value in found:
            pass
        elif dimension.second is None or len(found) < limit:
            found.append(read.value)
        elif limit == 1:
            problems.append(Problem(dimension.second, token))
        else:
            problems.append(Problem(ProblemKind.COMPARE_WHAT, token))
        i += read.width
    return _Scanned(values, tuple(problems))


def parse_filters(
    args: str | Iterable[str], gazetteer: Gazetteer, vocabulary: Vocabulary
) -> ParsedFilters:
    """Parse filter words in any order; every word is either understood or reported."""
    scanned = _scan(_tokens(args), Words(gazetteer, vocabulary))
    return ParsedFilters(scanned.filter(), scanned.problems)


@dataclass(frozen=True, slots=True)
class ParsedComparison:
    """``/compare``: two filters that differ in their period or in their district."""

    left: IncidentFilter
    right: IncidentFilter
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def by_period(self) -> bool:
        return self.left.period != self.right.period


def _period_order(period: Period) -> tuple[dt.date, dt.date]:
    return (period.start or dt.date.min, period.end or dt.date.max)


def parse_comparison(
    args: str | Iterable[str], gazetteer: Gazetteer, vocabulary: Vocabulary
) -> ParsedComparison:
    """Two periods (earlier first) with the same districts, or two districts (in the order
    given) over the same period; the other dimensions (a category...) apply to both sides."""
    scanned = _scan(_tokens(args), Words(gazetteer, vocabulary), limits={PERIOD.key: 2})
    problems = list(scanned.problems)
    districts: Sequence[int] = DISTRICTS.join(scanned.values[DISTRICTS.key])
    periods: Sequence[Period] = scanned.values[PERIOD.key]
    if len(periods) == 2 and len(districts) != 2:
        first, second = sorted(periods, key=_period_order)
        left = scanned.filter(period=first)
        right = scanned.filter(period=second)
    elif len(districts) == 2 and len(periods) < 2:
        left = scanned.filter(districts=tuple(districts[:1]))
        right = scanned.filter(districts=tuple(districts[1:]))
    else:
        left = right = IncidentFilter()
        if not any(p.kind is ProblemKind.COMPARE_WHAT for p in problems):
            problems.append(Problem(ProblemKind.COMPARE_WHAT, ""))
    return ParsedComparison(left, right, tuple(problems))


_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, slots=True)
class ParsedSubscription:
    """``/subscribe [daily|weekly] [HH:MM] [filters]``: what was given (None: the default)."""

    frequency: Frequency | None
    at: dt.time | None
    filter: IncidentFilter
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_subscription(
    args: str | Iterable[str], gazetteer: Gazetteer, vocabulary: Vocabulary
) -> ParsedSubscription:
    """A frequency word and a time of day in any place; the rest are /stats filters, without a
    period (a digest covers what is new since the last one)."""
    tokens = _tokens(args)
    frequency: Frequency | None = None
    at: dt.time | None = None
    problems: list[Problem] = []
    rest: list[str] = []
    for token in tokens:
        found = vocabulary.frequency(token)
        if found is not None:
            if frequency is not None and frequency != found:
                problems.append(Problem(ProblemKind.TWO_FREQUENCIES, token))
            frequency = found
            continue
        if ":" in token:
            match = _TIME.match(token)
            if match and int(match[1]) < 24 and int(match[2]) < 60:
                at = dt.time(int(match[1]), int(match[2]))
            else:
                problems.append(Problem(ProblemKind.BAD_TIME, token))
            continue
        rest.append(token)
    parsed = parse_filters(rest, gazetteer, vocabulary)
    problems += parsed.problems
    if not parsed.filter.period.is_open:
        problems.append(Problem(ProblemKind.PERIOD_IN_SUBSCRIPTION, ""))
    return ParsedSubscription(frequency, at, parsed.filter, tuple(problems))
