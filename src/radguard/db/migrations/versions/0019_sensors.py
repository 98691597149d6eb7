"""sensors, sensor jobs, and the sensor/job that collected each evidence row

Multi-site operation (radguard.distributed): enrolled sensors (public key only), the jobs sent
to each site's queue, and on evidence/scan rows the sensor that collected them. Evidence is
unique per (job_id, host, port) so a redelivered result never duplicates it.

Revision ID: 0019_sensors
Revises: 0018_perf_indexes
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019_sensors"
down_revision: str | Sequence[str] | None = "0018_perf_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sensor",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False, index=True),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("enrolled_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("last_seen", UTC, nullable=True),
        sa.Column("version", sa.String(32), nullable=True),
        sa.Column("clock_skew", sa.Float(), nullable=True),
        sa.Column("last_job", sa.String(64), nullable=True),
        sa.Column("last_status", sa.String(16), nullable=True),
    )
    op.create_table(
        "sensor_job",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("site", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("request", JSONDOC, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("sensor_id", sa.String(64), nullable=True),
        sa.Column("scan_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created", UTC, nullable=False, index=True),
        sa.Column("finished", UTC, nullable=True),
        sa.Column("counts", JSONDOC, nullable=False),
    )
    op.create_table(
        "schedule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("site", sa.String(64), nullable=True),
        sa.Column("every_hours", sa.Integer(), nullable=False),
        sa.Column("params", JSONDOC, nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("next_run", UTC, nullable=False),
    )
    op.create_table(
        "schedule_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("schedule_id", sa.Integer(), nullable=False, index=True),
        sa.Column("started", UTC, nullable=False),
        sa.Column("finished", UTC, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counts", JSONDOC, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sensor_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("job_id", sa.String(64), nullable=True))
        batch_op.create_index("ix_evidence_sensor_id", ["sensor_id"])
        batch_op.create_index("uq_evidence_job_endpoint", ["job_id", "host", "port"], unique=True)
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sensor_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan", schema=None) as batch_op:
        batch_op.drop_column("sensor_id")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("uq_evidence_job_endpoint")
        batch_op.drop_index("ix_evidence_sensor_id")
        batch_op.drop_column("job_id")
        batch_op.drop_column("sensor_id")
    op.drop_table("schedule_run")
    op.drop_table("schedule")
    op.drop_table("sensor_job")
    op.drop_table("sensor")
