"""Latency of ``stats_report`` (what /stats runs) on SQLite and PostgreSQL with many incidents.

For each database and size: a fresh database, the migrations, the shipped dataset (districts and
official totals), then N synthetic incidents loaded in bulk, then ANALYZE. Each filter shape is
warmed up and timed one session per call, as the bot does. Prints tables, never asserts on timings;
the results also go to ``bench/results/queries-<timestamp>.json``.

    python bench/bench_queries.py --sizes 10000,100000,1000000 --databases sqlite,postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import itertools
import random
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import support
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import DEFAULT_SEED_DIR
from db import totals
from db.domain.drafts import date_span
from db.domain.filters import Category, IncidentFilter, Period
from db.domain.gazetteer import Gazetteer
from db.domain.records import DatePrecision, Device, IncidentStatus
from db.domain.stats import StatsReport
from db.migrate import upgrade
from db.models import Incident, IncidentSource
from db.seed import load_gazetteer, seed
from db.session import Database
from db.store.stats import StatsReads

GOAL_P99_MS = 10.0
GOAL_SIZE = 1_000_000
FIRST_DAY = dt.date(2020, 11, 10)
LAST_DAY = dt.date(2026, 3, 31)
CHUNK = 10_000

INCIDENT_COLUMNS = (
    "id",
    "date",
    "date_end",
    "date_precision",
    "district_id",
    "civilian_killed",
    "civilian_injured",
    "military_killed",
    "military_injured",
    "device",
    "description",
    "status",
)
SOURCE_COLUMNS = ("id", "incident_id", "url")


# -- synthetic incidents -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    incidents: list[tuple[Any, ...]]
    sources: list[tuple[Any, ...]]


def _count(rng: random.Random) -> int:
    """Mostly zero, otherwise a small number (1, 2, 3 ... rarely more)."""
    if rng.random() < 0.75:
        return 0
    n = 1
    while rng.random() < 0.35 and n < 12:
        n += 1
    return n


def _precision(roll: float) -> DatePrecision:
    """90 % known to the day, 8 % to the month, 2 % to the year."""
    if roll < 0.90:
        return DatePrecision.DAY
    return DatePrecision.MONTH if roll < 0.98 else DatePrecision.YEAR


def district_weights(count: int, skew: float = 1.1) -> list[float]:
    """Zipf-like weights: the first district is the most frequent."""
    return [1.0 / (rank + 1) ** skew for rank in range(count)]


class Spans:
    """(date, date_end) of every day of the synthetic range at every precision, precomputed;
    as ISO text for the raw SQLite driver, else as dates."""

    def __init__(self, as_text: bool) -> None:
        self.days = (LAST_DAY - FIRST_DAY).days + 1
        self.table: dict[DatePrecision, list[tuple[Any, Any]]] = {}
        for precision in DatePrecision:
            spans = [
                date_span(FIRST_DAY + dt.timedelta(days=d), precision) for d in range(self.days)
            ]
            self.table[precision] = [
                (a.isoformat(), b.isoformat()) if as_text else (a, b) for a, b in spans
            ]


def synthetic_chunks(
    n: int,
    district_ids: Sequence[int],
    first_id: int,
    first_source_id: int,
    seed: int,
    *,
    dates_as_text: bool = False,
) -> Iterator[Chunk]:
    """N deterministic incidents (one source each) in chunks of ``CHUNK`` rows."""
    rng = random.Random(seed)
    spans = Spans(dates_as_text)
    cumulative = list(itertools.accumulate(district_weights(len(district_ids))))
    devices = [d.value for d in Device]
    published, retracted = IncidentStatus.PUBLISHED.value, IncidentStatus.RETRACTED.value
    incidents: list[tuple[Any, ...]] = []
    sources: list[tuple[Any, ...]] = []
    for i in range(n):
        incident_id = first_id + i
        precision = _precision(rng.random())
        start, end = spans.table[precision][int(rng.random() * spans.days)]
        district = None
        if rng.random() >= 0.02:
            pick = bisect.bisect(cumulative, rng.random() * cumulative[-1])
            district = district_ids[min(pick, len(district_ids) - 1)]
        counts = [_count(rng), _count(rng), _count(rng), _count(rng)]
        if not any(counts):
            counts[int(rng.random() * 4)] = 1
        incidents.append(
            (
                incident_id,
                start,
                end,
                precision.value,
                district,
                *counts,
                devices[int(rng.random() * len(devices))],
                "",
                retracted if rng.random() < 0.01 else published,
            )
        )
        sources.append(
            (first_source_id + i, incident_id, f"https://bench.example.org/incident/{incident_id}")
        )
        if len(incidents) == CHUNK:
            yield Chunk(incidents, sources)
            incidents, sources = [], []
    if incidents:
        yield Chunk(incidents, sources)


# -- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadReport:
    rows: int
    method: str
    seconds: float
    aggregates_seconds: float
    analyze_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


async def _next_id(conn: AsyncConnection, column: Any) -> int:
    return int(await conn.scalar(select(func.coalesce(func.max(column), 0)))) + 1


async def _core_insert(conn: AsyncConnection, chunk: Chunk) -> None:
    """SQLAlchemy Core ``insert()`` executemany (portable, slower: binds every value)."""
    await conn.execute(
        insert(Incident),
        [dict(zip(INCIDENT_COLUMNS, row, strict=True)) for row in chunk.incidents],
    )
    await conn.execute(
        insert(IncidentSource),
        [dict(zip(SOURCE_COLUMNS, row, strict=True)) for row in chunk.sources],
    )


async def _sqlite_executemany(conn: AsyncConnection, chunk: Chunk) -> None:
    """The driver's executemany with ready-made tuples (dates as ISO text, as SQLAlchemy stores)."""
    await conn.exec_driver_sql(_insert_sql("incidents", INCIDENT_COLUMNS), chunk.incidents)
    await conn.exec_driver_sql(_insert_sql("incident_sources", SOURCE_COLUMNS), chunk.sources)


async def _pg_copy(conn: AsyncConnection, chunk: Chunk) -> None:
    """asyncpg's COPY through the session's own connection (inside its transaction)."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(
        "incidents", records=chunk.incidents, columns=list(INCIDENT_COLUMNS)
    )
    await driver.copy_records_to_table(
        "incident_sources", records=chunk.sources, columns=list(SOURCE_COLUMNS)
    )


LOADERS: dict[
    tuple[str, str], tuple[str, Callable[[AsyncConnection, Chunk], Coroutine[Any, Any, None]]]
] = {
    ("sqlite", "fast"): ("sqlite3 executemany", _sqlite_executemany),
    ("sqlite", "core"): ("Core insert executemany", _core_insert),
    ("postgresql", "fast"): ("asyncpg COPY", _pg_copy),
    ("postgresql", "core"): ("Core insert executemany", _core_insert),
}


async def load_synthetic(
    db: Database, n: int, district_ids: Sequence[int], seed: int, loader: str
) -> tuple[str, float]:
    """Bulk-loads N incidents in one transaction, in chunks; (method, seconds)."""
    method, write = LOADERS[(db.dialect, loader)]
    as_text = write is _sqlite_executemany
    started = time.perf_counter()
    async with db.transaction() as session:
        conn = await session.connection()
        # Also starts the driver's transaction, so that COPY runs inside it.
        first_id = await _next_id(conn, Incident.id)
        first_source_id = await _next_id(conn, IncidentSource.id)
        chunks = synthetic_chunks(
            n, district_ids, first_id, first_source_id, seed, dates_as_text=as_text
        )
        # One chunk in flight while the next is generated: the drivers do their part off the GIL
        # (SQLite's thread) or in the server (COPY).
        pending: asyncio.Task[None] | None = None
        for chunk in chunks:
            if pending is not None:
                await pending
            pending = asyncio.create_task(write(conn, chunk))
            await asyncio.sleep(0)  # let the write reach the driver
        if pending is not None:
            await pending
        if db.dialect == "postgresql":
            for table in ("incidents", "incident_sources"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return method, time.perf_counter() - started


async def rebuild_aggregates(db: Database) -> float:
    """Recompute ``incident_totals`` after the bulk load (``db.totals.rebuild``); its duration."""
    started = time.perf_counter()
    async with db.transaction() as session:
        await totals.rebuild(session)
    return time.perf_counter() - started


async def analyze(db: Database) -> float:
    """ANALYZE (SQLite) or VACUUM (ANALYZE) (PostgreSQL, as autovacuum would leave it)."""
    started = time.perf_counter()
    if db.dialect == "postgresql":
        async with db.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("VACUUM (ANALYZE)")
    else:
        async with db.engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - started


async def published_incidents(db: Database) -> int:
    """Counted straight from the incidents table: what the no-filter /stats must report."""
    async with db.session() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.status == IncidentStatus.PUBLISHED)
        )
    return int(found or 0)


# -- filter shapes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    label: str  # as a user would type it after /stats
    filter: IncidentFilter


def _year(year: int) -> Period:
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))


def build_shapes(gazetteer: Gazetteer) -> list[Shape]:
    first = _district(gazetteer, "kalbajar")
    second = _district(gazetteer, "lachin")
    return [
        Shape("all", "(no filter)", IncidentFilter()),
        Shape("district", "Kalbajar", IncidentFilter(districts=(first,))),
        Shape("year", "2023", IncidentFilter(period=_year(2023))),
        Shape(
            "district+month",
            "Kalbajar 2023-07",
            IncidentFilter(
                districts=(first,), period=Period(dt.date(2023, 7, 1), dt.date(2023, 7, 31))
            ),
        ),
        Shape(
            "6 months+civilian",
            "2024-01-01..2024-06-30 civilian",
            IncidentFilter(
                period=Period(dt.date(2024, 1, 1), dt.date(2024, 6, 30)),
                category=Category.CIVILIAN,
            ),
        ),
        Shape(
            "open range+military",
            "2024.. military",
            IncidentFilter(period=Period(dt.date(2024, 1, 1), None), category=Category.MILITARY),
        ),
        Shape(
            "2 districts+year",
            "Kalbajar Lachin 2022",
            IncidentFilter(districts=(first, second), period=_year(2022)),
        ),
    ]


def _district(gazetteer: Gazetteer, key: str) -> int:
    found = gazetteer.by_key(key)
    if found is None:
        raise SystemExit(f"the seeded gazetteer has no district {key!r}")
    return found


# -- timing --------------------------------------------------------------------------------------


@dataclass(slots=True)
class ShapeResult:
    shape: Shape
    matched: int
    warmup: int
    samples_ns: list[int] = field(default_factory=list)

    @property
    def latency(self) -> support.Latency:
        return support.Latency.of(self.samples_ns)


async def one_call(db: Database, f: IncidentFilter) -> StatsReport:
    """One /stats query as the bot runs it (``store.stats.report``): a Core connection from the
    pool, two statements."""
    return await StatsReads(db).report(f)


async def measure(
    db: Database, shape: Shape, repeat: int, warmup: int, budget: float, min_samples: int
) -> ShapeResult:
    """Warm-up calls, then up to ``repeat`` timed calls (fewer when ``budget`` seconds run out)."""
    report = await one_call(db, shape.filter)
    result = ShapeResult(shape, matched=report.stats.incidents, warmup=1)
    warm_until = time.perf_counter() + budget / 4
    while result.warmup < warmup and time.perf_counter() < warm_until:
        await one_call(db, shape.filter)
        result.warmup += 1
    deadline = time.perf_counter() + budget
    floor = min(repeat, min_samples)
    while len(result.samples_ns) < repeat:
        started = time.perf_counter_ns()
        await one_call(db, shape.filter)
        result.samples_ns.append(time.perf_counter_ns() - started)
        if len(result.samples_ns) >= floor and time.perf_counter() > deadline:
            break
    return result


# -- query plans ---------------------------------------------------------------------------------


async def explain(db: Database, f: IncidentFilter) -> list[dict[str, Any]]:
    """Every statement one ``stats_report`` call runs, with its plan (EXPLAIN QUERY PLAN on
    SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL)."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        await one_call(db, f)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    out = []
    async with db.engine.connect() as conn:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            if db.dialect == "postgresql":
                prefix = "EXPLAIN (ANALYZE, BUFFERS) "
                rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
                plan = [str(r[0]) for r in rows]
            else:
                rows = (
                    await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                ).all()
                plan = _sqlite_plan(rows)
            out.append(
                {"sql": " ".join(statement.split()), "params": repr(parameters), "plan": plan}
            )
    return out


def _sqlite_plan(rows: Sequence[Any]) -> list[str]:
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + str(detail))
    return lines


# -- one run -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Run:
    database: str
    size: int
    incidents: int  # rows in the incidents table (shipped dataset included)
    published: int  # of which published: what the no-filter shape must match
    load: LoadReport
    results: list[ShapeResult]
    peak_rss_mib: float
    plans: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def worst(self) -> ShapeResult:
        return max(self.results, key=lambda r: r.latency.p99)

    @property
    def consistent(self) -> bool:
        """Whether /stats without a filter counts every published incident."""
        return self.result("all").matched == self.published

    def result(self, shape: str) -> ShapeResult:
        return next(r for r in self.results if r.shape.name == shape)


async def prepare(
    db: Database, size: int, args: argparse.Namespace
) -> tuple[Gazetteer, LoadReport]:
    """Schema, shipped dataset, N synthetic incidents, aggregates and planner statistics."""
    await upgrade(db)
    await seed(db, DEFAULT_SEED_DIR)
    async with db.session() as session:
        gazetteer = await load_gazetteer(session)
    ids = sorted(gazetteer.entries)
    method, seconds = await load_synthetic(db, size, ids, args.seed, args.loader)
    aggregates = await rebuild_aggregates(db)
    analyzed = await analyze(db)
    return gazetteer, LoadReport(size, method, seconds, aggregates, analyzed)


async def run_one(kind: str, size: int, args: argparse.Namespace) -> Run:
    async with support.fresh_database(kind, args.pg_url) as url:
        db = Database(url)
        try:
            gazetteer, load = await prepare(db, size, args)
            print(_load_line(kind, size, load), flush=True)
            async with db.session() as session:
                total = int(await session.scalar(select(func.count()).select_from(Incident)) or 0)
            results = [
                await measure(db, shape, args.repeat, args.warmup, args.budget, args.min_samples)
                for shape in build_shapes(gazetteer)
            ]
            run = Run(
                kind,
                size,
                total,
                await published_incidents(db),
                load,
                results,
                support.peak_rss_mib(),
            )
            for result in _explain_targets(run, args.explain):
                run.plans[result.shape.name] = await explain(db, result.shape.filter)
            return run
        finally:
            await db.dispose()


def _explain_targets(run: Run, mode: str) -> list[ShapeResult]:
    if mode == "none":
        return []
    if mode == "all":
        return list(run.results)
    return [run.worst]


# -- output --------------------------------------------------------------------------------------


def _load_line(kind: str, size: int, load: LoadReport) -> str:
    extra = f", totals.rebuild {load.aggregates_seconds:.2f} s"
    return (
        f"[{kind} {size:,}] loaded {load.rows:,} incidents (+1 source each) with {load.method} in "
        f"{load.seconds:.2f} s = {load.rows_per_second:,.0f} rows/s{extra}, "
        f"analyze {load.analyze_seconds:.2f} s"
    )


def run_table(run: Run) -> str:
    rows = [
        [
            r.shape.name,
            r.shape.label,
            r.matched,
            r.latency.n,
            r.latency.p50,
            r.latency.p95,
            r.latency.p99,
            r.latency.max,
        ]
        for r in run.results
    ]
    headers = ["shape", "filter", "matched", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    return support.table(headers, rows)


def verdict(run: Run) -> str:
    worst = run.worst
    p99 = worst.latency.p99
    met = "MET" if p99 <= GOAL_P99_MS else "NOT MET"
    scope = "" if run.size >= GOAL_SIZE else f" (goal is stated at {GOAL_SIZE:,}; informative)"
    return (
        f"{run.database} {run.size:,}: worst p99 {p99:.2f} ms ({worst.shape.name}) vs goal "
        f"p99 ≤ {GOAL_P99_MS:g} ms: {met}{scope}; peak RSS {run.peak_rss_mib:,.0f} MiB"
    )


def _inconsistency(run: Run) -> str:
    seen = run.result("all").matched
    return (
        f"{run.database} {run.size:,}: stats_report without a filter counts {seen:,} incidents "
        f"but {run.published:,} are published: the figures it reads are not in step with the "
        "bulk-loaded incidents (did db.totals.rebuild run?); timings are not "
        "representative"
    )


def summary_table(runs: Sequence[Run]) -> str:
    rows: list[list[object]] = []
    for run in runs:
        worst = run.worst
        rows.append(
            [
                run.database,
                run.size,
                run.load.rows_per_second,
                worst.shape.name,
                worst.latency.p50,
                worst.latency.p99,
                "yes" if worst.latency.p99 <= GOAL_P99_MS else "no",
                run.peak_rss_mib,
            ]
        )
    headers = [
        "database",
        "size",
        "load rows/s",
        "slowest shape",
        "p50 ms",
        "p99 ms",
        "p99 ≤ 10 ms",
        "peak RSS MiB",
    ]
    return support.table(headers, rows)


def print_plans(run: Run) -> None:
    for shape, statements in run.plans.items():
        print(f"\nQuery plans of '{shape}' on {run.database} at {run.size:,} incidents:")
        for number, entry in enumerate(statements, start=1):
            print(f"  [{number}] {entry['sql'][:160]}{'…' if len(entry['sql']) > 160 else ''}")
            for line in entry["plan"]:
                print(f"      {line}")


def run_json(run: Run) -> dict[str, Any]:
    return {
        "database": run.database,
        "size": run.size,
        "incidents_total": run.incidents,
        "incidents_published": run.published,
        "stats_consistent_with_incidents": run.consistent,
        "load": {
            "rows": run.load.rows,
            "method": run.load.method,
            "seconds": round(run.load.seconds, 3),
            "rows_per_second": round(run.load.rows_per_second, 1),
            "rebuild_aggregates_seconds": run.load.aggregates_seconds,
            "analyze_seconds": round(run.load.analyze_seconds, 3),
        },
        "shapes": [
            {
                "name": r.shape.name,
                "filter": r.shape.label,
                "matched_incidents": r.matched,
                "warmup_calls": r.warmup,
                "latency_ms": r.latency.as_dict(),
            }
            for r in run.results
        ],
        "worst": {"shape": run.worst.shape.name, "p99_ms": round(run.worst.latency.p99, 4)},
        "goal": {"p99_ms": GOAL_P99_MS, "size": GOAL_SIZE},
        "goal_met": run.worst.latency.p99 <= GOAL_P99_MS,
        "peak_rss_mib": round(run.peak_rss_mib, 1),
        "plans": run.plans,
    }


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=support.int_list, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--databases", type=support.database_list, default=list(support.DATABASES))
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per shape (max)")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up calls per shape (max)")
    parser.add_argument(
        "--budget",
        type=float,
        default=15.0,
        help="seconds of timed calls per shape; stops before --repeat when exceeded",
    )
    parser.add_argument(
        "--min-samples", type=int, default=20, help="timed calls per shape even over budget"
    )
    parser.add_argument("--pg-url", default=support.DEFAULT_PG_URL)
    parser.add_argument(
        "--loader",
        choices=("fast", "core"),
        default="fast",
        help="fast: sqlite3 executemany / asyncpg COPY; core: SQLAlchemy Core insert executemany",
    )
    parser.add_argument("--seed", type=int, default=20201110, help="seed of the synthetic data")
    parser.add_argument(
        "--explain",
        choices=("none", "slowest", "all"),
        default="slowest",
        help="query plans to record per run (printed for the largest size)",
    )
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> list[Run]:
    runs = []
    for kind in args.databases:
        for size in args.sizes:
            run = await run_one(kind, size, args)
            runs.append(run)
            print(f"\n{kind}, {size:,} synthetic incidents ({run.incidents:,} in all):")
            print(run_table(run))
            print(verdict(run), flush=True)
            if not run.consistent:
                print(f"WARNING: {_inconsistency(run)}", flush=True)
            if size == max(args.sizes):
                print_plans(run)
            print(flush=True)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    pg_version = None
    if "postgresql" in args.databases:
        asyncio.run(support.ensure_pg_database(args.pg_url))
        pg_version = asyncio.run(support.pg_server_version(args.pg_url))
    runs = asyncio.run(main_async(args))
    print("Summary (slowest shape per run):")
    print(summary_table(runs))
    for run in runs:
        if not run.consistent:
            print(f"WARNING: {_inconsistency(run)}")
    print(f"peak RSS of the process: {support.peak_rss_mib():,.0f} MiB")
    path = support.write_results(
        "queries",
        {
            "benchmark": "queries",
            "goal": f"p99 ≤ {GOAL_P99_MS:g} ms at {GOAL_SIZE:,} incidents on both databases",
            "arguments": vars(args),
            "environment": support.environment(pg_version),
            "elapsed_seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mib": round(support.peak_rss_mib(), 1),
            "runs": [run_json(run) for run in runs],
        },
    )
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
