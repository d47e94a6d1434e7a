"""Residents' comments on a project or a plan version (评论), their reports, likes and moderation.

Every comment passes WeChat's content check (`msg_sec_check`) before anyone else sees it:

    pass                 → visible
    review               → pending_review   (a clerk decides)
    risky                → refused at once, nothing stored
    WeChat unreachable   → pending_check    (kept, not shown; re-checked by a job)
    re-check: pass → visible, review → pending_review, risky → refused (kept for the record)

Three residents' reports hide a visible comment (`reported`) until a clerk decides; a clerk
hides or restores with a reason. Every change of status is a `CommentDecision` (append-only).
The committee or the project's owner may answer a comment officially (`CommentReply`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, choice_check, db, labels, utcnow
from participation.models import Resident

COMMENT_STATUSES = tuple(labels.COMMENT_STATUSES)
REPLIER_ROLES = tuple(labels.REPLIER_ROLES)
DECISION_ACTIONS = ("checked", "reported", "hide", "restore")
REPORTS_TO_HIDE = 3


class Comment(db.Model):
    """A resident's comment (评论) on a project or on one plan version, or a reply to one."""

    __tablename__ = "comments"
    __table_args__ = (
        choice_check("status", COMMENT_STATUSES),
        Index("ix_comments_project_plan_status", "project_id", "plan_id", "status"),
        Index("ix_comments_status_checked", "status", "checked_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))  # None: on the project
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    # None once the author's personal data is erased (`feedback.service.personal.erase`).
    author_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    check_attempts: Mapped[int] = mapped_column(Integer, default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last WeChat attempt
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a clerk's last decision
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Resident | None] = relationship()


class CommentReport(db.Model):
    """A resident's report (举报) of a comment: one per resident and comment."""

    __tablename__ = "comment_reports"
    __table_args__ = (UniqueConstraint("comment_id", "resident_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentLike(db.Model):
    """A resident's like (点赞): at most one per resident and comment."""

    __tablename__ = "comment_likes"
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentDecision(db.Model):
    """A change of a comment's status and why: WeChat's check, reports, or a clerk."""

    __tablename__ = "comment_decisions"
    __table_args__ = (choice_check("action", DECISION_ACTIONS),)
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentReply(db.Model):
    """An official reply (官方回复) to a resident's comment, by the committee of the project's
    communities or its owner: shown under the comment with the role, never the staff member's
    name. Append-only."""

    __tablename__ = "comment_replies"
    __table_args__ = (choice_check("role", REPLIER_ROLES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    role: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(CommentReply, "before_update")
@event.listens_for(CommentReply, "before_delete")
@event.listens_for(CommentDecision, "before_update")
@event.listens_for(CommentDecision, "before_delete")
def _decisions_are_history(mapper, connection, target):
    raise RuntimeError("comment decisions and official replies are append-only")
