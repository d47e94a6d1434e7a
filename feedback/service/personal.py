"""What feedback holds about a resident: what `GET /me/export` shows of it (`export`) and what
erasing the resident does to it (`erase`, registered with
`participation.service.erasure.register_eraser`).

Comments stay, without their author; live sign-ups (pending or accepted) are withdrawn.
Inspections, tickets, ratings (the household's), the acceptance record and the photos are the
project's record and stay, pointing at a resident row that no longer names anyone. `SOURCES`
names the columns pointing at the resident that each section is read from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from api.core import db, utcnow
from feedback.models import (
    AcceptanceRepresentative,
    Comment,
    CommentDecision,
    CommentLike,
    CommentReport,
    Inspection,
    Rating,
    SupervisorSignup,
    Ticket,
    TicketEvent,
    Upload,
)
from feedback.models.acceptance import Acceptance
from feedback.models.estate_rules import EstateRules, RulesComment
from feedback.models.ratings import DIMENSIONS
from feedback.models.supervision import LIVE_STATUSES as SIGNUP_LIVE_STATUSES
from feedback.models.tickets import inspection_photos, ticket_photos

SOURCES = {
    "comments": ("comments.author_id",),
    "comment_likes": ("comment_likes.resident_id",),
    "comment_reports": ("comment_reports.resident_id",),
    "supervisor_signups": ("supervisor_signups.resident_id",),
    "inspections": ("inspections.resident_id",),
    "tickets": ("tickets.reporter_id", "ticket_events.resident_id"),
    "ratings": ("ratings.resident_id",),
    "acceptances": ("acceptance_representatives.resident_id",),
    "uploads": ("uploads.uploader_id",),
    "rules_comments": ("rules_comments.author_id",),
}

AUTHOR_ERASED_REVIEW = "作者已注销账号，无法再送微信内容安全检测，转人工审核"


def _photos(table, key, ids) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    if ids:
        column = table.c[key]
        for owner_id, upload_id in db.session.execute(
            select(column, table.c.upload_id).where(column.in_(ids)).order_by(table.c.upload_id)
        ):
            found.setdefault(owner_id, []).append(upload_id)
    return found


def _comments(resident_id: int) -> dict:
    comments = db.session.scalars(
        select(Comment).where(Comment.author_id == resident_id).order_by(Comment.id)
    )
    likes = db.session.scalars(
        select(CommentLike)
        .where(CommentLike.resident_id == resident_id)
        .order_by(CommentLike.comment_id)
    )
    reports = db.session.scalars(
        select(CommentReport)
        .where(CommentReport.resident_id == resident_id)
        .order_by(CommentReport.id)
    )
    return {
        "comments": [
            {
                "id": c.id,
                "project_id": c.project_id,
                "plan_id": c.plan_id,
                "parent_id": c.parent_id,
                "body": c.body,
                "status": c.status,
                "status_reason": c.status_reason,
                "created_at": c.created_at,
            }
            for c in comments
        ],
        "comment_likes": [{"comment_id": x.comment_id, "created_at": x.created_at} for x in likes],
        "comment_reports": [
            {"comment_id": r.comment_id, "reason": r.reason, "created_at": r.created_at}
            for r in reports
        ],
    }


def _rules_comments(resident_id: int) -> list[dict]:
    """Comments on an estate's management rules (小区管理办法), with the committee's answer."""
    rows = db.session.execute(
        select(RulesComment, EstateRules.estate_id, EstateRules.version)
        .join(EstateRules, EstateRules.id == RulesComment.rules_id)
        .where(RulesComment.author_id == resident_id)
        .order_by(RulesComment.id)
    )
    return [
        {
            "id": c.id,
            "rules_id": c.rules_id,
            "estate_id": estate_id,
            "version": version,
            "household_id": c.household_id,
            "body": c.body,
            "status": c.status,
            "reply": c.reply,
            "created_at": c.created_at,
        }
        for c, estate_id, version in rows
    ]


def _supervision(resident_id: int) -> dict:
    signups = db.session.scalars(
        select(SupervisorSignup)
        .where(SupervisorSignup.resident_id == resident_id)
        .order_by(SupervisorSignup.id)
    )
    inspections = list(
        db.session.scalars(
            select(Inspection).where(Inspection.resident_id == resident_id).order_by(Inspection.id)
        )
    )
    photos = _photos(inspection_photos, "inspection_id", [i.id for i in inspections])
    return {
        "supervisor_signups": [
            {
                "id": s.id,
                "project_id": s.project_id,
                "household_id": s.household_id,
                "trade": s.trade,
                "days_available": s.days_available,
                "note": s.note,
                "status": s.status,
                "reason": s.reason,
                "created_at": s.created_at,
                "reviewed_at": s.reviewed_at,
                "withdrawn_at": s.withdrawn_at,
            }
            for s in signups
        ],
        "inspections": [
            {
                "id": i.id,
                "project_id": i.project_id,
                "signup_id": i.signup_id,
                "aspects": i.aspects,
                "findings": i.findings,
                "severity": i.severity,
                "location": i.location,
                "photo_upload_ids": photos.get(i.id, []),
                "created_at": i.created_at,
            }
            for i in inspections
        ],
    }


def _tickets(resident_id: int) -> list[dict]:
    """The tickets the resident reported, or acted on, each with its whole history: their own
    steps and the answers they were given (who answered is not theirs to know: no staff id)."""
    acted_on = select(TicketEvent.ticket_id).where(TicketEvent.resident_id == resident_id)
    tickets = list(
        db.session.scalars(
            select(Ticket)
            .where(or_(Ticket.reporter_id == resident_id, Ticket.id.in_(acted_on)))
            .order_by(Ticket.id)
        )
    )
    ids = [t.id for t in tickets]
    events: dict[int, list[dict]] = {}
    if ids:
        for e in db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.id)
        ):
            by = "staff" if e.staff_id is not None else "reporter"
            events.setdefault(e.ticket_id, []).append(
                {
                    "kind": e.kind,
                    "by": by,
                    "body": e.body,
                    "late": e.late,
                    "at": e.at,
                }
            )
    photos = _photos(ticket_photos, "ticket_id", ids)
    return [
        {
            "id": t.id,
            "project_id": t.project_id,
            "source": t.source,
            "inspection_id": t.inspection_id,
            "aspects": t.aspects,
            "description": t.description,
            "location": t.location,
            "severity": t.severity,
            "status": t.status,
            "opened_at": t.opened_at,
            "due_at": t.due_at,
            "answered_at": t.answered_at,
            "resolved_at": t.resolved_at,
            "photo_upload_ids": photos.get(t.id, []),
            "events": events.get(t.id, []),
        }
        for t in tickets
    ]


def export(resident_id: int) -> dict:
    """The resident's comments, likes and reports, supervisor sign-ups and inspections,
    tickets with their answers, ratings they gave for their household, their verdicts as a
    residents' representative at an acceptance, and their uploads (what is stored about each
    file, not the file)."""
    ratings = db.session.scalars(
        select(Rating).where(Rating.resident_id == resident_id).order_by(Rating.id)
    )
    representatives = db.session.execute(
        select(AcceptanceRepresentative, Acceptance.project_id, Acceptance.held_on)
        .join(Acceptance, Acceptance.id == AcceptanceRepresentative.acceptance_id)
        .where(AcceptanceRepresentative.resident_id == resident_id)
        .order_by(AcceptanceRepresentative.id)
    )
    uploads = db.session.scalars(
        select(Upload).where(Upload.uploader_id == resident_id).order_by(Upload.id)
    )
    return {
        **_comments(resident_id),
        "rules_comments": _rules_comments(resident_id),
        **_supervision(resident_id),
        "tickets": _tickets(resident_id),
        "ratings": [
            {
                "project_id": r.project_id,
                "household_id": r.household_id,
                **{d: getattr(r, d) for d in DIMENSIONS},
                "comment": r.comment,
                "revision": r.revision,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
            for r in ratings
        ],
        "acceptances": [
            {
                "project_id": project_id,
                "held_on": held_on,
                "household_id": rep.household_id,
                "verdict": rep.verdict,
                "remarks": rep.remarks,
            }
            for rep, project_id, held_on in representatives
        ],
        "uploads": [
            {
                "id": u.id,
                "project_id": u.project_id,
                "content_type": u.content_type,
                "size": u.size,
                "sha256": u.sha256,
                "created_at": u.created_at,
            }
            for u in uploads
        ],
    }


def erase(resident_id: int, now: datetime | None = None) -> None:
    """Feedback's part of an erasure: the resident's comments lose their author (shown as
    `已注销用户`); a comment still waiting for WeChat's check goes to the committee's review
    instead, since WeChat checks a text only with its author's openid; live sign-ups are
    withdrawn, as the resident could have done: a pending one so that the committee does not
    accept a supervisor who is gone, an accepted one so that the place they held within the
    project's cap is free for another (their review and inspections stay on record)."""
    now = now or utcnow()
    waiting = db.session.scalars(
        select(Comment)
        .where(Comment.author_id == resident_id, Comment.status == "pending_check")
        .with_for_update()
    ).all()
    for comment in waiting:
        db.session.add(
            CommentDecision(
                comment_id=comment.id,
                action="checked",
                from_status=comment.status,
                to_status="pending_review",
                reason=AUTHOR_ERASED_REVIEW,
                at=now,
            )
        )
        comment.status = "pending_review"
        comment.updated_at = now
    db.session.flush()
    db.session.execute(
        update(Comment)
        .where(Comment.author_id == resident_id)
        .values(author_id=None)
        .execution_options(synchronize_session="fetch")
    )
    # Comments on an estate's rules likewise (they have no decision log: the status is enough).
    db.session.execute(
        update(RulesComment)
        .where(RulesComment.author_id == resident_id, RulesComment.status == "pending_check")
        .values(status="pending_review", status_reason=AUTHOR_ERASED_REVIEW)
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(
        update(RulesComment)
        .where(RulesComment.author_id == resident_id)
        .values(author_id=None)
        .execution_options(synchronize_session="fetch")
    )
    db.session.execute(
        update(SupervisorSignup)
        .where(
            SupervisorSignup.resident_id == resident_id,
            SupervisorSignup.status.in_(SIGNUP_LIVE_STATUSES),
        )
        .values(status="withdrawn", withdrawn_at=now)
        .execution_options(synchronize_session="fetch")
    )
