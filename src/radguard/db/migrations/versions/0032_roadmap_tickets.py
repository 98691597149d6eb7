"""roadmap actions handed to ticket systems (issue 21): one row per action ID and system

A roadmap action's ID is stable (the check ID for finding work, the question ID for a checklist
gap), so a re-export of the roadmap to Jira or ServiceNow updates the same ticket, and the key is
kept here for the roadmap views.

Revision ID: 0032_roadmap_tickets
Revises: 0027_list_orders
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_roadmap_tickets"
down_revision: str | Sequence[str] | None = "0027_list_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "roadmap_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.String(length=100), nullable=False),
        sa.Column("system", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roadmap_ticket")),
        sa.UniqueConstraint("action_id", "system", name=op.f("uq_roadmap_ticket_action_id_system")),
    )


def downgrade() -> None:
    op.drop_table("roadmap_ticket")
