"""official period start assumed

Revision ID: 004
Revises: 003
Create Date: 2026-11-27 14:57:19.195066
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '004'
down_revision: str | None = '003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('official_totals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_start_assumed', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('official_totals', schema=None) as batch_op:
        batch_op.drop_column('period_start_assumed')

