"""``python -m bot db backup|restore``: an online SQLite backup is a consistent snapshot while
another connection writes; a restore gives the same /stats figures; refusals say why; for
PostgreSQL both print the commands to use and run nothing.

These run on SQLite files of their own, whatever TEST_DATABASE_URL says (the PostgreSQL way is
pg_dump, which the bot only prints)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import DEFAULT_SEED_DIR
from db import backup, migrate, seed, writes
from db.domain.filters import IncidentFilter, Period
from db.domain.records import DatePrecision, Device
from db.models import Incident
from db.session import Database
from db.store.stats import stats_report
from db.totals import SUMMED


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _seeded(path: Path) -> None:
    database = Database(_url(path))
    try:
        await migrate.upgrade(database)
        await seed.seed(database, DEFAULT_SEED_DIR)
    finally:
        await database.dispose()


def _open(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A plain connection, closed on leaving (autocommit: each statement commits)."""
    return contextlib.closing(sqlite3.connect(path, isolation_level=None))


def _published(path: Path) -> int:
    with _open(path) as connection:
        return int(
            connection.execute(
                "SELECT count(*) FROM incidents WHERE status = 'published'"
            ).fetchone()[0]
        )


def _assert_totals_agree(path: Path) -> None:
    """The pre-aggregated totals sum exactly the published incidents (SPAN and LONG rows), and
    the MONTH rows sum the SPAN rows: what a snapshot taken between two writes guarantees."""
    columns = ", ".join(f"coalesce(sum({c}), 0)" for c in SUMMED)
    with _open(path) as connection:
        spans = connection.execute(
            f"SELECT {columns} FROM incident_totals WHERE grain IN ('D', 'L')"
        ).fetchone()
        months = connection.execute(
            f"SELECT {columns} FROM incident_totals WHERE grain = 'M'"
        ).fetchone()
        single = connection.execute(
            f"SELECT {columns} FROM incident_totals WHERE grain = 'D'"
        ).fetchone()
        incidents = connection.execute(
            "SELECT count(*), "
            "sum(civilian_killed + civilian_injured > 0), sum(military_killed + military_injured > 0), "
            "sum(civilian_killed), sum(civilian_injured), sum(military_killed), sum(military_injured) "
            "FROM incidents WHERE status = 'published'"
        ).fetchone()
    assert tuple(spans) == tuple(incidents)
    assert tuple(months) == tuple(single)


def _assert_self_contained(path: Path) -> None:
    """One file in rollback-journal mode, no -wal beside it: it can be moved and opened alone."""
    with _open(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert not Path(f"{path}-wal").exists()


def _new_incident(n: int) -> Incident:
    day = dt.date(2030, 1, 1) + dt.timedelta(days=n % 700)
    return Incident(
        date=day,
        date_end=day,
        date_precision=DatePrecision.DAY,
        district_id=None,
        civilian_killed=n % 2,
        civilian_injured=1 + n % 3,
        military_killed=0,
        military_injured=n % 4,
        device=Device.UNKNOWN,
        description=f"written during a backup #{n}",
    )


async def test_a_backup_taken_while_another_connection_writes_is_a_snapshot(
    tmp_path: Path,
) -> None:
    live = tmp_path / "live.sqlite3"
    await _seeded(live)
    seeded = _published(live)
    writer_db = Database(_url(live))  # another connection (its own engine), writing all along
    committed = 0
    stop, progressed = asyncio.Event(), asyncio.Event()

    async def write() -> None:
        nonlocal committed
        for n in itertools.count():
            if stop.is_set():
                return
            async with writer_db.write() as session:
                await writes.add_incident(session, _new_incident(n))
            committed += 1
            progressed.set()

    writer = asyncio.create_task(write())
    try:
        copies = []
        for i in range(5):
            while committed < 20 * (i + 1):  # let writes pile up in the WAL between copies
                progressed.clear()
                await progressed.wait()
            before = committed
            copy = tmp_path / f"copy{i}.sqlite3"
            report = await backup.backup(_url(live), copy)
            after = committed
            assert report.path == copy and report.revision == migrate.head_revision()
            # Everything committed before the copy began is in it; nothing not yet committed.
            assert seeded + before <= _published(copy) <= seeded + after
            _assert_totals_agree(copy)
            copies.append(copy)
    finally:
        stop.set()
        await writer
        await writer_db.dispose()
    assert committed >= 100
    _assert_self_contained(copies[-1])

    # Restored into a fresh path, the bot's queries give the same /stats figures as the copy.
    fresh = tmp_path / "restored.sqlite3"
    assert await backup.restore(_url(fresh), copies[-1]) == migrate.head_revision()
    every = IncidentFilter()
    year = IncidentFilter(period=Period(dt.date(2030, 1, 1), dt.date(2030, 12, 31)))
    figures = []
    for path in (copies[-1], fresh):
        database = Database(_url(path))
        try:
            async with database.read() as connection:
                figures.append(
                    [
                        await stats_report(connection, f, today=dt.date(2031, 6, 1))
                        for f in (every, year)
                    ]
                )
        finally:
            await database.dispose()
    assert figures[0] == figures[1]
    assert figures[1][0].stats.incidents == _published(copies[-1]) > seeded


# -- the command line -----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``python -m bot`` in this process, in an empty folder, its DATABASE_URL a seeded file
    (yielded)."""
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "SEED_DIR", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    database = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert main(["db", "seed"]) == 0
    yield database


def test_backup_and_restore_from_the_command_line(
    cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "backup.sqlite3"
    assert main(["db", "backup", str(copy)]) == 0
    assert f"to {copy}" in capsys.readouterr().out
    incidents = _published(copy)
    assert incidents == _published(cli)
    # A restore into a database that has changed since puts the copy's content back.
    with _open(cli) as connection:
        connection.execute("DELETE FROM incident_sources")
        connection.execute("DELETE FROM incidents WHERE id > 10")
    assert _published(cli) == 10
    assert main(["db", "restore", str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"restored {copy}" in out and f"revision {migrate.head_revision()}" in out
    assert _published(cli) == incidents
    _assert_totals_agree(cli)
    # Into a path with no database yet (a new machine), migrations run on the restored file.
    elsewhere = tmp_path / "new" / "bot.sqlite3"
    elsewhere.parent.mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{elsewhere}")
    assert main(["db", "restore", str(copy)]) == 0
    assert _published(elsewhere) == incidents


def test_a_backup_does_not_overwrite_a_file_without_force(
    cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "precious.txt"
    existing.write_text("keep me")
    capsys.readouterr()
    assert main(["db", "backup", str(existing)]) == 1
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err
    assert existing.read_text() == "keep me"
    assert main(["db", "backup", str(existing), "--force"]) == 0
    assert _published(existing) == _published(cli)
    # No temporary file is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_restore_checks_the_file_first(
    cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cli.read_bytes()
    capsys.readouterr()

    def refused(path: Path) -> str:
        assert main(["db", "restore", str(path)]) == 1
        assert cli.read_bytes() == before  # the database is untouched
        return capsys.readouterr().err

    text = tmp_path / "notes.sqlite3"
    text.write_text("id,date\n1,2023-01-01\n")
    assert f"{text} is not an SQLite database" in refused(text)
    assert "is not a file" in refused(tmp_path / "missing.sqlite3")
    other = tmp_path / "other.sqlite3"
    with _open(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    assert "not this bot's" in refused(other)
    newer = tmp_path / "newer.sqlite3"
    newer.write_bytes(before)
    with _open(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '999'")
    err = refused(newer)
    assert "revision 999" in err and "does not know" in err
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(before[: len(before) // 2])
    assert "truncated.sqlite3" in refused(truncated)


def test_a_restore_is_refused_while_the_database_is_in_use(
    cli: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "backup.sqlite3"
    assert main(["db", "backup", str(copy)]) == 0
    running = sqlite3.connect(cli)  # as the bot holds it: WAL mode, open
    try:
        running.execute("PRAGMA journal_mode=WAL")
        running.execute("SELECT count(*) FROM incidents").fetchone()
        capsys.readouterr()
        assert main(["db", "restore", str(copy)]) == 1
        assert "stop the bot" in capsys.readouterr().err
    finally:
        running.close()
    assert main(["db", "restore", str(copy)]) == 0


@pytest.mark.parametrize("verb", ["backup", "restore"])
def test_postgresql_gets_the_commands_to_use(
    verb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://casualty:s3cret-pw@db.example:5433/casualties")
    path = tmp_path / "casualties.dump"
    assert main(["db", verb, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert "s3cret-pw" not in err
    assert (
        f"pg_dump --format=custom --host=db.example --port=5433 --username=casualty "
        f"--file={path} casualties"
    ) in err
    assert (
        "pg_restore --clean --if-exists --no-owner --host=db.example --port=5433 "
        f"--username=casualty --dbname=casualties {path}"
    ) in err
    assert "PGPASSWORD" in err
    assert not path.exists()
