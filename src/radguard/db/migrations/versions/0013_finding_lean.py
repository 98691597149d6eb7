"""leaner finding indexes: four instead of seven

(state, severity) answers what the single state and severity indexes did, and one
(check_id, state) index replaces check_id and (state, check_id): lookups by check and counts
of open findings per check both use it. A fleet's first assessment inserts hundreds of
thousands of findings, and each index cost about as much as writing the rows themselves.

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
    op.drop_index("ix_finding_state", table_name="finding")
    op.drop_index("ix_finding_severity", table_name="finding")
    op.drop_index("ix_finding_check_id", table_name="finding")
    op.drop_index("ix_finding_state_check", table_name="finding")
    op.create_index("ix_finding_check_state", "finding", ["check_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_finding_check_state", table_name="finding")
    op.create_index("ix_finding_state_check", "finding", ["state", "check_id"], unique=False)
    op.create_index("ix_finding_check_id", "finding", ["check_id"], unique=False)
    op.create_index("ix_finding_severity", "finding", ["severity"], unique=False)
    op.create_index("ix_finding_state", "finding", ["state"], unique=False)
