"""Filter dimensions: each way of narrowing a question, declared once.

A dimension says how it is read from the words of a command (in every language), how it narrows
a query, how it is keyed in ``incident_totals``, how it is stored (a subscription's JSON, a cache
key), and how it is named: in a reply, a chart's title, an export's caption and file name, an
inline result, the words that read back to it. The parser, the queries, the store and the
renderers iterate :data:`REGISTRY` and know no dimension by name, except where a reply words one
specially (a quote, a comparison's rows).

Adding one: a field of :class:`~db.domain.filters.IncidentFilter`, a declaration here (with its
catalog words), its entry in :data:`REGISTRY`, and its tests (see the README).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Generic, TypeVar

from db.domain.filters import Category, IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.periods import (
    BadPeriod,
    looks_like_period,
    parse_period,
    period_query,
    period_slug,
    period_text,
)
from db.domain.problems import ProblemKind
from db.domain.vocabulary import Vocabulary
from locales.i18n import N_, Translator

V = TypeVar("V")
E = TypeVar("E", bound=enum.StrEnum)


class Narrowing(enum.Enum):
    """How a dimension's value narrows the incidents (``db.queries.incident_conditions``)."""

    #: The incidents' ``column`` is one of the values (:meth:`Dimension.operands`).
    IN = "in"
    #: The incident's dates lie inside the period (``date`` from its start, ``date_end`` by its end).
    SPAN = "span"
    #: The incident harmed people of the category (``<value>_killed + <value>_injured > 0``).
    PEOPLE = "people"


class Rollup(enum.Enum):
    """How ``incident_totals`` (``db.totals``) is keyed by a dimension; a dimension without one
    is answered from the incidents table."""

    #: One row per district (``incident_totals.district``).
    DISTRICT = "district"
    #: Rows are spans of dates (grain, date, date_end).
    SPAN = "span"
    #: The value chooses the count columns.
    COUNTS = "counts"


@dataclass(frozen=True, slots=True)
class Words:
    """What the dimensions read words against: the dataset's names and the catalogs' words."""

    gazetteer: Gazetteer
    vocabulary: Vocabulary


@dataclass(frozen=True, slots=True)
class Found(Generic[V]):
    """A value read from ``width`` tokens."""

    value: V
    width: int = 1


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A token the dimension claims but cannot read (``2023-02-30``)."""

    kind: ProblemKind


class Dimension(ABC, Generic[V]):
    """One way of narrowing a question. Subclasses set the class attributes and the methods."""

    #: Stable name: the key in a subscription's JSON and in cache keys.
    key: ClassVar[str]
    #: The :class:`IncidentFilter` attribute holding the value.
    field: ClassVar[str]
    narrowing: ClassVar[Narrowing]
    #: The incidents' column for :attr:`Narrowing.IN`.
    column: ClassVar[str | None] = None
    rollup: ClassVar[Rollup | None] = None
    #: Whether the national official totals can answer a question narrowed by it.
    national: ClassVar[bool] = True
    #: The problem of a second, different value; None: values add up (several districts).
    second: ClassVar[ProblemKind | None] = None
    #: A token is tried by the dimensions of lower ``priority`` first: fixed words and patterns
    #: before the gazetteer's names.
    priority: ClassVar[int] = 5
    #: Catalog messages of the words that stand for each value (space-separated; the first one
    #: is the word written back in queries).
    words: ClassVar[Mapping[Any, str]] = {}

    @abstractmethod
    def empty(self) -> V:
        """The value that narrows nothing."""

    @abstractmethod
    def read(self, tokens: Sequence[str], i: int, words: Words) -> Found[V] | Unreadable | None:
        """The value that the tokens from ``tokens[i]`` stand for, else None."""

    @abstractmethod
    def dump(self, value: V) -> Any:
        """JSON for a value that is set."""

    @abstractmethod
    def load(self, data: Any) -> V:
        """The value :meth:`dump` wrote."""

    @abstractmethod
    def label(self, value: V, t: Translator, gazetteer: Gazetteer) -> str | None:
        """Plain text naming the value in a filters line; None: not named (nothing narrowed)."""

    @abstractmethod
    def query_words(self, value: V, t: Translator, gazetteer: Gazetteer) -> list[str]:
        """Words that :meth:`read` reads back to the value, in the reader's language."""

    @abstractmethod
    def slug(self, value: V, gazetteer: Gazetteer) -> str:
        """ASCII part of an export's file name; empty: not named."""

    def join(self, values: Sequence[V]) -> V:
        """The filter's value from the distinct values read, in order (the first one unless the
        dimension adds them up)."""
        return values[0] if values else self.empty()

    def operands(self, value: V) -> tuple[Any, ...]:
        """The column's values for :attr:`Narrowing.IN`."""
        return (value,)

    def get(self, f: IncidentFilter) -> V:
        value: V = getattr(f, self.field)
        return value

    def is_set(self, f: IncidentFilter) -> bool:
        return bool(self.get(f) != self.empty())


_NOT_SLUG = re.compile(r"[^a-z0-9]+")
#: Letters that Unicode does not decompose into an ASCII letter and a mark.
_ASCII_FOLD = str.maketrans({"ə": "e", "ı": "i", "ø": "o", "ł": "l", "ß": "ss"})


def ascii_slug(text: str) -> str:
    """ASCII letters, digits and hyphens: ``Şuşa`` gives ``susa``."""
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_ASCII_FOLD))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", ascii_only).strip("-")


class ChoiceDimension(Dimension[E | None], Generic[E]):
    """One value of an enum, typed as any of its catalog words; None narrows nothing."""

    choices: ClassVar[type[enum.StrEnum]]

    def empty(self) -> E | None:
        return None

    def read(
        self, tokens: Sequence[str], i: int, words: Words
    ) -> Found[E | None] | Unreadable | None:
        found = words.vocabulary.choice(tokens[i], self.choices)
        return Found(found) if found is not None else None  # type: ignore[arg-type]

    def dump(self, value: E | None) -> Any:
        return value.value if value is not None else None

    def load(self, data: Any) -> E | None:
        return self.choices(data) if data is not None else None  # type: ignore[return-value]

    def query_words(self, value: E | None, t: Translator, gazetteer: Gazetteer) -> list[str]:
        return [] if value is None else t._(self.words[value]).split()[:1]

    def slug(self, value: E | None, gazetteer: Gazetteer) -> str:
        return value.value if value is not None else ""


# -- the dimensions ------------------------------------------------------------------------------

#: At most this many district keys in a file name; more are written as ``5-districts``.
MAX_NAMED_DISTRICTS = 3


class Districts(Dimension[tuple[int, ...]]):
    key = "districts"
    field = "districts"
    narrowing = Narrowing.IN
    column = "district_id"
    rollup = Rollup.DISTRICT
    national = False
    priority = 9

    def empty(self) -> tuple[int, ...]:
        return ()

    def read(
        self, tokens: Sequence[str], i: int, words: Words
    ) -> Found[tuple[int, ...]] | Unreadable | None:
        # The longest run of words that names a district.
        gazetteer = words.gazetteer
        for width in range(min(gazetteer.max_words, len(tokens) - i), 0, -1):
            district = gazetteer.resolve(" ".join(tokens[i : i + width]))
            if district is not None:
                return Found((district,), width)
        return None

    def join(self, values: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
        return tuple(dict.fromkeys(d for value in values for d in value))

    def operands(self, value: tuple[int, ...]) -> tuple[int, ...]:
        return value

    def dump(self, value: tuple[int, ...]) -> Any:
        return list(value)

    def load(self, data: Any) -> tuple[int, ...]:
        return tuple(int(d) for d in data)

    def label(self, value: tuple[int, ...], t: Translator, gazetteer: Gazetteer) -> str:
        if not value:
            return t._("all districts")
        return ", ".join(gazetteer.name(d, t.lang) for d in value)

    def query_words(self, value: tuple[int, ...], t: Translator, gazetteer: Gazetteer) -> list[str]:
        return [gazetteer.name(d, t.lang) for d in value]

    def slug(self, value: tuple[int, ...], gazetteer: Gazetteer) -> str:
        if len(value) > MAX_NAMED_DISTRICTS:
            return f"{len(value)}-districts"
        keys = [
            ascii_slug(gazetteer.key(d)) or ascii_slug(gazetteer.name(d, "en")) or str(d)
            for d in value
        ]
        return "-".join(keys)


class Dates(Dimension[Period]):
    key = "period"
    field = "period"
    narrowing = Narrowing.SPAN
    rollup = Rollup.SPAN
    second = ProblemKind.TWO_PERIODS
    priority = 0

    def empty(self) -> Period:
        return Period()

    def read(
        self, tokens: Sequence[str], i: int, words: Words
    ) -> Found[Period] | Unreadable | None:
        if not looks_like_period(tokens[i]):
            return None
        try:
            return Found(parse_period(tokens[i]))
        except BadPeriod as exc:
            return Unreadable(exc.kind)

    def dump(self, value: Period) -> Any:
        return [d.isoformat() if d else None for d in (value.start, value.end)]

    def load(self, data: Any) -> Period:
        start, end = (dt.date.fromisoformat(d) if d else None for d in data)
        return Period(start, end)

    def label(self, value: Period, t: Translator, gazetteer: Gazetteer) -> str:
        return period_text(t, value)

    def query_words(self, value: Period, t: Translator, gazetteer: Gazetteer) -> list[str]:
        typed = period_query(value)
        return [typed] if typed else []

    def slug(self, value: Period, gazetteer: Gazetteer) -> str:
        return period_slug(value)


#: Words that select a category in filters, space-separated, translated per language.
CATEGORY_WORDS = {
    # NOTE: filter words for civilians, separated by spaces; users may type any of them.
    Category.CIVILIAN: N_("civilian civilians"),
    # NOTE: filter words for military personnel, separated by spaces; users may type any of them.
    Category.MILITARY: N_("military soldiers servicemen"),
}


class People(ChoiceDimension[Category]):
    key = "category"
    field = "category"
    narrowing = Narrowing.PEOPLE
    rollup = Rollup.COUNTS
    second = ProblemKind.TWO_CATEGORIES
    priority = 1
    choices = Category
    words = CATEGORY_WORDS

    def label(self, value: Category | None, t: Translator, gazetteer: Gazetteer) -> str | None:
        if value is None:
            return None
        if value is Category.CIVILIAN:
            return t._("civilians")
        return t._("military personnel")


DISTRICTS = Districts()
PERIOD = Dates()
CATEGORY = People()

#: Every dimension, in the order a filters line names them.
REGISTRY: tuple[Dimension[Any], ...] = (DISTRICTS, PERIOD, CATEGORY)
#: The order a token is tried in.
READING: tuple[Dimension[Any], ...] = tuple(sorted(REGISTRY, key=lambda d: d.priority))


def dump_filter(f: IncidentFilter) -> dict[str, Any]:
    """The dimensions that narrow ``f``, as JSON (a subscription's ``filters``)."""
    return {d.key: d.dump(d.get(f)) for d in REGISTRY if d.is_set(f)}


def load_filter(data: Mapping[str, Any] | None) -> IncidentFilter:
    """The filter :func:`dump_filter` wrote; keys of no dimension are ignored."""
    values = {d.field: d.load(data[d.key]) for d in REGISTRY if data and d.key in data}
    return replace(IncidentFilter(), **values)


def filter_key(f: IncidentFilter) -> str:
    """A stable text for a filter (cache keys)."""
    return json.dumps(dump_filter(f), sort_keys=True, separators=(",", ":"))


def by_rollup(f: IncidentFilter) -> bool:
    """Whether ``incident_totals`` can answer the filter: every dimension narrowing it keys it."""
    return all(d.rollup is not None for d in REGISTRY if d.is_set(f))


def national(f: IncidentFilter) -> bool:
    """Whether the national official totals can answer the filter."""
    return all(d.national for d in REGISTRY if d.is_set(f))
