"""Completion ratings (竣工评价) and the count of them (the completion satisfaction).

Each household rates a finished project once, 1–5 per dimension; until the rating window closes
a household's new rating replaces its old one (`revision` + 1). The completion satisfaction is
derived from the ratings by the completion job (`feedback.jobs`), never counted by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, db, labels, utcnow

RATING_WINDOW = timedelta(days=30)
DIMENSIONS = tuple(labels.RATING_DIMENSIONS)
RATED_STATUSES = ("completed", "accepted")
SATISFIED_FROM = 4  # an overall score of 4 or 5 counts as satisfied


class Rating(db.Model):
    """A household's rating of a completed project (竣工满意度评价): one per household."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("project_id", "household_id"),
        *(CheckConstraint(f"{d} BETWEEN 1 AND 5", name=f"{d}_in_range") for d in DIMENSIONS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))  # who rated last
    quality: Mapped[int] = mapped_column(Integer)
    environment: Mapped[int] = mapped_column(Integer)
    facilities: Mapped[int] = mapped_column(Integer)
    site_management: Mapped[int] = mapped_column(Integer)
    overall: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CompletionTally(db.Model):
    """The latest count of a project's ratings, written by the completion job.

    `changes_seen` is the sum of rating revisions the count saw: when the ratings' sum is
    larger, the figure is stale and the reconciler recomputes it.
    """

    __tablename__ = "completion_tallies"
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    changes_seen: Mapped[int] = mapped_column(Integer, default=0)
    ratings: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    runs: Mapped[int] = mapped_column(Integer, default=0)
