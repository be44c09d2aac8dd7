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
    pass


def downgrade():
    pass
