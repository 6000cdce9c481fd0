"""Every declared filter dimension, through every place it goes: parsed back from the words that
name it (in each language), stored and read back (JSON, a subscription), named (filters line,
chart title and caption, export caption and file name, inline title), and narrowing the query.

A new dimension fails here until it has sample values in :data:`SAMPLES`.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.app import build_vocabulary
from db import queries, series, subscriptions
from db.domain.digests import DigestSettings
from db.domain.dimensions import (
    REGISTRY,
    Dimension,
    dump_filter,
    filter_key,
    load_filter,
)
from db.domain.figures import Counts
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.series import MonthlySeries
from db.models import Subscription
from handlers.context import Services
from handlers.parsing import parse_filters
from handlers.render import filters_summary, filters_text
from handlers.render.chart import chart_caption
from handlers.render.export import file_name, render_export_caption
from handlers.render.inline import filter_query
from locales.i18n import Catalogs
from tests.test_parsing import GAZ

CATALOGS = Catalogs.load()
WORDS = build_vocabulary(CATALOGS)
LANGUAGES = ("az", "en", "ru")
D = dt.date
FUZULI, KALBAJAR = GAZ.by_key("fuzuli"), GAZ.by_key("kalbajar")
assert FUZULI is not None and KALBAJAR is not None

#: Values of each dimension that narrow a filter (the empty value is tried apart).
SAMPLES: dict[str, list[Any]] = {
    "districts": [(FUZULI,), (KALBAJAR, FUZULI)],
    "period": [
        Period(D(2023, 1, 1), D(2023, 12, 31)),
        Period(D(2022, 7, 1), D(2022, 7, 31)),
        Period(D(2020, 11, 14), D(2020, 11, 14)),
        Period(D(2022, 1, 1), None),
        Period(None, D(2021, 6, 30)),
    ],
    "category": [Category.CIVILIAN, Category.MILITARY],
}

#: Strategies of any value of each dimension, for the round trips.
_DAYS = st.dates(D(1990, 1, 1), D(2100, 12, 31))
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "districts": st.lists(st.sampled_from(sorted(GAZ.entries)), max_size=5, unique=True).map(tuple),
    "period": st.tuples(st.none() | _DAYS, st.none() | _DAYS).map(
        lambda ends: Period(*sorted(ends)) if None not in ends else Period(*ends)  # type: ignore[type-var]
    ),
    "category": st.none() | st.sampled_from(list(Category)),
}

CASES = [(d, value) for d in REGISTRY for value in SAMPLES.get(d.key, [])]


def _with(dimension: Dimension[Any], value: Any) -> IncidentFilter:
    return load_filter({dimension.key: dimension.dump(value)})


def test_every_dimension_has_samples_and_a_strategy() -> None:
    keys = [d.key for d in REGISTRY]
    assert len(set(keys)) == len(keys)
    assert set(SAMPLES) == set(keys) == set(VALUES)
    assert all(SAMPLES[k] for k in keys)


@pytest.mark.parametrize(("dimension", "value"), CASES, ids=str)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_words_of_a_value_parse_back_to_it(
    dimension: Dimension[Any], value: Any, lang: str
) -> None:
    t = CATALOGS.translator(lang)
    f = _with(dimension, value)
    assert dimension.get(f) == value
    parsed = parse_filters(filter_query(t, GAZ, f), GAZ, WORDS)
    assert parsed.ok, parsed.problems
    assert parsed.filter == f


@pytest.mark.parametrize(("dimension", "value"), CASES, ids=str)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_value_is_named_everywhere_a_filter_is(
    dimension: Dimension[Any], value: Any, lang: str
) -> None:
    t = CATALOGS.translator(lang)
    f = _with(dimension, value)
    label = dimension.label(value, t, GAZ)
    assert label
    assert label in filters_summary(t, GAZ, f)  # replies, inline titles, digests
    series = MonthlySeries(f, (), Counts(), 0, None)
    caption = html.unescape(chart_caption(t, GAZ, series, compiled_by="@bot"))
    assert filters_text(t, GAZ, f) in caption  # the chart's subtitle is the same line
    at = dt.datetime(2026, 11, 27, 21, 42, tzinfo=dt.UTC)
    export = html.unescape(render_export_caption(t, GAZ, f, 1, Counts(1), at))
    assert label in export
    slug = dimension.slug(value, GAZ)
    assert slug and slug.isascii()
    assert f"_{slug}_" in file_name(GAZ, f, at)


def test_a_filter_narrowed_by_nothing_names_nothing_but_the_defaults() -> None:
    t = CATALOGS.translator("en")
    assert filters_summary(t, GAZ, IncidentFilter()) == "all districts · all dates"
    assert filter_query(t, GAZ, IncidentFilter()) == ""
    assert dump_filter(IncidentFilter()) == {}
    assert load_filter({}) == load_filter(None) == IncidentFilter()


@given(st.fixed_dictionaries({d.key: VALUES[d.key] for d in REGISTRY}))
def test_dump_and_load_round_trip(values: dict[str, Any]) -> None:
    f = load_filter({d.key: d.dump(values[d.key]) for d in REGISTRY})
    assert all(d.get(f) == values[d.key] for d in REGISTRY)
    assert load_filter(dump_filter(f)) == f
    assert filter_key(load_filter(dump_filter(f))) == filter_key(f)


@given(st.fixed_dictionaries({d.key: VALUES[d.key] for d in REGISTRY}), st.sampled_from(LANGUAGES))
def test_any_filter_parses_back_from_its_words(values: dict[str, Any], lang: str) -> None:
    f = load_filter({d.key: d.dump(values[d.key]) for d in REGISTRY})
    parsed = parse_filters(filter_query(CATALOGS.translator(lang), GAZ, f), GAZ, WORDS)
    assert parsed.ok, parsed.problems
    assert parsed.filter == f


@pytest.mark.parametrize(("dimension", "value"), CASES, ids=str)
async def test_a_subscription_keeps_the_value(
    services: Services, dimension: Dimension[Any], value: Any
) -> None:
    if dimension.key == "period":
        pytest.skip("a subscription has no period")
    chat = -100_700
    now = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
    settings = DigestSettings(filter=_with(dimension, value))
    db = services.store.db
    async with db.write() as session:
        await subscriptions.subscribe(session, chat, settings, 1, now, services.settings.tz)
    async with db.session() as session:
        stored = await subscriptions.get(session, chat)
        await session.execute(delete(Subscription).where(Subscription.chat_id == chat))
        await session.commit()
    assert stored is not None and stored.settings == settings
    assert dimension.get(stored.settings.filter) == value


@pytest.mark.parametrize(("dimension", "value"), CASES, ids=str)
async def test_the_query_narrows_by_the_value(
    services: Services, dimension: Dimension[Any], value: Any
) -> None:
    """On the shipped dataset: fewer (or as many) incidents and people with the value than
    without, and the same figures whether read from ``incident_totals`` or from the incidents."""
    f = _with(dimension, value)
    async with services.store.db.read() as connection:
        everything = await queries.stats(connection, IncidentFilter())
        narrowed = await queries.stats(connection, f)
        direct = await queries._stats_of_incidents(connection, f, 5, True)
    assert 0 < narrowed.incidents <= everything.incidents
    assert narrowed.counts.total <= everything.counts.total
    assert direct == narrowed
    monthly = await services.store.stats.monthly(f)
    assert monthly.placed.total + monthly.unplaced.total == narrowed.counts.total
    async with services.store.db.read() as connection:
        assert await series._rows(connection, f) != []


async def test_each_dimension_narrows_something(services: Services) -> None:
    async with services.store.db.read() as connection:
        everything = await queries.stats(connection, IncidentFilter())
        for dimension in REGISTRY:
            counts = [
                (await queries.stats(connection, _with(dimension, value))).incidents
                for value in SAMPLES[dimension.key]
            ]
            assert min(counts) < everything.incidents, dimension.key
