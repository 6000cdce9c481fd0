"""Callback data: at most 64 bytes, decoded defensively."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from db.domain.filters import Category, IncidentFilter, Period
from handlers.callbacks import (
    MAX_CALLBACK_BYTES,
    IncidentsPageData,
    decode_language,
    encode_language,
)

filters = st.builds(
    IncidentFilter,
    districts=st.lists(st.integers(1, 99), max_size=4, unique=True).map(tuple),
    period=st.one_of(
        st.just(Period()),
        st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(lambda d: Period(d, d)),
        st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1)).map(lambda d: Period(d, None)),
    ),
    category=st.sampled_from([None, Category.CIVILIAN, Category.MILITARY]),
)


@given(st.integers(0, 1_000_000), filters)
def test_round_trip_within_64_bytes(offset: int, f: IncidentFilter) -> None:
    data = IncidentsPageData(offset, f).encode()
    assert data is not None
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    decoded = IncidentsPageData.decode(data)
    assert decoded is not None
    assert decoded.offset == offset
    assert set(decoded.filter.districts) == set(f.districts)
    assert (decoded.filter.period, decoded.filter.category) == (f.period, f.category)


def test_many_districts_fit_as_a_mask() -> None:
    every = IncidentFilter(districts=tuple(range(1, 15)), period=Period(dt.date(2021, 1, 1), None))
    data = IncidentsPageData(70, every).encode()
    assert data is not None and "|x3fff|" in data
    decoded = IncidentsPageData.decode(data)
    assert decoded is not None and set(decoded.filter.districts) == set(range(1, 15))


def test_too_long_filters_are_not_encoded() -> None:
    many = IncidentFilter(districts=tuple(range(1000, 1020)))
    assert IncidentsPageData(0, many).encode() is None


@given(st.text(max_size=80))
def test_decode_never_raises(data: str) -> None:
    decoded = IncidentsPageData.decode(data)
    if decoded is not None:
        assert decoded.offset >= 0


def test_forged_data_is_refused() -> None:
    for data in [
        "inc|-1||||",
        "inc|x||||",
        "inc|0|a|||",
        "inc|0||20231301||",
        "inc|0||||z",
        "inc|0||20230102|20230101|",
        "lang:az",
        "inc|0|||",
    ]:
        assert IncidentsPageData.decode(data) is None, data


def test_language_data() -> None:
    assert decode_language(encode_language("az")) == "az"
    assert decode_language("inc|0||||") is None
    assert decode_language("lang:") is None
