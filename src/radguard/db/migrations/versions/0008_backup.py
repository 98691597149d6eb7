"""backup sets and verification runs

Revision ID: 0008_backup
Revises: 0004_findings
Create Date: 2026-11-21 22:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008_backup'
down_revision: str | Sequence[str] | None = '0004_findings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONDOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('backup_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('protects', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('media', sa.String(length=16), nullable=False),
    sa.Column('offsite', sa.Boolean(), nullable=False),
    sa.Column('immutable', sa.Boolean(), nullable=False),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.Column('encrypted', sa.Boolean(), nullable=False),
    sa.Column('schedule', sa.String(length=100), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_backup_set_asset_id_asset'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backup_set')),
    sa.UniqueConstraint('name', name=op.f('uq_backup_set_name'))
    )
    with op.batch_alter_table('backup_set', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backup_set_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backup_set_protects'), ['protects'], unique=False)

    op.create_table('backup_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('backup_set_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('expected_instances', sa.Integer(), nullable=False),
    sa.Column('files_checked', sa.Integer(), nullable=False),
    sa.Column('counts', JSONDOC, nullable=False),
    sa.Column('not_checked', JSONDOC, nullable=False),
    sa.Column('bytes_read', sa.BigInteger(), nullable=False),
    sa.Column('elapsed_seconds', sa.Float(), nullable=False),
    sa.Column('throughput_bytes_per_s', sa.Float(), nullable=True),
    sa.Column('archive_bytes', sa.BigInteger(), nullable=False),
    sa.Column('projected_restore_hours', sa.Float(), nullable=True),
    sa.Column('rto_hours', sa.Float(), nullable=True),
    sa.Column('rto_met', sa.Boolean(), nullable=True),
    sa.Column('rpo_achieved_hours', sa.Float(), nullable=True),
    sa.Column('rpo_hours', sa.Float(), nullable=True),
    sa.Column('all_ok', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['backup_set_id'], ['backup_set.id'], name=op.f('fk_backup_verification_backup_set_id_backup_set'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backup_verification'))
    )
    with op.batch_alter_table('backup_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backup_verification_backup_set_id'), ['backup_set_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('backup_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backup_verification_backup_set_id'))
    op.drop_table('backup_verification')
    with op.batch_alter_table('backup_set', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backup_set_protects'))
        batch_op.drop_index(batch_op.f('ix_backup_set_asset_id'))
    op.drop_table('backup_set')
