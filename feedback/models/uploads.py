"""Files uploaded to a project: residents' photos for inspection and problem reports (现场照片),
staff's images and plan documents.

The row is written only for a file that passed every check and is in place on disk (see
`feedback.service.uploads`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, db, utcnow

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
PDF = "application/pdf"  # a plan document: staff who manage the project only
# The file itself, per type; the request's limit is the HTTP layer's (a little more, for the
# multipart envelope). The same 10 MiB for both today, kept apart so that one can change alone.
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_BYTES = {**dict.fromkeys(IMAGE_TYPES, MAX_IMAGE_BYTES), PDF: MAX_DOCUMENT_BYTES}
MAX_PHOTOS = 9  # what wx.chooseImage lets a resident pick at once


class Upload(db.Model):
    """An uploaded file (上传的文件), stored on local disk by project: a resident's image
    (inspection and problem photos, a power of attorney) or a staff member's (a paper ballot's
    form, a plan's drawing, a progress photo; a manager's plan document as a PDF)."""

    __tablename__ = "uploads"
    __table_args__ = (
        CheckConstraint(
            "(uploader_id IS NULL) <> (staff_uploader_id IS NULL)", name="one_uploader"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    staff_uploader_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    path: Mapped[str] = mapped_column(String(200), unique=True)  # relative to UPLOAD_DIR
    content_type: Mapped[str] = mapped_column(String(30))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
