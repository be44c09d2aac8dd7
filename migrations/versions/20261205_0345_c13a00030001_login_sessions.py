"""login sessions kept on the server (issue 13, item 3)

Revision ID: c13a00030001
Revises: 85e62047b42e
Create Date: 2026-12-05 03:45:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c13a00030001'
down_revision = '85e62047b42e'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
