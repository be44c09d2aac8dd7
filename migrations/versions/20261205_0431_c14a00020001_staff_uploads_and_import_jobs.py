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
    pass


def downgrade():
    pass
