"""The filter words of every language, normalised: the values a word stands for (a category of
people, a digest's frequency...), whatever the chat's language.

Built at start from the catalogs: each filter dimension (``db.domain.dimensions``) declares the
catalog messages of its words, and ``bot.app.build_vocabulary`` reads them in every language.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from db.domain.gazetteer import normalize
from db.domain.schedule import Frequency

E = TypeVar("E", bound=enum.Enum)


def _normalized(words: Iterable[str]) -> frozenset[str]:
    return frozenset(normalize(w) for w in words if normalize(w))


@dataclass(frozen=True)
class Vocabulary:
    """Normalised words by the value they stand for (members of several enums side by side)."""

    choices: Mapping[enum.Enum, frozenset[str]] = field(default_factory=dict)
    frequencies: Mapping[Frequency, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        words: Mapping[E, Iterable[str]] | Mapping[enum.Enum, Iterable[str]],
        frequencies: Mapping[Frequency, Iterable[str]] | None = None,
    ) -> Vocabulary:
        return cls(
            {value: _normalized(ws) for value, ws in words.items()},
            {f: _normalized(ws) for f, ws in (frequencies or {}).items()},
        )

    def frequency(self, word: str) -> Frequency | None:
        norm = normalize(word)
        for frequency, words in self.frequencies.items():
            if norm in words:
                return frequency
        return None

    def choice(self, word: str, kind: type[E]) -> E | None:
        """The value of ``kind`` that ``word`` stands for, else None."""
        norm = normalize(word)
        for value, words in self.choices.items():
            if isinstance(value, kind) and norm in words:
                return value
        return None
