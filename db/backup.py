"""Backup and restore of a SQLite database (``python -m bot db backup|restore PATH``).

A backup is taken with SQLite's online backup API while the bot runs and writes: it copies the
database as of one moment (one read transaction; in WAL mode writers go on meanwhile), into a
temporary file beside PATH that becomes PATH only once it is complete. The copy is a single file
(rollback journal, no ``-wal`` beside it) that ``sqlite3`` opens as it is.

A restore checks the file first (an SQLite database, intact, of this bot's schema at a revision
this code knows), then replaces the database file atomically: the backup is copied to a temporary
file beside it, which ``os.replace`` puts in its place. The bot must be stopped: a database that
another process has open is refused (SQLite cannot leave WAL mode while it is). Migrations then
bring the restored database up to this code's schema.

PostgreSQL has its own tools: :func:`postgresql_commands` says which to run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sqlite3
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import URL, make_url

from db.migrate import alembic_config, head_revision

SQLITE_MAGIC = b"SQLite format 3\x00"
#: How long a restore waits for the database it replaces before calling it in use.
IN_USE_TIMEOUT = 1.0


class BackupError(Exception):
    """The backup or restore was refused or failed; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    bytes: int
    revision: str | None


def sqlite_file(url: str | URL) -> Path:
    """The database file of a SQLite URL; BackupError for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise BackupError(f"{parsed.get_backend_name()} databases are not backed up this way")
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("DATABASE_URL names an in-memory SQLite database: nothing to back up")
    return Path(parsed.database).expanduser()


def postgresql_commands(url: str | URL, path: Path) -> str:
    """What to run instead for a PostgreSQL database: pg_dump and pg_restore with the connection
    details of ``url`` but never its password (libpq reads PGPASSWORD or ~/.pgpass)."""
    parsed = make_url(url)
    connection = []
    if parsed.host:
        connection.append(f"--host={shlex.quote(parsed.host)}")
    if parsed.port:
        connection.append(f"--port={parsed.port}")
    if parsed.username:
        connection.append(f"--username={shlex.quote(parsed.username)}")
    where = " ".join(connection)
    database = shlex.quote(parsed.database or "postgres")
    file = shlex.quote(str(path))
    return "\n".join(
        [
            "DATABASE_URL is a PostgreSQL database: back it up and restore it with PostgreSQL's "
            "own tools (nothing was run). The password comes from PGPASSWORD or ~/.pgpass.",
            "  backup (consistent while the bot runs):",
            f"    pg_dump --format=custom {where} --file={file} {database}",
            "  restore (stop the bot first; then `python -m bot db upgrade`):",
            f"    pg_restore --clean --if-exists --no-owner {where} --dbname={database} {file}",
        ]
    )


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def _check_intact(connection: sqlite3.Connection, path: Path) -> None:
    problems = [str(row[0]) for row in connection.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {problems[0]}")


def _temporary_beside(path: Path) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    return Path(name)


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """Copy ``source`` into the (empty) file ``target`` in one step of the backup API: one read
    transaction, so the copy is the database as of one moment."""
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        source.backup(copy)  # pages=-1: everything in one step
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        _check_intact(copy, target)
    finally:
        copy.close()


def _backup(database: Path, target: Path, force: bool) -> BackupReport:
    if not database.is_file():
        raise BackupError(f"there is no database at {database}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists: give --force to overwrite it")
    if target.exists() and target.resolve() == database.resolve():
        raise BackupError(f"{target} is the database itself")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a folder")
    source = sqlite3.connect(database, isolation_level=None, timeout=30)
    temporary = _temporary_beside(target)
    try:
        _copy(source, temporary)
        with contextlib.closing(sqlite3.connect(temporary)) as copy:
            revision = _revision(copy)
        os.replace(temporary, target)
    finally:
        source.close()
        temporary.unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, revision)


async def backup(url: str | URL, target: Path, *, force: bool = False) -> BackupReport:
    """Copy the SQLite database of ``url`` to ``target`` while the bot may be running (in a
    thread); refuses to overwrite ``target`` unless ``force``."""
    return await asyncio.to_thread(_backup, sqlite_file(url), target, force)


def check_backup(path: Path) -> str:
    """The schema revision of a backup fit to restore; BackupError saying why it is not."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise BackupError(f"{path} is not an SQLite database")
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            revision = _revision(connection)
            _check_intact(connection, path)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} cannot be read as an SQLite database: {exc}") from None
    if revision is None:
        raise BackupError(f"{path} is an SQLite database but not this bot's (no schema revision)")
    script = ScriptDirectory.from_config(alembic_config())
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"{path} is at schema revision {revision}, which this code does not know (its latest "
            f"is {head_revision()}): restore it with the version of the bot that made it"
        )
    return revision


def _let_go(database: Path) -> None:
    """Make sure nobody has ``database`` open and it has no ``-wal`` left: switching it out of
    WAL mode checkpoints and removes the WAL, and fails while another connection has it open."""
    if not database.exists():
        return
    with database.open("rb") as handle:
        if handle.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            return  # not a database: it is replaced as any file
    connection = sqlite3.connect(database, isolation_level=None, timeout=IN_USE_TIMEOUT)
    try:
        connection.execute("PRAGMA journal_mode=DELETE").fetchall()
    except sqlite3.OperationalError as exc:
        raise BackupError(
            f"{database} is in use ({exc}): stop the bot before restoring a backup"
        ) from None
    finally:
        connection.close()
    leftovers = [p for p in (Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]
    if leftovers:
        raise BackupError(f"{database} is in use ({leftovers[0]} is there): stop the bot first")


def _restore(source: Path, database: Path) -> str:
    revision = check_backup(source)
    if database.exists() and database.resolve() == source.resolve():
        raise BackupError(f"{source} is the database itself")
    if not database.parent.is_dir():
        raise BackupError(f"{database.parent} is not a folder")
    _let_go(database)
    temporary = _temporary_beside(database)
    try:
        if database.exists():  # the restored file is readable by whoever could read it before
            os.chmod(temporary, stat.S_IMODE(database.stat().st_mode))
        uri = f"{source.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as backup_file:
            _copy(backup_file, temporary)
        os.replace(temporary, database)
    finally:
        temporary.unlink(missing_ok=True)
    return revision


async def restore(url: str | URL, source: Path) -> str:
    """Replace the SQLite database of ``url`` with the backup ``source`` (checked first; the bot
    must be stopped); returns the backup's schema revision. Migrations are the caller's."""
    return await asyncio.to_thread(_restore, source, sqlite_file(url))
