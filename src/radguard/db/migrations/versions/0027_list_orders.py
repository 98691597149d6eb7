"""indexes in the order of every findings list sort, so no page sorts the register (issue 18)

The findings list sorts by risk (0018), severity, check, asset, due date and last seen
(radguard.checks.findings.FINDING_SORTS); state and site are filters. Each order gets the index of exactly its columns —
sort column, then risk, then ID — so a page is an index walk and a cursor (keyset paging) seeks
to its first row. The asset index leads with asset_id and so replaces the plain one.

The severity order is an expression (severity as a rank); the index holds the same expression
text as radguard.db.models.findings.SEVERITY_RANK_SQL, written out here so that this migration
stays what it was if the model changes.

Revision ID: 0027_list_orders
Revises: 0030_sensor_backup
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_list_orders"
down_revision: str | Sequence[str] | None = "0030_sensor_backup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RANK = (
    "\nCASE\n"
    "    WHEN severity = 'critical' THEN 5\n"
    "    WHEN severity = 'high' THEN 4\n"
    "    WHEN severity = 'medium' THEN 3\n"
    "    WHEN severity = 'low' THEN 2\n"
    "    WHEN severity = 'info' THEN 1\n"
    "    ELSE 0\n"
    "END")
RISK = sa.text("risk_score DESC")


def upgrade() -> None:
    op.create_index("ix_finding_asset_order", "finding", ["asset_id", RISK, "id"])
    op.drop_index("ix_finding_asset_id", table_name="finding")
    op.create_index("ix_finding_check_order", "finding", ["check_id", RISK, "id"])
    op.create_index("ix_finding_due_order", "finding", ["due", RISK, "id"])
    op.create_index("ix_finding_last_seen_order", "finding", [sa.text("last_seen DESC"), "id"])
    op.create_index("ix_finding_severity_order", "finding", [sa.text(f"({RANK}) DESC"), RISK, "id"])


def downgrade() -> None:
    for name in ("ix_finding_severity_order", "ix_finding_last_seen_order", "ix_finding_due_order",
                 "ix_finding_check_order"):
        op.drop_index(name, table_name="finding")
    op.create_index("ix_finding_asset_id", "finding", ["asset_id"])
    op.drop_index("ix_finding_asset_order", table_name="finding")
