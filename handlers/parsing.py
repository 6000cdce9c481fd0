"""Command arguments to typed filters: pure functions, no I/O.

``/stats kalbajar 2023 civilian`` -> IncidentFilter(districts=(1,), period=2023, category=civilian).
Filters come in any order. Periods: ``2023``, ``2023-07``, ``2023-07-13``, ``13.07.2023``, ``07.2023``
and ranges ``A..B`` with either end open. Districts: any name or alias, case- and
diacritics-insensitive, several words allowed. Category words come from the catalogs, so every
language's words work in every chat.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from db.domain.filters import Category, IncidentFilter, Period
from db.domain.gazetteer import Gazetteer, normalize
from db.domain.problems import ProblemKind
from db.domain.schedule import Frequency
from db.domain.validation import MIN_YEAR

_SPLIT = re.compile(r"[\s,\x00-\x1f\x7f]+")
_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")
_DOTTED = re.compile(r"^(?:(\d{1,2})\.)?(\d{1,2})\.(\d{4})$")
_LOOKS_LIKE_DATE = re.compile(r"^[\d.\-/]+$")
MAX_YEAR = 2100
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


@dataclass(frozen=True)
class Vocabulary:
    """Normalised filter words of every language, by category."""

    categories: Mapping[Category, frozenset[str]] = field(default_factory=dict)
    frequencies: Mapping[Frequency, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        words: Mapping[Category, Iterable[str]],
        frequencies: Mapping[Frequency, Iterable[str]] | None = None,
    ) -> Vocabulary:
        def normalized(ws: Iterable[str]) -> frozenset[str]:
            return frozenset(normalize(w) for w in ws if normalize(w))

        return cls(
            {cat: normalized(ws) for cat, ws in words.items()},
            {f: normalized(ws) for f, ws in (frequencies or {}).items()},
        )

    def frequency(self, word: str) -> Frequency | None:
        norm = normalize(word)
        for frequency, words in self.frequencies.items():
            if norm in words:
                return frequency
        return None

    def category(self, word: str) -> Category | None:
        norm = normalize(word)
        for category, words in self.categories.items():
            if norm in words:
                return category
        return None


class BadPeriod(ValueError):
    def __init__(self, kind: ProblemKind) -> None:
        super().__init__(kind.value)
        self.kind = kind


def _span(year: int, month: int | None, day: int | None) -> tuple[dt.date, dt.date]:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadPeriod(ProblemKind.BAD_DATE)
    try:
        if month is None:
            return dt.date(year, 1, 1), dt.date(year, 12, 31)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1), dt.date(year, month, last)
        day_date = dt.date(year, month, day)
        return day_date, day_date
    except (ValueError, calendar.IllegalMonthError):
        raise BadPeriod(ProblemKind.BAD_DATE) from None


def parse_date_span(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day a date token stands for; raises BadPeriod."""
    iso = _ISO.match(text)
    if iso:
        year, month, day = iso.groups()
        return _span(int(year), int(month) if month else None, int(day) if day else None)
    dotted = _DOTTED.match(text)
    if dotted:
        day, month, year = dotted.groups()
        return _span(int(year), int(month), int(day) if day else None)
    raise BadPeriod(ProblemKind.BAD_DATE)


def parse_period(text: str) -> Period:
    """``2023``, ``2023-07-13``, ``2021-01-01..2021-06-30``, ``2022..``, ``..2021-06``."""
    if ".." in text:
        left, _, right = text.partition("..")
        if not left and not right:
            raise BadPeriod(ProblemKind.EMPTY_RANGE)
        start = parse_date_span(left)[0] if left else None
        end = parse_date_span(right)[1] if right else None
        if start and end and start > end:
            raise BadPeriod(ProblemKind.BAD_RANGE)
        return Period(start, end)
    start, end = parse_date_span(text)
    return Period(start, end)


def looks_like_period(token: str) -> bool:
    return bool(_LOOKS_LIKE_DATE.match(token)) and (
        ".." in token or any(c.isdigit() for c in token)
    )


def tokenize(text: str) -> list[str]:
    return [t for t in _SPLIT.split(text.strip()) if t]


def _tokens(args: str | Iterable[str]) -> list[str]:
    return tokenize(args) if isinstance(args, str) else [t for a in args for t in tokenize(a)]


@dataclass(frozen=True, slots=True)
class _Scanned:
    districts: tuple[int, ...]
    #: Distinct periods in the order given (at most ``max_periods``: more are problems).
    periods: tuple[Period, ...]
    category: Category | None
    problems: tuple[Problem, ...]


def _scan(
    tokens: list[str], gazetteer: Gazetteer, vocabulary: Vocabulary, *, max_periods: int
) -> _Scanned:
    """Filter words in any order; every word is either understood or reported."""
    districts: list[int] = []
    periods: list[Period] = []
    category: Category | None = None
    problems: list[Problem] = []
    unknown = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if looks_like_period(token):
            try:
                parsed = parse_period(token)
            except BadPeriod as exc:
                problems.append(Problem(exc.kind, token))
            else:
                if parsed not in periods:
                    if len(periods) < max_periods:
                        periods.append(parsed)
                    elif max_periods == 1:
                        problems.append(Problem(ProblemKind.TWO_PERIODS, token))
                    else:
                        problems.append(Problem(ProblemKind.COMPARE_WHAT, token))
            i += 1
            continue
        found = vocabulary.category(token)
        if found is not None:
            if category is not None and category != found:
                problems.append(Problem(ProblemKind.TWO_CATEGORIES, token))
            category = found
            i += 1
            continue
        # The longest run of words that names a district.
        for width in range(min(gazetteer.max_words, len(tokens) - i), 0, -1):
            district = gazetteer.resolve(" ".join(tokens[i : i + width]))
            if district is not None:
                if district not in districts:
                    districts.append(district)
                i += width
                break
        else:
            # Suggestions cost a fuzzy search each: only for the first few unknown words (no more
            # are shown), so that a long message of nonsense stays cheap.
            near = tuple(gazetteer.suggest(token)) if unknown < MAX_SUGGESTED else ()
            problems.append(Problem(ProblemKind.UNKNOWN_WORD, token, near))
            unknown += 1
            i += 1
    return _Scanned(tuple(districts), tuple(periods), category, tuple(problems))


def parse_filters(
    args: str | Iterable[str], gazetteer: Gazetteer, vocabulary: Vocabulary
) -> ParsedFilters:
    """Parse filter words in any order; every word is either understood or reported."""
    scanned = _scan(_tokens(args), gazetteer, vocabulary, max_periods=1)
    period = scanned.periods[0] if scanned.periods else Period()
    return ParsedFilters(
        IncidentFilter(scanned.districts, period, scanned.category), scanned.problems
    )


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
    given) over the same period; a category applies to both sides."""
    scanned = _scan(_tokens(args), gazetteer, vocabulary, max_periods=2)
    problems = list(scanned.problems)
    districts, periods, category = scanned.districts, scanned.periods, scanned.category
    empty = IncidentFilter()
    if len(periods) == 2 and len(districts) != 2:
        first, second = sorted(periods, key=_period_order)
        left = IncidentFilter(districts, first, category)
        right = IncidentFilter(districts, second, category)
    elif len(districts) == 2 and len(periods) < 2:
        period = periods[0] if periods else Period()
        left = IncidentFilter(districts[:1], period, category)
        right = IncidentFilter(districts[1:], period, category)
    else:
        left = right = empty
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
