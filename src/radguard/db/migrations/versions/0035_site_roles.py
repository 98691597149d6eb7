"""Per-site roles and account lifecycle: the sites a user (and an API token) may see, forced password reset

Revision ID: 0035_site_roles
Revises: 0034_dashboard_snapshot

A user with no ``web_user_site`` rows sees every site (every account before this migration);
with rows, only those sites. A token's rows narrow its user's sites further, never widen them.
Sites are ``RESTRICT``: removing a site a user is limited to must not silently make that user
unrestricted.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035_site_roles"
down_revision: str | Sequence[str] | None = "0034_dashboard_snapshot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_user_site",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("web_user.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id", ondelete="RESTRICT"), primary_key=True),
    )
    op.create_table(
        "api_token_site",
        sa.Column("token_id", sa.Integer(), sa.ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id", ondelete="RESTRICT"), primary_key=True),
    )
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    op.drop_table("api_token_site")
    op.drop_table("web_user_site")
