"""text read from scans (issue 14, item 3)

Revision ID: c14a00030001
Revises: c14a00020001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00030001'
down_revision = 'c14a00020001'
branch_labels = None
depends_on = None


def upgrade():
    # Files stored before this revision need no row: a stored file without one counts as pending.
    op.create_table(
        'document_text',
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('claimed_at', portal.db.UTCDateTime(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('method', sa.String(length=12), nullable=True),
        sa.Column('engine', sa.String(length=60), nullable=True),
        sa.Column('pages', sa.Integer(), nullable=True),
        sa.Column('seconds', sa.Float(), nullable=True),
        sa.Column('note', sa.String(length=300), nullable=True),
        sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
        sa.Column('updated_at', portal.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['document_sha256'], ['document.sha256'],
                                name=op.f('fk_document_text_document_sha256_document'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('document_sha256', name=op.f('pk_document_text')),
    )
    with op.batch_alter_table('document_text', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_document_text_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('document_text', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_document_text_status'))
    op.drop_table('document_text')
