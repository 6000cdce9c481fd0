"""Helpers shared by the benchmarks: fresh databases, latency statistics, tables and result files.

Nothing here asserts on timings: the benchmarks print figures and write them to ``bench/results/``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import platform
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, make_url

from bot.config import async_database_url

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/bench"
DATABASES = ("sqlite", "postgresql")


# -- command line --------------------------------------------------------------------------------


def int_list(text: str) -> list[int]:
    """``10000,100k,1M`` -> [10000, 100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        factor = 1
        if part.endswith("k"):
            factor, part = 1_000, part[:-1]
        elif part.endswith("m"):
            factor, part = 1_000_000, part[:-1]
        out.append(int(float(part) * factor))
    if not out:
        raise ValueError("expected at least one size")
    return out


def database_list(text: str) -> list[str]:
    names = [p.strip().lower() for p in text.split(",") if p.strip()]
    aliases = {"pg": "postgresql", "postgres": "postgresql", "sqlite3": "sqlite"}
    names = [aliases.get(n, n) for n in names]
    unknown = [n for n in names if n not in DATABASES]
    if unknown or not names:
        raise ValueError(f"databases must be among {', '.join(DATABASES)}")
    return names


# -- databases -----------------------------------------------------------------------------------


def _admin_dsn(url: URL) -> tuple[str, str]:
    """(DSN of the maintenance database, name of the bench database) for asyncpg."""
    name = url.database or "bench"
    admin = url.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), name


def _plain_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_pg_database(pg_url: str) -> None:
    """Create the bench database if it is missing (never the test suite's)."""
    dsn, name = _admin_dsn(make_url(pg_url))
    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def reset_pg_schema(pg_url: str) -> None:
    """An empty ``public`` schema in the bench database."""
    conn = await asyncpg.connect(_plain_dsn(make_url(pg_url)))
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def pg_server_version(pg_url: str) -> str:
    conn = await asyncpg.connect(_plain_dsn(make_url(pg_url)))
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(kind: str, pg_url: str) -> AsyncIterator[str]:
    """Yields the async SQLAlchemy URL of an empty database of ``kind``."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="casualty-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    await ensure_pg_database(pg_url)
    await reset_pg_schema(pg_url)
    yield async_database_url(pg_url)


# -- statistics ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency figures in milliseconds over ``n`` samples (nearest-rank percentiles)."""

    n: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float
    min: float

    @classmethod
    def of(cls, samples_ns: Sequence[int]) -> Latency:
        if not samples_ns:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan, nan)
        ms = sorted(s / 1e6 for s in samples_ns)
        return cls(
            n=len(ms),
            mean=sum(ms) / len(ms),
            p50=percentile(ms, 50),
            p95=percentile(ms, 95),
            p99=percentile(ms, 99),
            max=ms[-1],
            min=ms[0],
        )

    def as_dict(self) -> dict[str, float | int]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def peak_rss_mib() -> float:
    """The peak resident set size of this process so far (Linux reports KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / (1024 * 1024)


# -- output --------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: text columns left-aligned, numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) if rows else False
        for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def environment(pg_version: str | None = None) -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version,
        "git_commit": _git_commit(),
    }


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=BENCH_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def write_results(prefix: str, payload: dict[str, Any]) -> Path:
    """Writes ``bench/results/<prefix>-<UTC timestamp>.json`` and returns its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{prefix}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


#: Seconds a bot process gets to shut down after SIGTERM.
STOP_SECONDS = 60


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (the bot shuts down cleanly), SIGKILL if it has not ended after a minute."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
