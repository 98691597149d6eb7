"""Identity: TOTP second factor and single-use recovery codes for local accounts

Revision ID: 0022_identity
Revises: 0021_integrations
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_identity"
down_revision: str | Sequence[str] | None = "0021_integrations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.create_table(
        "web_recovery_code",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("web_user.id", ondelete="CASCADE"), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_web_recovery_code_user_id", "web_recovery_code", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_web_recovery_code_user_id", table_name="web_recovery_code")
    op.drop_table("web_recovery_code")
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled")
        batch_op.drop_column("totp_secret")
