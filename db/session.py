"""The engine and the session factory: created once by the composition root, never at import time."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

#: The key that serialises admins' writes (see ``Database.write``).
WRITE_LOCK = 0x7772_6974


class Database:
    """One engine and its session factory; one session per unit of work."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            # Several tasks share the file: wait for locks rather than fail at once.
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_on_connect)
            event.listen(self.engine.sync_engine, "begin", _sqlite_on_begin)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection for read queries that need no ORM objects (the cheapest path)."""
        async with self.engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A read session (no transaction is committed)."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A transaction that changes incidents, official totals, editors or reviews: writers of
        every process take turns (see :meth:`exclusive`), so that a change checked against the
        store is applied to the store it was checked against."""
        async with self.transaction() as session:
            await self.exclusive(session, WRITE_LOCK)
            yield session

    async def exclusive(self, executor: AsyncSession | AsyncConnection, key: int) -> None:
        """Serialise this transaction with every other process's that asks for the same key:
        a transaction-scoped advisory lock on PostgreSQL; on SQLite, the database's write lock.
        Call it first in the transaction: on SQLite a transaction that has read cannot wait for
        the write lock (WAL snapshots), so the lock is taken by a write that reads nothing,
        setting the header's user_version, which nothing else uses."""
        if self.is_sqlite:
            await executor.execute(text("PRAGMA user_version = 1"))
        else:
            await executor.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module starts transactions itself, late (at the first INSERT/UPDATE/DELETE,
    # never for DDL): hand that to SQLAlchemy, which emits BEGIN when a transaction starts
    # (the recipe in SQLAlchemy's SQLite dialect docs), so locks and DDL are transactional.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL (readers never wait for the writer) is a property of the file, kept once set.
    # Switching needs the file to itself: when another connection is switching it at the
    # same moment (two processes starting on a new file), that one does it for both.
    with contextlib.suppress(sqlite3.OperationalError):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A page cache of 1 MiB per connection (SQLite's default is 2 MiB): a fan-out keeps a dozen
    # connections busy, and the OS caches the file anyway (bench/bench_digest.py: peak RSS).
    cursor.execute("PRAGMA cache_size=-1000")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")
