"""Sensors: a backup verification records the sensor that read the copy and the job it answered

Revision ID: 0030_sensor_backup
Revises: 0022_identity
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_sensor_backup"
down_revision: str | Sequence[str] | None = "0022_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("backup_verification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sensor_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("job_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backup_verification", schema=None) as batch_op:
        batch_op.drop_column("job_id")
        batch_op.drop_column("sensor_id")
