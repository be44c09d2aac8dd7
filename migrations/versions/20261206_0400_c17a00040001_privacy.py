"""Personal-data rights requests and retention (issue 17, item 4)

Revision ID: c17a00040001
Revises: c17a00030001
Create Date: 2026-12-06 04:00:00

"""
import sqlalchemy as sa
from alembic import op

import portal.db

# revision identifiers, used by Alembic.
revision = 'c17a00040001'
down_revision = 'c17a00030001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_rights_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('scope', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('case_reference', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('received_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledge_by', portal.db.UTCDateTime(), nullable=False),
    sa.Column('due_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('answered_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_data_rights_request_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_data_rights_request_staff_id_staff_user')),
    sa.ForeignKeyConstraint(['subject_id'], ['subject.id'], name=op.f('fk_data_rights_request_subject_id_subject')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_rights_request')),
    sa.UniqueConstraint('reference', name=op.f('uq_data_rights_request_reference'))
    )
    with op.batch_alter_table('data_rights_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_rights_request_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_rights_request_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_rights_request_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_rights_request_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_rights_request_subject_id'), ['subject_id'], unique=False)


def downgrade():
    op.drop_table('data_rights_request')
