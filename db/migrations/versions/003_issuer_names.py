"""issuer names

Revision ID: 003
Revises: 002
Create Date: 2026-11-27 14:20:54.100449
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '003'
down_revision: str | None = '002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('issuer_names',
    sa.Column('issuer', sa.String(length=128), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=False),
    sa.PrimaryKeyConstraint('issuer', 'lang')
    )


def downgrade() -> None:
    op.drop_table('issuer_names')
