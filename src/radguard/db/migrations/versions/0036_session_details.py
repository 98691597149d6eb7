"""Session details for listing and revoking a user's sessions, and the ID token for provider sign-out

Revision ID: 0036_session_details
Revises: 0031_inventory_orders

``web_session`` gains ``last_seen``, ``user_agent`` and ``method`` (local, ldap or oidc), which
``radguard user sessions`` and the admin page show, and ``id_token``: an OpenID Connect session's
ID token, sent as ``id_token_hint`` when signing out at the provider. Sessions made before this
migration say ``local`` (only local sign-in existed when most were made; they last 8 hours).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036_session_details"
down_revision: str | Sequence[str] | None = "0031_inventory_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("method", sa.String(length=16), nullable=False, server_default="local"))
        batch_op.add_column(sa.Column("id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("id_token")
        batch_op.drop_column("method")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("last_seen")
