"""data_version: a counter moved on by every change to the tables the figures come from

``/stats`` keeps its rendered replies (the same filters, language and day ask the same question
many times under load) for as long as ``data_version.version`` stays where it was when they were
rendered. Triggers move it on, so that no way of changing the figures (the bot's writes in any
process, an import, an operator's SQL) can leave a reply standing that the data no longer
support. On PostgreSQL statement-level triggers move it once per transaction; SQLite has row-level
triggers only, which move it once per row.

Revision ID: 011
Revises: 010
Create Date: 2026-11-28 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "011"
down_revision: str | None = "010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As ``db.models.FIGURE_TABLES`` (a migration keeps its own copy: the models move on).
TABLES = (
    "districts",
    "district_names",
    "issuer_names",
    "incidents",
    "incident_sources",
    "incident_totals",
    "official_totals",
)
BUMP = "UPDATE data_version SET version = version + 1 WHERE id = 1"
#: The transaction-local setting that says this transaction moved the counter already.
DONE = "casualty_bot.data_version_moved"


def upgrade() -> None:
    op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        # Once per transaction (a transaction-local setting remembers it): a reader needs to
        # know that the data changed, not how often, and an import of 2,000 incidents ran
        # some 10,000 statements that each moved the counter (0.62 s became 0.91 s).
        op.execute(
            "CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF current_setting('{DONE}', true) IS DISTINCT FROM txid_current()::text THEN "
            f"{BUMP}; PERFORM set_config('{DONE}', txid_current()::text, true); "
            "END IF; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()"
            )
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(
                    f"CREATE TRIGGER {table}_data_version_{event} AFTER {event.upper()} "
                    f"ON {table} BEGIN {BUMP}; END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
        op.execute("DROP FUNCTION bump_data_version()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_data_version_{event}")
    op.drop_table("data_version")
