"""residents' contributions, the warranty period, estate management rules (issue 15)

Revision ID: 5e8a1c3f9b27
Revises: 9c4e2a7d5b18
Create Date: 2026-12-02 12:47:11.003216

- `contribution_schemes`, `contribution_dues` (each household's amount, frozen at adoption),
  `contribution_pledges`, `contribution_entries` (append-only: a trigger refuses UPDATE and
  DELETE on PostgreSQL) and `project_expenses` (spending against the funding lines, likewise);
- `projects.warranty_years` (default 2) and `warranty_ends_on`; `tickets.phase`;
- `estate_rules` (小区管理办法) and `rules_comments`.
"""

import sqlalchemy as sa
from alembic import op

import api.core

# revision identifiers, used by Alembic.
revision = "5e8a1c3f9b27"
down_revision = "9c4e2a7d5b18"
branch_labels = None
depends_on = None

# Written out, not imported: a migration keeps the statements of its own day.
APPEND_ONLY = ("contribution_entries", "project_expenses")
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{table} is append-only';
END;
$$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION {table}_append_only()
"""


def upgrade():
    op.create_table(
        "project_expenses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("funding_line_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("voucher_upload_id", sa.Integer(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0 OR (amount_fen < 0 AND corrects_id IS NOT NULL)",
            name=op.f("ck_project_expenses_amount_sign"),
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["project_expenses.id"],
            name=op.f("fk_project_expenses_corrects_id_project_expenses"),
        ),
        sa.ForeignKeyConstraint(
            ["funding_line_id"],
            ["funding_lines.id"],
            name=op.f("fk_project_expenses_funding_line_id_funding_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_expenses_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_project_expenses_staff_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_upload_id"],
            ["uploads.id"],
            name=op.f("fk_project_expenses_voucher_upload_id_uploads"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_expenses")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_project_expenses_idempotency_key")),
    )
    with op.batch_alter_table("project_expenses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_project_expenses_funding_line_id"), ["funding_line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_project_expenses_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "contribution_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("basis", sa.String(length=12), nullable=False),
        sa.Column("rate_fen", sa.BigInteger(), nullable=False),
        sa.Column("plan_item_id", sa.Integer(), nullable=True),
        sa.Column("building_ids", sa.JSON(), nullable=False),
        sa.Column("funding_line_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("matter", sa.String(length=30), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("terms_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("adopted_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "basis IN ('floor_area', 'household')", name=op.f("ck_contribution_schemes_basis_known")
        ),
        sa.CheckConstraint(
            "matter IN ('raise_maintenance_fund', 'rebuild', 'change_common_use', 'other_major')",
            name=op.f("ck_contribution_schemes_matter_known"),
        ),
        sa.CheckConstraint(
            "status != 'cancelled' OR cancelled_at IS NOT NULL",
            name=op.f("ck_contribution_schemes_cancel_dated"),
        ),
        sa.CheckConstraint(
            "status = 'draft' OR adopted_at IS NOT NULL OR cancelled_at IS NOT NULL",
            name=op.f("ck_contribution_schemes_dated"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'adopted', 'cancelled')",
            name=op.f("ck_contribution_schemes_status_known"),
        ),
        sa.CheckConstraint("rate_fen > 0", name=op.f("ck_contribution_schemes_rate_positive")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff.id"],
            name=op.f("fk_contribution_schemes_created_by_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["consultations.id"],
            name=op.f("fk_contribution_schemes_decision_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["funding_line_id"],
            ["funding_lines.id"],
            name=op.f("fk_contribution_schemes_funding_line_id_funding_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_item_id"],
            ["plan_items.id"],
            name=op.f("fk_contribution_schemes_plan_item_id_plan_items"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_contribution_schemes_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution_schemes")),
    )
    with op.batch_alter_table("contribution_schemes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contribution_schemes_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contribution_schemes_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            "uq_contribution_schemes_adopting_decision",
            ["decision_id"],
            unique=True,
            postgresql_where=sa.text("adopted_at IS NOT NULL"),
            sqlite_where=sa.text("adopted_at IS NOT NULL"),
        )

    op.create_table(
        "estate_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("published_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("comments_close_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("superseded_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'adopted', 'rejected', 'withdrawn')",
            name=op.f("ck_estate_rules_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_estate_rules_created_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["consultations.id"],
            name=op.f("fk_estate_rules_decision_id_consultations"),
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_estate_rules_estate_id_estates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_estate_rules")),
        sa.UniqueConstraint("estate_id", "version", name=op.f("uq_estate_rules_estate_id_version")),
    )
    with op.batch_alter_table("estate_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_estate_rules_decision_id"), ["decision_id"], unique=False
        )
        batch_op.create_index(
            "ix_estate_rules_estate_status", ["estate_id", "status"], unique=False
        )

    op.create_table(
        "contribution_dues",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("estate_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column("floor_area", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "amount_fen >= 0", name=op.f("ck_contribution_dues_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_contribution_dues_building_id_buildings"),
        ),
        sa.ForeignKeyConstraint(
            ["estate_id"], ["estates.id"], name=op.f("fk_contribution_dues_estate_id_estates")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_contribution_dues_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"],
            ["contribution_schemes.id"],
            name=op.f("fk_contribution_dues_scheme_id_contribution_schemes"),
        ),
        sa.PrimaryKeyConstraint("scheme_id", "household_id", name=op.f("pk_contribution_dues")),
    )
    with op.batch_alter_table("contribution_dues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contribution_dues_scheme_building", ["scheme_id", "building_id"], unique=False
        )

    op.create_table(
        "rules_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rules_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("check_attempts", sa.Integer(), nullable=False),
        sa.Column("checked_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by_id", sa.Integer(), nullable=True),
        sa.Column("replied_at", api.core.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('visible', 'pending_check', 'pending_review', 'reported', 'hidden', 'refused')",
            name=op.f("ck_rules_comments_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["residents.id"], name=op.f("fk_rules_comments_author_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_rules_comments_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["replied_by_id"], ["staff.id"], name=op.f("fk_rules_comments_replied_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["rules_id"], ["estate_rules.id"], name=op.f("fk_rules_comments_rules_id_estate_rules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules_comments")),
    )
    with op.batch_alter_table("rules_comments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rules_comments_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            "ix_rules_comments_rules_status", ["rules_id", "status"], unique=False
        )

    op.create_table(
        "contribution_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("receipt_no", sa.String(length=40), nullable=True),
        sa.Column("photo_upload_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'payment' AND amount_fen > 0) OR (kind = 'refund' AND amount_fen < 0) OR (kind = 'correction' AND amount_fen <> 0 AND corrects_id IS NOT NULL)",
            name=op.f("ck_contribution_entries_amount_sign"),
        ),
        sa.CheckConstraint(
            "channel IN ('cash', 'bank_transfer', 'other')",
            name=op.f("ck_contribution_entries_channel_known"),
        ),
        sa.CheckConstraint(
            "kind IN ('payment', 'correction', 'refund')",
            name=op.f("ck_contribution_entries_kind_known"),
        ),
        sa.CheckConstraint(
            "source IN ('clerk', 'adapter')", name=op.f("ck_contribution_entries_source_known")
        ),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["contribution_entries.id"],
            name=op.f("fk_contribution_entries_corrects_id_contribution_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["photo_upload_id"],
            ["uploads.id"],
            name=op.f("fk_contribution_entries_photo_upload_id_uploads"),
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id", "household_id"],
            ["contribution_dues.scheme_id", "contribution_dues.household_id"],
            name=op.f("fk_contribution_entries_scheme_id_contribution_dues"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_contribution_entries_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contribution_entries")),
        sa.UniqueConstraint(
            "scheme_id",
            "idempotency_key",
            name=op.f("uq_contribution_entries_scheme_id_idempotency_key"),
        ),
    )
    with op.batch_alter_table("contribution_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contribution_entries_scheme_household", ["scheme_id", "household_id"], unique=False
        )

    op.create_table(
        "contribution_pledges",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "choice = 'pledged' OR reason IS NOT NULL",
            name=op.f("ck_contribution_pledges_decline_has_reason"),
        ),
        sa.CheckConstraint(
            "choice IN ('pledged', 'declined')", name=op.f("ck_contribution_pledges_choice_known")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_contribution_pledges_resident_id_residents"),
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id", "household_id"],
            ["contribution_dues.scheme_id", "contribution_dues.household_id"],
            name=op.f("fk_contribution_pledges_scheme_id_contribution_dues"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_contribution_pledges_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("scheme_id", "household_id", name=op.f("pk_contribution_pledges")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("warranty_years", sa.Integer(), server_default="2", nullable=False)
        )
        batch_op.add_column(sa.Column("warranty_ends_on", sa.Date(), nullable=True))

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phase", sa.String(length=12), server_default="construction", nullable=False)
        )

        batch_op.create_check_constraint(
            op.f("ck_tickets_phase_known"), "phase IN ('construction', 'warranty')"
        )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_projects_warranty_years_range"), "warranty_years BETWEEN 0 AND 10"
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(APPEND_ONLY_FUNCTION.format(table=table))
            op.execute(APPEND_ONLY_TRIGGER.format(table=table))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_tickets_phase_known"), type_="check")
        batch_op.drop_column("phase")

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_projects_warranty_years_range"), type_="check")
        batch_op.drop_column("warranty_ends_on")
        batch_op.drop_column("warranty_years")

    op.drop_table("contribution_pledges")
    with op.batch_alter_table("contribution_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_contribution_entries_scheme_household")

    op.drop_table("contribution_entries")
    with op.batch_alter_table("rules_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_rules_comments_rules_status")
        batch_op.drop_index(batch_op.f("ix_rules_comments_author_id"))

    op.drop_table("rules_comments")
    with op.batch_alter_table("contribution_dues", schema=None) as batch_op:
        batch_op.drop_index("ix_contribution_dues_scheme_building")

    op.drop_table("contribution_dues")
    with op.batch_alter_table("estate_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_estate_rules_estate_status")
        batch_op.drop_index(batch_op.f("ix_estate_rules_decision_id"))

    op.drop_table("estate_rules")
    with op.batch_alter_table("contribution_schemes", schema=None) as batch_op:
        batch_op.drop_index("uq_contribution_schemes_adopting_decision")
        batch_op.drop_index(batch_op.f("ix_contribution_schemes_project_id"))
        batch_op.drop_index(batch_op.f("ix_contribution_schemes_decision_id"))

    op.drop_table("contribution_schemes")
    with op.batch_alter_table("project_expenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_expenses_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_expenses_funding_line_id"))

    op.drop_table("project_expenses")
