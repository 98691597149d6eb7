"""leadership checklists and workforce awareness

Revision ID: 0005_checklists
Revises: 0004_findings
Create Date: 2026-11-21 22:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0005_checklists'
down_revision: str | Sequence[str] | None = '0004_findings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('checklist_assessment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('site_code', sa.String(length=64), nullable=False),
    sa.Column('size', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('catalog_version', sa.String(length=32), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('score_snapshot', JSON_DOC, nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_assessment')),
    sa.UniqueConstraint('organization', 'site_code', 'version', name=op.f('uq_checklist_assessment_organization_site_code_version'))
    )
    with op.batch_alter_table('checklist_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_assessment_organization'), ['organization'], unique=False)

    op.create_table('checklist_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Integer(), nullable=True),
    sa.Column('not_applicable', sa.Boolean(), nullable=False),
    sa.Column('na_reason', sa.Text(), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('evidence_links', JSON_DOC, nullable=False),
    sa.Column('answered_by', sa.String(length=200), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['checklist_assessment.id'], name=op.f('fk_checklist_answer_assessment_id_checklist_assessment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_answer')),
    sa.UniqueConstraint('assessment_id', 'question_id', name=op.f('uq_checklist_answer_assessment_id_question_id'))
    )
    with op.batch_alter_table('checklist_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checklist_answer_assessment_id'), ['assessment_id'], unique=False)

    op.create_table('training_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=700), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=100), nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('course', sa.String(length=200), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('assigned_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_record')),
    sa.UniqueConstraint('record_key', name=op.f('uq_training_record_record_key'))
    )
    with op.batch_alter_table('training_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_record_role'), ['role'], unique=False)

    op.create_table('phishing_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_key', sa.String(length=700), nullable=False),
    sa.Column('campaign', sa.String(length=200), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('audience', sa.String(length=100), nullable=False),
    sa.Column('site', sa.String(length=64), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('clicked', sa.Integer(), nullable=False),
    sa.Column('reported', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phishing_result')),
    sa.UniqueConstraint('record_key', name=op.f('uq_phishing_result_record_key'))
    )
    with op.batch_alter_table('phishing_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phishing_result_audience'), ['audience'], unique=False)
        batch_op.create_index(batch_op.f('ix_phishing_result_campaign'), ['campaign'], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ('phishing_result', ('ix_phishing_result_campaign', 'ix_phishing_result_audience')),
        ('training_record', ('ix_training_record_role',)),
        ('checklist_answer', ('ix_checklist_answer_assessment_id',)),
        ('checklist_assessment', ('ix_checklist_assessment_organization',)),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for index in indexes:
                batch_op.drop_index(batch_op.f(index))
        op.drop_table(table)
