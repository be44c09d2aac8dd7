"""rate-limit counters shared by every process (issue 13, item 6)

Revision ID: c13a00060001
Revises: c13a00030001
Create Date: 2026-12-05 03:45:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c13a00060001'
down_revision = 'c13a00030001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
