"""incident totals

Revision ID: 002
Revises: 001
Create Date: 2026-11-27 14:04:20.425213
"""

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

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

    # Fill the totals from the incidents already stored. Frozen here, as the code stood at this
    # revision: a migration's result must never change when the live code does.
    rows = _rows_from_groups(op.get_bind().execute(_grouped_incidents()))
    if rows:
        op.bulk_insert(totals, rows)


_SUMMED = (
    'incidents', 'civilian_incidents', 'military_incidents',
    'civilian_killed', 'civilian_injured', 'military_killed', 'military_injured',
)
_NO_DISTRICT = 0
_incidents = sa.table(
    'incidents',
    sa.column('district_id', sa.Integer()),
    sa.column('date', sa.Date()),
    sa.column('date_end', sa.Date()),
    sa.column('status', sa.String()),
    sa.column('civilian_killed', sa.Integer()),
    sa.column('civilian_injured', sa.Integer()),
    sa.column('military_killed', sa.Integer()),
    sa.column('military_injured', sa.Integer()),
)


def _grouped_incidents() -> sa.Select[Any]:
    """Published incidents grouped by (district, date, date_end), with the summed figures."""
    c = _incidents.c
    civilian = c.civilian_killed + c.civilian_injured
    military = c.military_killed + c.military_injured
    district = sa.func.coalesce(c.district_id, _NO_DISTRICT)
    return (
        sa.select(
            district, c.date, c.date_end, sa.func.count(),
            sa.func.sum(sa.case((civilian > 0, 1), else_=0)),
            sa.func.sum(sa.case((military > 0, 1), else_=0)),
            sa.func.sum(c.civilian_killed), sa.func.sum(c.civilian_injured),
            sa.func.sum(c.military_killed), sa.func.sum(c.military_injured),
        )
        .where(c.status == 'published')
        .group_by(district, c.date, c.date_end)
    )


def _month_bounds(day: dt.date) -> tuple[dt.date, dt.date]:
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _rows_from_groups(groups: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """One span row per group ('D' inside a month, 'L' across months) and one 'M' row per
    district and month, summing the 'D' rows of that month."""
    rows: list[dict[str, Any]] = []
    months: dict[tuple[int, dt.date], list[int]] = defaultdict(lambda: [0] * len(_SUMMED))
    for district, start, end, *values in groups:
        numbers = [int(v or 0) for v in values]
        single = (start.year, start.month) == (end.year, end.month)
        rows.append({
            'grain': 'D' if single else 'L', 'district': int(district),
            'date': start, 'date_end': end, **dict(zip(_SUMMED, numbers, strict=True)),
        })
        if single:
            sums = months[(int(district), start.replace(day=1))]
            for i, number in enumerate(numbers):
                sums[i] += number
    for (district, first), sums in months.items():
        rows.append({
            'grain': 'M', 'district': district, 'date': first,
            'date_end': _month_bounds(first)[1], **dict(zip(_SUMMED, sums, strict=True)),
        })
    return rows


def downgrade() -> None:
    with op.batch_alter_table('incident_totals', schema=None) as batch_op:
        batch_op.drop_index('ix_incident_totals_grain_end')
        batch_op.drop_index('ix_incident_totals_grain_district_end')

    op.drop_table('incident_totals')
