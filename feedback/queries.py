"""Reads of the feedback domain: the statements the routes page through, and the lookups the
services, the policy and the jobs share. Nothing here writes."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from api.core import db, utcnow
from feedback.models import (
    Acceptance,
    Comment,
    CommentLike,
    CompletionTally,
    Inspection,
    PlanAttachment,
    ProgressUpdate,
    Rating,
    SupervisorSignup,
    Ticket,
)
from feedback.models.progress import progress_update_photos
from feedback.models.ratings import DIMENSIONS
from feedback.models.supervision import LIVE_STATUSES
from feedback.models.tickets import AWAITING_ANSWER, TicketEvent, ticket_event_photos
from participation.models import Household, HouseholdClaim, Plan, Project, Resident

# --- supervisors ------------------------------------------------------------------------------


def live_signup(project_id: int, resident_id: int) -> SupervisorSignup | None:
    """The resident's pending or accepted sign-up on the project (at most one)."""
    return db.session.scalar(
        select(SupervisorSignup).where(
            SupervisorSignup.project_id == project_id,
            SupervisorSignup.resident_id == resident_id,
            SupervisorSignup.status.in_(LIVE_STATUSES),
        )
    )


def accepted_signup(project_id: int, resident_id: int) -> SupervisorSignup | None:
    """The resident's accepted sign-up on the project: what makes them a supervisor."""
    return db.session.scalar(
        select(SupervisorSignup).where(
            SupervisorSignup.project_id == project_id,
            SupervisorSignup.resident_id == resident_id,
            SupervisorSignup.status == "accepted",
        )
    )


def accepted_count(project_id: int) -> int:
    """How many supervisors the project has accepted."""
    return db.session.scalar(
        select(func.count()).where(
            SupervisorSignup.project_id == project_id, SupervisorSignup.status == "accepted"
        )
    )


def resident_signups(resident: Resident):
    """A statement for the resident's own sign-ups across projects, newest first."""
    return (
        select(SupervisorSignup)
        .where(SupervisorSignup.resident_id == resident.id)
        .options(selectinload(SupervisorSignup.project))
        .order_by(SupervisorSignup.created_at.desc(), SupervisorSignup.id.desc())
    )


# A resident's sign-ups as their home screen lists them, with each project in the same statement.
_HOME_SIGNUPS = (
    select(SupervisorSignup)
    .join(SupervisorSignup.project)
    .options(contains_eager(SupervisorSignup.project))
    .where(
        SupervisorSignup.resident_id == bindparam("resident_id"),
        SupervisorSignup.status != "withdrawn",
    )
    .order_by(SupervisorSignup.created_at.desc(), SupervisorSignup.id.desc())
)


def home_signups(resident_id: int) -> list[SupervisorSignup]:
    """The resident's sign-ups but those they withdrew (pending, accepted, declined with the
    reason), newest first, each with its project loaded: one statement."""
    return list(db.session.scalars(_HOME_SIGNUPS, {"resident_id": resident_id}))


def roster(project: Project, *, everyone: bool, status: str | None = None):
    """A statement for the project's sign-ups: the accepted roster, or every sign-up (staff),
    optionally of one status."""
    statement = select(SupervisorSignup).where(SupervisorSignup.project_id == project.id)
    if not everyone:
        statement = statement.where(SupervisorSignup.status == "accepted")
    elif status:
        statement = statement.where(SupervisorSignup.status == status)
    return statement.order_by(SupervisorSignup.id)


# --- inspections and tickets ------------------------------------------------------------------


def inspections_of(project: Project, supervisor: Resident | None):
    """A statement for the project's inspection reports, newest first: all of them, or one
    supervisor's."""
    statement = select(Inspection).where(Inspection.project_id == project.id)
    if supervisor is not None:
        statement = statement.where(Inspection.resident_id == supervisor.id)
    return statement.order_by(Inspection.id.desc())


def tickets_of(
    project: Project,
    reporter: Resident | None,
    *,
    status: str | None = None,
    overdue: bool | None = None,
    phase: str | None = None,
):
    """A statement for the project's tickets, newest first: all of them, or one reporter's;
    optionally of one status, of one phase (construction, warranty), and overdue or not
    (waiting for an answer past the due time)."""
    statement = select(Ticket).where(Ticket.project_id == project.id)
    if reporter is not None:
        statement = statement.where(Ticket.reporter_id == reporter.id)
    if status:
        statement = statement.where(Ticket.status == status)
    if phase:
        statement = statement.where(Ticket.phase == phase)
    if overdue is not None:
        waiting = Ticket.status.in_(AWAITING_ANSWER) & (Ticket.due_at < utcnow())
        statement = statement.where(waiting if overdue else ~waiting)
    return statement.order_by(Ticket.id.desc())


class OpenTicket(NamedTuple):
    """A ticket of the resident's still open, with its project's name (`open_tickets`)."""

    ticket: Ticket
    project_name: str


_OPEN_TICKETS = (
    select(Ticket, Project.name)
    .join(Project, Project.id == Ticket.project_id)
    .where(Ticket.reporter_id == bindparam("reporter_id"), Ticket.status != "resolved")
    .order_by(Ticket.id.desc())
)


def open_tickets(resident_id: int) -> list[OpenTicket]:
    """The tickets the resident reported that are not resolved yet (open, answered and waiting
    for their confirmation, or reopened), newest first: one statement."""
    return [
        OpenTicket(*row) for row in db.session.execute(_OPEN_TICKETS, {"reporter_id": resident_id})
    ]


# --- what is published: plan attachments and progress updates ---------------------------------


def plan_attachments(plan_ids: list[int]) -> dict[int, list[PlanAttachment]]:
    """plan id -> its attachments in their order, each with its upload: one statement (none
    for no plan)."""
    found: dict[int, list[PlanAttachment]] = {plan_id: [] for plan_id in plan_ids}
    if not plan_ids:
        return found
    rows = db.session.scalars(
        select(PlanAttachment)
        .join(PlanAttachment.upload)
        .options(contains_eager(PlanAttachment.upload))
        .where(PlanAttachment.plan_id.in_(plan_ids))
        .order_by(PlanAttachment.plan_id, PlanAttachment.position)
    )
    for attachment in rows:
        found[attachment.plan_id].append(attachment)
    return found


def published(upload_id: int) -> bool:
    """The upload is a plan's attachment or a progress update's photo: the project's residents
    may fetch it."""
    attached = select(PlanAttachment.id).where(PlanAttachment.upload_id == upload_id)
    shown = select(progress_update_photos.c.upload_id).where(
        progress_update_photos.c.upload_id == upload_id
    )
    return db.session.scalar(select(attached.exists() | shown.exists())) or False


def answers_reporter(upload_id: int, resident_id: int) -> bool:
    """The upload is a photo of an answer to a ticket the resident reported."""
    return (
        db.session.scalar(
            select(
                select(ticket_event_photos.c.upload_id)
                .join(TicketEvent, TicketEvent.id == ticket_event_photos.c.ticket_event_id)
                .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                .where(
                    ticket_event_photos.c.upload_id == upload_id,
                    Ticket.reporter_id == resident_id,
                )
                .exists()
            )
        )
        or False
    )


def progress_of(project: Project):
    """A statement for the project's progress updates, newest first, with their photos."""
    return (
        select(ProgressUpdate)
        .where(ProgressUpdate.project_id == project.id)
        .options(selectinload(ProgressUpdate.photos))
        .order_by(ProgressUpdate.created_at.desc(), ProgressUpdate.id.desc())
    )


def progress_counts(project_id: int) -> list[tuple[ProgressUpdate, int]]:
    """Every progress update of the project with its number of photos, oldest first: one
    statement (the timeline's)."""
    photos = func.count(progress_update_photos.c.upload_id)
    return [
        (update, count)
        for update, count in db.session.execute(
            select(ProgressUpdate, photos)
            .outerjoin(
                progress_update_photos,
                progress_update_photos.c.progress_update_id == ProgressUpdate.id,
            )
            .where(ProgressUpdate.project_id == project_id)
            .group_by(ProgressUpdate.id)
            .order_by(ProgressUpdate.created_at, ProgressUpdate.id)
        )
    ]


# --- ratings and the completion satisfaction --------------------------------------------------


def household_rating(project: Project, household_id: int) -> Rating | None:
    """The household's rating of the project, if it rated."""
    return db.session.scalar(
        select(Rating).where(Rating.project_id == project.id, Rating.household_id == household_id)
    )


def ratings_of(project: Project, *, commented: bool | None = None):
    """A statement for the project's ratings, the latest first (`commented`: only those with a
    comment, or only those without)."""
    statement = select(Rating).where(Rating.project_id == project.id)
    if commented is not None:
        has_comment = (Rating.comment.is_not(None)) & (Rating.comment != "")
        statement = statement.where(has_comment if commented else ~has_comment)
    return statement.order_by(Rating.updated_at.desc(), Rating.id.desc())


def score_distribution(project: Project) -> dict[str, list[int]]:
    """How many households gave each score 1–5, per dimension (`DIMENSIONS`): one statement."""
    columns = [
        func.count().filter(getattr(Rating, dimension) == score)
        for dimension in DIMENSIONS
        for score in range(1, 6)
    ]
    row = db.session.execute(select(*columns).where(Rating.project_id == project.id)).one()
    return {
        dimension: [int(row[i * 5 + k] or 0) for k in range(5)]
        for i, dimension in enumerate(DIMENSIONS)
    }


def stale_project_ids() -> list[int]:
    """Projects whose ratings changed since their last count (or were never counted)."""
    sums = (
        select(Rating.project_id, func.sum(Rating.revision).label("changes"))
        .group_by(Rating.project_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(sums.c.project_id)
            .outerjoin(CompletionTally, CompletionTally.project_id == sums.c.project_id)
            .where(
                or_(
                    CompletionTally.project_id.is_(None),
                    CompletionTally.changes_seen != sums.c.changes,
                )
            )
            .order_by(sums.c.project_id)
        )
    )


# --- acceptance -------------------------------------------------------------------------------


def acceptance_of(project: Project) -> Acceptance | None:
    """The project's acceptance record, if one was recorded."""
    return db.session.scalar(select(Acceptance).where(Acceptance.project_id == project.id))


def representative_households(project: Project, resident_ids: list[int]) -> dict[int, int]:
    """resident id -> a covered household they are a verified member of (lowest id); residents
    of no covered household are missing."""
    estate_ids = [e.id for e in project.estates]
    rows = db.session.execute(
        select(HouseholdClaim.resident_id, HouseholdClaim.household_id)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .where(
            HouseholdClaim.resident_id.in_(resident_ids),
            HouseholdClaim.status == "verified",
            Household.estate_id.in_(estate_ids),
        )
        .order_by(HouseholdClaim.household_id)
    ).all()
    found: dict[int, int] = {}
    for resident_id, household_id in rows:
        found.setdefault(resident_id, household_id)
    return found


# --- comments ---------------------------------------------------------------------------------


def waiting_for_check(limit: int = 100) -> list[int]:
    """Comments still waiting for WeChat's check, longest waiting first."""
    return list(
        db.session.scalars(
            select(Comment.id)
            .where(Comment.status == "pending_check")
            .order_by(Comment.checked_at, Comment.id)
            .limit(limit)
        )
    )


def like_count(comment_id: int) -> int:
    """How many residents like the comment."""
    return db.session.scalar(select(func.count()).where(CommentLike.comment_id == comment_id))


def comments_of(
    project: Project, plan: Plan | None, viewer, *, staff: bool, status: str | None = None
):
    """A statement for the comments on the project itself (plan None) or on one plan.

    Residents see visible comments and their own (with their status); staff see every
    comment, optionally of one status.
    """
    statement = select(Comment).where(Comment.project_id == project.id)
    if plan is None:
        statement = statement.where(Comment.plan_id.is_(None))
    else:
        statement = statement.where(Comment.plan_id == plan.id)
    if not staff:
        statement = statement.where(
            or_(Comment.status == "visible", Comment.author_id == viewer.id)
        )
    elif status:
        statement = statement.where(Comment.status == status)
    return statement.order_by(Comment.id)


def with_likes(comments: list[Comment], resident_id: int | None) -> list[Comment]:
    """Set `likes` and `liked` (by `resident_id`) on each comment, in two queries."""
    ids = [c.id for c in comments]
    counts = dict(
        db.session.execute(
            select(CommentLike.comment_id, func.count())
            .where(CommentLike.comment_id.in_(ids))
            .group_by(CommentLike.comment_id)
        ).all()
    )
    mine = set()
    if resident_id is not None and ids:
        mine = set(
            db.session.scalars(
                select(CommentLike.comment_id).where(
                    CommentLike.comment_id.in_(ids), CommentLike.resident_id == resident_id
                )
            )
        )
    for comment in comments:
        comment.likes = counts.get(comment.id, 0)
        comment.liked = comment.id in mine
    return comments
