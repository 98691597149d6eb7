"""discovery scans

Revision ID: 0003_discovery
Revises: 0004_findings
Create Date: 2026-11-21 22:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003_discovery'
down_revision: str | Sequence[str] | None = '0004_findings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('scan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('targets', JSON_DOC, nullable=False),
    sa.Column('authorized_by', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('scope', JSON_DOC, nullable=True),
    sa.Column('options', JSON_DOC, nullable=False),
    sa.Column('counts', JSON_DOC, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan'))
    )
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_started'), ['started'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_started'))
    op.drop_table('scan')
