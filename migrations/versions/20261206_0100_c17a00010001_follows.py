"""Following results: follows and the notices queued for them (issue 17, item 1)

Revision ID: c17a00010001
Revises: c15a00030001
Create Date: 2026-12-06 01:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c17a00010001'
down_revision = 'c15a00030001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('follow',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=False),
    sa.Column('link_nonce', sa.String(length=24), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_follow_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_follow_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow')),
    sa.UniqueConstraint('citizen_id', 'record_id', name=op.f('uq_follow_citizen_id_record_id'))
    )
    with op.batch_alter_table('follow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_record_id'), ['record_id'], unique=False)

    op.create_table('follow_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('follow_id', sa.Integer(), nullable=False),
    sa.Column('event_key', sa.String(length=80), nullable=False),
    sa.Column('queued_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['follow_id'], ['follow.id'], name=op.f('fk_follow_notice_follow_id_follow'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_notice')),
    sa.UniqueConstraint('follow_id', 'event_key', name=op.f('uq_follow_notice_follow_id_event_key'))
    )
    with op.batch_alter_table('follow_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_notice_follow_id'), ['follow_id'], unique=False)


def downgrade():
    op.drop_table('follow_notice')
    op.drop_table('follow')
