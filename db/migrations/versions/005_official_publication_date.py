"""official publication date

Revision ID: 005
Revises: 004
Create Date: 2026-11-27 15:23:58.845976
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '005'
down_revision: str | None = '004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('official_totals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_on', sa.Date(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('official_totals', schema=None) as batch_op:
        batch_op.drop_column('published_on')

