"""API tokens expire

Tokens used to work until revoked. Each now has an end date (90 days by default); tokens that
were live before this revision get 90 days from the upgrade, so automation keeps working
while its owners replace them.

Revision ID: 0016_web_token_expiry
Revises: 0015_backup_ransom_notes
"""
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0016_web_token_expiry"
down_revision: str | Sequence[str] | None = "0015_backup_ransom_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    token = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)),
                     sa.column("revoked_at", sa.DateTime(timezone=True)))
    op.execute(token.update().where(token.c.revoked_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=90)))


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
