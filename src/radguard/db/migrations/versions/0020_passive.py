"""observed data flows: where a flow came from and when it was first and last seen

``radguard passive import`` turns flows seen in packet captures and flow logs into the
inventory's data flows; a declared flow stays ``source="import"`` and gains the times it was
observed, so the data-flow map shows what really moves.

Revision ID: 0020_passive
Revises: 0019_sensors
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_passive"
down_revision: str | Sequence[str] | None = "0019_sensors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("data_flow", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), nullable=False, server_default="import"))
        batch_op.add_column(sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_flow", schema=None) as batch_op:
        batch_op.drop_column("last_seen")
        batch_op.drop_column("first_seen")
        batch_op.drop_column("source")
