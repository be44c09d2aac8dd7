"""uncatalogued procedures, possible duplicates, source id aliases (issue 14, items 1 and 4)

Revision ID: c14a00010001
Revises: c13a00080001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00010001'
down_revision = 'c13a00080001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
