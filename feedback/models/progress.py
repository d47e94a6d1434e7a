"""Progress updates (进度公示): what the project's managers publish about the works, with
photos, for the households of its estates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, db, utcnow
from feedback.models.uploads import Upload

# The stages in which there are works to report on: under way, and finished but not yet
# accepted (rectification, the rating window). Before `construction` nothing is being built
# (plans and notices say what will be); an `accepted` project is closed.
PROGRESS_STATUSES = ("construction", "completed")
MAX_PROGRESS_TEXT = 2000

progress_update_photos = Table(
    "progress_update_photos",
    db.metadata,
    Column("progress_update_id", ForeignKey("progress_updates.id"), primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True, index=True),
)


class ProgressUpdate(db.Model):
    """A progress update (进度公示) a manager of the project posted: text and up to 9 photos of
    their own, published to the project's households."""

    __tablename__ = "progress_updates"
    __table_args__ = (Index("ix_progress_updates_project_created", "project_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    photos: Mapped[list[Upload]] = relationship(
        secondary=progress_update_photos, order_by=Upload.id
    )
