"""the warranty end of projects accepted before the warranty period existed (issue 15)

Revision ID: 8c3f4a6b0e52
Revises: 5e8a1c3f9b27
Create Date: 2026-12-02 13:05:00.000000

Data only. A project accepted before this issue has no `warranty_ends_on`: it gets the one the
`accepted` effect (feedback.service.warranty.start_warranty) would have set: the acceptance
record's date, else the local date it entered `accepted`, plus its `warranty_years` (Feb 29 →
Feb 28). Undoing it leaves the dates (the previous revision drops the column).
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import api.core

# revision identifiers, used by Alembic.
revision = "8c3f4a6b0e52"
down_revision = "5e8a1c3f9b27"
branch_labels = None
depends_on = None

# Written out, not imported: a migration keeps the rules of its own day.
LOCAL = ZoneInfo("Asia/Shanghai")

projects = sa.table(
    "projects",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("warranty_years", sa.Integer),
    sa.column("warranty_ends_on", sa.Date),
)
acceptances = sa.table(
    "acceptances", sa.column("project_id", sa.Integer), sa.column("held_on", sa.Date)
)
transitions = sa.table(
    "project_transitions",
    sa.column("project_id", sa.Integer),
    sa.column("to_status", sa.String),
    sa.column("at", api.core.UTCDateTime(timezone=True)),
)


def _add_years(start, years):
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def upgrade():
    bind = op.get_bind()
    accepted_at = (
        sa.select(sa.func.max(transitions.c.at))
        .where(transitions.c.project_id == projects.c.id, transitions.c.to_status == "accepted")
        .scalar_subquery()
    )
    rows = bind.execute(
        sa.select(projects.c.id, projects.c.warranty_years, acceptances.c.held_on, accepted_at)
        .select_from(projects.outerjoin(acceptances, acceptances.c.project_id == projects.c.id))
        .where(projects.c.status == "accepted", projects.c.warranty_ends_on.is_(None))
    ).all()
    today = datetime.now(UTC).astimezone(LOCAL).date()
    for project_id, years, held_on, at in rows:
        start = held_on or (at.astimezone(LOCAL).date() if at is not None else today)
        bind.execute(
            projects.update()
            .where(projects.c.id == project_id)
            .values(warranty_ends_on=_add_years(start, years))
        )


def downgrade():
    pass
