"""The joint completion acceptance (竣工联合验收) with residents' representatives.

One record per project: the date, the verdict and remarks of the design, construction and
supervision companies, the residents' representatives with theirs, and the completion
satisfaction as it stood when it was recorded (see `feedback.service.acceptance`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, choice_check, db, labels, utcnow
from feedback.models.uploads import Upload
from participation.models import Resident

PARTY_ROLES = tuple(labels.PARTY_ROLES)
VERDICTS = tuple(labels.VERDICTS)


class Acceptance(db.Model):
    """The record of a project's joint completion acceptance: one per project."""

    __tablename__ = "acceptances"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    held_on: Mapped[date] = mapped_column(Date)
    remarks: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    # The completion satisfaction when the acceptance was recorded, copied, not referenced.
    completion_satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    completion_means: Mapped[dict | None] = mapped_column(JSON)
    completion_ratings: Mapped[int] = mapped_column(Integer, default=0)
    completion_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parties: Mapped[list[AcceptanceParty]] = relationship(
        cascade="all, delete-orphan", order_by="AcceptanceParty.id"
    )
    representatives: Mapped[list[AcceptanceRepresentative]] = relationship(
        cascade="all, delete-orphan", order_by="AcceptanceRepresentative.id"
    )

    @property
    def verdicts(self) -> list[str]:
        return [p.verdict for p in self.parties] + [r.verdict for r in self.representatives]

    @property
    def passed(self) -> bool:
        return "fail" not in self.verdicts


class AcceptanceParty(db.Model):
    """A company taking part in the acceptance, and its verdict."""

    __tablename__ = "acceptance_parties"
    __table_args__ = (
        UniqueConstraint("acceptance_id", "role"),
        choice_check("role", PARTY_ROLES),
        choice_check("verdict", VERDICTS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    acceptance_id: Mapped[int] = mapped_column(ForeignKey("acceptances.id"))
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(12))
    remarks: Mapped[str | None] = mapped_column(Text)


class AcceptanceRepresentative(db.Model):
    """A residents' representative (居民代表) at the acceptance, and their verdict."""

    __tablename__ = "acceptance_representatives"
    __table_args__ = (
        UniqueConstraint("acceptance_id", "resident_id"),
        choice_check("verdict", VERDICTS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    acceptance_id: Mapped[int] = mapped_column(ForeignKey("acceptances.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    verdict: Mapped[str] = mapped_column(String(12))
    remarks: Mapped[str | None] = mapped_column(Text)

    resident: Mapped[Resident] = relationship()


class AcceptanceDocument(db.Model):
    """A document of the project's acceptance (验收资料): the signed acceptance form, reports,
    photos; a PDF or an image uploaded by the project's managers, with a title. Attached to the
    project (before or after the record is written) and removable until it is `accepted`; the
    files are staff's, never published to residents."""

    __tablename__ = "acceptance_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    added_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    upload: Mapped[Upload] = relationship()

    @property
    def content_type(self) -> str:
        return self.upload.content_type

    @property
    def size(self) -> int:
        return self.upload.size
