"""The data version and the /stats replies kept under it.

Every change to a table the figures come from moves the version on, whatever makes it (triggers
of migration 011, tested here with plain SQL as an operator or another process would write), and
a /stats reply is rendered once per filters, language, day and version: never kept past a change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy import delete, insert, text

from bot.config import Settings
from bot.harness import EmulatedBot
from db import chats
from db.domain.filters import IncidentFilter
from db.models import FIGURE_TABLES, Base, OfficialTotal
from db.queries import Reader
from db.store import stats as store_stats
from handlers.cache import RenderedReplies
from handlers.context import Services
from tests.conftest import emulated_bot


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def bot(settings: Settings) -> AsyncIterator[EmulatedBot]:
    async with emulated_bot(settings, "123456789:VERSION-TOKEN") as running:
        yield running


@pytest.mark.parametrize("table", FIGURE_TABLES)
async def test_any_change_to_a_figure_table_moves_the_version_on(
    services: Services, table: str
) -> None:
    column = next(c.name for c in Base.metadata.tables[table].columns if not c.primary_key)
    async with services.store.db.engine.connect() as connection:
        before = await chats.data_version(connection)
        await connection.execute(text(f"UPDATE {table} SET {column} = {column}"))
        assert await chats.data_version(connection) > before
        await connection.rollback()  # the table is left as it was
        assert await chats.data_version(connection) == before


async def test_inserts_and_deletes_move_the_version_on(services: Services) -> None:
    row = {
        "as_of": dt.date(2024, 1, 1),
        "period_start": dt.date(2020, 11, 10),
        "total": 1,
        "issuer": "ANAMA",
        "source_url": "https://example.org/x",
    }
    async with services.store.db.engine.connect() as connection:
        before = await chats.data_version(connection)
        await connection.execute(insert(OfficialTotal).values(row))
        assert await chats.data_version(connection) > before
        await connection.rollback()
        await connection.execute(delete(OfficialTotal).where(OfficialTotal.id == 1))
        assert await chats.data_version(connection) > before
        await connection.rollback()
        assert await chats.data_version(connection) == before


async def test_a_transaction_moves_the_version_on_however_much_it_writes(
    services: Services,
) -> None:
    """Once per transaction on PostgreSQL (statement-level triggers remember it), once per row
    on SQLite: either way a reader sees that the data changed."""
    async with services.store.db.engine.connect() as connection:
        before = await chats.data_version(connection)
        for _ in range(3):
            await connection.execute(text("UPDATE official_totals SET note = note WHERE id = 1"))
        moved = await chats.data_version(connection) - before
        await connection.rollback()
    postgresql = services.store.db.engine.dialect.name == "postgresql"
    assert moved == (1 if postgresql else 3)
    async with (
        services.store.db.engine.connect() as connection
    ):  # the next transaction moves it again
        await connection.execute(text("UPDATE official_totals SET note = note WHERE id = 1"))
        assert await chats.data_version(connection) == before + 1
        await connection.rollback()


async def test_the_language_and_the_version_are_read_together(services: Services) -> None:
    async with services.store.db.read() as connection:
        version = await chats.data_version(connection)
        assert await chats.language_and_version(connection, None) == (None, version)
        assert await chats.language_and_version(connection, 1) == (None, version)


def test_replies_are_kept_for_one_version_at_a_time() -> None:
    replies = RenderedReplies(size=2)
    replies.put(5, "a", "A5")
    assert replies.get(5, "a") == "A5"
    assert replies.get(6, "a") is None  # the data moved on: nothing of 5 is given
    assert len(replies) == 0
    replies.put(5, "a", "A5")  # a reader that read 5 before the change: kept for readers of 5
    assert replies.get(5, "a") == "A5"
    assert replies.get(6, "a") is None and len(replies) == 0  # and gone for the next reader
    replies.put(6, "a", "A6")
    assert replies.get(4, "a") is None  # a version gone back (a backup restored): nothing
    assert replies.get(6, "a") is None  # nor when it comes to a number seen before
    for key in "xyz":
        replies.put(6, key, key.upper())
    assert replies.get(6, "x") is None and replies.get(6, "z") == "Z"  # the oldest went
    none = RenderedReplies(size=0)  # STATS_CACHE_SIZE=0
    none.put(1, "a", "A")
    assert none.get(1, "a") is None and len(none) == 0


async def test_stats_are_read_once_per_question_and_again_after_any_change(
    bot: EmulatedBot, sandbox: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[IncidentFilter] = []
    stats_report = store_stats.stats_report

    async def counted(db: Reader, f: IncidentFilter, **kw: object) -> object:
        reads.append(f)
        return await stats_report(db, f, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store_stats, "stats_report", counted)
    for user, lang in ((71_001, "en"), (71_002, "en"), (71_003, "ru")):
        bot.emulator.add_private_chat(user, first_name="Leyla", language_code=lang)

    async def ask(user: int, query: str = "/stats") -> str:
        (message,) = await bot.send(user, query)
        assert message.plain is not None
        return message.plain

    first = await ask(71_001)
    assert await ask(71_002) == first  # the same question in the same language: read once
    assert len(reads) == 1
    russian = await ask(71_003)
    assert russian != first and len(reads) == 2
    await ask(71_001, "/stats 2023")
    assert len(reads) == 3

    # A new official figure written outside this process (as by an operator's SQL): the next
    # /stats reads the figures again and shows it.
    async with sandbox.store.db.transaction() as session:
        await session.execute(
            insert(OfficialTotal).values(
                as_of=dt.date.today(),  # the latest official figure
                period_start=dt.date(2020, 11, 10),
                total=98_765,
                issuer="ANAMA",
                source_url="https://example.org/official",
            )
        )
    changed = await ask(71_002)
    assert len(reads) == 4 and changed != first and "98,765" in changed
    assert await ask(71_001) == changed and len(reads) == 4
