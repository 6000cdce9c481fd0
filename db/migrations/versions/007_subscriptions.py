"""subscriptions: each chat's digest settings and schedule

Revision ID: 007
Revises: 006
Create Date: 2026-11-27 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "007"
down_revision: str | None = "006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("frequency", _enum("frequency", "daily", "weekly"), nullable=False),
        sa.Column("at", sa.Time(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("send_empty", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "ended_reason",
            _enum("subscription_end", "unsubscribed", "blocked", "removed"),
            nullable=True,
        ),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id"),
    )
    op.create_index(
        "ix_subscriptions_active_due", "subscriptions", ["active", "next_due_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_subscriptions_active_due", table_name="subscriptions")
    op.drop_table("subscriptions")
