"""segmentation policies stored for the organisation or a site (issue 17)

The policy file given to ``radguard segmentation set-policy`` is validated and kept as text, so
the checks, the technical report and the web's zones page judge observed flows with it.

Revision ID: 0038_segmentation_policy
Revises: 0037_stored_roadmap
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038_segmentation_policy"
down_revision: str | Sequence[str] | None = "0037_stored_roadmap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segmentation_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_segmentation_policy_site_id_site"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segmentation_policy")),
        sa.UniqueConstraint("site_id", name=op.f("uq_segmentation_policy_site_id")),
    )


def downgrade() -> None:
    op.drop_table("segmentation_policy")
