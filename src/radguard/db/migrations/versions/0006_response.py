"""incident response and downtime readiness: response team, imaging services, drills

Revision ID: 0006_response
Revises: 0004_findings
Create Date: 2026-11-21 22:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006_response'
down_revision: str | Sequence[str] | None = '0004_findings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('drill',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('playbook', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_on', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('facilitator', sa.String(length=200), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill')),
    sa.UniqueConstraint('key', name=op.f('uq_drill_key'))
    )
    with op.batch_alter_table('drill', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_playbook'), ['playbook'], unique=False)

    op.create_table('response_person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('job_title', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('mobile', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('out_of_band', sa.String(length=200), nullable=True),
    sa.Column('contacts_verified_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_person')),
    sa.UniqueConstraint('name', name=op.f('uq_response_person_name'))
    )
    op.create_table('response_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('responsibilities', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_role')),
    sa.UniqueConstraint('key', name=op.f('uq_response_role_key'))
    )
    op.create_table('drill_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drill_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('owner_role', sa.String(length=64), nullable=True),
    sa.Column('due', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], name=op.f('fk_drill_action_drill_id_drill'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_action')),
    sa.UniqueConstraint('drill_id', 'number', name=op.f('uq_drill_action_drill_id_number'))
    )
    with op.batch_alter_table('drill_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_action_drill_id'), ['drill_id'], unique=False)

    op.create_table('drill_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drill_id', sa.Integer(), nullable=False),
    sa.Column('milestone', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], name=op.f('fk_drill_event_drill_id_drill'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_event')),
    sa.UniqueConstraint('drill_id', 'milestone', name=op.f('uq_drill_event_drill_id_milestone'))
    )
    with op.batch_alter_table('drill_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_event_drill_id'), ['drill_id'], unique=False)

    op.create_table('drill_lesson',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drill_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], name=op.f('fk_drill_lesson_drill_id_drill'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_lesson'))
    )
    with op.batch_alter_table('drill_lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_lesson_drill_id'), ['drill_id'], unique=False)

    op.create_table('drill_participant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drill_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], name=op.f('fk_drill_participant_drill_id_drill'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_participant')),
    sa.UniqueConstraint('drill_id', 'name', name=op.f('uq_drill_participant_drill_id_name'))
    )
    with op.batch_alter_table('drill_participant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_participant_drill_id'), ['drill_id'], unique=False)

    op.create_table('imaging_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('rto_hours', sa.Float(), nullable=False),
    sa.Column('rpo_hours', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_imaging_service_site_id_site'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imaging_service')),
    sa.UniqueConstraint('key', name=op.f('uq_imaging_service_key'))
    )
    with op.batch_alter_table('imaging_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imaging_service_site_id'), ['site_id'], unique=False)

    op.create_table('response_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['response_person.id'], name=op.f('fk_response_assignment_person_id_response_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['role_id'], ['response_role.id'], name=op.f('fk_response_assignment_role_id_response_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_assignment')),
    sa.UniqueConstraint('role_id', 'person_id', name=op.f('uq_response_assignment_role_id_person_id'))
    )
    with op.batch_alter_table('response_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_assignment_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_assignment_role_id'), ['role_id'], unique=False)

    op.create_table('downtime_procedure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('owner_role', sa.String(length=64), nullable=True),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['imaging_service.id'], name=op.f('fk_downtime_procedure_service_id_imaging_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_downtime_procedure'))
    )
    with op.batch_alter_table('downtime_procedure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_downtime_procedure_service_id'), ['service_id'], unique=False)

    op.create_table('drill_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('drill_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['drill_id'], ['drill.id'], name=op.f('fk_drill_service_drill_id_drill'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['imaging_service.id'], name=op.f('fk_drill_service_service_id_imaging_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_service')),
    sa.UniqueConstraint('drill_id', 'service_id', name=op.f('uq_drill_service_drill_id_service_id'))
    )
    with op.batch_alter_table('drill_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drill_service_drill_id'), ['drill_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drill_service_service_id'), ['service_id'], unique=False)

    op.create_table('service_dependency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('function', sa.String(length=32), nullable=False),
    sa.Column('studies_per_hour', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['asset.id'], name=op.f('fk_service_dependency_asset_id_asset'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['imaging_service.id'], name=op.f('fk_service_dependency_service_id_imaging_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_dependency')),
    sa.UniqueConstraint('service_id', 'asset_id', name=op.f('uq_service_dependency_service_id_asset_id'))
    )
    with op.batch_alter_table('service_dependency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_dependency_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_dependency_service_id'), ['service_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_dependency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_dependency_service_id'))
        batch_op.drop_index(batch_op.f('ix_service_dependency_asset_id'))

    op.drop_table('service_dependency')
    with op.batch_alter_table('drill_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_service_service_id'))
        batch_op.drop_index(batch_op.f('ix_drill_service_drill_id'))

    op.drop_table('drill_service')
    with op.batch_alter_table('downtime_procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_downtime_procedure_service_id'))

    op.drop_table('downtime_procedure')
    with op.batch_alter_table('response_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_assignment_role_id'))
        batch_op.drop_index(batch_op.f('ix_response_assignment_person_id'))

    op.drop_table('response_assignment')
    with op.batch_alter_table('imaging_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imaging_service_site_id'))

    op.drop_table('imaging_service')
    with op.batch_alter_table('drill_participant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_participant_drill_id'))

    op.drop_table('drill_participant')
    with op.batch_alter_table('drill_lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_lesson_drill_id'))

    op.drop_table('drill_lesson')
    with op.batch_alter_table('drill_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_event_drill_id'))

    op.drop_table('drill_event')
    with op.batch_alter_table('drill_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_action_drill_id'))

    op.drop_table('drill_action')
    op.drop_table('response_role')
    op.drop_table('response_person')
    with op.batch_alter_table('drill', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drill_playbook'))

    op.drop_table('drill')
