"""issued counts for coverage, digitization requests (issue 14, item 6)

Revision ID: c14a00060001
Revises: c14a00050001
Create Date: 2026-12-05 04:30:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = 'c14a00060001'
down_revision = 'c14a00050001'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
