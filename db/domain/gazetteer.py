"""The dataset's names in memory: resolve any spelling of a district, name it (and the issuers of
official totals) in a language, suggest near names.

Built from the ``districts`` tables at start (districts are data, loaded from the dataset's files), so
matching costs no query. Matching is case- and diacritics-insensitive.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# Letters that Unicode does not decompose into a base letter and a mark.
_FOLD = str.maketrans(
    {"ə": "e", "ı": "i", "ø": "o", "ł": "l", "ß": "ss", "ё": "е", "ъ": "", "ь": ""}
)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize(name: str) -> str:
    """Fold case, diacritics and punctuation: ``Kəlbəcər`` and ``KELBECER`` give ``kelbecer``."""
    folded = name.casefold().translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", folded)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub("", stripped)


@dataclass(frozen=True, slots=True)
class DistrictEntry:
    id: int
    key: str
    #: Official names by language code.
    names: dict[str, str]
    aliases: tuple[str, ...] = ()


@dataclass
class Gazetteer:
    """Lookup tables over the districts; immutable once built."""

    entries: dict[int, DistrictEntry] = field(default_factory=dict)
    _by_norm: dict[str, int] = field(default_factory=dict)
    _by_key: dict[str, int] = field(default_factory=dict)
    #: The longest name in words, so the parser knows how many tokens a name can span.
    max_words: int = 1
    #: Names of the issuers of official totals: issuer as stored -> language -> name.
    issuers: dict[str, dict[str, str]] = field(default_factory=dict)

    def with_issuers(self, issuers: dict[str, dict[str, str]]) -> Gazetteer:
        self.issuers = issuers
        return self

    def issuer(self, issuer: str, lang: str, fallback: str = "en") -> str:
        """An issuer's name in a language, as the dataset gives it (else the stored name)."""
        names = self.issuers.get(issuer, {})
        return names.get(lang) or names.get(fallback) or issuer

    @classmethod
    def build(cls, entries: Iterable[DistrictEntry]) -> Gazetteer:
        gaz = cls()
        for entry in entries:
            gaz.entries[entry.id] = entry
            gaz._by_key[entry.key] = entry.id
            for spelling in (entry.key, *entry.names.values(), *entry.aliases):
                norm = normalize(spelling)
                if norm:
                    # First come, first kept: an official name wins over another district's alias.
                    gaz._by_norm.setdefault(norm, entry.id)
                    gaz.max_words = max(gaz.max_words, len(spelling.split()))
        return gaz

    def __len__(self) -> int:
        return len(self.entries)

    def resolve(self, name: str) -> int | None:
        """The district id for any of its names or aliases, else None."""
        norm = normalize(name)
        return self._by_norm.get(norm) if norm else None

    def by_key(self, key: str) -> int | None:
        return self._by_key.get(key)

    def key(self, district_id: int) -> str:
        return self.entries[district_id].key

    def name(self, district_id: int, lang: str, fallback: str = "en") -> str:
        names = self.entries[district_id].names
        return names.get(lang) or names.get(fallback) or self.entries[district_id].key

    def suggest(self, word: str, limit: int = 3) -> list[int]:
        """Districts whose spellings are nearest to ``word``, best first (possibly none)."""
        norm = normalize(word)
        if not norm:
            return []
        close = difflib.get_close_matches(norm, self._by_norm.keys(), n=limit * 4, cutoff=0.6)
        found: list[int] = []
        for match in close:
            district_id = self._by_norm[match]
            if district_id not in found:
                found.append(district_id)
        return found[:limit]

    def sorted_ids(self, lang: str) -> Sequence[int]:
        return sorted(self.entries, key=lambda i: normalize(self.name(i, lang)))
