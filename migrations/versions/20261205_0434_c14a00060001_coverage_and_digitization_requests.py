"""issued counts for coverage, digitization requests (issue 14, item 6)

Revision ID: c14a00060001
Revises: c14a00050001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00060001'
down_revision = 'c14a00050001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('issued_count',
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('procedure_code', sa.String(length=8), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedure.code'], name=op.f('fk_issued_count_procedure_code_procedure')),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_issued_count_unit_id_admin_unit')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff_user.id'], name=op.f('fk_issued_count_uploaded_by_id_staff_user')),
    sa.PrimaryKeyConstraint('unit_id', 'procedure_code', 'year', name=op.f('pk_issued_count'))
    )
    op.create_table('digitization_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('doc_number', sa.String(length=60), nullable=False),
    sa.Column('issued_date', sa.Date(), nullable=False),
    sa.Column('issuing_unit_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('procedure_code', sa.String(length=8), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('requester_email', sa.String(length=200), nullable=False),
    sa.Column('requester_phone', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('received_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('tracking_code_hash', sa.String(length=128), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_digitization_request_citizen_id_citizen')),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['staff_user.id'], name=op.f('fk_digitization_request_claimed_by_id_staff_user')),
    sa.ForeignKeyConstraint(['issuing_unit_id'], ['admin_unit.id'], name=op.f('fk_digitization_request_issuing_unit_id_admin_unit')),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedure.code'], name=op.f('fk_digitization_request_procedure_code_procedure')),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_digitization_request_record_id_record')),
    sa.ForeignKeyConstraint(['unit_id'], ['admin_unit.id'], name=op.f('fk_digitization_request_unit_id_admin_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digitization_request')),
    sa.UniqueConstraint('reference', name=op.f('uq_digitization_request_reference'))
    )
    with op.batch_alter_table('digitization_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digitization_request_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_digitization_request_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_digitization_request_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_digitization_request_unit_id'), ['unit_id'], unique=False)

    op.create_table('digitization_request_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['digitization_request.id'], name=op.f('fk_digitization_request_event_request_id_digitization_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digitization_request_event'))
    )
    with op.batch_alter_table('digitization_request_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digitization_request_event_request_id'), ['request_id'], unique=False)

    # The coverage page's GROUP BY (unit, procedure, year of issue, earliest digitized) reads this
    # index alone (portal/coverage/models.py).
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_coverage', ['issuing_unit_id', 'procedure_code', 'issued_date',
                                                     'digitized_at', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index('ix_record_coverage')
    with op.batch_alter_table('digitization_request_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digitization_request_event_request_id'))
    op.drop_table('digitization_request_event')
    with op.batch_alter_table('digitization_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digitization_request_unit_id'))
        batch_op.drop_index(batch_op.f('ix_digitization_request_state'))
        batch_op.drop_index(batch_op.f('ix_digitization_request_received_at'))
        batch_op.drop_index(batch_op.f('ix_digitization_request_citizen_id'))
    op.drop_table('digitization_request')
    op.drop_table('issued_count')
