"""residents' rights and the mini-program's screens (issue 12): privacy consents, erasure,
leaving a household and revocation, plan attachments, progress updates

Revision ID: e4b7c1d9a2f3
Revises: d5e2b8c41f07
Create Date: 2026-12-02 01:45:00.000000

- `privacy_consents`: which version of the privacy notice a resident accepted, and when;
- `residents.erased_at`: a resident whose personal data was erased (DELETE /me, retention);
- `comments.author_id` nullable: an erased author's comments stay, without the author;
- `household_claims`: statuses `left` and `revoked` with `ended_at`, and the live-claim index
  narrowed to pending and verified claims, so that a new claim may follow an ended one;
- `plan_attachments`, `progress_updates`, `progress_update_photos`;
- notice categories `membership_revoked` and `progress_update`.
"""

import sqlalchemy as sa
from alembic import op

import api.core

# revision identifiers, used by Alembic.
revision = "e4b7c1d9a2f3"
down_revision = "d5e2b8c41f07"
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
        "supervision_reviewed",
    )
)
NEW_CATEGORIES = ("membership_revoked", "progress_update")
CLAIM_STATUSES = "'pending', 'verified', 'rejected'"
LIVE = "status IN ('pending', 'verified')"
LIVE_BEFORE = "status <> 'rejected'"


def _live_index(where: str) -> None:
    op.create_index(
        "uq_household_claims_live",
        "household_claims",
        ["resident_id", "household_id"],
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade():
    op.create_table(
        "privacy_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("accepted_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_privacy_consents_resident_id_residents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_consents")),
        sa.UniqueConstraint(
            "resident_id", "version", name=op.f("uq_privacy_consents_resident_id_version")
        ),
    )
    op.create_table(
        "progress_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_progress_updates_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_progress_updates_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_updates")),
    )
    op.create_index(
        "ix_progress_updates_project_created", "progress_updates", ["project_id", "created_at"]
    )
    op.create_table(
        "plan_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", api.core.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_plan_attachments_position_positive")),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_plan_attachments_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_plan_attachments_upload_id_uploads")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_attachments")),
        sa.UniqueConstraint(
            "plan_id", "position", name=op.f("uq_plan_attachments_plan_id_position")
        ),
        sa.UniqueConstraint(
            "plan_id", "upload_id", name=op.f("uq_plan_attachments_plan_id_upload_id")
        ),
    )
    op.create_index(op.f("ix_plan_attachments_upload_id"), "plan_attachments", ["upload_id"])
    op.create_table(
        "progress_update_photos",
        sa.Column("progress_update_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["progress_update_id"],
            ["progress_updates.id"],
            name=op.f("fk_progress_update_photos_progress_update_id_progress_updates"),
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["uploads.id"],
            name=op.f("fk_progress_update_photos_upload_id_uploads"),
        ),
        sa.PrimaryKeyConstraint(
            "progress_update_id", "upload_id", name=op.f("pk_progress_update_photos")
        ),
    )
    op.create_index(
        op.f("ix_progress_update_photos_upload_id"), "progress_update_photos", ["upload_id"]
    )

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.alter_column("author_id", existing_type=sa.INTEGER(), nullable=True)

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", api.core.UTCDateTime(timezone=True), nullable=True)
        )

    op.drop_index("uq_household_claims_live", table_name="household_claims")
    with op.batch_alter_table("household_claims", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ended_at", api.core.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_constraint(op.f("ck_household_claims_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_household_claims_status_known"),
            f"status IN ({CLAIM_STATUSES}, 'left', 'revoked')",
        )
        batch_op.create_check_constraint(
            op.f("ck_household_claims_ended"),
            "(status IN ('left', 'revoked')) = (ended_at IS NOT NULL)",
        )
    _live_index(LIVE)

    added = ", ".join(f"'{c}'" for c in NEW_CATEGORIES)
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notices_category_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notices_category_known"), f"category IN ({CATEGORIES}, {added})"
        )


def downgrade():
    gone = "SELECT id FROM notices WHERE category IN ('membership_revoked', 'progress_update')"
    for table in ("deliveries", "notice_reads", "notice_targets"):
        op.execute(f"DELETE FROM {table} WHERE notice_id IN ({gone})")
    op.execute("DELETE FROM notices WHERE category IN ('membership_revoked', 'progress_update')")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_notices_category_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_notices_category_known"), f"category IN ({CATEGORIES})"
        )

    # An ended membership has no place in the older schema: it goes, as a rejected claim would.
    op.execute("DELETE FROM household_claims WHERE status IN ('left', 'revoked')")
    op.drop_index("uq_household_claims_live", table_name="household_claims")
    with op.batch_alter_table("household_claims", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_household_claims_ended"), type_="check")
        batch_op.drop_constraint(op.f("ck_household_claims_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_household_claims_status_known"), f"status IN ({CLAIM_STATUSES})"
        )
        batch_op.drop_column("ended_at")
    _live_index(LIVE_BEFORE)

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_column("erased_at")

    # Comments of erased authors cannot return to a NOT NULL column.
    erased = "SELECT id FROM comments WHERE author_id IS NULL"
    op.execute(f"UPDATE comments SET parent_id = NULL WHERE parent_id IN ({erased})")
    op.execute(f"DELETE FROM comment_likes WHERE comment_id IN ({erased})")
    op.execute(f"DELETE FROM comment_reports WHERE comment_id IN ({erased})")
    op.execute(f"DELETE FROM comment_decisions WHERE comment_id IN ({erased})")
    op.execute("DELETE FROM comments WHERE author_id IS NULL")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.alter_column("author_id", existing_type=sa.INTEGER(), nullable=False)

    op.drop_index(op.f("ix_progress_update_photos_upload_id"), table_name="progress_update_photos")
    op.drop_table("progress_update_photos")
    op.drop_index(op.f("ix_plan_attachments_upload_id"), table_name="plan_attachments")
    op.drop_table("plan_attachments")
    op.drop_index("ix_progress_updates_project_created", table_name="progress_updates")
    op.drop_table("progress_updates")
    op.drop_table("privacy_consents")
