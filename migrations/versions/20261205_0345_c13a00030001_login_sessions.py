"""login sessions kept on the server (issue 13, item 3)

Revision ID: c13a00030001
Revises: 85e62047b42e
Create Date: 2026-12-05 03:45:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c13a00030001'
down_revision = '85e62047b42e'
branch_labels = None
depends_on = None


def upgrade():
    # Sessions kept on the server: logout, an admin, a lock or a deactivation end every copy of a
    # cookie (portal/identity/sessions.py). Cookies from before this revision carry no token and
    # open nothing: everyone logs in once more after the upgrade.
    op.create_table('login_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_reason', sa.String(length=20), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.CheckConstraint('(staff_id IS NULL) <> (citizen_id IS NULL)',
                       name=op.f('ck_login_session_one_account')),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_login_session_citizen_id_citizen'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'],
                            name=op.f('fk_login_session_staff_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_login_session_token_hash'))
    )
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_session_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_session_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_session_staff_id'), ['staff_id'], unique=False)


def downgrade():
    with op.batch_alter_table('login_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_session_staff_id'))
        batch_op.drop_index(batch_op.f('ix_login_session_created_at'))
        batch_op.drop_index(batch_op.f('ix_login_session_citizen_id'))
    op.drop_table('login_session')
