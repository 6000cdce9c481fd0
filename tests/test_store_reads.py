"""The store's read API, called as the handlers, the jobs and the CLI call it (no Telegram): each
method one unit of work on its own connection, returning the domain's types."""

from __future__ import annotations

import csv
import datetime as dt
from contextlib import aclosing

from sqlalchemy import func, select

from bot.config import DEFAULT_SEED_DIR
from db import writes
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.records import DatePrecision, IncidentStatus
from db.models import Incident, IncidentSource
from db.seed import COUNT_FIELDS
from handlers.context import Services

ROWS = list(csv.DictReader((DEFAULT_SEED_DIR / "incidents.csv").open(encoding="utf-8")))
YEAR_2023 = Period(dt.date(2023, 1, 1), dt.date(2023, 12, 31))


async def _published(services: Services) -> int:
    async with services.store.db.read() as connection:
        found = await connection.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.status == IncidentStatus.PUBLISHED)
        )
    return int(found or 0)


def _dataset(district: str | None, period: Period, fields: tuple[str, ...]) -> tuple[int, int]:
    """Incidents and casualties of the shipped dataset for a filter (the slow, obvious way)."""
    chosen = [
        r
        for r in ROWS
        if (district is None or r["district"] == district)
        and (period.start is None or r["date"] >= period.start.isoformat())
        and (period.end is None or r["date"] <= period.end.isoformat())
        and sum(int(r[f]) for f in fields) > 0
    ]
    return len(chosen), sum(int(r[f]) for r in chosen for f in fields)


async def test_the_stats_of_a_filter(services: Services) -> None:
    kalbajar = services.gazetteer.by_key("kalbajar")
    assert kalbajar is not None
    f = IncidentFilter((kalbajar,), YEAR_2023, Category.CIVILIAN)
    figures = await services.store.stats.figures(f)
    incidents, people = _dataset("Kalbajar", YEAR_2023, ("civilian_killed", "civilian_injured"))
    assert (figures.incidents, figures.counts.total) == (incidents, people)
    assert figures.counts.military == 0  # a category filter counts its category only

    report = await services.store.stats.report(f, today=dt.date(2024, 6, 1))
    assert report.filter == f and report.stats == figures
    assert report.official is None  # official totals are national
    assert report.trend is not None
    assert report.trend.previous == Period(dt.date(2022, 1, 1), dt.date(2022, 12, 31))

    national = await services.store.stats.report(IncidentFilter(period=YEAR_2023))
    official = await services.store.stats.official(IncidentFilter(period=YEAR_2023))
    assert national.official is not None and national.official.official == official
    assert national.trend is None  # no trend without today


async def test_a_comparison_and_the_chart_add_up_to_the_figures(services: Services) -> None:
    left, right = IncidentFilter(period=YEAR_2023), IncidentFilter()
    comparison = await services.store.stats.compare(left, right)
    assert comparison.figures == (
        await services.store.stats.figures(left, leading=0),
        await services.store.stats.figures(right, leading=0),
    )
    assert comparison.records_start == await services.store.stats.records_start()
    series = await services.store.stats.monthly(left)
    assert (series.incidents, series.counts) == (
        comparison.figures[0].incidents,
        comparison.figures[0].counts,
    )
    assert series.data_as_of is not None and series.data_as_of.tzinfo is not None


async def test_a_page_of_incidents_and_a_stale_offset(services: Services) -> None:
    f = IncidentFilter(period=YEAR_2023)
    first = await services.store.lists.incidents(f, offset=0, limit=5)
    assert first.offset == 0 and len(first.rows) == 5
    assert first.total == _dataset(None, YEAR_2023, COUNT_FIELDS)[0]
    dates = [row.date.date for row in first.rows]
    assert dates == sorted(dates, reverse=True)  # latest first
    # An offset past the end (a button from before incidents were retracted): the last page.
    stale = await services.store.lists.incidents(f, offset=first.total + 40, limit=5)
    assert stale.offset == (first.total - 1) // 5 * 5
    assert stale.rows and len(stale.rows) == first.total - stale.offset
    nothing = await services.store.lists.incidents(
        IncidentFilter(period=Period(dt.date(2031, 1, 1), None)), offset=10, limit=5
    )
    assert (nothing.rows, nothing.total) == ((), 0)


async def test_the_sources_summary(services: Services) -> None:
    summary = await services.store.lists.sources()
    assert summary.incidents == await _published(services)
    assert summary.first_incident == min(dt.date.fromisoformat(r["date"]) for r in ROWS)
    assert summary.issuers and summary.outlets


async def test_a_chats_language_round_trip(services: Services) -> None:
    chats = services.store.chats
    assert await chats.language(-880_001) is None
    await chats.set_language(-880_001, "az")
    await chats.set_language(-880_001, "ru")  # an upsert: the last choice counts
    assert await chats.language(-880_001) == "ru"
    version = await chats.data_version()
    assert await chats.language_and_version(-880_001) == ("ru", version)
    assert await chats.language_and_version(None) == (None, version)
    await chats.set_language(-880_002, "en")  # not a change to the figures
    assert await chats.data_version() == version


async def test_an_export_reads_one_snapshot(sandbox: Services) -> None:
    """An incident recorded while an export runs is not in it, and the file's rows are the ones
    the figures counted when it started; the next export has it."""
    services = sandbox
    f = IncidentFilter(period=Period(dt.date(2020, 1, 1), None))
    before = await services.store.stats.figures(f, leading=0, latest=False)
    seen: list[int] = []
    async with aclosing(services.store.exports.batches(f, batch=7)) as batches:
        async for rows in batches:
            if not seen:  # the first batch is read: now another process records an incident
                async with services.store.db.transaction() as session:
                    added = await writes.add_incident(
                        session,
                        Incident(
                            # Later than the first batch: read without a snapshot, a later
                            # batch would hold it.
                            date=dt.date(2026, 1, 15),
                            date_end=dt.date(2026, 1, 15),
                            date_precision=DatePrecision.DAY,
                            civilian_killed=1,
                            description="recorded during an export",
                            sources=[IncidentSource(url="https://example.org/during")],
                        ),
                    )
            seen += [row.id for row in rows]
    assert added.id not in seen
    assert len(seen) == len(set(seen)) == before.incidents
    after = [row.id async for rows in services.store.exports.batches(f) for row in rows]
    assert added.id in after and len(after) == before.incidents + 1


async def test_the_status_names_the_database_and_the_schema(services: Services) -> None:
    status = await services.store.status.read()
    assert status.revision is not None and status.revision == status.head_revision
    assert status.database.kind in ("SQLite", "PostgreSQL")
    assert status.published_incidents == await _published(services)


async def test_a_report_is_read_only_when_nothing_is_kept_for_the_version(
    services: Services,
) -> None:
    await services.store.chats.set_language(-880_003, "az")
    asked: list[tuple[str | None, int]] = []

    def nothing(language: str | None, version: int) -> str | None:
        asked.append((language, version))
        return None

    f = IncidentFilter(period=YEAR_2023)
    today = dt.date(2024, 6, 1)
    read = await services.store.stats.report_unless_kept(-880_003, f, today=today, lookup=nothing)
    version = await services.store.chats.data_version()
    assert asked == [("az", version)]
    assert (read.language, read.version, read.kept) == ("az", version, None)
    assert read.report == await services.store.stats.report(f, today=today)
    kept = await services.store.stats.report_unless_kept(
        None, f, today=today, lookup=lambda language, version: f"kept at {version}"
    )
    assert (kept.language, kept.kept, kept.report) == (None, f"kept at {version}", None)
