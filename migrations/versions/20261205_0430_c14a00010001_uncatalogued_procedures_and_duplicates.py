"""uncatalogued procedures, possible duplicates, source id aliases (issue 14, items 1 and 4)

procedure.catalogued: existing procedures are catalogued (server default true). record.merged_into_id:
a merged result's source_id is an alias of the kept one. duplicate_flag: pairs flagged at import.
import_line.warnings: how many warnings a line's report entries hold (0 for existing lines).

Revision ID: c14a00010001
Revises: c13a00080001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00010001'
down_revision = 'c13a00080001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('catalogued', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.create_index(batch_op.f('ix_procedure_catalogued'), ['catalogued'], unique=False)
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_record_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_record_merged_into_id_record'), 'record',
                                    ['merged_into_id'], ['id'])
    with op.batch_alter_table('import_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'duplicate_flag',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('other_id', sa.Integer(), nullable=False),
        sa.Column('reasons', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('line_no', sa.Integer(), nullable=True),
        sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
        sa.Column('decided_at', portal.db.UTCDateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=80), nullable=True),
        sa.Column('kept_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['import_batch.id'],
                                name=op.f('fk_duplicate_flag_batch_id_import_batch'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['kept_id'], ['record.id'],
                                name=op.f('fk_duplicate_flag_kept_id_record'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['other_id'], ['record.id'],
                                name=op.f('fk_duplicate_flag_other_id_record'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['record_id'], ['record.id'],
                                name=op.f('fk_duplicate_flag_record_id_record'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_flag')),
        sa.UniqueConstraint('record_id', 'other_id', name=op.f('uq_duplicate_flag_record_id_other_id')),
    )
    with op.batch_alter_table('duplicate_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_flag_other_id'), ['other_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_flag_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_flag_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('duplicate_flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_flag_state'))
        batch_op.drop_index(batch_op.f('ix_duplicate_flag_record_id'))
        batch_op.drop_index(batch_op.f('ix_duplicate_flag_other_id'))
    op.drop_table('duplicate_flag')
    with op.batch_alter_table('import_line', schema=None) as batch_op:
        batch_op.drop_column('warnings')
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_record_merged_into_id_record'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_record_merged_into_id'))
        batch_op.drop_column('merged_into_id')
    with op.batch_alter_table('procedure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_catalogued'))
        batch_op.drop_column('catalogued')
