"""the whole roadmap stored with the dashboard cards (issue 18)

One row per ranked action (its document without the finding list, which is kept as finding IDs)
and per action and site the count and first findings, so /roadmap, its exports and
``radguard roadmap`` read the ranking of the last assessment instead of ranking the register.

Revision ID: 0037_stored_roadmap
Revises: 0036_session_details
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0037_stored_roadmap"
down_revision: str | Sequence[str] | None = "0036_session_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("dashboard_snapshot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ranked_at", UTC_DATETIME, nullable=True))
    op.create_table(
        "roadmap_action",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("action", JSON, nullable=False),
        sa.Column("finding_ids", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["dashboard_snapshot.id"],
                                name=op.f("fk_roadmap_action_snapshot_id_dashboard_snapshot"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "rank", name=op.f("pk_roadmap_action")),
    )
    op.create_table(
        "roadmap_action_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("first", JSON, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_roadmap_action_site_site_id_site"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["dashboard_snapshot.id"],
                                name=op.f("fk_roadmap_action_site_snapshot_id_dashboard_snapshot"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roadmap_action_site")),
    )
    op.create_index("ix_roadmap_action_site_snapshot_site", "roadmap_action_site", ["snapshot_id", "site_id"])


def downgrade() -> None:
    op.drop_index("ix_roadmap_action_site_snapshot_site", table_name="roadmap_action_site")
    op.drop_table("roadmap_action_site")
    op.drop_table("roadmap_action")
    with op.batch_alter_table("dashboard_snapshot", schema=None) as batch_op:
        batch_op.drop_column("ranked_at")
