"""Share links (issue 17, item 2)

Revision ID: c17a00020001
Revises: c17a00010001
Create Date: 2026-12-06 02:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c17a00020001'
down_revision = 'c17a00010001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('share_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('recipient', sa.String(length=120), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('one_time', sa.Boolean(), nullable=False),
    sa.Column('used_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('openings', sa.Integer(), nullable=False),
    sa.Column('last_opened_at', portal.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_share_link_citizen_id_citizen'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_share_link_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_share_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_share_link_token_hash'))
    )
    with op.batch_alter_table('share_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_share_link_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_share_link_record_id'), ['record_id'], unique=False)


def downgrade():
    op.drop_table('share_link')
