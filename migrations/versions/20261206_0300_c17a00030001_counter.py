"""Assisted counter sessions (issue 17, item 3)

Revision ID: c17a00030001
Revises: c17a00020001
Create Date: 2026-12-06 03:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c17a00030001'
down_revision = 'c17a00020001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
