"""projects: completion satisfaction fields

Revision ID: a41c7e2b9d03
Revises: 662ce8ed4b90
Create Date: 2026-11-27 07:55:00.000000

"""
from alembic import op
import sqlalchemy as sa

import api.core


# revision identifiers, used by Alembic.
revision = 'a41c7e2b9d03'
down_revision = '662ce8ed4b90'
branch_labels = None
depends_on = None


def upgrade():
    # The columns the feedback domain's job writes (participation/projects.py, commit f3165d2).
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_closes_at', api.core.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('completion_satisfaction_rate', sa.Numeric(precision=7, scale=6), nullable=True))
        batch_op.add_column(sa.Column('completion_means', sa.JSON(), nullable=True))
        # Existing projects have no ratings yet; the model sets 0 for new ones.
        batch_op.add_column(sa.Column('completion_ratings', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('completion_computed_at', api.core.UTCDateTime(timezone=True), nullable=True))
    # The default was only for the rows already there; the model owns it from now on.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.alter_column('completion_ratings', server_default=None)


def downgrade():
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('completion_computed_at')
        batch_op.drop_column('completion_ratings')
        batch_op.drop_column('completion_means')
        batch_op.drop_column('completion_satisfaction_rate')
        batch_op.drop_column('rating_closes_at')
