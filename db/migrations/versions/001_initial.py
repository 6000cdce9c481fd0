"""initial schema

Revision ID: 001
Revises:
Create Date: 2026-11-27 13:53:50.014683
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chats',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )
    op.create_table('districts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('official_totals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('killed', sa.Integer(), nullable=True),
    sa.Column('injured', sa.Integer(), nullable=True),
    sa.Column('civilian_killed', sa.Integer(), nullable=True),
    sa.Column('civilian_injured', sa.Integer(), nullable=True),
    sa.Column('military_killed', sa.Integer(), nullable=True),
    sa.Column('military_injured', sa.Integer(), nullable=True),
    sa.Column('issuer', sa.String(length=128), nullable=False),
    sa.Column('source_url', sa.String(length=2048), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('official_totals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_official_totals_as_of'), ['as_of'], unique=False)

    op.create_table('district_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=True),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('district_id', 'lang', 'name')
    )
    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('date_end', sa.Date(), nullable=False),
    sa.Column('date_precision', sa.Enum('day', 'month', 'year', name='date_precision', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('date_note', sa.Text(), nullable=True),
    sa.Column('district_id', sa.Integer(), nullable=True),
    sa.Column('settlement', sa.String(length=200), nullable=True),
    sa.Column('civilian_killed', sa.Integer(), nullable=False),
    sa.Column('civilian_injured', sa.Integer(), nullable=False),
    sa.Column('military_killed', sa.Integer(), nullable=False),
    sa.Column('military_injured', sa.Integer(), nullable=False),
    sa.Column('device', sa.Enum('antipersonnel', 'antivehicle', 'improvised', 'uxo', 'unknown', name='device', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('activity', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('published', 'retracted', name='incident_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_by', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_by', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.CheckConstraint('civilian_injured >= 0', name='civilian_injured_nonneg'),
    sa.CheckConstraint('civilian_killed >= 0', name='civilian_killed_nonneg'),
    sa.CheckConstraint('date_end >= date', name='date_span'),
    sa.CheckConstraint('military_injured >= 0', name='military_injured_nonneg'),
    sa.CheckConstraint('military_killed >= 0', name='military_killed_nonneg'),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_district_status_end', ['district_id', 'status', 'date_end', 'date', 'id'], unique=False)
        batch_op.create_index('ix_incidents_status_end', ['status', 'date_end', 'date', 'id'], unique=False)

    op.create_table('incident_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incident_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_sources_incident_id'), ['incident_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident_sources', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_sources_incident_id'))

    op.drop_table('incident_sources')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_status_end')
        batch_op.drop_index('ix_incidents_district_status_end')

    op.drop_table('incidents')
    op.drop_table('district_names')
    with op.batch_alter_table('official_totals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_official_totals_as_of'))

    op.drop_table('official_totals')
    op.drop_table('districts')
    op.drop_table('chats')
