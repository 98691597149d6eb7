"""integrations: FIRST EPSS scores per CVE, the notification log, finding tickets

Revision ID: 0021_integrations
Revises: 0020_passive
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_integrations"
down_revision: str | Sequence[str] | None = "0020_passive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "epss_score",
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("score_date", sa.Date(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("cve_id", name=op.f("pk_epss_score")),
    )
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_log")),
    )
    op.create_index(op.f("ix_notification_log_at"), "notification_log", ["at"], unique=False)
    op.create_index(op.f("ix_notification_log_rule"), "notification_log", ["rule"], unique=False)
    op.create_index(op.f("ix_notification_log_event_key"), "notification_log", ["event_key"], unique=False)
    op.create_table(
        "finding_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["finding_id"], ["finding.id"], name=op.f("fk_finding_ticket_finding_id_finding"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_ticket")),
        sa.UniqueConstraint("finding_id", "system", name=op.f("uq_finding_ticket_finding_id_system")),
    )
    op.create_index(op.f("ix_finding_ticket_finding_id"), "finding_ticket", ["finding_id"], unique=False)


def downgrade() -> None:
    op.drop_table("finding_ticket")
    op.drop_table("notification_log")
    op.drop_table("epss_score")
