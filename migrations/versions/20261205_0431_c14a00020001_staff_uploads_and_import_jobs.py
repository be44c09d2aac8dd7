"""staff batch uploads and import jobs with progress (issue 14, item 2)

Revision ID: c14a00020001
Revises: c14a00010001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00020001'
down_revision = 'c14a00010001'
branch_labels = None
depends_on = None


def upgrade():
    # Staff upload batches through the browser (tus, resumable); the import runs as a job of the
    # import queue whose progress the page shows (portal/imports/job_models.py).
    op.create_table('batch_upload',
    sa.Column('id', sa.String(length=43), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_batch_upload_staff_id_staff_user'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_batch_upload_unit_id_admin_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_upload'))
    )
    with op.batch_alter_table('batch_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_upload_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_batch_upload_staff_id'), ['staff_id'], unique=False)

    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('upload_id', sa.String(length=43), nullable=True),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lines_total', sa.Integer(), nullable=False),
    sa.Column('lines_done', sa.Integer(), nullable=False),
    sa.Column('files_total', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('attempt_lines', sa.Integer(), nullable=False),
    sa.Column('attempt_started_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_vi', sa.String(length=500), nullable=False),
    sa.Column('error_en', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'],
                            name=op.f('fk_import_job_batch_id_import_batch'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_import_job_staff_id_staff_user'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_import_job_unit_id_admin_unit')),
    sa.ForeignKeyConstraint(['upload_id'], ['batch_upload.id'],
                            name=op.f('fk_import_job_upload_id_batch_upload'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_job_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_job_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_job_unit_id'), ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_unit_id'))
        batch_op.drop_index(batch_op.f('ix_import_job_status'))
        batch_op.drop_index(batch_op.f('ix_import_job_created_at'))
    op.drop_table('import_job')
    with op.batch_alter_table('batch_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_upload_staff_id'))
        batch_op.drop_index(batch_op.f('ix_batch_upload_created_at'))
    op.drop_table('batch_upload')
