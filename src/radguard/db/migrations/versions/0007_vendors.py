"""vendor oversight: vendors, products linked to assets, contracts, reviews

Revision ID: 0007_vendors
Revises: 0004_findings
Create Date: 2026-11-21 22:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0007_vendors'
down_revision: str | Sequence[str] | None = '0004_findings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('vendor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('security_contact', sa.String(length=300), nullable=True),
    sa.Column('psirt_url', sa.String(length=500), nullable=True),
    sa.Column('cvd_policy_url', sa.String(length=500), nullable=True),
    sa.Column('phi_access', sa.Boolean(), nullable=True),
    sa.Column('baa_signed', sa.Boolean(), nullable=True),
    sa.Column('baa_date', sa.Date(), nullable=True),
    sa.Column('baa_scope', sa.Text(), nullable=True),
    sa.Column('remote_access_method', sa.String(length=16), nullable=True),
    sa.Column('remote_access_mfa', sa.Boolean(), nullable=True),
    sa.Column('remote_session_logging', sa.Boolean(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('attributes', _JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor')),
    sa.UniqueConstraint('name', name=op.f('uq_vendor_name'))
    )

    op.create_table('vendor_product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_product_vendor_id_vendor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_product')),
    sa.UniqueConstraint('vendor_id', 'name', name=op.f('uq_vendor_product_vendor_id_name'))
    )
    with op.batch_alter_table('vendor_product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_product_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('vendor_product_asset',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_vendor_product_asset_asset_id_asset'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['vendor_product.id'], name=op.f('fk_vendor_product_asset_product_id_vendor_product'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'asset_id', name=op.f('pk_vendor_product_asset'))
    )
    with op.batch_alter_table('vendor_product_asset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_product_asset_asset_id'), ['asset_id'], unique=False)

    op.create_table('vendor_contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('patch_days', sa.Integer(), nullable=True),
    sa.Column('eol_notice_months', sa.Integer(), nullable=True),
    sa.Column('incident_notification_hours', sa.Integer(), nullable=True),
    sa.Column('right_to_audit', sa.Boolean(), nullable=True),
    sa.Column('data_return_at_exit', sa.Boolean(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_contract_vendor_id_vendor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_contract')),
    sa.UniqueConstraint('vendor_id', 'reference', name=op.f('uq_vendor_contract_vendor_id_reference'))
    )
    with op.batch_alter_table('vendor_contract', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_contract_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('vendor_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_vendor_review_vendor_id_vendor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendor_review')),
    sa.UniqueConstraint('vendor_id', 'reviewed_on', name=op.f('uq_vendor_review_vendor_id_reviewed_on'))
    )
    with op.batch_alter_table('vendor_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vendor_review_vendor_id'), ['vendor_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('vendor_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_review_vendor_id'))
    op.drop_table('vendor_review')
    with op.batch_alter_table('vendor_contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_contract_vendor_id'))
    op.drop_table('vendor_contract')
    with op.batch_alter_table('vendor_product_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_product_asset_asset_id'))
    op.drop_table('vendor_product_asset')
    with op.batch_alter_table('vendor_product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vendor_product_vendor_id'))
    op.drop_table('vendor_product')
    op.drop_table('vendor')
