"""Catalogs: complete, not fuzzy, same placeholders, up to date with the code; plural forms."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from handlers import render
from locales import LOCALES_DIR, SUPPORTED_LANGUAGES
from locales.i18n import CatalogError, Catalogs, Translator
from locales.update import extract_args

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w*)(?:[!:][^}]*)?\}")
TRANSLATED = [lang for lang in SUPPORTED_LANGUAGES if lang != "en"]


def _catalog(lang: str):
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_catalog_has_no_fuzzy_entry_and_same_placeholders(lang: str) -> None:
    for message in _catalog(lang):
        if not message.id:
            continue
        assert not message.fuzzy, f"{lang}: fuzzy entry {message.id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for string in strings:
            if string:
                assert set(PLACEHOLDER.findall(string)) == wanted, (lang, message.id, string)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_is_complete(lang: str) -> None:
    missing = []
    for message in _catalog(lang):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            missing.append(message.id)
    assert missing == [], f"{lang}: untranslated {missing[:5]}"


def test_azerbaijani_is_latin_script_with_its_own_letters() -> None:
    text = " ".join(
        " ".join(m.string) if isinstance(m.string, tuple) else m.string
        for m in _catalog("az")
        if m.id
    )
    assert not re.search(r"[\u0400-\u04FF]", text), "Cyrillic letters in the az catalog"
    for letter in "əğıöüşç":
        assert letter in text.lower(), letter


def test_catalogs_are_up_to_date_with_the_code(tmp_path: Path) -> None:
    """Every message in the code is in the catalogs (run python -m locales.update when this fails)."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *extract_args(pot)[1:]],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as handle:
        extracted = {(m.context, m.id) for m in read_po(handle) if m.id}
    for lang in SUPPORTED_LANGUAGES:
        present = {(m.context, m.id) for m in _catalog(lang) if m.id}
        assert extracted - present == set(), (
            f"{lang}: missing {sorted(extracted - present, key=str)[:5]}"
        )
        assert present - extracted == set(), f"{lang}: stale {sorted(present - extracted)[:5]}"


def test_missing_catalog_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="catalog for 'az' not found"):
        Catalogs.load(directory=tmp_path)


RUSSIAN_KILLED = {
    1: "1 человек погиб",
    2: "2 человека погибли",
    5: "5 человек погибли",
    11: "11 человек погибли",
    21: "21 человек погиб",
    22: "22 человека погибли",
    111: "111 человек погибли",
}


def test_russian_plural_forms_follow_the_number(catalogs: Catalogs) -> None:
    t = catalogs.translator("ru")
    forms = {n: render.killed_line(t, n) for n in RUSSIAN_KILLED}
    # Forms 1 and 21 agree; 2 and 22 agree; 5, 11 and 111 agree; and the three groups differ.
    strip = {n: s.replace(str(n), "#", 1) for n, s in forms.items()}
    assert strip[1] == strip[21]
    assert strip[2] == strip[22]
    assert strip[5] == strip[11] == strip[111]
    assert len({strip[1], strip[2], strip[5]}) == 3
    incidents = {
        n: t.ngettext("{n} incident recorded", "{n} incidents recorded", n).format(n=n)
        for n in RUSSIAN_KILLED
    }
    assert "инцидент" in incidents[1] and "инцидента" in incidents[2]
    assert "инцидентов" in incidents[5] and "инцидентов" in incidents[11]
    assert "инцидентов" in incidents[111] and "инцидент " in incidents[21] + " "


def test_english_plurals(catalogs: Catalogs) -> None:
    t = catalogs.translator("en")
    assert render.killed_line(t, 1) == "1 person killed"
    assert render.killed_line(t, 2) == "2 people killed"
    assert render.people(t, 1_234) == "1,234 people"
    assert [render.signed(t, n) for n in (292, 0, -5)] == ["+292", "0", "-5"]


@pytest.mark.parametrize(
    ("lang", "number"), [("en", "12,345"), ("ru", "12\xa0345"), ("az", "12.345")]
)
def test_numbers_are_formatted_for_the_locale(catalogs: Catalogs, lang: str, number: str) -> None:
    assert catalogs.translator(lang).number(12345) == number


def test_language_choice_order(catalogs: Catalogs) -> None:
    assert catalogs.pick(None, "ru-RU") == "ru"
    assert catalogs.pick("az", "ru") == "az"
    assert catalogs.pick(None, "de") == "en"
    assert isinstance(catalogs.translator("xx"), Translator)
