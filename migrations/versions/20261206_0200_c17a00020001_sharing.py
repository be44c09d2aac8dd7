"""Share links (issue 17, item 2)

Revision ID: c17a00020001
Revises: c17a00010001
Create Date: 2026-12-06 02:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c17a00020001'
down_revision = 'c17a00010001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
