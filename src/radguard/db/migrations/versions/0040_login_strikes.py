"""the sign-in throttle's counts in the database, shared by every web server process (issue 18)

``radguard serve --workers N`` runs N processes; a throttle kept in each process's memory gave
an attacker N times the free attempts. ``login_strike`` holds one row per account name and per
client address (radguard.web.security.LoginThrottle), indexed by ``last`` so rows unused for an
hour are deleted cheaply.

Revision ID: 0040_login_strikes
Revises: 0039_asset_search
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040_login_strikes"
down_revision: str | Sequence[str] | None = "0039_asset_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_strike",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.Column("audited", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", name=op.f("pk_login_strike")),
    )
    op.create_index(op.f("ix_login_strike_last"), "login_strike", ["last"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_login_strike_last"), table_name="login_strike")
    op.drop_table("login_strike")
