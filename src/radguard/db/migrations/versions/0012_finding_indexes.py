"""composite indexes for counting open findings by severity and by check

Revision ID: 0012_finding_indexes
Revises: 0011_merge_stages
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0012_finding_indexes"
down_revision: str | Sequence[str] | None = "0011_merge_stages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_finding_state_severity", "finding", ["state", "severity"], unique=False)
    op.create_index("ix_finding_state_check", "finding", ["state", "check_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_finding_state_check", table_name="finding")
    op.drop_index("ix_finding_state_severity", table_name="finding")
