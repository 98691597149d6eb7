"""dashboard cards stored per assessment run (issue 18)

The findings and roadmap cards are computed at the end of each assessment and kept as a JSON
document with a schema version, so no dashboard request computes over the whole register.

Revision ID: 0034_dashboard_snapshot
Revises: 0033_schedule_calendar
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0034_dashboard_snapshot"
down_revision: str | Sequence[str] | None = "0033_schedule_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_snapshot")),
    )


def downgrade() -> None:
    op.drop_table("dashboard_snapshot")
