"""tally changes counter: the gate's freshness watermark kept by the ballot's write

Revision ID: c3a1f0e7b2d4
Revises: 24576235592a
Create Date: 2026-12-01 21:50:00.000000

`tallies.changes` counts a consultation's ballot changes; every ballot adds 1 in its own
transaction, so it equals the sum of the ballots' revisions, which the backfill copies.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a1f0e7b2d4'
down_revision = '24576235592a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tallies', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('changes', sa.Integer(), server_default='0', nullable=False)
        )
    op.execute(
        "UPDATE tallies SET changes = COALESCE("
        "(SELECT SUM(ballots.revision) FROM ballots"
        " WHERE ballots.consultation_id = tallies.consultation_id), 0)"
    )


def downgrade():
    with op.batch_alter_table('tallies', schema=None) as batch_op:
        batch_op.drop_column('changes')
