"""Residents who supervise construction (居民监督员): their sign-ups.

A verified resident of an estate the project covers signs up with what they can offer; the
committee of a covered community (or its county, or the prefecture) accepts up to the
project's `supervisor_cap`, or declines with a reason; the resident may withdraw. Only an
accepted supervisor files inspection reports (see `feedback.models.tickets`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, choice_check, db, labels, utcnow
from participation.models import Project, Resident

SIGNUP_STATUSES = tuple(labels.SIGNUP_STATUSES)
LIVE_STATUSES = ("pending", "accepted")
WEEKDAYS = tuple(labels.WEEKDAYS)
# Residents sign up before and during the works, not after them.
SIGNUP_PROJECT_STATUSES = ("reserve", "annual_plan", "consulting", "approved", "construction")


class SupervisorSignup(db.Model):
    """A resident's offer to supervise a project's construction (监督员报名).

    One live (pending or accepted) sign-up per resident and project, enforced by a partial
    unique index; a declined or withdrawn one may be followed by a new one.
    """

    __tablename__ = "supervisor_signups"
    __table_args__ = (
        choice_check("status", SIGNUP_STATUSES),
        Index("ix_supervisor_signups_project_status", "project_id", "status"),
        Index(
            "uq_supervisor_signups_live",
            "project_id",
            "resident_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'accepted')"),
            sqlite_where=text("status IN ('pending', 'accepted')"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    trade: Mapped[str | None] = mapped_column(String(50))
    days_available: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    resident: Mapped[Resident] = relationship()
    project: Mapped[Project] = relationship(viewonly=True)
