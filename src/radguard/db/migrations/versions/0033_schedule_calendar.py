"""calendar-monthly schedules and maintenance windows (issue 16)

A monthly schedule keeps its day of the month (a run clamped to Feb 28 is followed by Mar 31);
the time zone makes "the 1st at 02:00" local; the window bounds when a due run may start.

Revision ID: 0033_schedule_calendar
Revises: 0032_roadmap_tickets
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_schedule_calendar"
down_revision: str | Sequence[str] | None = "0032_roadmap_tickets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.add_column(sa.Column("month_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("window", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schedule") as batch:
        batch.drop_column("window")
        batch.drop_column("timezone")
        batch.drop_column("month_day")
