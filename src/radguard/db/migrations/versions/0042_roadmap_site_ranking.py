"""what ranking a site's roadmap needs, stored per action and site (issue 18, 20)

A site-limited account's roadmap was ranked live in each request (``build_roadmap(scope=…)``,
every open finding of its sites). With each action's risk, severities and owners at each site
stored beside the count, ``readiness.roadmap_store`` ranks a site's view from these rows alone.
Rows stored before this revision have none of them (NULL): those views are ranked live until the
next assessment or re-rank stores them.

Revision ID: 0042_roadmap_site_ranking
Revises: 0041_asset_list_covering
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0042_roadmap_site_ranking"
down_revision: str | Sequence[str] | None = "0041_asset_list_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("roadmap_action_site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("severities", JSON, nullable=True))
        batch_op.add_column(sa.Column("owners", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("roadmap_action_site", schema=None) as batch_op:
        batch_op.drop_column("owners")
        batch_op.drop_column("severities")
        batch_op.drop_column("risk")
