"""the web app's background jobs in the database, shared by every server process (issue 18)

The background jobs (radguard.web.report_jobs: PDF reports, re-ranks) kept their state in the
process that ran them; with ``radguard serve --workers N`` the job page was polled on any
process, and the others answered 404. ``web_job`` holds each job's state, its fields and the process running it.

Revision ID: 0043_web_jobs
Revises: 0042_roadmap_site_ranking
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0043_web_jobs"
down_revision: str | Sequence[str] | None = "0042_roadmap_site_ranking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "web_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_job")),
    )
    op.create_index(op.f("ix_web_job_owner"), "web_job", ["owner"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_job_owner"), table_name="web_job")
    op.drop_table("web_job")
