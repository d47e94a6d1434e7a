"""Comments (评论): posting through WeChat's content check, the re-check of those it could not
check, reports, likes and a clerk's moderation; every change of status is a `CommentDecision`.
Functions flush, never commit."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import delete, func, select

from api.core import Conflict, InvalidInput, NotFound, db, dialect_insert, utcnow
from api.wechat import WeChatUnavailable
from feedback.models.comments import (
    REPORTS_TO_HIDE,
    Comment,
    CommentDecision,
    CommentLike,
    CommentReport,
)
from participation.models import Plan, Project, Resident, Staff

log = logging.getLogger(__name__)

STATUS_FOR_VERDICT = {"pass": "visible", "review": "pending_review", "risky": "refused"}
# What a clerk may do from each status. A comment WeChat has not checked yet is shown to no one
# and waits for the check: hiding it would skip the check, restoring it would show unchecked text.
HIDEABLE = ("visible", "reported", "pending_review")
RESTORABLE = ("hidden", "reported", "pending_review")


class ContentRisky(InvalidInput):
    code = "content_risky"
    message = "内容含有不适宜公开的信息，未能发布，请修改后再提交"


def check_text(openid: str, body: str) -> str:
    """WeChat's verdict on a text: "pass", "review" or "risky". Raises `WeChatUnavailable`."""
    return current_app.extensions["wechat"].check_text(openid, body)


def _decide(comment, action, to_status, *, staff=None, reason=None, now=None) -> None:
    now = now or utcnow()
    db.session.add(
        CommentDecision(
            comment_id=comment.id,
            action=action,
            staff_id=staff.id if staff else None,
            from_status=comment.status,
            to_status=to_status,
            reason=reason,
            at=now,
        )
    )
    comment.status = to_status
    comment.updated_at = now


def post(project: Project, plan: Plan | None, resident: Resident, args: dict) -> Comment:
    """Check the text with WeChat, then store the comment with the status the verdict gives.

    Risky content is refused (422 `content_risky`) and nothing is stored. When WeChat cannot
    answer the comment is kept as `pending_check`: not shown, re-checked later (see
    `feedback.jobs.request_recheck`), never lost. A reply names a visible comment of the same
    project or plan (422 `parent_invalid`).
    """
    parent_id = args.get("parent_id")
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if (
            parent is None
            or parent.project_id != project.id
            or parent.plan_id != (plan.id if plan else None)
            or parent.status != "visible"
        ):
            raise InvalidInput(
                "回复的评论不存在或不可见", code="parent_invalid", details={"parent_id": parent_id}
            )
    now = utcnow()
    try:
        verdict = check_text(resident.openid, args["body"])
    except WeChatUnavailable:
        verdict = None
    if verdict == "risky":
        raise ContentRisky()
    comment = Comment(
        project_id=project.id,
        plan_id=plan.id if plan else None,
        parent_id=parent_id,
        author_id=resident.id,
        body=args["body"],
        status="pending_check" if verdict is None else STATUS_FOR_VERDICT[verdict],
        check_attempts=1,
        checked_at=now,
        report_count=0,
        created_at=now,
        updated_at=now,
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def lock(comment_id: int) -> Comment | None:
    """The comment locked for a change of status (a report and a clerk's decision cannot
    cross)."""
    return db.session.scalar(
        select(Comment)
        .where(Comment.id == comment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def recheck(comment_id: int) -> str | None:
    """Ask WeChat again about a comment waiting for its check; its new status.

    Raises `WeChatUnavailable` if WeChat still cannot answer (the job is retried). A comment
    that is no longer waiting is left as it is.
    """
    comment = lock(comment_id)
    if comment is None or comment.status != "pending_check":
        return comment.status if comment else None
    now = utcnow()
    comment.check_attempts += 1
    comment.checked_at = now
    try:
        verdict = check_text(comment.author.openid, comment.body)
    except WeChatUnavailable:
        db.session.flush()
        raise
    reason = "微信内容安全检测未通过" if verdict == "risky" else None
    _decide(comment, "checked", STATUS_FOR_VERDICT[verdict], reason=reason, now=now)
    db.session.flush()
    return comment.status


def _require_visible(comment: Comment) -> None:
    if comment.status != "visible":
        raise NotFound("找不到该评论", code="comment_not_found")


def report(comment: Comment, resident: Resident, reason: str | None) -> Comment:
    """A resident reports a visible comment, once; the third report hides it until a clerk
    decides. Once a clerk has decided, further reports are counted but do not hide it again."""
    _require_visible(comment)
    if comment.author_id == resident.id:
        raise Conflict("不能举报自己的评论", code="own_comment")
    comment = lock(comment.id)
    exists = db.session.scalar(
        select(CommentReport.id).where(
            CommentReport.comment_id == comment.id, CommentReport.resident_id == resident.id
        )
    )
    if exists is not None:
        raise Conflict("您已举报过该评论", code="already_reported")
    now = utcnow()
    db.session.add(
        CommentReport(comment_id=comment.id, resident_id=resident.id, reason=reason, created_at=now)
    )
    db.session.flush()
    comment.report_count = db.session.scalar(
        select(func.count()).where(CommentReport.comment_id == comment.id)
    )
    if (
        comment.report_count >= REPORTS_TO_HIDE
        and comment.status == "visible"
        and comment.reviewed_at is None
    ):
        _decide(comment, "reported", "reported", reason=f"{comment.report_count}人举报", now=now)
    db.session.flush()
    return comment


def like(comment: Comment, resident: Resident) -> None:
    """Like a visible comment; liking twice is one like."""
    _require_visible(comment)
    stmt = dialect_insert(CommentLike).values(
        comment_id=comment.id, resident_id=resident.id, created_at=utcnow()
    )
    db.session.execute(stmt.on_conflict_do_nothing())


def unlike(comment: Comment, resident: Resident) -> None:
    """Take a like back (nothing to take back is fine)."""
    _require_visible(comment)
    db.session.execute(
        delete(CommentLike).where(
            CommentLike.comment_id == comment.id, CommentLike.resident_id == resident.id
        )
    )


def hide(comment: Comment, staff: Staff, reason: str) -> Comment:
    """A clerk hides a comment, with a reason (kept in the decision log)."""
    comment = lock(comment.id)
    if comment.status not in HIDEABLE:
        raise Conflict(
            "该评论当前不能隐藏", code="comment_not_hideable", details={"status": comment.status}
        )
    _moderate(comment, staff, "hide", "hidden", reason)
    return comment


def restore(comment: Comment, staff: Staff, reason: str) -> Comment:
    """A clerk shows a hidden, reported or held-for-review comment again, with a reason.

    A comment WeChat has not checked yet, or has judged risky, cannot be restored (409).
    """
    comment = lock(comment.id)
    if comment.status not in RESTORABLE:
        raise Conflict(
            "该评论当前不能恢复显示",
            code="comment_not_restorable",
            details={"status": comment.status},
        )
    _moderate(comment, staff, "restore", "visible", reason)
    return comment


def _moderate(comment, staff, action, to_status, reason) -> None:
    now = utcnow()
    _decide(comment, action, to_status, staff=staff, reason=reason, now=now)
    comment.status_reason = reason
    comment.reviewed_by_id = staff.id
    comment.reviewed_at = now
    db.session.flush()
