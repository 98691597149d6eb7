"""drop the single-column state and severity indexes on finding

The composite (state, severity) and (state, check_id) indexes of 0012 answer every query
that used them; keeping all four made a fleet's first assessment maintain seven indexes for
hundreds of thousands of new rows.

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


def downgrade() -> None:
    op.create_index("ix_finding_severity", "finding", ["severity"], unique=False)
    op.create_index("ix_finding_state", "finding", ["state"], unique=False)
