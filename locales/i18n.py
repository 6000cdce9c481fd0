"""Gettext catalogs and CLDR formatting.

Catalogs are read from the ``.po`` files at start (no compile step a user could skip) and a missing
catalog fails loudly. A :class:`Translator` carries one language's catalog, its Babel locale and the
time zone; every user-visible string and every number or date goes through one.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

from locales import DOMAIN, LOCALES_DIR, SUPPORTED_LANGUAGES


@functools.lru_cache(maxsize=8192)
def _integer(value: int, locale: Locale) -> str:
    """Whole numbers repeat (counts, years): Babel's formatting costs tens of microseconds."""
    return format_decimal(value, locale=locale)


class CatalogError(RuntimeError):
    """A catalog is missing or unreadable."""


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (it is translated where it is shown)."""
    return message


@dataclass(frozen=True)
class Translator:
    """One language: gettext functions plus Babel formatting with an explicit locale and time zone."""

    lang: str
    locale: Locale
    tz: ZoneInfo
    translations: Translations

    # -- gettext ---------------------------------------------------------------------------------
    def _(self, message: str) -> str:
        return self.translations.gettext(message)

    gettext = _

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return str(self.translations.pgettext(context, message))

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return str(self.translations.npgettext(context, singular, plural, n))

    # -- formatting ------------------------------------------------------------------------------
    def number(self, value: int | float) -> str:
        if type(value) is int:
            return _integer(value, self.locale)
        return format_decimal(value, locale=self.locale)

    def date(self, value: dt.date, precision: str = "day") -> str:
        """A date as precise as it is known: ``13 July 2023``, ``July 2023`` or ``2023``.

        ``precision`` is a date precision's value (``"year"``, ``"month"``, ``"day"``)."""
        if precision == "year":
            return format_skeleton("y", value, locale=self.locale)
        if precision == "month":
            return format_skeleton("yMMMM", value, locale=self.locale)
        return format_date(value, format="long", locale=self.locale)

    def datetime(self, value: dt.datetime) -> str:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return format_datetime(value, format="medium", tzinfo=self.tz, locale=self.locale)

    def own_name(self) -> str:
        """This language's name for itself (``Azərbaycanca``, ``English``, ``Русский``)."""
        # NOTE: the name of the language of this catalog, in that language (Azərbaycanca, Русский).
        return self.pgettext("language name", "English")


class Catalogs:
    """The catalogs of every supported language, loaded once by the composition root."""

    def __init__(self, translations: dict[str, Translations], default: str, tz: ZoneInfo) -> None:
        self._translations = translations
        self.default = default
        self.tz = tz
        self._cache: dict[str, Translator] = {}

    @classmethod
    def load(
        cls,
        default: str = "en",
        tz: ZoneInfo | None = None,
        directory: Path = LOCALES_DIR,
        languages: Iterable[str] = SUPPORTED_LANGUAGES,
    ) -> Catalogs:
        translations = {lang: read_catalog(directory, lang) for lang in languages}
        if default not in translations:
            raise CatalogError(f"default language {default!r} has no catalog")
        return cls(translations, default, tz or ZoneInfo("UTC"))

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self._translations)

    def pick(self, *candidates: str | None) -> str:
        """The first supported language among candidates (``ru-RU`` counts as ``ru``), else default."""
        for candidate in candidates:
            if not candidate:
                continue
            code = candidate.replace("_", "-").split("-", 1)[0].lower()
            if code in self._translations:
                return code
        return self.default

    def translator(self, lang: str | None) -> Translator:
        code = self.pick(lang)
        found = self._cache.get(code)
        if found is None:
            found = Translator(code, Locale.parse(code), self.tz, self._translations[code])
            self._cache[code] = found
        return found

    def all(self) -> list[Translator]:
        return [self.translator(lang) for lang in self._translations]


def read_catalog(directory: Path, lang: str) -> Translations:
    """Compile ``<lang>/LC_MESSAGES/messages.po`` in memory. Fuzzy entries are not used."""
    path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        raise CatalogError(f"catalog for {lang!r} not found at {path}")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
