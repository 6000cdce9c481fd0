"""Filter parsing: pure functions, property-tested."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config import DEFAULT_SEED_DIR
from db.domain.filters import Category, Period
from db.domain.gazetteer import DistrictEntry, Gazetteer, normalize
from db.domain.periods import BadPeriod, parse_period
from db.domain.problems import ProblemKind
from db.domain.vocabulary import Vocabulary
from handlers.parsing import parse_filters


def _gazetteer() -> Gazetteer:
    entries = []
    with (DEFAULT_SEED_DIR / "districts.csv").open(encoding="utf-8") as handle:
        for number, row in enumerate(csv.DictReader(handle), start=1):
            entries.append(
                DistrictEntry(
                    id=number,
                    key=row["key"],
                    names={"en": row["name_en"], "az": row["name_az"], "ru": row["name_ru"]},
                    aliases=tuple(row["aliases"].split("|")),
                )
            )
    return Gazetteer.build(entries)


GAZ = _gazetteer()
VOCAB = Vocabulary.build(
    {
        Category.CIVILIAN: ["civilian", "civilians", "mülki", "мирные", "гражданские"],
        Category.MILITARY: ["military", "hərbçi", "военные"],
    }
)
KALBAJAR = GAZ.by_key("kalbajar")


def parse(text: str):
    return parse_filters(text, GAZ, VOCAB)


@pytest.mark.parametrize(
    "name",
    [
        "Kalbajar",
        "Kelbajar",
        "Kəlbəcər",
        "Kelbecer",
        "Кельбаджар",
        "Кяльбаджар",
        "KƏLBƏCƏR",
        "kalbacar",
        "kelbadzhar",
        "кельбаджар",
    ],
)
def test_district_by_any_name_or_alias(name: str) -> None:
    result = parse(name)
    assert result.ok
    assert result.filter.districts == (KALBAJAR,)


def test_every_alias_of_the_dataset_resolves_to_its_district() -> None:
    with (DEFAULT_SEED_DIR / "districts.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            for name in [
                row["name_en"],
                row["name_az"],
                row["name_ru"],
                *row["aliases"].split("|"),
            ]:
                assert GAZ.resolve(name) == GAZ.by_key(row["key"]), name


def test_normalize_folds_case_and_diacritics() -> None:
    assert normalize("Füzuli") == normalize("FUZULI") == "fuzuli"
    assert normalize("Ağdam") == "agdam"
    assert normalize("Şuşa") == "susa"
    assert normalize("Qubadlı") == "qubadli"


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2023", dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
        ("2023-07", dt.date(2023, 7, 1), dt.date(2023, 7, 31)),
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("2023-07-13", dt.date(2023, 7, 13), dt.date(2023, 7, 13)),
        ("13.07.2023", dt.date(2023, 7, 13), dt.date(2023, 7, 13)),
        ("07.2023", dt.date(2023, 7, 1), dt.date(2023, 7, 31)),
        ("2021-01-01..2021-06-30", dt.date(2021, 1, 1), dt.date(2021, 6, 30)),
        ("2021..2022", dt.date(2021, 1, 1), dt.date(2022, 12, 31)),
        ("2022..", dt.date(2022, 1, 1), None),
        ("..2021-06-30", None, dt.date(2021, 6, 30)),
        ("..2021-06", None, dt.date(2021, 6, 30)),
    ],
)
def test_periods(text: str, start: dt.date | None, end: dt.date | None) -> None:
    assert parse_period(text) == Period(start, end)
    assert parse(text).filter.period == Period(start, end)


@pytest.mark.parametrize(
    "text", ["2023-02-30", "2023-13", "2023-00-10", "1800", "31.02.2024", "12345"]
)
def test_invalid_dates_are_reported(text: str) -> None:
    result = parse(text)
    assert [p.kind for p in result.problems] == [ProblemKind.BAD_DATE]
    assert result.problems[0].word == text


@pytest.mark.parametrize("text", ["2023..2021", "2021-06-30..2021-01-01"])
def test_backwards_ranges_are_reported(text: str) -> None:
    assert [p.kind for p in parse(text).problems] == [ProblemKind.BAD_RANGE]


def test_a_range_without_ends_is_reported() -> None:
    assert [p.kind for p in parse("..").problems] == [ProblemKind.EMPTY_RANGE]


def test_filters_in_any_order_and_all_languages() -> None:
    for text in [
        "Kalbajar 2023 civilian",
        "civilian 2023 Kalbajar",
        "2023, Kəlbəcər, mülki",
        "мирные Кельбаджар 2023",
    ]:
        result = parse(text)
        assert result.ok, text
        assert result.filter.districts == (KALBAJAR,)
        assert result.filter.period == Period(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
        assert result.filter.category is Category.CIVILIAN


def test_military_words() -> None:
    for word in ["military", "MILITARY", "hərbçi", "Военные"]:
        assert parse(word).filter.category is Category.MILITARY


def test_several_districts() -> None:
    result = parse("Fuzuli Aghdam fuzuli")
    assert result.filter.districts == (GAZ.by_key("fuzuli"), GAZ.by_key("aghdam"))


def test_unknown_word_is_named_with_nearest_districts() -> None:
    result = parse("Kelbajr 2023")
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.kind is ProblemKind.UNKNOWN_WORD
    assert problem.word == "Kelbajr"
    assert problem.suggestions[0] == KALBAJAR


def test_two_periods_and_two_categories_are_refused() -> None:
    assert [p.kind for p in parse("2022 2023").problems] == [ProblemKind.TWO_PERIODS]
    assert [p.kind for p in parse("civilian military").problems] == [ProblemKind.TWO_CATEGORIES]


def test_bad_period_exception_carries_its_kind() -> None:
    with pytest.raises(BadPeriod) as info:
        parse_period("2023-02-30")
    assert info.value.kind is ProblemKind.BAD_DATE


@given(st.text(max_size=300))
def test_parser_never_raises_and_reports_every_word(text: str) -> None:
    result = parse(text)
    for problem in result.problems:
        assert problem.word
        assert all(d in GAZ.entries for d in problem.suggestions)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_iso_day_round_trip(day: dt.date) -> None:
    assert parse_period(day.isoformat()) == Period(day, day)
    assert parse_period(day.strftime("%d.%m.%Y")) == Period(day, day)


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
)
def test_ranges_accept_ordered_ends_and_refuse_reversed(a: dt.date, b: dt.date) -> None:
    text = f"{a.isoformat()}..{b.isoformat()}"
    if a <= b:
        assert parse_period(text) == Period(a, b)
    else:
        with pytest.raises(BadPeriod):
            parse_period(text)


def test_only_the_first_unknown_words_get_suggestions() -> None:
    """A long message of near-misses stays cheap: the reply names only the first few anyway."""
    result = parse(" ".join(["Kelbajr"] * 50))
    assert len(result.problems) == 50
    with_suggestions = [p for p in result.problems if p.suggestions]
    assert len(with_suggestions) == 5
    assert result.problems[:5] == tuple(with_suggestions)
