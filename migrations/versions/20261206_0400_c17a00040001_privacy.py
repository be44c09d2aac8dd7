"""Personal-data rights requests and retention (issue 17, item 4)

Revision ID: c17a00040001
Revises: c17a00030001
Create Date: 2026-12-06 04:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c17a00040001'
down_revision = 'c17a00030001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
