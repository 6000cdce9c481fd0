"""Migrations: they build exactly the schema the models describe, and they go down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from db import migrate
from db.models import Base
from db.session import Database


async def test_migrations_match_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'schema.sqlite3'}")
    try:
        await migrate.upgrade(db)
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
        assert await migrate.current_revision(db) == migrate.head_revision()
        await migrate.downgrade(db, "base")
        assert await migrate.current_revision(db) is None
        await migrate.upgrade(db)
        assert await migrate.current_revision(db) == migrate.head_revision()
    finally:
        await db.dispose()


def test_migrations_import_no_live_code() -> None:
    """A migration carries what it needs: changing the bot's code must never change the result of
    an old migration, so no revision imports the project's own packages."""
    import ast

    versions = Path(migrate.MIGRATIONS_DIR) / "versions"
    ours = {"bot", "handlers", "db", "locales"}
    found = []
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            found += [f"{path.name}: {name}" for name in names if name.split(".")[0] in ours]
    assert found == []


async def test_incident_totals_migration_fills_what_a_rebuild_computes(tmp_path: Path) -> None:
    """Revision 002 fills ``incident_totals`` from the incidents stored before it, as the live
    rebuild would: spans inside a month, spans across months, no district, retracted left out."""
    from sqlalchemy import select, text

    from db import totals
    from db.models import IncidentTotal

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        await migrate.upgrade(db, "001")
        async with db.engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO districts (id, key) VALUES (1, 'one'), (2, 'two')")
            )
            rows = [
                # district, date, date_end, status, civilian killed/injured, military k/i
                (1, "2021-03-05", "2021-03-05", "published", 1, 2, 0, 0),
                (1, "2021-03-20", "2021-03-20", "published", 0, 0, 1, 0),
                (1, "2021-03-01", "2021-03-31", "published", 0, 1, 0, 3),
                (2, "2022-01-01", "2022-12-31", "published", 2, 0, 0, 0),
                (None, "2021-07-09", "2021-07-09", "published", 0, 0, 0, 2),
                (2, "2021-03-05", "2021-03-05", "retracted", 5, 5, 5, 5),
            ]
            for n, (district, start, end, status, *counts) in enumerate(rows, start=1):
                await conn.execute(
                    text(
                        "INSERT INTO incidents (id, date, date_end, date_precision, district_id,"
                        " civilian_killed, civilian_injured, military_killed, military_injured,"
                        " device, description, status) VALUES (:id, :date, :end, 'day', :district,"
                        " :ck, :ci, :mk, :mi, 'unknown', 'x', :status)"
                    ),
                    {
                        "id": n,
                        "date": start,
                        "end": end,
                        "district": district,
                        "status": status,
                        "ck": counts[0],
                        "ci": counts[1],
                        "mk": counts[2],
                        "mi": counts[3],
                    },
                )
        await migrate.upgrade(db, "002")

        def table_rows(sync: object) -> list[tuple[object, ...]]:
            return sorted(tuple(r) for r in sync.execute(select(IncidentTotal.__table__)))  # type: ignore[attr-defined]

        async with db.engine.connect() as conn:
            migrated = await conn.run_sync(table_rows)
        async with db.sessionmaker() as session, session.begin():
            await totals.rebuild(session)
        async with db.engine.connect() as conn:
            rebuilt = await conn.run_sync(table_rows)
        assert migrated == rebuilt
        assert len(migrated) == 7  # 4 span rows and 2 month rows of published incidents, 1 long
    finally:
        await db.dispose()


async def test_subscription_filters_migration_keeps_each_subscriptions_filters(
    tmp_path: Path,
) -> None:
    """Revision 013 moves ``districts`` and ``category`` into one ``filters`` JSON value keyed
    by dimension, as ``db.domain.dimensions.dump_filter`` writes it, and back on the way down."""
    import json

    from sqlalchemy import text

    from db.domain.dimensions import load_filter
    from db.domain.filters import Category, IncidentFilter

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'filters.sqlite3'}")
    rows = {1: ("[3, 1]", "civilian"), 2: ("[]", None), 3: ("[]", "military")}
    insert = text(
        "INSERT INTO subscriptions (chat_id, frequency, at, weekday, districts, category, "
        "send_empty, active, created_at, updated_at, period_start, next_due_at) VALUES (:chat, "
        "'daily', '09:00:00', 0, :districts, :category, 0, 1, :now, :now, :now, :now)"
    )
    try:
        await migrate.upgrade(db, "012")
        async with db.engine.begin() as conn:
            for chat, (districts, category) in rows.items():
                await conn.execute(
                    insert,
                    {
                        "chat": chat,
                        "districts": districts,
                        "category": category,
                        "now": "2026-11-27",
                    },
                )
        await migrate.upgrade(db, "013")
        async with db.engine.connect() as conn:
            found = dict(
                (await conn.execute(text("SELECT chat_id, filters FROM subscriptions"))).all()
            )
        assert {chat: load_filter(json.loads(value)) for chat, value in found.items()} == {
            1: IncidentFilter(districts=(3, 1), category=Category.CIVILIAN),
            2: IncidentFilter(),
            3: IncidentFilter(category=Category.MILITARY),
        }
        await migrate.downgrade(db, "012")
        async with db.engine.connect() as conn:
            back = (
                await conn.execute(
                    text("SELECT chat_id, districts, category FROM subscriptions ORDER BY chat_id")
                )
            ).all()
        assert [(c, json.loads(d), k) for c, d, k in back] == [
            (1, [3, 1], "civilian"),
            (2, [], None),
            (3, [], "military"),
        ]
    finally:
        await db.dispose()
