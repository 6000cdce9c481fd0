"""The rendering layer: whatever the input, Telegram's HTML parser accepts the output and it fits."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.emulator import parse_html
from db.domain.figures import Counts, DatedValue
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.listing import IncidentPage, IncidentRow, SourceRef
from db.domain.records import DatePrecision, Device
from db.domain.vocabulary import Vocabulary
from handlers import render
from handlers.parsing import parse_filters
from handlers.render import listing
from handlers.render import start as render_start
from locales.i18n import Catalogs
from tests.test_parsing import GAZ, VOCAB

CATALOGS = Catalogs.load()
LANGS = ("az", "en", "ru")


def _fits(html: str) -> str:
    plain = parse_html(html).text
    assert len(plain.encode("utf-16-le")) // 2 <= render.MAX_MESSAGE
    return plain


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=4096), st.sampled_from(LANGS))
def test_problems_reply_is_valid_html_of_any_input(text: str, lang: str) -> None:
    parsed = parse_filters(text, GAZ, VOCAB)
    if parsed.ok:
        return
    plain = _fits(render.render_problems(CATALOGS.translator(lang), GAZ, parsed.problems))
    first = parsed.problems[0].word
    if len(first) <= render.MAX_ECHOED_WORD:
        assert first in plain  # echoed exactly as typed, after Telegram's parsing


def test_problem_words_come_back_unchanged() -> None:
    parsed = parse_filters('Ali <&> "Veli"', GAZ, VOCAB)
    plain = _fits(render.render_problems(CATALOGS.translator("en"), GAZ, parsed.problems))
    for word in ("Ali", "<&>", '"Veli"'):
        assert f"“{word}”" in plain


hostile = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=200)


@settings(max_examples=100)
@given(
    settlement=hostile,
    url_tail=hostile,
    lang=st.sampled_from(LANGS),
    counts=st.tuples(*[st.integers(0, 10**6)] * 4),
)
def test_incident_page_with_hostile_data_is_valid_html(
    settlement: str, url_tail: str, lang: str, counts: tuple[int, int, int, int]
) -> None:
    row = IncidentRow(
        id=1,
        date=DatedValue(dt.date(2023, 7, 13), DatePrecision.DAY),
        district_id=GAZ.by_key("kalbajar"),
        settlement=settlement,
        counts=Counts(*counts),
        device=Device.UXO,
        activity=settlement[:20],
        sources=(SourceRef("https://example.org/" + url_tail, settlement),),
    )
    page = IncidentPage(rows=(row,) * 5, total=120, offset=5)
    rendered = listing.render_incidents(
        CATALOGS.translator(lang),
        GAZ,
        IncidentFilter(period=Period(None, dt.date(2024, 1, 1))),
        page,
    )
    _fits(rendered.text)
    assert rendered.keyboard is not None
    for button in rendered.keyboard.inline_keyboard[0]:
        assert button.callback_data is not None
        assert len(str(button.callback_data).encode()) <= 64


@pytest.mark.parametrize("lang", LANGS)
def test_help_start_and_language_prompt_are_valid_html(lang: str) -> None:
    t = CATALOGS.translator(lang)
    _fits(render_start.render_help(t, GAZ))
    _fits(render_start.render_start(t, "<Ali & Veli>"))
    assert "<Ali & Veli>" in parse_html(render_start.render_start(t, "<Ali & Veli>")).text
    _fits(render_start.render_language_prompt(t, CATALOGS.all()).text)


def test_vocabulary_is_normalised() -> None:
    vocabulary = Vocabulary.build({})
    assert vocabulary.choice("civilian", Category) is None


def test_a_page_of_long_entries_is_cut_to_fit_and_paging_goes_on_from_there() -> None:
    row = IncidentRow(
        id=1,
        date=DatedValue(dt.date(2023, 7, 13), DatePrecision.DAY),
        district_id=GAZ.by_key("kalbajar"),
        settlement="Ş" * 200,
        counts=Counts(1, 2, 3, 4),
        device=Device.ANTIPERSONNEL,
        activity="farming",
        sources=tuple(SourceRef(f"https://example.org/{'x' * 300}/{i}", None) for i in range(9)),
    )
    page = IncidentPage(rows=(row,) * 5, total=40, offset=10)
    for lang in LANGS:
        rendered = listing.render_incidents(CATALOGS.translator(lang), GAZ, IncidentFilter(), page)
        plain = _fits(rendered.text)
        assert "(+6)" in plain  # three sources shown, the rest counted
        shown = plain.count("Ş" * 200)
        assert 1 <= shown <= 5
        assert rendered.keyboard is not None
        older = rendered.keyboard.inline_keyboard[0][-1].callback_data
        assert str(older).split("|")[1] == str(10 + shown)


def test_only_outages_are_called_unavailable() -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    from handlers.errors import is_database_unavailable

    assert is_database_unavailable(OperationalError("SELECT 1", {}, Exception("gone")))
    assert is_database_unavailable(ConnectionRefusedError(111, "refused"))
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = TimeoutError()
    assert is_database_unavailable(wrapped)
    assert not is_database_unavailable(IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not is_database_unavailable(ValueError("bug"))
