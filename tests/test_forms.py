"""Admin forms: key=value parsing and value checks, as pure functions (with property tests)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.domain.gazetteer import DistrictEntry, Gazetteer
from db.domain.problems import ProblemKind
from db.domain.records import DatePrecision, Device
from db.domain.validation import MAX_COUNT, Invalid, check_count, check_url
from handlers.forms import (
    check_date,
    check_value,
    parse_edit,
    parse_id_and_reason,
    parse_incident,
    parse_official,
    split_pairs,
)

TODAY = dt.date(2026, 11, 27)
GAZETTEER = Gazetteer.build(
    [
        DistrictEntry(1, "kalbajar", {"en": "Kalbajar", "az": "Kəlbəcər"}, ("Kelbecer",)),
        DistrictEntry(2, "lachin", {"en": "Lachin", "az": "Laçın"}, ()),
    ]
)


def kinds(problems: object) -> list[str]:
    return [p.kind.value for p in problems]  # type: ignore[attr-defined]


def test_the_issues_example_parses() -> None:
    draft, parsed = parse_incident(
        "date=2023-07-13 district=Kalbajar place=Seyidlar civilian_injured=1 device=antipersonnel "
        'source=https://news.az/x note="injured while working near the village"',
        GAZETTEER,
        TODAY,
    )
    assert parsed.ok and draft is not None
    assert (draft.date, draft.precision, draft.district_id) == (
        dt.date(2023, 7, 13),
        DatePrecision.DAY,
        1,
    )
    assert (draft.civilian_injured, draft.device, draft.settlement) == (
        1,
        Device.ANTIPERSONNEL,
        "Seyidlar",
    )
    assert draft.note == "injured while working near the village"


@pytest.mark.parametrize(
    ("text", "span", "precision"),
    [
        ("2023-07-13", (dt.date(2023, 7, 13), dt.date(2023, 7, 13)), DatePrecision.DAY),
        ("2023-07", (dt.date(2023, 7, 1), dt.date(2023, 7, 31)), DatePrecision.MONTH),
        ("2024-02", (dt.date(2024, 2, 1), dt.date(2024, 2, 29)), DatePrecision.MONTH),
        ("2023", (dt.date(2023, 1, 1), dt.date(2023, 12, 31)), DatePrecision.YEAR),
        ("13.07.2023", (dt.date(2023, 7, 13), dt.date(2023, 7, 13)), DatePrecision.DAY),
    ],
)
def test_dates_keep_their_precision(
    text: str, span: tuple[dt.date, dt.date], precision: DatePrecision
) -> None:
    draft, _ = parse_incident(
        f"date={text} district=Lachin military_killed=1 source=https://a.az/1", GAZETTEER, TODAY
    )
    assert draft is not None
    assert draft.span == span and draft.precision is precision


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("2023-02-30", ProblemKind.BAD_DATE),
        ("2023-02-29", ProblemKind.BAD_DATE),
        ("2023-00", ProblemKind.BAD_DATE),
        ("30.02.2023", ProblemKind.BAD_DATE),
        ("2026-11-28", ProblemKind.FUTURE_DATE),
        ("2027", ProblemKind.FUTURE_DATE),
        ("1899-12-31", ProblemKind.TOO_OLD),
        ("13/07/2023", ProblemKind.BAD_DATE),
        ("", ProblemKind.BAD_DATE),
    ],
)
def test_bad_dates(value: str, kind: ProblemKind) -> None:
    with pytest.raises(Invalid) as caught:
        check_date("date", value, TODAY)
    assert caught.value.problem.kind is kind
    assert caught.value.problem.key == "date"


def test_a_month_that_has_begun_is_not_in_the_future() -> None:
    assert check_date("date", "2026-11", TODAY) == (dt.date(2026, 11, 1), DatePrecision.MONTH)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("-1", ProblemKind.BAD_NUMBER),
        ("1.5", ProblemKind.BAD_NUMBER),
        ("one", ProblemKind.BAD_NUMBER),
        ("١٢", ProblemKind.BAD_NUMBER),  # Arabic-Indic digits: isdigit() but not ours
        ("²", ProblemKind.BAD_NUMBER),
        (str(MAX_COUNT + 1), ProblemKind.TOO_LARGE),
        ("9" * 400, ProblemKind.TOO_LARGE),
    ],
)
def test_bad_counts(value: str, kind: ProblemKind) -> None:
    with pytest.raises(Invalid) as caught:
        check_count("civilian_killed", value)
    assert caught.value.problem.kind is kind


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://example.com/x",
        "https://",
        "https:///path",
        "http://localhost/x",
        "https://user:secret@example.com/",
        "https://exa mple.com/",
        'https://example.com/"onmouseover="x',
        "https://example.com/<script>",
        "//example.com/x",
        "example.com/x",
        "https://example.com/" + "a" * 2100,
        "https://[::1/",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_url("source", url)
    assert caught.value.problem.kind in (ProblemKind.BAD_URL, ProblemKind.TOO_LONG)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.az/a?b=1&c=2#x",
        "http://report.az/x",
        "https://xn--80ak6aa92e.com/",
        "https://day.az:8080/",
    ],
)
def test_good_urls(url: str) -> None:
    assert check_url("source", url) == url


def test_every_problem_is_reported_at_once() -> None:
    draft, parsed = parse_incident(
        "date=2023-02-30 district=Atlantis civilian_killed=-1 source=javascript:x colour=red "
        "stray date=2023-01-01",
        GAZETTEER,
        TODAY,
    )
    assert draft is None
    assert kinds(parsed.problems) == [
        "not_key_value",
        "unknown_key",
        "repeated_key",
        "bad_date",
        "unknown_district",
        "bad_number",
        "bad_url",
    ]


def test_required_keys_and_casualties() -> None:
    _, parsed = parse_incident("place=x", GAZETTEER, TODAY)
    assert kinds(parsed.problems) == ["missing", "missing", "missing", "no_casualties"]
    _, parsed = parse_incident(
        "date=2023 district=Lachin civilian_killed=0 source=https://a.az", GAZETTEER, TODAY
    )
    assert kinds(parsed.problems) == ["no_casualties"]


def test_quotes_of_every_kind_and_html_are_kept_as_text() -> None:
    tokens = split_pairs(
        'note="a b" place=\u201cc d\u201d activity=\u00abe f\u00bb x=\u201eg h\u201c'
    )
    assert tokens.pairs == (("note", "a b"), ("place", "c d"), ("activity", "e f"), ("x", "g h"))
    draft, _parsed = parse_incident(
        "date=2023 district=Lachin civilian_killed=1 source=https://a.az "
        'note="<b>x</b> & <script>alert(1)</script>"',
        GAZETTEER,
        TODAY,
    )
    assert draft is not None and draft.note == "<b>x</b> & <script>alert(1)</script>"


def test_control_characters_are_removed_from_text() -> None:
    draft, _ = parse_incident(
        'date=2023 district=Lachin civilian_killed=1 source=https://a.az place="a\x00b\x1bc  d"',
        GAZETTEER,
        TODAY,
    )
    assert draft is not None and draft.settlement == "a b c d"


def test_districts_by_any_alias_and_case() -> None:
    for name in ("Kalbajar", "kəlbəcər", "KELBECER", '"Kəlbəcər"'):
        assert check_value("district", name.strip('"'), GAZETTEER, TODAY) == 1


def test_edit_needs_an_id_a_key_and_a_reason() -> None:
    form, _problems = parse_edit('#12 civilian_killed=2 reason="typo"', GAZETTEER, TODAY)
    assert form is not None and form.incident_id == 12 and form.values == {"civilian_killed": 2}
    assert form.reason == "typo"
    assert kinds(parse_edit("", GAZETTEER, TODAY)[1]) == ["missing", "missing", "missing"]
    assert kinds(parse_edit("x reason=y", GAZETTEER, TODAY)[1]) == ["bad_id", "missing"]
    assert kinds(parse_edit("1 2 reason=y place=p", GAZETTEER, TODAY)[1]) == ["not_key_value"]
    assert kinds(parse_edit('1 place=p reason=" "', GAZETTEER, TODAY)[1]) == ["empty"]


def test_retract_needs_a_reason_restore_does_not() -> None:
    assert kinds(parse_id_and_reason("5", reason_required=True)[1]) == ["missing"]
    form, problems = parse_id_and_reason("5", reason_required=False)
    assert form is not None and form.reason is None and problems == ()


def test_official_totals_must_add_up() -> None:
    base = "as_of=2023-06-16 source=https://x.az/a "
    defaults = ("ANAMA", dt.date(2020, 11, 10))
    draft, problems = parse_official(
        base + "total=304 civilian_killed=44 civilian_injured=99 military_killed=13 "
        "military_injured=148",
        TODAY,
        defaults,
        ["ANAMA"],
    )
    assert draft is not None and draft.issuer == "ANAMA" and draft.figures["total"] == 304
    _, problems = parse_official(base + "total=300 killed=57 injured=247", TODAY, defaults, [])
    assert kinds(problems) == ["sums"]
    assert problems[0].detail == ("killed + injured = total",)
    draft, _ = parse_official(base + "total=1 issuer=anama", TODAY, defaults, ["ANAMA"])
    assert draft is not None and draft.issuer == "ANAMA"
    _, problems = parse_official(base + "total=1", TODAY, (None, None), [])
    assert kinds(problems) == ["missing", "missing"]


# -- properties -----------------------------------------------------------------------------------

KEYS = st.sampled_from(["date", "district", "place", "note", "source", "activity"])
VALUES = st.text(
    alphabet=st.characters(blacklist_characters='"', blacklist_categories=("Cs",)), max_size=40
)


@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_quoted_values_come_back_unchanged(pairs: dict[str, str]) -> None:
    text = " ".join(f'{key}="{value}"' for key, value in pairs.items())
    tokens = split_pairs(text)
    assert dict(tokens.pairs) == pairs and tokens.words == () and tokens.problems == ()


@given(st.text(max_size=300))
def test_any_text_gives_a_draft_or_named_problems(text: str) -> None:
    draft, parsed = parse_incident(text, GAZETTEER, TODAY)
    assert (draft is None) == bool(parsed.problems)
    for problem in parsed.problems:
        assert problem.kind in ProblemKind


@given(st.text(max_size=60))
def test_checking_any_value_raises_only_invalid(value: str) -> None:
    for key in ("date", "district", "civilian_killed", "device", "source", "place", "note"):
        with contextlib.suppress(Invalid):
            check_value(key, value, GAZETTEER, TODAY)
