"""backup verification runs keep the names of the ransom notes they found

A ransom note in a backup copy is the strongest sign that the copy is compromised; reports and
the web name it first. Only the notes' file names (the attacker's, never paths) and how many
copies of each were found are kept.

Revision ID: 0015_backup_ransom_notes
Revises: 0014_component_versions
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_backup_ransom_notes"
down_revision: str | Sequence[str] | None = "0014_component_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("backup_verification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ransom_notes", JSONDOC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backup_verification", schema=None) as batch_op:
        batch_op.drop_column("ransom_notes")
