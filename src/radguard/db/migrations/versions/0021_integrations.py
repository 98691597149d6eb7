"""integrations: FIRST EPSS scores per CVE

Revision ID: 0021_integrations
Revises: 0015_backup_ransom_notes
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_integrations"
down_revision: str | Sequence[str] | None = "0015_backup_ransom_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "epss_score",
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("score_date", sa.Date(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cve_id", name=op.f("pk_epss_score")),
    )


def downgrade() -> None:
    op.drop_table("epss_score")
