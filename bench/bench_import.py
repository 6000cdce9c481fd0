"""Time of a bulk CSV import (what an admin's file or ``python -m bot import`` runs).

For each database and file size: a fresh database with the shipped dataset, a synthetic file of N
new rows in the dataset's format, then ``parse_csv`` (every row checked) and the store's
``imports.import_rows`` (one transaction, audit entries included) timed; then the same file again (every row skipped as a
duplicate). Repeated ``--runs`` times on a fresh database; medians are printed. Never asserts.

    python bench/bench_import.py --sizes 500,2000 --databases sqlite,postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import random
import statistics
import time

import support

from bot.config import DEFAULT_SEED_DIR
from db.domain.csv_rows import parse_csv
from db.domain.imports import COLUMNS
from db.seed import prepare
from db.session import Database
from db.store import Store
from db.store.access import Policy
from db.store.imports import ImportRequest, Operator

DISTRICTS = ("Kalbajar", "Lachin", "Aghdam", "Fuzuli", "Tartar", "Khojavend", "Jabrayil")


def synthetic_csv(rows: int, seed_value: int) -> bytes:
    rng = random.Random(seed_value)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    first = dt.date(2021, 1, 1)
    for i in range(rows):
        day = first + dt.timedelta(days=rng.randrange(1800))
        counts = [0, 0, 0, 0]
        counts[rng.randrange(4)] = rng.randint(1, 3)
        writer.writerow(
            [
                day.isoformat(),
                "day",
                rng.choice(DISTRICTS),
                f"Village {i % 50}",
                *counts,
                rng.choice(("antipersonnel", "antivehicle", "uxo", "unknown")),
                "",
                "Synthetic incident for the benchmark.",
                f"https://example.az/bench/{seed_value}/{i}",
                "",
                "",
            ]
        )
    return out.getvalue().encode()


async def one_run(kind: str, pg_url: str, rows: int, run: int) -> dict[str, float]:
    async with support.fresh_database(kind, pg_url) as url:
        db = Database(url)
        try:
            gazetteer = (await prepare(db, DEFAULT_SEED_DIR)).gazetteer
            imports = Store(db, Policy()).imports
            data = synthetic_csv(rows, run)
            started = time.perf_counter()
            parsed = parse_csv(data, gazetteer, dt.date.today())
            parse_s = time.perf_counter() - started
            assert not parsed.problems, parsed.problems[:3]
            started = time.perf_counter()
            report = await imports.import_rows(ImportRequest(parsed.rows, Operator.SHELL))
            import_s = time.perf_counter() - started
            assert len(report.added) == rows
            started = time.perf_counter()
            again = await imports.import_rows(ImportRequest(parsed.rows, Operator.SHELL))
            skip_s = time.perf_counter() - started
            assert len(again.skipped) == rows
        finally:
            await db.dispose()
    return {"parse_s": parse_s, "import_s": import_s, "reimport_s": skip_s}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=support.int_list, default=[500, 2000])
    parser.add_argument("--databases", type=support.database_list, default=list(support.DATABASES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg-url", default=support.DEFAULT_PG_URL)
    args = parser.parse_args()
    results = []
    for kind in args.databases:
        for rows in args.sizes:
            runs = [await one_run(kind, args.pg_url, rows, run) for run in range(args.runs)]
            medians = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            results.append({"database": kind, "rows": rows, "runs": args.runs, **medians})
    print(
        support.table(
            ["database", "rows", "check (s)", "import (s)", "rows/s", "same file again (s)"],
            [
                [
                    r["database"],
                    r["rows"],
                    f"{r['parse_s']:.2f}",
                    f"{r['import_s']:.2f}",
                    f"{r['rows'] / r['import_s']:.0f}",
                    f"{r['reimport_s']:.2f}",
                ]
                for r in results
            ],
        )
    )
    print(
        f"medians of {args.runs} runs each; results in {support.write_results('import', {'results': results})}"
    )


if __name__ == "__main__":
    asyncio.run(main())
