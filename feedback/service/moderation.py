"""The staff's side of residents' comments across their projects: the moderation queue and
official replies (官方回复). Flushes, never commits.

The queue holds what waits for a clerk or was decided by one: comments reported by residents
(hidden by three reports, or still visible with fewer), held by WeChat for review, not yet
checked by WeChat, and hidden. A clerk of the project moderates (`feedback.policy`); the
committee of the project's communities or its owner answers a visible comment officially, as
they answer residents' reasons on their ballots: shown under the comment with the role, never
the staff member's name (the county and the prefecture read, they do not answer).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Select, or_, select

from api.core import Conflict, Forbidden, db, utcnow
from feedback.models.comments import Comment, CommentReply
from participation.models import Project, Staff
from participation.policy import project_community_ids, scope_ids
from participation.queries import staff_projects

# What the queue shows unless a status is asked for (besides any comment with reports).
QUEUE_STATUSES = ("reported", "pending_review", "pending_check", "hidden")


def queue(scope, *, status: str | None = None, project_id: int | None = None) -> Select:
    """A statement for the comments of the projects in `scope` (`participation.policy.
    project_scope`) that need or had a clerk's attention, the latest change first; of one
    status, or of one project, when given."""
    projects = staff_projects(scope).with_only_columns(Project.id).order_by(None)
    statement = select(Comment).where(Comment.project_id.in_(projects))
    if status is not None:
        statement = statement.where(Comment.status == status)
    else:
        statement = statement.where(
            or_(Comment.status.in_(QUEUE_STATUSES), Comment.report_count > 0)
        )
    if project_id is not None:
        statement = statement.where(Comment.project_id == project_id)
    return statement.order_by(Comment.updated_at.desc(), Comment.id.desc())


def replier_role(staff: Staff, project: Project) -> str | None:
    """`committee` for a committee of one of the project's communities, `owner` for the
    project's owner, else None."""
    if project_community_ids(project) & scope_ids(staff, "committee"):
        return "committee"
    if project.id in scope_ids(staff, "owner"):
        return "owner"
    return None


def require_replier(staff: Staff, project: Project) -> str:
    """The role the staff member answers in, or 403 `out_of_scope`."""
    role = replier_role(staff, project)
    if role is None:
        raise Forbidden("只有社区居委会和项目建设单位可以回复居民评论", code="out_of_scope")
    return role


def reply(comment: Comment, staff: Staff, role: str, body: str) -> CommentReply:
    """Answer a visible comment officially (409 `comment_not_visible` for any other: residents
    would not see what it answers)."""
    if comment.status != "visible":
        raise Conflict(
            "只能回复已公开的评论",
            code="comment_not_visible",
            details={"status": comment.status},
        )
    row = CommentReply(
        comment_id=comment.id, staff_id=staff.id, role=role, body=body, created_at=utcnow()
    )
    db.session.add(row)
    db.session.flush()
    return row


def replies_of(comment_ids: list[int]) -> dict[int, list[CommentReply]]:
    """The official replies of these comments, oldest first (one statement, none for none)."""
    found: dict[int, list[CommentReply]] = defaultdict(list)
    if not comment_ids:
        return found
    rows = db.session.scalars(
        select(CommentReply)
        .where(CommentReply.comment_id.in_(comment_ids))
        .order_by(CommentReply.id)
    )
    for row in rows:
        found[row.comment_id].append(row)
    return found
