"""fixity checks of stored files (issue 14, item 5)

Revision ID: c14a00050001
Revises: c14a00030001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00050001'
down_revision = 'c14a00030001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'fixity_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=10), nullable=False),
        sa.Column('sample', sa.Integer(), nullable=True),
        sa.Column('started_at', portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('stored', sa.Integer(), nullable=False),
        sa.Column('planned', sa.Integer(), nullable=False),
        sa.Column('checked', sa.Integer(), nullable=False),
        sa.Column('missing', sa.Integer(), nullable=False),
        sa.Column('altered', sa.Integer(), nullable=False),
        sa.Column('unreadable', sa.Integer(), nullable=False),
        sa.Column('bytes_read', sa.BigInteger(), nullable=False),
        sa.Column('notified', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fixity_run')),
    )
    with op.batch_alter_table('fixity_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fixity_run_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_fixity_run_trigger'), ['trigger'], unique=False)
    op.create_table(
        'fixity_problem',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('outcome', sa.String(length=12), nullable=False),
        sa.Column('found', sa.String(length=300), nullable=False),
        sa.Column('used_by', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['fixity_run.id'], name=op.f('fk_fixity_problem_run_id_fixity_run'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fixity_problem')),
    )
    with op.batch_alter_table('fixity_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fixity_problem_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fixity_problem_sha256'), ['sha256'], unique=False)
    op.create_table(
        'fixity_file',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('last_checked_at', portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_outcome', sa.String(length=12), nullable=False),
        sa.Column('last_run_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['last_run_id'], ['fixity_run.id'], name=op.f('fk_fixity_file_last_run_id_fixity_run'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_fixity_file')),
    )
    with op.batch_alter_table('fixity_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fixity_file_last_checked_at'), ['last_checked_at'], unique=False)


def downgrade():
    with op.batch_alter_table('fixity_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fixity_file_last_checked_at'))
    op.drop_table('fixity_file')
    with op.batch_alter_table('fixity_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fixity_problem_sha256'))
        batch_op.drop_index(batch_op.f('ix_fixity_problem_run_id'))
    op.drop_table('fixity_problem')
    with op.batch_alter_table('fixity_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fixity_run_trigger'))
        batch_op.drop_index(batch_op.f('ix_fixity_run_started_at'))
    op.drop_table('fixity_run')
