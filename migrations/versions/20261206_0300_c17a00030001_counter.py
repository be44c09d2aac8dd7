"""Assisted counter sessions (issue 17, item 3)

Revision ID: c17a00030001
Revises: c17a00020001
Create Date: 2026-12-06 03:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c17a00030001'
down_revision = 'c17a00020001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counter_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('consent_method', sa.String(length=10), nullable=True),
    sa.Column('contact_email', sa.String(length=200), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('code_sent_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('code_sends', sa.Integer(), nullable=False),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('consent_sha256', sa.String(length=64), nullable=True),
    sa.Column('consent_media_type', sa.String(length=40), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('expires_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('ended_reason', sa.String(length=20), nullable=True),
    sa.Column('summary_queued_at', portal.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_counter_session_staff_id_staff_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_counter_session_subject_id_subject')),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_counter_session_unit_id_admin_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_session'))
    )
    with op.batch_alter_table('counter_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counter_session_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_counter_session_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_counter_session_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_counter_session_subject_id'), ['subject_id'], unique=False)


def downgrade():
    op.drop_table('counter_session')
