"""an index in the findings list's order, so listing never sorts the whole register

``/findings``, ``/api/v1/findings`` and ``radguard findings list`` order by
``risk_score DESC, id``; without an index in that order every request sorted all findings (a
temporary B-tree over 540k rows, issue 18). With it the first page reads only its rows, and a
state or severity filter is applied while walking the index. One index only: each one costs
the first assessment about as much as writing the rows (see 0013).

Revision ID: 0018_perf_indexes
Revises: 0016_web_token_expiry
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_perf_indexes"
down_revision: str | Sequence[str] | None = "0016_web_token_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_finding_risk_order", "finding", [sa.text("risk_score DESC"), sa.text("id")], unique=False)


def downgrade() -> None:
    op.drop_index("ix_finding_risk_order", table_name="finding")
