"""residents: drop session_key

Revision ID: ae6ce48511c0
Revises: 501fb46926f0
Create Date: 2026-12-01 18:46:24.924438

"""
from alembic import op
import sqlalchemy as sa

import api.core


# revision identifiers, used by Alembic.
revision = 'ae6ce48511c0'
down_revision = '501fb46926f0'
branch_labels = None
depends_on = None


def upgrade():
    # WeChat's session_key was stored at every sign-in and used for nothing: it is not kept
    # (issue 9, item 14), and the keys stored so far go with the column.
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('session_key')


def downgrade():
    # The column comes back empty: the dropped keys are gone (that revision stores a new one at
    # each sign-in).
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_key', sa.String(length=128), nullable=True))
