"""staff totp pending secret

Revision ID: 5ffc7b7400f6
Revises: bc105791b3eb
Create Date: 2026-12-02 02:52:33.105766

"""
from alembic import op
import sqlalchemy as sa

import portal.db


# revision identifiers, used by Alembic.
revision = '5ffc7b7400f6'
down_revision = 'bc105791b3eb'
branch_labels = None
depends_on = None


def upgrade():

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_pending_secret', sa.String(length=64), nullable=True))




def downgrade():

    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_column('totp_pending_secret')


