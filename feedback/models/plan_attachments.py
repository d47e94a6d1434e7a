"""The files a plan version carries (方案附件): drawings as images, the plan document as a PDF.

The rows are feedback's, since the files are uploads; the plan is participation's and knows
nothing of them (the routes compose the two). A version's attachments are written with the
version, in the transaction that creates it, and never after: residents are consulted on a
version as it was published, so its files can neither change nor be added to once it exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, db, utcnow
from feedback.models.uploads import Upload


class PlanAttachment(db.Model):
    """One file of a plan version, in the order staff listed them, with the title residents
    read (“总平面图”, “改造方案说明”). Written once, with the version (never changed or deleted)."""

    __tablename__ = "plan_attachments"
    __table_args__ = (
        UniqueConstraint("plan_id", "position"),
        UniqueConstraint("plan_id", "upload_id"),
        CheckConstraint("position >= 1", name="position_positive"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    upload: Mapped[Upload] = relationship()

    @property
    def content_type(self) -> str:
        return self.upload.content_type

    @property
    def size(self) -> int:
        return self.upload.size


@event.listens_for(PlanAttachment, "before_update")
@event.listens_for(PlanAttachment, "before_delete")
def _attachments_are_published(mapper, connection, target):
    raise RuntimeError("a plan version's attachments never change")
