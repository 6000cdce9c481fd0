"""Time and memory of /export (the CSV document) at a few sizes, streamed against all at once.

For each database and size N: a fresh database, the migrations, the shipped dataset, then N
synthetic incidents (``bench_queries``' loader, one source each) given a description of about 150
characters, a settlement and a source headline, as real rows have. Then the export of every
incident, as ``handlers.export`` builds it minus the upload (one snapshot connection,
``store.exports.batches``, each batch written in a worker thread into ``CsvDocument``, then its
content), two ways:

- **streamed**: batches of ``--batch`` rows (the bot's way), past 1 MiB in a temporary file;
- **all at once**: one batch of every row and the whole file in memory (what streaming avoids).

The schema's index on ``incidents (status, date, id)`` (migration 010) serves the keyset batches.

Each is run once untraced for its time, then once under ``tracemalloc`` for its peak of Python
allocations (SQLite's and asyncpg's own C buffers are not traced). The process's peak RSS
(``ru_maxrss``, which only grows) is printed after each step. Prints figures, never asserts.

    python bench/bench_export.py --sizes 200,20000 --databases sqlite
    python bench/bench_export.py --sizes 100000 --databases sqlite,postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass

import support
from bench_queries import analyze, load_synthetic, rebuild_aggregates
from sqlalchemy import text

from bot.config import DEFAULT_SEED_DIR
from db.domain.filters import IncidentFilter
from db.domain.gazetteer import Gazetteer
from db.migrate import upgrade
from db.seed import load_gazetteer, seed
from db.session import Database
from db.store import exports
from handlers.render.export import SPOOL_BYTES, CsvDocument

DESCRIPTION = (
    "A civilian tractor driver ploughing a field near the village struck an anti-tank mine; "
    "he was taken to the district hospital with shrapnel wounds, incident "
)
TITLE = "Mine blast injures farmer in liberated territories, «ANAMA» says — report №"


@dataclass(frozen=True, slots=True)
class Result:
    database: str
    size: int
    mode: str
    rows: int
    file_bytes: int
    on_disk: bool
    seconds: float
    traced_peak_mib: float
    rss_mib: float


async def _export(
    db: Database, gazetteer: Gazetteer, f: IncidentFilter, batch: int, spool: int
) -> tuple[int, int, bool]:
    """What the handler does before the upload: (rows, bytes, whether it went to disk)."""
    with CsvDocument(gazetteer, "en", spool_bytes=spool) as document:
        async with aclosing(exports.Exports(db).batches(f, batch=batch)) as batches:
            async for rows in batches:
                await asyncio.to_thread(document.write, rows)
        size = document.size
        content = await asyncio.to_thread(document.content)
        on_disk = not isinstance(content, bytes)
        return document.incidents, size, on_disk


async def _measure(
    kind: str,
    size: int,
    mode: str,
    db: Database,
    gazetteer: Gazetteer,
    batch: int,
    spool: int,
) -> Result:
    f = IncidentFilter()
    await _export(db, gazetteer, f, batch, spool)  # warm-up: caches, plans, imports
    started = time.perf_counter()
    rows, file_bytes, on_disk = await _export(db, gazetteer, f, batch, spool)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        await _export(db, gazetteer, f, batch, spool)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return Result(
        kind,
        size,
        mode,
        rows,
        file_bytes,
        on_disk,
        seconds,
        peak / 2**20,
        support.peak_rss_mib(),
    )


async def run_one(kind: str, size: int, args: argparse.Namespace) -> list[Result]:
    async with support.fresh_database(kind, args.pg_url) as url:
        db = Database(url)
        try:
            await upgrade(db)
            await seed(db, DEFAULT_SEED_DIR)
            async with db.session() as session:
                gazetteer = await load_gazetteer(session)
            _, load_seconds = await load_synthetic(
                db, size, sorted(gazetteer.entries), args.seed, "fast"
            )
            async with db.transaction() as session:
                await session.execute(
                    text(
                        "UPDATE incidents SET description = :d || id, settlement = 'Yeni Kənd' "
                        "WHERE description = ''"
                    ),
                    {"d": DESCRIPTION},
                )
                await session.execute(
                    text("UPDATE incident_sources SET title = :t || id WHERE title IS NULL"),
                    {"t": TITLE},
                )
            await rebuild_aggregates(db)
            await analyze(db)
            print(f"[{kind} {size:,}] loaded in {load_seconds:.2f} s", flush=True)
            return [
                await _measure(kind, size, "streamed", db, gazetteer, args.batch, SPOOL_BYTES),
                await _measure(kind, size, "all at once", db, gazetteer, 10**9, 2**62),
            ]
        finally:
            await db.dispose()


def result_table(results: Sequence[Result]) -> str:
    return support.table(
        [
            "database",
            "synthetic",
            "mode",
            "rows",
            "file MiB",
            "on disk",
            "seconds",
            "rows/s",
            "traced peak MiB",
            "peak RSS MiB",
        ],
        [
            [
                r.database,
                r.size,
                r.mode,
                r.rows,
                r.file_bytes / 2**20,
                "yes" if r.on_disk else "no",
                r.seconds,
                r.rows / r.seconds if r.seconds else float("nan"),
                r.traced_peak_mib,
                r.rss_mib,
            ]
            for r in results
        ],
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=support.int_list, default=[200, 20_000])
    parser.add_argument("--databases", type=support.database_list, default=["sqlite"])
    parser.add_argument("--batch", type=int, default=exports.BATCH, help="rows per batch")
    parser.add_argument("--pg-url", default=support.DEFAULT_PG_URL)
    parser.add_argument("--seed", type=int, default=20201110, help="seed of the synthetic data")
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> list[Result]:
    results: list[Result] = []
    for kind in args.databases:
        for size in args.sizes:
            results += await run_one(kind, size, args)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if "postgresql" in args.databases:
        asyncio.run(support.ensure_pg_database(args.pg_url))
    results = asyncio.run(main_async(args))
    print()
    print(result_table(results))
    print(
        "\nseconds: one untraced export after a warm-up; traced peak: Python allocations during "
        "a third export (tracemalloc); peak RSS: the process's so far (it never goes down)."
    )


if __name__ == "__main__":
    main()
