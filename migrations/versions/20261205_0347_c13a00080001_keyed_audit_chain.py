"""keyed audit chain (issue 13, item 8)

Entries now name the audit key whose HMAC their hash is (portal/audit/keys.py). Existing rows keep
key_id NULL and their plain SHA-256: verify checks them as the "legacy segment", and the first
keyed entry's HMAC covers the last legacy hash, so from then on they cannot be rewritten either.
They are not re-keyed: a re-keying would vouch with the key for rows nobody can vouch for (any
tampering before this migration would be signed as genuine). Run `flask audit checkpoint` after
upgrading to pin the legacy head at once.

Downgrade drops the column: keyed entries then no longer verify with the old code.

Revision ID: c13a00080001
Revises: c13a00060001
Create Date: 2026-12-05 03:45:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c13a00080001'
down_revision = 'c13a00060001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('key_id')
