"""the inventory list's orders: an asset's open-finding roll-up stored on it, and one index per sort

``/inventory`` and ``/api/v1/assets`` sort by risk, open findings, criticality, site, class and
last seen (radguard.inventory.queries.ASSET_SORTS). Risk and open findings are facts about an
asset's findings; sorting 100,000 assets by an aggregate over 540,000 findings on every request
is what made the list slow (issue 18), so the assessment stores them on the asset
(radguard.checks.findings.refresh_asset_rollups) and each order gets the index of exactly its
columns, ending in a unique column, so a page is an index walk and a cursor seeks to it.

The class order (class, site, name) leads with the class and so replaces the plain class index.
The site order is the existing unique (site_id, name).

Revision ID: 0031_inventory_orders
Revises: 0035_site_roles
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_inventory_orders"
down_revision: str | Sequence[str] | None = "0035_site_roles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RISK = sa.text("risk_score DESC")
OPEN = "('open', 'reopened')"


def upgrade() -> None:
    op.add_column("asset", sa.Column("risk_score", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("asset", sa.Column("open_findings", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE asset SET "
        f"risk_score = COALESCE((SELECT MAX(f.risk_score) FROM finding f WHERE f.asset_id = asset.id "
        f"AND f.state IN {OPEN}), 0), "
        f"open_findings = (SELECT COUNT(*) FROM finding f WHERE f.asset_id = asset.id AND f.state IN {OPEN})")
    op.create_index("ix_asset_risk_order", "asset", [RISK, "id"])
    op.create_index("ix_asset_open_order", "asset", [sa.text("open_findings DESC"), RISK, "id"])
    op.create_index("ix_asset_criticality_order", "asset", [sa.text("criticality DESC"), RISK, "id"])
    op.create_index("ix_asset_class_order", "asset", ["asset_class", "site_id", "name"])
    op.drop_index("ix_asset_asset_class", table_name="asset")
    op.create_index("ix_asset_last_seen_order", "asset", [sa.text("last_seen DESC"), "id"])


def downgrade() -> None:
    op.drop_index("ix_asset_last_seen_order", table_name="asset")
    op.create_index("ix_asset_asset_class", "asset", ["asset_class"])
    for name in ("ix_asset_class_order", "ix_asset_criticality_order", "ix_asset_open_order",
                 "ix_asset_risk_order"):
        op.drop_index(name, table_name="asset")
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_column("open_findings")
        batch_op.drop_column("risk_score")
