"""incident totals

Revision ID: 002
Revises: 001
Create Date: 2026-11-27 14:04:20.425213
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '002'
down_revision: str | None = '001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    totals = op.create_table('incident_totals',
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('district', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('date_end', sa.Date(), nullable=False),
    sa.Column('incidents', sa.Integer(), nullable=False),
    sa.Column('civilian_incidents', sa.Integer(), nullable=False),
    sa.Column('military_incidents', sa.Integer(), nullable=False),
    sa.Column('civilian_killed', sa.Integer(), nullable=False),
    sa.Column('civilian_injured', sa.Integer(), nullable=False),
    sa.Column('military_killed', sa.Integer(), nullable=False),
    sa.Column('military_injured', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('grain', 'date', 'date_end', 'district'),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('incident_totals', schema=None) as batch_op:
        batch_op.create_index('ix_incident_totals_grain_district_end', ['grain', 'district', 'date_end'], unique=False)
        batch_op.create_index('ix_incident_totals_grain_end', ['grain', 'date_end', 'date'], unique=False)

    # Fill the totals from the incidents already stored.
    from db.totals import grouped_incidents_query, rows_from_groups

    rows = rows_from_groups(op.get_bind().execute(grouped_incidents_query()))
    if rows:
        op.bulk_insert(totals, rows)


def downgrade() -> None:
    with op.batch_alter_table('incident_totals', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_totals_grain_end')
        batch_op.drop_index('ix_incident_totals_grain_district_end')

    op.drop_table('incident_totals')
