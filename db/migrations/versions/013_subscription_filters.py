"""subscriptions.filters: a subscription's filters as one JSON value, by filter dimension

The filters were two columns, ``districts`` (JSON ids) and ``category``; each new filter dimension
would have needed its own. They become one JSON object keyed by dimension (``{"districts": [3, 1],
"category": "civilian"}``; ``{}`` for all incidents), written and read by the dimensions' registry
(``db.domain.dimensions``). A dimension that narrows nothing is left out.

Revision ID: 013
Revises: 012
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "013"
down_revision: str | None = "012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(*columns: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table("subscriptions", sa.column("chat_id", sa.BigInteger()), *columns)


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("filters", sa.JSON(), nullable=True))
    old = _table(
        sa.column("districts", sa.JSON()),
        sa.column("category", sa.String(16)),
        sa.column("filters", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(old.c.chat_id, old.c.districts, old.c.category)).all()
    for chat_id, districts, category in rows:
        filters: dict[str, Any] = {}
        if districts:
            filters["districts"] = [int(d) for d in districts]
        if category:
            filters["category"] = category
        connection.execute(
            old.update().where(old.c.chat_id == chat_id).values(filters=filters)
        )
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("filters", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("category")
        batch.drop_column("districts")


def downgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("districts", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("category", sa.String(length=16), nullable=True))
    new = _table(
        sa.column("districts", sa.JSON()),
        sa.column("category", sa.String(16)),
        sa.column("filters", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(new.c.chat_id, new.c.filters)).all()
    for chat_id, filters in rows:  # other dimensions than these two are lost
        connection.execute(
            new.update()
            .where(new.c.chat_id == chat_id)
            .values(
                districts=list((filters or {}).get("districts", [])),
                category=(filters or {}).get("category"),
            )
        )
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("districts", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("filters")
