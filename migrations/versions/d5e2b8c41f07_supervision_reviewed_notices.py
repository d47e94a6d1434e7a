"""supervision reviewed notices: a resident hears when their supervisor sign-up is decided

Revision ID: d5e2b8c41f07
Revises: c3a1f0e7b2d4
Create Date: 2026-12-01 23:10:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "d5e2b8c41f07"
down_revision = "c3a1f0e7b2d4"
branch_labels = None
depends_on = None

# Written out, not imported: a migration keeps the values of its own day.
CATEGORIES = ", ".join(
    f"'{c}'"
    for c in (
        "plan_publicity",
        "consultation_open",
        "construction",
        "utility_cut",
        "acceptance_result",
        "general",
        "consultation_closing",
        "gate_result",
        "milestone_overdue",
        "ticket_answered",
        "ballot_replaced",
    )
)


def upgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notices_category_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notices_category_known"),
            f"category IN ({CATEGORIES}, 'supervision_reviewed')",
        )


def downgrade():
    gone = "SELECT id FROM notices WHERE category = 'supervision_reviewed'"
    for table in ("deliveries", "notice_reads", "notice_targets"):
        op.execute(f"DELETE FROM {table} WHERE notice_id IN ({gone})")
    op.execute("DELETE FROM notices WHERE category = 'supervision_reviewed'")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notices_category_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notices_category_known"), f"category IN ({CATEGORIES})"
        )
