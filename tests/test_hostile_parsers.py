"""Hostile and malformed input to the pure parsers (issue 6): every command parser, the key=value
forms, every callback data decoder, the value checks and the CSV import, with text of any size and
alphabet. Each raises nothing but its documented problem type, names the user's words as they
were written, and round-trips where an encoder exists."""

from __future__ import annotations

import contextlib
import datetime as dt

from hypothesis import example, given, settings
from hypothesis import strategies as st

from db.domain.csv_rows import parse_csv
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.periods import BadPeriod, parse_date_span, parse_period
from db.domain.problems import ProblemKind
from db.domain.schedule import Frequency
from db.domain.validation import (
    MAX_RECORD_ID,
    Invalid,
    check_count,
    check_device,
    check_district,
    check_text,
    check_url,
    clean,
)
from db.domain.vocabulary import Vocabulary
from handlers.callbacks import (
    MAX_CALLBACK_BYTES,
    MAX_OFFSET,
    AddButton,
    IncidentsPageData,
    decode_draft,
    decode_language,
    decode_review,
    decode_subscription,
    decode_undo,
    encode_draft,
    encode_review,
    encode_subscription,
    encode_undo,
)
from handlers.forms import (
    check_date,
    check_day,
    check_value,
    parse_edit,
    parse_id,
    parse_id_and_reason,
    parse_incident,
    parse_official,
    split_pairs,
)
from handlers.parsing import parse_comparison, parse_filters, parse_subscription, tokenize
from tests.test_parsing import GAZ

TODAY = dt.date(2026, 11, 27)
VOCAB = Vocabulary.build(
    {Category.CIVILIAN: ["civilian", "mülki"], Category.MILITARY: ["military", "военные"]},
    {Frequency.DAILY: ["daily", "ежедневно"], Frequency.WEEKLY: ["weekly"]},
)

#: Pieces that have hurt parsers before: digits of other scripts, superscripts, markup, quotes of
#: every kind, separators, direction marks and joiners, NUL and other control characters.
PIECES = st.sampled_from(
    [
        "2023",
        "-07",
        "-13",
        "..",
        ".",
        ":",
        "07:30",
        "²",
        "²²²²",
        "①",
        "٢٠٢٣",
        "１２",
        "99999999999999999999",
        "-1",
        "#",
        "=",
        "date=",
        "district=",
        "source=",
        "reason=",
        "total=",
        "as_of=",
        '"',
        "“",
        "”",
        "„",
        "«",
        "»",
        " ",
        "\t",
        "\n",
        "\x00",
        "\x1f",
        "\x7f",
        "\u202e",
        "\u200d",
        "\ufeff",
        "<b>",
        "&amp;",
        "</a>",
        "|",
        "x",
        "Kalbajar",
        "Kəlbəcər",
        "civilian",
        "daily",
        "https://a.b/c",
        "👍🏽",
    ]
)
TEXT = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=40).map("".join),
    st.text(min_size=1000, max_size=4096),
)
HOSTILE = settings(max_examples=150, deadline=None, derandomize=True)


# -- command arguments ----------------------------------------------------------------------------


def _echoed(problems: object, text: str) -> None:
    """Every problem names a word of the user's text exactly as it was written."""
    words = set(tokenize(text))
    for problem in problems:  # type: ignore[attr-defined]
        assert problem.word == "" or problem.word in words, (problem, text)
        assert all(d in GAZ.entries for d in problem.suggestions)


@HOSTILE
@given(TEXT)
@example("²²²² ١٢.٢٠٢٣ 2023-02-30..")
def test_filters_of_any_text(text: str) -> None:
    parsed = parse_filters(text, GAZ, VOCAB)
    _echoed(parsed.problems, text)
    assert all(d in GAZ.entries for d in parsed.filter.districts)
    period = parsed.filter.period
    assert not (period.start and period.end and period.start > period.end)


@HOSTILE
@given(TEXT)
def test_comparisons_of_any_text(text: str) -> None:
    parsed = parse_comparison(text, GAZ, VOCAB)
    _echoed(parsed.problems, text)
    if parsed.ok:
        assert parsed.left != parsed.right


@HOSTILE
@given(TEXT)
@example("25:99 ²:²² ٠٧:٣٠ daily weekly")
def test_subscriptions_of_any_text(text: str) -> None:
    parsed = parse_subscription(text, GAZ, VOCAB)
    _echoed(parsed.problems, text)
    if parsed.ok:
        assert parsed.filter.period.is_open


@HOSTILE
@given(st.one_of(TEXT, st.lists(PIECES, max_size=8).map("".join)))
@example("²²²²")
@example("0000")
@example("2023-00")
def test_periods_of_any_text_are_a_period_or_bad_period(text: str) -> None:
    for parse in (parse_period, parse_date_span):
        with contextlib.suppress(BadPeriod):
            parse(text)
    with contextlib.suppress(BadPeriod):
        period = parse_period(text)
        assert not (period.start and period.end and period.start > period.end)


@HOSTILE
@given(TEXT)
def test_tokens_are_never_empty_and_hold_no_separator(text: str) -> None:
    for token in tokenize(text):
        assert token and token in text
        assert not any(c.isspace() or c == "," or ord(c) < 32 for c in token if c.isascii())


# -- key=value forms ------------------------------------------------------------------------------

#: Problem kinds whose value is the user's text as written (cut short, never rewritten).
_RAW_KINDS = {
    ProblemKind.NOT_KEY_VALUE,
    ProblemKind.UNKNOWN_KEY,
    ProblemKind.UNCLOSED_QUOTE,
    ProblemKind.BAD_NUMBER,
    ProblemKind.TOO_LARGE,
    ProblemKind.BAD_DATE,
    ProblemKind.TOO_OLD,
    ProblemKind.FUTURE_DATE,
    ProblemKind.BAD_URL,
    ProblemKind.BAD_ID,
}


def _form_problems_echo(problems: object, text: str) -> None:
    for problem in problems:  # type: ignore[attr-defined]
        assert problem.kind in ProblemKind
        if problem.kind in _RAW_KINDS:
            assert problem.value in text, (problem, text)


FORM = st.one_of(
    TEXT,
    st.lists(
        st.tuples(
            st.sampled_from(
                ["date", "district", "place", "civilian_killed", "total", "as_of", "reason", "x"]
            ),
            st.one_of(PIECES, st.text(max_size=30)),
            st.sampled_from(["", '"', "«"]),
        ).map(lambda p: f"{p[0]}={p[2]}{p[1]}{p[2] and {'«': '»'}.get(p[2], p[2])}"),
        max_size=8,
    ).map(" ".join),
)


@HOSTILE
@given(FORM)
@example("date=²²²² district=Kalbajar civilian_killed=1 source=https://a.b/c")
def test_incident_form_of_any_text(text: str) -> None:
    draft, parsed = parse_incident(text, GAZ, TODAY)
    assert (draft is None) == bool(parsed.problems)
    _form_problems_echo(parsed.problems, text)


@HOSTILE
@given(st.one_of(FORM, FORM.map(lambda f: "12 " + f)))
@example('12 date=²²²² reason="x"')
def test_edit_form_of_any_text(text: str) -> None:
    form, problems = parse_edit(text, GAZ, TODAY)
    assert (form is None) == bool(problems)
    _form_problems_echo(problems, text)
    if form is not None:
        assert 0 < form.incident_id <= MAX_RECORD_ID and form.values and form.reason


@HOSTILE
@given(st.one_of(FORM, FORM.map(lambda f: "#7 " + f)), st.booleans())
def test_retract_and_restore_forms_of_any_text(text: str, required: bool) -> None:
    form, problems = parse_id_and_reason(text, reason_required=required)
    assert (form is None) == bool(problems)
    _form_problems_echo(problems, text)


@HOSTILE
@given(FORM, st.sampled_from([(None, None), ("ANAMA", dt.date(2020, 9, 27))]))
@example("as_of=²²²² total=1 source=https://a.b/c", ("ANAMA", dt.date(2020, 9, 27)))
def test_official_form_of_any_text(text: str, defaults: tuple[str | None, dt.date | None]) -> None:
    draft, problems = parse_official(text, TODAY, defaults, ["ANAMA"])
    assert (draft is None) == bool(problems)
    _form_problems_echo(problems, text)


@HOSTILE
@given(TEXT)
def test_split_pairs_never_loses_a_key(text: str) -> None:
    tokens = split_pairs(text)
    for key, _ in tokens.pairs:
        assert key and key.isascii()
    for word in tokens.words:
        assert word in text


# -- single values --------------------------------------------------------------------------------


@HOSTILE
@given(st.one_of(TEXT, st.lists(PIECES, max_size=6).map("".join)))
@example("²²²²")
@example("①②③④-01-01")
@example("0000-01-01")
def test_every_value_check_raises_only_invalid(value: str) -> None:
    keys = ("date", "district", "place", "activity", "note", "reason", "civilian_killed")
    for key in (*keys, "device", "source"):
        with contextlib.suppress(Invalid):
            check_value(key, value, GAZ, TODAY)
    checks = (
        lambda: check_day("as_of", value, TODAY),
        lambda: check_date("date", value, TODAY),
        lambda: check_count("total", value, 1_000_000),
        lambda: check_url("source", value),
        lambda: check_text("note", value, 1000),
        lambda: check_district("district", value, GAZ),
        lambda: check_device("device", value),
        lambda: parse_id("id", value),
    )
    for check in checks:
        with contextlib.suppress(Invalid):
            check()


def test_a_date_of_superscript_digits_is_a_bad_date_not_a_crash() -> None:
    """Found by the property above: ``"²²²²".isdigit()`` holds but ``int()`` refuses it."""
    for value in ("²²²²", "²²²²-01", "①②③④"):
        try:
            check_date("date", value, TODAY)
        except Invalid as exc:
            assert exc.problem.kind is ProblemKind.BAD_DATE
            assert exc.problem.value == value
        else:
            raise AssertionError(value)


@HOSTILE
@given(TEXT)
def test_clean_text_has_no_control_characters_or_edges(value: str) -> None:
    text = clean(value)
    assert text == text.strip()
    assert not any(ord(c) < 32 or c == "\x7f" for c in text)


# -- callback data --------------------------------------------------------------------------------

PREFIXED = st.tuples(
    st.sampled_from(["inc|", "lang:", "sub|", "rv|", "undo|", "draft|", "addc|", ""]),
    st.lists(
        st.one_of(
            PIECES,
            st.integers(-(10**20), 10**20).map(str),
            st.sampled_from(["|", "x", "c", "m", "a", "r", "i", "s", "d", "w"]),
            st.text(max_size=4),
        ),
        max_size=12,
    ),
).map(lambda p: p[0] + "".join(p[1]))
DATA = st.one_of(st.text(max_size=80), PREFIXED)


@HOSTILE
@given(DATA)
@example("inc|0|99999999999999999999|||")
@example("inc|0|1.-3|||")
@example("inc|٥|1|||")
@example("inc|0|x-1|||")
@example("inc|0|x_1|||")
@example("inc|0|X1|||")
@example("inc| 5|1|||")
def test_incident_pages_decode_to_valid_values_only(data: str) -> None:
    """Decoded data are valid: a sane offset, district ids a record can have, an ordered period;
    and they encode again to data that decode to the same page."""
    decoded = IncidentsPageData.decode(data)
    if decoded is None:
        return
    assert 0 <= decoded.offset <= MAX_OFFSET
    assert all(0 < d <= MAX_RECORD_ID for d in decoded.filter.districts)
    period = decoded.filter.period
    assert not (period.start and period.end and period.start > period.end)
    again = decoded.encode()
    if again is not None:
        assert IncidentsPageData.decode(again) == decoded


def test_forged_district_ids_are_refused() -> None:
    """Found by the property above: ids past any record, negative ids, other scripts' digits."""
    for data in (
        "inc|0|99999999999999999999|||",
        "inc|0|1.-3|||",
        "inc|0|0|||",
        "inc|٥|1|||",
        "inc|0|١|||",
        "inc|0|x-1|||",
        "inc|0|x_1|||",
        "inc| 5|1|||",
        "inc|+5|1|||",
    ):
        assert IncidentsPageData.decode(data) is None, data


@HOSTILE
@given(
    st.integers(0, MAX_OFFSET),
    st.lists(st.integers(1, 64), max_size=14, unique=True).map(tuple),
    st.sampled_from([None, Category.CIVILIAN, Category.MILITARY]),
    st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))),
)
def test_incident_pages_round_trip(
    offset: int, districts: tuple[int, ...], category: Category | None, day: dt.date | None
) -> None:
    page = IncidentsPageData(offset, IncidentFilter(districts, Period(day, day), category))
    data = page.encode()
    if data is None:
        return
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    decoded = IncidentsPageData.decode(data)
    assert decoded is not None and decoded.offset == offset
    assert set(decoded.filter.districts) == set(districts)
    assert decoded.filter.period == page.filter.period and decoded.filter.category == category


@HOSTILE
@given(DATA)
def test_admin_buttons_decode_to_valid_values_or_none(data: str) -> None:
    review = decode_review(data)
    if review is not None:
        assert encode_review(*review) == data and 0 < review[1] <= MAX_RECORD_ID
    undo = decode_undo(data)
    if undo is not None:
        assert encode_undo(*undo) == data and 0 < undo[1] <= MAX_RECORD_ID
    draft = decode_draft(data)
    if draft is not None:
        assert encode_draft(*draft) == data
    subscription = decode_subscription(data)
    if subscription is not None:
        assert encode_subscription(subscription) == data
    button = AddButton.decode(data)
    if button is not None:
        assert button.encode() == data
    language = decode_language(data)
    assert language is None or data == f"lang:{language}"


# -- CSV files ------------------------------------------------------------------------------------

HEADER = "date,date_precision,district,civilian_killed,source_url\n"
CSV_PIECES = st.sampled_from(
    [",", ";", '"', '""', "\n", "\r\n", "\r", "\x00", "\ufeff", "2023-07-13", "day", "Kalbajar"]
)
CSV_TEXT = st.lists(st.one_of(CSV_PIECES, st.text(max_size=8)), max_size=60).map("".join)
CSV_BYTES = st.one_of(
    st.binary(max_size=400),
    CSV_TEXT.map(str.encode),
    CSV_TEXT.map(lambda t: (HEADER + t).encode()),
    CSV_TEXT.map(lambda t: b"\xef\xbb\xbf" + (HEADER + t).encode()),
    CSV_TEXT.map(lambda t: (HEADER + t).encode("utf-16")),
    CSV_TEXT.map(lambda t: (HEADER + t).encode("cp1251", errors="replace")),
    st.integers(1, 3).map(lambda n: (HEADER + '"' + "x" * (70_000 * n) + '"\n').encode()),
)


@settings(HOSTILE, max_examples=120)
@given(CSV_BYTES)
@example(b"")
@example(b"\x00\x00\x00")
@example(b"\xef\xbb\xbf")
@example((HEADER + "2023-07-13,day,Kalbajar,1,https://a.b/c\x00\n").encode())
def test_any_bytes_as_a_csv_file(data: bytes) -> None:
    parsed = parse_csv(data, GAZ, TODAY)
    assert parsed.ok == bool(parsed.rows) == (not parsed.problems)
    for problem in parsed.problems:
        assert problem.kind in ProblemKind
        assert problem.line is None or problem.line >= 1
        assert len(problem.value) <= 60
    for line, draft in parsed.rows:
        assert line >= 2 and draft.date <= TODAY
