"""API keys of organizations and their use per day (issue 15, item 3)

Revision ID: c15a00030001
Revises: c14a00060001
Create Date: 2026-12-05 05:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c15a00030001'
down_revision = 'c14a00060001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=200), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('daily_quota', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', portal.db.UTCDateTime(), nullable=True),
    sa.Column('rotated_from_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['rotated_from_id'], ['api_key.id'], name=op.f('fk_api_key_rotated_from_id_api_key')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('prefix', name=op.f('uq_api_key_prefix'))
    )
    op.create_table('api_key_usage',
    sa.Column('key_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['key_id'], ['api_key.id'], name=op.f('fk_api_key_usage_key_id_api_key'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_id', 'day', name=op.f('pk_api_key_usage'))
    )


def downgrade():
    op.drop_table('api_key_usage')
    op.drop_table('api_key')
