"""The shipped dataset: its figures add up, and the store holds exactly what the files say."""

from __future__ import annotations

import csv

import pytest

from bot.config import DEFAULT_SEED_DIR
from db import seed
from db.domain.filters import IncidentFilter
from db.domain.validation import official_total_problems
from db.queries import stats
from db.seed import COUNT_FIELDS, OFFICIAL_FIGURES
from handlers.context import Services


def _csv(name: str) -> list[dict[str, str]]:
    with (DEFAULT_SEED_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_official_total_that_states_its_parts_adds_up() -> None:
    checked = 0
    for row in _csv("official_totals.csv"):
        figures = {k: int(row[k]) if row[k] else None for k in OFFICIAL_FIGURES}
        assert official_total_problems(figures) == [], row["as_of"]
        checked += bool(
            figures["total"] is not None
            and (figures["killed"] is not None or figures["civilian_killed"] is not None)
        )
    assert checked >= 13  # the rows that state parts of their total (see the data README)


def test_anama_figure_of_16_june_2023() -> None:
    row = next(r for r in _csv("official_totals.csv") if r["as_of"] == "2023-06-16")
    parts = [int(row[k]) for k in COUNT_FIELDS]
    assert parts == [44, 99, 13, 148]
    assert sum(parts) == int(row["total"]) == 304


def test_inconsistent_totals_are_detected() -> None:
    assert official_total_problems({"total": 351, "killed": 65, "injured": 288}) == [
        "killed + injured = total"
    ]
    assert official_total_problems({"total": 10, "killed": 3}) == []


def test_every_incident_has_a_source_and_a_known_district() -> None:
    districts = {r["name_en"] for r in _csv("districts.csv")}
    for row in _csv("incidents.csv"):
        assert row["source_url"].startswith(("http://", "https://"))
        assert row["district"] in districts or row["district"] == ""


async def test_store_holds_the_dataset(services: Services) -> None:
    rows = _csv("incidents.csv")
    async with services.store.db.session() as session:
        result = await stats(session, IncidentFilter(), leading=0)
    assert result.incidents == len(rows) == 71
    for field in COUNT_FIELDS:
        assert getattr(result.counts, field) == sum(int(r[field]) for r in rows), field
    assert result.counts.total == 126  # as the data README states


async def test_seeding_again_adds_nothing(services: Services) -> None:
    report = await seed.seed(services.store.db, DEFAULT_SEED_DIR)
    assert report.incidents_added == 0
    assert report.totals_added == 0
    assert report.districts_added == 0
    assert report.incidents_present == 71
    assert report.totals_present == 26


async def test_a_bad_dataset_is_refused_whole(services: Services, tmp_path) -> None:
    for name in ("districts.csv", "official_totals.csv"):
        (tmp_path / name).write_text(
            (DEFAULT_SEED_DIR / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    good = (DEFAULT_SEED_DIR / "incidents.csv").read_text(encoding="utf-8").splitlines()
    bad = [*good[:4], good[4].replace(",Fuzuli,", ",Atlantis,", 1)]
    (tmp_path / "incidents.csv").write_text("\n".join(bad) + "\n", encoding="utf-8")
    with pytest.raises(seed.DatasetError, match=r"incidents\.csv:5: district 'Atlantis'"):
        await seed.seed(services.store.db, tmp_path)
    async with services.store.db.session() as session:
        assert (await stats(session, IncidentFilter(), leading=0)).incidents == 71


async def test_processes_starting_together_load_an_empty_store_once(settings, tmp_path) -> None:
    """Two bot processes starting on one empty database: one loads the dataset, the other
    waits for it and loads nothing (on PostgreSQL an advisory lock, on SQLite the write lock)."""
    import asyncio

    from sqlalchemy import text

    from bot.app import build_services, prepare_database

    url = settings.database_url
    if url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'race.sqlite3'}"
        fresh = settings.model_copy(update={"database_url": url})
    else:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text("DROP DATABASE IF EXISTS test_race"))
            await conn.execute(text("CREATE DATABASE test_race"))
        await engine.dispose()
        fresh = settings.model_copy(update={"database_url": url.rsplit("/", 1)[0] + "/test_race"})
    first, second = build_services(fresh), build_services(fresh)
    try:
        await asyncio.gather(prepare_database(first), prepare_database(second))
        async with first.store.db.session() as session:
            result = await stats(session, IncidentFilter(), leading=0)
        assert result.incidents == 71
        assert len(first.gazetteer) == len(second.gazetteer) == 14
    finally:
        await first.store.db.dispose()
        await second.store.db.dispose()


async def test_issuer_names_and_the_default_are_refreshed_at_start(services: Services) -> None:
    """A store loaded before issuers.csv had its default column gets it at the next start."""
    from sqlalchemy import update

    from db import seed
    from db.models import IssuerName

    async with services.store.db.transaction() as session:
        await session.execute(update(IssuerName).values(is_default=False))
    assert (await services.store.official.defaults()).issuer is None
    await seed.refresh_issuers(services.store.db, services.settings.seed_dir)
    assert (await services.store.official.defaults()).issuer == "ANAMA"
