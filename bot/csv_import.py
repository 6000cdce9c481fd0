"""``python -m bot import FILE.csv``: the chat's import of a CSV file, from the shell.

The bot's start-up first (``db.seed.prepare``: migrations, the dataset into an empty store, the
gazetteer), then the file checked as in the chat and imported through the same store call
(``store.imports.import_rows``), as the operator: never refused, never reviewed, recorded in the
audit trail with no actor. The report is plain text; the problems go to stderr by line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Settings
from db import seed
from db.domain.csv_rows import parse_csv
from db.domain.gazetteer import Gazetteer
from db.domain.imports import MAX_FILE_BYTES, ImportProblem
from db.session import Database
from db.store import Store
from db.store.access import Policy
from db.store.imports import ImportOutcome, ImportRequest, Operator
from handlers.render.imports import (
    checked_lines,
    import_problem_text,
    imported_lines,
    problems_summary,
    too_large_text,
)
from locales.i18n import Catalogs, Translator


def import_command(
    settings: Settings, path: Path, prog: str, *, lang: str | None, dry_run: bool
) -> int:
    """All or nothing, as an admin's CSV in the chat, but never reviewed. The exit status: 0
    imported (or checked), 1 the file has problems, 2 it cannot be read."""
    catalogs = Catalogs.load(settings.default_language, settings.tz)
    t = catalogs.translator(lang or settings.default_language)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            print(f"{prog}: {path}: {too_large_text(t)}", file=sys.stderr)
            return 1
        data = path.read_bytes()
    except OSError as exc:
        print(f"{prog}: {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return asyncio.run(import_file(settings, t, path, data, prog, dry_run=dry_run))


async def import_file(
    settings: Settings, t: Translator, path: Path, data: bytes, prog: str, *, dry_run: bool
) -> int:
    database = Database(settings.database_url)
    try:
        prepared = await seed.prepare(database, settings.seed_dir)
        if prepared.seeded is not None:
            print(
                f"loaded {settings.seed_dir} into the empty database: "
                f"{prepared.seeded.districts_added} districts, {prepared.seeded.incidents_added} "
                f"incidents, {prepared.seeded.totals_added} official totals"
            )
        parsed = parse_csv(data, prepared.gazetteer, dt.datetime.now(settings.tz).date())
        if not parsed.ok:
            print_problems(t, prepared.gazetteer, path, parsed.problems, prog)
            return 1
        store = Store(database, Policy(settings.admin_ids, settings.review_required))
        request = ImportRequest(parsed.rows, Operator.SHELL, file_name=path.name, dry_run=dry_run)
        result = await store.imports.import_rows(request)
    finally:
        await database.dispose()
    if result.outcome is ImportOutcome.CHECKED:
        print("\n".join(checked_lines(t, path.name, result.rows, result.skipped)))
    else:
        print("\n".join(imported_lines(t, path.name, result.report, result.added_drafts)))
    return 0


def print_problems(
    t: Translator, gazetteer: Gazetteer, path: Path, problems: Sequence[ImportProblem], prog: str
) -> None:
    """On stderr: each problem after its ``path:line``, then that nothing was imported."""
    for problem in problems:
        where = f"{path}:{problem.line}" if problem.line is not None else str(path)
        print(f"{where}: {import_problem_text(t, gazetteer, problem)}", file=sys.stderr)
    for line in problems_summary(t, path.name, problems):
        print(f"{prog}: {line}", file=sys.stderr)
