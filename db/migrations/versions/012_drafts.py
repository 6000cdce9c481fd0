"""drafts: the guided /add in progress and the incidents waiting for "Save anyway", in the store

They lived in one process's memory: with several webhook processes behind a proxy the next message
of an admin reached another process, and a restart lost them. One row per draft, with its owner
(``user_id``), its kind, a version that moves on with every write and an expiry.

Revision ID: 012
Revises: 011
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "012"
down_revision: str | None = "011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id", "kind", "token"),
    )
    op.create_index("ix_drafts_expires_at", "drafts", ["expires_at"])
    op.create_index("ix_drafts_user_kind", "drafts", ["user_id", "kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_drafts_user_kind", table_name="drafts")
    op.drop_index("ix_drafts_expires_at", table_name="drafts")
    op.drop_table("drafts")
