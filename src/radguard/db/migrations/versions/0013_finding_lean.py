"""leaner finding indexes: three instead of seven

One (check_id, state, severity) index replaces check_id, state, severity, (state, severity)
and (state, check_id): it serves lookups by check, and the dashboard's counts of open findings
by severity and by check read it alone (a covering scan). A fleet's first assessment inserts
hundreds of thousands of findings, and each index cost about as much as writing the rows.
The unique fingerprint and the asset_id index stay.

Revision ID: 0013_finding_lean
Revises: 0012_finding_indexes
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0013_finding_lean"
down_revision: str | Sequence[str] | None = "0012_finding_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for name in ("ix_finding_state", "ix_finding_severity", "ix_finding_check_id", "ix_finding_state_check",
                 "ix_finding_state_severity"):
        op.drop_index(name, table_name="finding")
    op.create_index("ix_finding_check_state_severity", "finding", ["check_id", "state", "severity"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_finding_check_state_severity", table_name="finding")
    op.create_index("ix_finding_state_severity", "finding", ["state", "severity"], unique=False)
    op.create_index("ix_finding_state_check", "finding", ["state", "check_id"], unique=False)
    op.create_index("ix_finding_check_id", "finding", ["check_id"], unique=False)
    op.create_index("ix_finding_severity", "finding", ["severity"], unique=False)
    op.create_index("ix_finding_state", "finding", ["state"], unique=False)
