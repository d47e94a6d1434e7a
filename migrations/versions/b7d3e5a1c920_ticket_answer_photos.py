"""ticket answer photos: the owner answers a ticket with text and photos

Revision ID: b7d3e5a1c920
Revises: e4b7c1d9a2f3
Create Date: 2026-12-02 08:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7d3e5a1c920"
down_revision = "e4b7c1d9a2f3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_event_photos",
        sa.Column("ticket_event_id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_event_id"],
            ["ticket_events.id"],
            name=op.f("fk_ticket_event_photos_ticket_event_id_ticket_events"),
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_ticket_event_photos_upload_id_uploads")
        ),
        sa.PrimaryKeyConstraint(
            "ticket_event_id", "upload_id", name=op.f("pk_ticket_event_photos")
        ),
    )
    op.create_index(
        op.f("ix_ticket_event_photos_upload_id"), "ticket_event_photos", ["upload_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_ticket_event_photos_upload_id"), table_name="ticket_event_photos")
    op.drop_table("ticket_event_photos")
