"""Query results checked against an independent computation over the dataset's CSV files."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from bot.config import DEFAULT_SEED_DIR
from db import chats, listing, queries, writes
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.listing import outlet
from db.domain.records import DatePrecision
from db.domain.stats import OfficialComparison
from db.models import Incident, IncidentSource
from db.seed import COUNT_FIELDS
from handlers.context import Services

ROWS = list(csv.DictReader((DEFAULT_SEED_DIR / "incidents.csv").open(encoding="utf-8")))
CATEGORY_FIELDS = {
    None: COUNT_FIELDS,
    Category.CIVILIAN: ("civilian_killed", "civilian_injured"),
    Category.MILITARY: ("military_killed", "military_injured"),
}


def expected(district: str | None, start: str | None, end: str | None, category: Category | None):
    fields = CATEGORY_FIELDS[category]
    chosen = [
        r
        for r in ROWS
        if (district is None or r["district"] == district)
        and (start is None or r["date"] >= start)
        and (end is None or r["date"] <= end)
        and sum(int(r[f]) for f in fields) > 0
    ]
    sums = {f: sum(int(r[f]) for r in chosen) if f in fields else 0 for f in COUNT_FIELDS}
    return sums, len(chosen), max((r["date"] for r in chosen), default=None)


SHAPES = [
    (None, None, None, None),
    ("Kalbajar", None, None, None),
    (None, "2023-01-01", "2023-12-31", None),
    ("Aghdam", "2021-01-01", "2022-06-30", None),
    (None, None, None, Category.CIVILIAN),
    (None, "2022-01-01", None, Category.MILITARY),
    ("Fuzuli", None, "2021-12-31", Category.CIVILIAN),
    ("Zangilan", None, None, None),
    (None, "2030-01-01", None, None),
]


@pytest.mark.parametrize(("district", "start", "end", "category"), SHAPES)
async def test_stats_match_the_dataset(services: Services, district, start, end, category) -> None:
    district_ids = (services.gazetteer.resolve(district),) if district else ()
    f = IncidentFilter(
        district_ids,
        Period(
            dt.date.fromisoformat(start) if start else None,
            dt.date.fromisoformat(end) if end else None,
        ),
        category,
    )
    async with services.store.db.session() as session:
        result = await queries.stats(session, f)
    sums, count, latest = expected(district, start, end, category)
    assert result.incidents == count
    for field in COUNT_FIELDS:
        assert getattr(result.counts, field) == sums[field], field
    assert (result.latest.date.isoformat() if result.latest else None) == latest
    if district is None and count:
        totals = {}
        for r in ROWS:
            if r["district"] and r in [
                x
                for x in ROWS
                if (start is None or x["date"] >= start) and (end is None or x["date"] <= end)
            ]:
                totals[r["district"]] = totals.get(r["district"], 0) + sum(
                    int(r[f]) for f in CATEGORY_FIELDS[category]
                )
        leading = [(services.gazetteer.key(d.district_id), d.total) for d in result.leading]
        best = sorted((t for t in totals.values() if t > 0), reverse=True)[: len(leading)]
        assert [t for _, t in leading] == best
    else:
        assert result.leading == ()


async def test_official_comparison_picks_the_latest_by_the_end_of_the_period(
    services: Services,
) -> None:
    async def official(f: IncidentFilter) -> OfficialComparison | None:
        return (await services.store.stats.report(f)).official

    latest = await official(IncidentFilter())
    anama = await official(IncidentFilter(period=Period(None, dt.date(2023, 7, 20))))
    civilian = await official(
        IncidentFilter(period=Period(None, dt.date(2021, 3, 31)), category=Category.CIVILIAN)
    )
    district = await official(IncidentFilter(districts=(services.gazetteer.by_key("fuzuli") or 0,)))
    before = await official(IncidentFilter(period=Period(None, dt.date(2020, 12, 1))))
    assert latest is not None
    assert (latest.official.as_of, latest.official.total) == (dt.date(2026, 1, 28), 417)
    _, count, _ = expected(None, "2020-11-10", "2026-01-28", None)
    assert latest.recorded.incidents == count
    assert anama is not None
    assert anama.official.as_of == dt.date(2023, 6, 16)
    assert (
        anama.official.total,
        anama.official.civilian_killed,
        anama.official.military_injured,
    ) == (304, 44, 148)
    sums, _, _ = expected(None, "2020-11-10", "2023-06-16", None)
    assert anama.recorded.counts.total == sum(sums.values())
    # Only statements that give a civilian figure count for a civilian filter.
    assert civilian is not None
    assert civilian.official.as_of == dt.date(2021, 3, 19)
    assert civilian.official.civilian_killed == 14
    assert civilian.official.civilian_injured is None
    assert district is None  # official totals are national
    assert before is None  # nothing was published by then


async def test_month_precision_counts_only_when_its_whole_month_is_inside(
    services: Services,
) -> None:
    async with services.store.db.transaction() as session:
        incident = Incident(
            date=dt.date(2019, 5, 1),
            date_end=dt.date(2019, 5, 31),
            date_precision=DatePrecision.MONTH,
            civilian_injured=2,
            description="test",
            sources=[IncidentSource(url="https://example.org/a")],
        )
        await writes.add_incident(session, incident)
    try:
        async with services.store.db.session() as session:

            async def count(start: dt.date, end: dt.date) -> int:
                result = await queries.stats(session, IncidentFilter(period=Period(start, end)))
                return result.incidents

            assert await count(dt.date(2019, 5, 1), dt.date(2019, 5, 31)) == 1
            assert await count(dt.date(2019, 1, 1), dt.date(2019, 12, 31)) == 1
            assert await count(dt.date(2019, 5, 10), dt.date(2019, 5, 10)) == 0
            assert await count(dt.date(2019, 5, 1), dt.date(2019, 5, 15)) == 0
            latest = (
                await queries.stats(
                    session, IncidentFilter(period=Period(None, dt.date(2019, 12, 31)))
                )
            ).latest
            assert latest is not None and latest.precision is DatePrecision.MONTH
    finally:
        async with services.store.db.transaction() as session:
            stored = await session.get(Incident, incident.id)
            assert stored is not None
            await writes.delete_incident(session, stored)


async def test_incident_pages_are_latest_first_and_complete(services: Services) -> None:
    seen = []
    async with services.store.db.session() as session:
        offset = 0
        while True:
            page = await listing.list_incidents(session, IncidentFilter(), offset=offset, limit=7)
            seen += page.rows
            offset += len(page.rows)
            if not page.rows:
                break
    assert len(seen) == len(ROWS) == page.total
    dates = [r.date.date for r in seen]
    assert dates == sorted(dates, reverse=True)
    assert all(r.sources and r.sources[0].url.startswith("http") for r in seen)


async def test_chat_language_upsert(services: Services) -> None:
    async with services.store.db.transaction() as session:
        await chats.set_chat_language(session, 777, "az")
    async with services.store.db.transaction() as session:
        await chats.set_chat_language(session, 777, "ru")
    async with services.store.db.session() as session:
        assert await chats.chat_language(session, 777) == "ru"
        assert await chats.chat_language(session, 778) is None


async def _direct(session, f: IncidentFilter) -> tuple[int, tuple[int, int, int, int]]:
    """The same figures summed straight from the incidents (the slow, obvious way)."""
    from sqlalchemy import func, select

    from db.queries import incident_conditions

    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(Incident.civilian_killed), 0),
                func.coalesce(func.sum(Incident.civilian_injured), 0),
                func.coalesce(func.sum(Incident.military_killed), 0),
                func.coalesce(func.sum(Incident.military_injured), 0),
            ).where(incident_conditions(f))
        )
    ).one()
    counts = tuple(int(v) for v in row[1:])
    if f.category is Category.CIVILIAN:
        counts = (counts[0], counts[1], 0, 0)
    elif f.category is Category.MILITARY:
        counts = (0, 0, counts[2], counts[3])
    return int(row[0]), counts


async def test_totals_agree_with_the_incidents_for_random_periods(services: Services) -> None:
    """Pre-aggregated figures equal direct sums, with day, month and year spans at month edges."""
    import random

    extra = [
        (dt.date(2022, 3, 1), dt.date(2022, 3, 31), DatePrecision.MONTH),
        (dt.date(2023, 1, 1), dt.date(2023, 12, 31), DatePrecision.YEAR),
        (dt.date(2021, 2, 1), dt.date(2021, 2, 28), DatePrecision.MONTH),
        (dt.date(2024, 2, 29), dt.date(2024, 2, 29), DatePrecision.DAY),
        (dt.date(2022, 12, 31), dt.date(2022, 12, 31), DatePrecision.DAY),
    ]
    added = []
    async with services.store.db.transaction() as session:
        for start, end, precision in extra:
            added.append(
                await writes.add_incident(
                    session,
                    Incident(
                        date=start,
                        date_end=end,
                        date_precision=precision,
                        military_killed=1,
                        civilian_injured=2,
                        district_id=services.gazetteer.by_key("lachin"),
                        description="test",
                        sources=[IncidentSource(url="https://example.org/b")],
                    ),
                )
            )
    rng = random.Random(20201110)
    first, span = dt.date(2020, 10, 1), (dt.date(2026, 6, 1) - dt.date(2020, 10, 1)).days
    try:
        async with services.store.db.session() as session:
            for _ in range(150):
                a = first + dt.timedelta(days=rng.randrange(span))
                b = first + dt.timedelta(days=rng.randrange(span))
                a, b = min(a, b), max(a, b)
                if rng.random() < 0.3:
                    a = a.replace(day=1)
                start = None if rng.random() < 0.15 else a
                end = None if rng.random() < 0.15 else b
                districts = rng.choice(
                    [
                        (),
                        (services.gazetteer.by_key("lachin") or 0,),
                        (services.gazetteer.by_key("aghdam") or 0,),
                    ]
                )
                category = rng.choice([None, Category.CIVILIAN, Category.MILITARY])
                f = IncidentFilter(districts, Period(start, end), category)
                result = await queries.stats(session, f, leading=0)
                incidents, counts = await _direct(session, f)
                assert (
                    result.incidents,
                    (
                        result.counts.civilian_killed,
                        result.counts.civilian_injured,
                        result.counts.military_killed,
                        result.counts.military_injured,
                    ),
                ) == (incidents, counts), f
    finally:
        async with services.store.db.transaction() as session:
            for incident in added:
                stored = await session.get(Incident, incident.id)
                assert stored is not None
                await writes.delete_incident(session, stored)


async def test_official_figures_come_from_named_authorities_with_any_stated_breakdown(
    services: Services,
) -> None:
    async with services.store.db.read() as connection:
        year_2021 = await queries.latest_official(
            connection, IncidentFilter(period=Period(dt.date(2021, 1, 1), dt.date(2021, 12, 31)))
        )
        first = await queries.latest_official(
            connection, IncidentFilter(period=Period(None, dt.date(2020, 12, 31)))
        )
    # 2021-12-14 is a media report naming no issuer: the Prosecutor General's 2021-12-09 figure
    # (a full breakdown, no total) is the latest official one.
    assert year_2021 is not None
    assert (year_2021.as_of, year_2021.issuer) == (
        dt.date(2021, 12, 9),
        "Prosecutor General's Office",
    )
    assert year_2021.total is None and year_2021.military_injured == 109
    assert year_2021.period_start_assumed
    assert first is not None
    assert (first.as_of, first.civilian_killed, first.military_injured) == (
        dt.date(2020, 12, 22),
        6,
        14,
    )


def test_outlets_group_editions_of_one_outlet() -> None:
    assert outlet("https://en.trend.az/a") == outlet("https://trend.az/b") == ("trend.az")
    assert outlet("https://www.azernews.az/x") == "azernews.az"
    assert outlet("https://en.vestikavkaza.ru/x") == "vestikavkaza.ru"
    assert outlet("https://news.day.az/x") == "news.day.az"
    assert outlet("https://az.com/x") == "az.com"
