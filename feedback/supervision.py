"""Residents who supervise construction (居民监督员): sign-up, review by the committee, roster.

A verified resident of an estate the project covers signs up with what they can offer; the
committee of a covered community (or its county, or the prefecture) accepts up to the
project's `supervisor_cap`, or declines with a reason; the resident may withdraw. Only an
accepted supervisor files inspection reports (see `feedback.tickets`).

Functions flush, never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, func, select, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import Conflict, Forbidden, InvalidInput, UTCDateTime, db, utcnow
from participation.models import Project, Resident, Staff
from participation.queries import project_household_ids

SIGNUP_STATUSES = ("pending", "accepted", "declined", "withdrawn")
LIVE_STATUSES = ("pending", "accepted")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Residents sign up before and during the works, not after them.
SIGNUP_PROJECT_STATUSES = ("reserve", "annual_plan", "consulting", "approved", "construction")


class SupervisorSignup(db.Model):
    """A resident's offer to supervise a project's construction (监督员报名).

    One live (pending or accepted) sign-up per resident and project, enforced by a partial
    unique index; a declined or withdrawn one may be followed by a new one.
    """

    __tablename__ = "supervisor_signups"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'withdrawn')", name="status_known"
        ),
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


class SupervisorCapReached(Conflict):
    code = "supervisor_cap_reached"
    message = "本项目的监督员名额已满"


class NotPending(Conflict):
    code = "signup_not_pending"
    message = "该报名已处理，不能再次审核"


def _live_signup(project_id: int, resident_id: int) -> SupervisorSignup | None:
    return db.session.scalar(
        select(SupervisorSignup).where(
            SupervisorSignup.project_id == project_id,
            SupervisorSignup.resident_id == resident_id,
            SupervisorSignup.status.in_(LIVE_STATUSES),
        )
    )


def sign_up(project: Project, resident: Resident, args: dict) -> SupervisorSignup:
    """A verified resident of a covered estate offers to supervise (pending until reviewed).

    Refuses a second live sign-up (409 `already_signed_up`) and a project whose works are over
    (409 `project_finished`). A resident of several covered households names one.
    """
    households = project_household_ids(resident, project)
    if not households:
        raise Forbidden("您不是本项目所涉小区的已认证住户", code="not_resident_of_estate")
    household_id = args.get("household_id")
    if household_id is None:
        if len(households) > 1:
            raise InvalidInput(
                "您属于多个住户，请指定以哪一户报名",
                code="household_required",
                details={"households": households},
            )
        household_id = households[0]
    elif household_id not in households:
        raise InvalidInput("您不是该户的已认证住户", code="not_household_member")
    if project.status not in SIGNUP_PROJECT_STATUSES:
        raise Conflict("项目已竣工，不再招募监督员", code="project_finished")
    if _live_signup(project.id, resident.id) is not None:
        raise Conflict("您已报名本项目的监督员", code="already_signed_up")
    signup = SupervisorSignup(
        project_id=project.id,
        resident_id=resident.id,
        household_id=household_id,
        trade=args.get("trade"),
        days_available=sorted(set(args.get("days_available") or []), key=WEEKDAYS.index),
        note=args.get("note"),
        status="pending",
        created_at=utcnow(),
    )
    db.session.add(signup)
    db.session.flush()
    return signup


def lock_project(project_id: int) -> Project:
    """The project row locked FOR UPDATE (PostgreSQL), so that accepts are serialised."""
    return db.session.scalar(
        select(Project)
        .where(Project.id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def accepted_count(project_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(
            SupervisorSignup.project_id == project_id, SupervisorSignup.status == "accepted"
        )
    )


def accept(signup: SupervisorSignup, staff: Staff) -> SupervisorSignup:
    """Accept a pending sign-up, unless the project's cap is reached (409).

    The project row is locked first, so two accepts at the last place are serialised and the
    second sees the first's count: the cap holds under concurrency.
    """
    project = lock_project(signup.project_id)
    db.session.refresh(signup)
    if signup.status != "pending":
        raise NotPending(details={"status": signup.status})
    taken = accepted_count(project.id)
    if taken >= project.supervisor_cap:
        raise SupervisorCapReached(details={"cap": project.supervisor_cap, "accepted": taken})
    _review(signup, staff, "accepted", None)
    return signup


def decline(signup: SupervisorSignup, staff: Staff, reason: str) -> SupervisorSignup:
    """Decline a pending sign-up with a reason the resident sees."""
    lock_project(signup.project_id)
    db.session.refresh(signup)
    if signup.status != "pending":
        raise NotPending(details={"status": signup.status})
    _review(signup, staff, "declined", reason)
    return signup


def _review(signup: SupervisorSignup, staff: Staff, status: str, reason: str | None) -> None:
    signup.status = status
    signup.reason = reason
    signup.reviewed_by_id = staff.id
    signup.reviewed_at = utcnow()
    db.session.flush()


def withdraw(signup: SupervisorSignup, resident: Resident) -> SupervisorSignup:
    """The resident withdraws their own pending or accepted sign-up (frees the place)."""
    if signup.resident_id != resident.id:
        raise Forbidden("只能撤回本人的报名", code="not_your_signup")
    if signup.status not in LIVE_STATUSES:
        raise Conflict("该报名已结束", code="signup_not_live", details={"status": signup.status})
    signup.status = "withdrawn"
    signup.withdrawn_at = utcnow()
    db.session.flush()
    return signup


def accepted_signup(project_id: int, resident_id: int) -> SupervisorSignup | None:
    """The resident's accepted sign-up on the project: what makes them a supervisor."""
    return db.session.scalar(
        select(SupervisorSignup).where(
            SupervisorSignup.project_id == project_id,
            SupervisorSignup.resident_id == resident_id,
            SupervisorSignup.status == "accepted",
        )
    )


def roster(project: Project, *, everyone: bool, status: str | None = None):
    """A statement for the project's sign-ups: the accepted roster, or every sign-up (staff)."""
    statement = select(SupervisorSignup).where(SupervisorSignup.project_id == project.id)
    if not everyone:
        statement = statement.where(SupervisorSignup.status == "accepted")
    elif status:
        statement = statement.where(SupervisorSignup.status == status)
    return statement.order_by(SupervisorSignup.id)
