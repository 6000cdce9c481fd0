"""/chart: casualties per month as a PNG, checked through the emulator in az, en and ru, and its
bars read back from the Figure against /stats for the same filters."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from babel.dates import format_date
from PIL import Image

from bot.config import DEFAULT_SEED_DIR, Settings
from bot.harness import EmulatedBot
from db import writes
from db.domain.figures import Counts
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.records import DatePrecision
from db.domain.series import MonthlySeries, months_between, next_month
from db.domain.stats import Stats
from db.models import Incident, IncidentSource
from handlers.context import Services
from handlers.parsing import parse_filters
from handlers.render import filters_text, killed_line, visible_length
from handlers.render.chart import (
    MAX_CAPTION,
    SERIES,
    chart_caption,
    chart_figure,
    drawn_series,
    title,
    unplaced_note,
)
from locales.i18n import Catalogs, Translator
from tests.conftest import add_reader, emulated_bot, only

LANGUAGES = ("az", "en", "ru")
ROWS = list(csv.DictReader((DEFAULT_SEED_DIR / "incidents.csv").open(encoding="utf-8")))
FIELDS = tuple(s.field for s in SERIES)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chart_bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:CHART-TOKEN") as running:
        yield running


def _filter(services: Services, words: str) -> IncidentFilter:
    parsed = parse_filters(words, services.gazetteer, services.vocabulary)
    assert parsed.ok, parsed.problems
    return parsed.filter


async def _series_and_stats(services: Services, f: IncidentFilter) -> tuple[MonthlySeries, Stats]:
    return await services.store.stats.monthly(f), await services.store.stats.figures(f)


def _bar_sums(t: Translator, services: Services, monthly: MonthlySeries) -> dict[str, int]:
    """The heights of each series' bars in the Figure, added up: one BarContainer per series drawn,
    in the order of ``drawn_series``, labelled like its legend entry, its bars with the series'
    field as gid (a series with no casualties has no bars)."""
    figure = chart_figure(t, services.gazetteer, monthly, compiled_by="@casualty_bot")
    (ax,) = figure.axes
    drawn = drawn_series(monthly.filter.category)
    assert len(ax.containers) == len(drawn)
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert [container.get_label() for container in ax.containers] == legend
    sums = {}
    for s, container in zip(drawn, ax.containers, strict=True):
        assert {bar.get_gid() for bar in container} <= {s.field}
        sums[s.field] = round(sum(bar.get_height() for bar in container))
    return sums


def _tick_texts(t: Translator, services: Services, monthly: MonthlySeries) -> list[str]:
    figure = chart_figure(t, services.gazetteer, monthly, compiled_by="@casualty_bot")
    return [label.get_text() for label in figure.axes[0].get_xticklabels()]


def _figure_texts(t: Translator, services: Services, monthly: MonthlySeries) -> str:
    figure = chart_figure(t, services.gazetteer, monthly, compiled_by="@casualty_bot")
    return "\n".join(text.get_text() for text in figure.texts)


# -- the bars add up to /stats -------------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    [
        "",
        "Aghdam",
        "2023",
        "civilians",
        "military 2022..",
        "Aghdam 2021-01-15..2022-06-10",  # edge months read from SPAN rows, whole ones from MONTH
        "Tartar Fuzuli ..2023-03-20 civilians",
    ],
)
async def test_bars_and_unplaced_add_up_to_stats(
    services: Services, catalogs: Catalogs, words: str
) -> None:
    f = _filter(services, words)
    monthly, stats = await _series_and_stats(services, f)
    assert stats.incidents > 0
    assert monthly.incidents == stats.incidents
    assert monthly.counts == stats.counts
    sums = _bar_sums(catalogs.translator("en"), services, monthly)
    drawn = {
        None: FIELDS,
        Category.CIVILIAN: FIELDS[:2],
        Category.MILITARY: FIELDS[2:],
    }[f.category]
    assert tuple(sums) == drawn  # only the category's two series with a category
    for field in FIELDS:
        plotted = sums.get(field, 0)
        assert plotted + getattr(monthly.unplaced, field) == getattr(stats.counts, field), field
    # Months are consecutive, empty ones included.
    months = [m.month for m in monthly.months]
    assert all(b == next_month(a) for a, b in itertools.pairwise(months))


async def test_a_closed_period_spans_all_its_months(services: Services) -> None:
    monthly, _ = await _series_and_stats(services, _filter(services, "2023"))
    assert [m.month for m in monthly.months] == [dt.date(2023, m, 1) for m in range(1, 13)]
    expected = {
        m: sum(int(r[k]) for r in ROWS if r["date"].startswith(f"2023-{m:02d}") for k in FIELDS)
        for m in range(1, 13)
    }
    assert {m.month.month: m.counts.total for m in monthly.months} == expected
    assert 0 in expected.values()  # the empty months are there too


async def test_the_whole_dataset_runs_from_its_first_to_its_last_month(
    services: Services,
) -> None:
    monthly, _ = await _series_and_stats(services, IncidentFilter())
    first = min(dt.date.fromisoformat(r["date"]) for r in ROWS).replace(day=1)
    last = max(dt.date.fromisoformat(r["date"]) for r in ROWS).replace(day=1)
    assert monthly.months[0].month == first
    assert monthly.months[-1].month == last
    assert len(monthly.months) == months_between(first, last)
    assert monthly.data_as_of is not None


async def test_a_period_running_past_today_ends_with_todays_month(services: Services) -> None:
    f = _filter(services, "2026")
    june = await services.store.stats.monthly(f, today=dt.date(2026, 6, 15))
    january = await services.store.stats.monthly(f, today=dt.date(2026, 1, 10))
    assert [m.month for m in june.months] == [dt.date(2026, m, 1) for m in range(1, 7)]
    # Never before the last month with an incident (March 2026 in the dataset).
    assert [m.month for m in january.months] == [dt.date(2026, m, 1) for m in range(1, 4)]


# -- month names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_month_names_on_the_axis_are_babels(
    services: Services, catalogs: Catalogs, lang: str
) -> None:
    t = catalogs.translator(lang)
    monthly, _ = await _series_and_stats(services, _filter(services, "2023"))
    names = [format_date(dt.date(2023, m, 1), "LLL", locale=lang) for m in range(1, 13)]
    ticks = _tick_texts(t, services, monthly)
    assert [tick.split("\n")[0] for tick in ticks] == names
    assert ticks[0] == f"{names[0]}\n2023"  # the year under the first month
    # Over several years only Januaries are labelled, by their year.
    monthly, _ = await _series_and_stats(services, IncidentFilter())
    years = sorted({int(r["date"][:4]) for r in ROWS})[1:]
    assert _tick_texts(t, services, monthly) == [str(y) for y in years]


# -- through the bot -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_chart_is_a_photo_with_a_caption_in_the_chat_language(
    chart_bot: EmulatedBot, services: Services, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    t = catalogs.translator(lang)
    add_reader(chart_bot, user_id, lang)
    reply = only(await chart_bot.send(user_id, "/chart 2023"))
    assert reply.method == "sendPhoto"
    assert reply.photo is not None
    image = Image.open(io.BytesIO(reply.photo))
    assert image.format == "PNG"
    assert image.size == (1280, 800)
    assert reply.caption is not None and reply.plain is not None
    assert visible_length(reply.caption) < MAX_CAPTION
    f = _filter(services, "2023")
    assert reply.plain.startswith(title(t) + "\n" + filters_text(t, services.gazetteer, f))
    killed = sum(int(r["civilian_killed"]) + int(r["military_killed"]) for r in ROWS if r["date"].startswith("2023"))  # fmt: skip
    assert killed_line(t, killed) in reply.plain
    assert (user_id, "upload_photo") in chart_bot.emulator.chat_actions


async def test_a_refused_chat_action_does_not_stop_the_chart(
    chart_bot: EmulatedBot, user_id: int
) -> None:
    """The chat action ("sending a photo") is a hint: Telegram refusing it changes nothing."""
    add_reader(chart_bot, user_id, "en")
    chart_bot.emulator.fail_sends(user_id, 500, "Internal Server Error")
    reply = only(await chart_bot.send(user_id, "/chart 2023"))
    assert reply.method == "sendPhoto" and reply.photo is not None
    assert (user_id, "upload_photo") not in chart_bot.emulator.chat_actions


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_no_incidents_is_said_in_words_without_a_photo(
    chart_bot: EmulatedBot, services: Services, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    t = catalogs.translator(lang)
    add_reader(chart_bot, user_id, lang)
    reply = only(await chart_bot.send(user_id, "/chart 2099"))
    assert reply.method == "sendMessage"
    assert reply.photo is None
    assert reply.plain is not None
    assert t._("No incidents are recorded for these filters.") in reply.plain
    assert filters_text(t, services.gazetteer, _filter(services, "2099")) in reply.plain
    assert (user_id, "upload_photo") not in chart_bot.emulator.chat_actions


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_bad_filters_are_named_and_nothing_is_drawn(
    chart_bot: EmulatedBot, catalogs: Catalogs, user_id: int, lang: str
) -> None:
    t = catalogs.translator(lang)
    add_reader(chart_bot, user_id, lang)
    reply = only(await chart_bot.send(user_id, "/chart 2023 Atlantis 2021-13-45"))
    assert reply.method == "sendMessage"
    assert reply.photo is None
    assert reply.plain is not None
    assert t._("I did not understand “{word}”.").format(word="Atlantis") in reply.plain
    assert t._("“{word}” is not a valid date.").format(word="2021-13-45") in reply.plain
    assert (user_id, "upload_photo") not in chart_bot.emulator.chat_actions


async def test_one_incident_from_the_dataset(
    chart_bot: EmulatedBot, services: Services, catalogs: Catalogs, user_id: int
) -> None:
    """Khojaly has one incident in the dataset: one bar, in its month."""
    (row,) = [r for r in ROWS if r["district"] == "Khojaly"]
    day = dt.date.fromisoformat(row["date"])
    monthly, stats = await _series_and_stats(services, _filter(services, "Khojaly"))
    assert stats.incidents == 1
    assert [m.month for m in monthly.months] == [day.replace(day=1)]
    t = catalogs.translator("en")
    assert _bar_sums(t, services, monthly) == {k: int(row[k]) for k in FIELDS}
    assert _tick_texts(t, services, monthly) == [
        f"{format_date(day, 'LLL', locale='en')}\n{day.year}"
    ]
    add_reader(chart_bot, user_id, "en")
    reply = only(await chart_bot.send(user_id, "/chart Khojaly"))
    assert reply.method == "sendPhoto" and reply.plain is not None
    total = sum(int(row[k]) for k in FIELDS)
    assert f"{total} people killed or injured" in reply.plain


# -- incidents that cannot be placed in a month --------------------------------------------------


def _incident(start: dt.date, end: dt.date, precision: DatePrecision, **counts: int) -> Incident:
    return Incident(
        date=start,
        date_end=end,
        date_precision=precision,
        description="test",
        sources=[IncidentSource(url="https://example.org/chart")],
        **counts,
    )


async def test_incidents_dated_to_a_year_are_counted_apart_and_said(
    chart_bot: EmulatedBot, sandbox: Services, catalogs: Catalogs, user_id: int
) -> None:
    """2018 and 2019 hold no incident in the dataset: a day, a month and a year in 2019, and a
    year alone in 2018."""
    async with sandbox.store.db.transaction() as session:
        for incident in (
            _incident(dt.date(2019, 3, 10), dt.date(2019, 3, 10), DatePrecision.DAY,
                      civilian_killed=1, military_injured=2),
            _incident(dt.date(2019, 5, 1), dt.date(2019, 5, 31), DatePrecision.MONTH,
                      civilian_injured=1),
            _incident(dt.date(2019, 1, 1), dt.date(2019, 12, 31), DatePrecision.YEAR,
                      civilian_injured=3),
            _incident(dt.date(2018, 1, 1), dt.date(2018, 12, 31), DatePrecision.YEAR,
                      military_killed=1),
        ):  # fmt: skip
            await writes.add_incident(session, incident)
    f = _filter(sandbox, "2019")
    monthly, stats = await _series_and_stats(sandbox, f)
    assert stats.incidents == 3 and monthly.incidents == 3
    assert monthly.unplaced == Counts(0, 3, 0, 0)
    assert monthly.unplaced_incidents == 1
    assert [m.month for m in monthly.months] == [dt.date(2019, m, 1) for m in range(1, 13)]
    t = catalogs.translator("en")
    sums = _bar_sums(t, sandbox, monthly)
    assert sums == {"civilian_killed": 1, "civilian_injured": 1, "military_killed": 0, "military_injured": 2}  # fmt: skip
    for field in FIELDS:
        assert sums[field] + getattr(monthly.unplaced, field) == getattr(stats.counts, field)
    note = unplaced_note(t, monthly)
    assert note == "3 people in incidents dated only to a year or to several months are not shown"
    assert note in _figure_texts(t, sandbox, monthly)

    # One incident alone: March 2019.
    one, one_stats = await _series_and_stats(sandbox, _filter(sandbox, "2019-03"))
    assert one_stats.incidents == one.incidents == 1
    assert _bar_sums(t, sandbox, one) == {"civilian_killed": 1, "civilian_injured": 0, "military_killed": 0, "military_injured": 2}  # fmt: skip
    assert unplaced_note(t, one) is None

    for lang in LANGUAGES:
        t = catalogs.translator(lang)
        chat = add_reader(chart_bot, user_id + 1_000_000 * LANGUAGES.index(lang), lang)
        reply = only(await chart_bot.send(chat, "/chart 2019"))
        assert reply.method == "sendPhoto" and reply.plain is not None
        assert note is not None and unplaced_note(t, monthly) in reply.plain
        assert reply.caption is not None and visible_length(reply.caption) < MAX_CAPTION

    # Nothing placed in a month (2018): the figures in words, no photo.
    only_year, _ = await _series_and_stats(sandbox, _filter(sandbox, "2018"))
    assert only_year.months == () and only_year.incidents == 1
    add_reader(chart_bot, user_id, "en")
    reply = only(await chart_bot.send(user_id, "/chart 2018"))
    assert reply.method == "sendMessage" and reply.plain is not None
    assert "1 person killed or injured" in reply.plain
    assert "1 person in incidents dated only to a year or to several months is not shown" in (
        reply.plain
    )


# -- the caption stays under Telegram's limit ----------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_caption_naming_many_districts_is_shortened_below_the_limit(
    services: Services, catalogs: Catalogs, lang: str
) -> None:
    t = catalogs.translator(lang)
    every = tuple(services.gazetteer.sorted_ids(lang))
    f = IncidentFilter(every * 12, Period(dt.date(2021, 1, 1), dt.date(2023, 12, 31)))
    monthly, _ = await _series_and_stats(services, f)
    caption = chart_caption(t, services.gazetteer, monthly, compiled_by="@casualty_bot")
    assert visible_length(filters_text(t, services.gazetteer, f)) > MAX_CAPTION
    assert visible_length(caption) < MAX_CAPTION
    assert caption.startswith(f"<b>{title(t)}</b>\n")
    assert caption.split("\n")[1].endswith("…")
    assert t._("Data as of {date}").split("{")[0] in caption
