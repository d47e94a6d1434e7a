"""Supervisor sign-ups (监督员报名): the resident signs up or withdraws, a clerk accepts or
declines. Functions flush, never commit."""

from __future__ import annotations

from sqlalchemy import select

from api.core import Conflict, Forbidden, db, emit, utcnow
from feedback.models.supervision import (
    LIVE_STATUSES,
    SIGNUP_PROJECT_STATUSES,
    WEEKDAYS,
    SupervisorSignup,
)
from feedback.policy import acting_household
from feedback.queries import accepted_count, live_signup
from participation.models import Project, Resident, Staff


class SupervisorCapReached(Conflict):
    code = "supervisor_cap_reached"
    message = "本项目的监督员名额已满"


class NotPending(Conflict):
    code = "signup_not_pending"
    message = "该报名已处理，不能再次审核"


def sign_up(project: Project, resident: Resident, args: dict) -> SupervisorSignup:
    """A verified resident of a covered estate offers to supervise (pending until reviewed).

    Refuses a second live sign-up (409 `already_signed_up`) and a project whose works are over
    (409 `project_finished`). A resident of several covered households names one.
    """
    household_id = acting_household(
        project,
        resident,
        args.get("household_id"),
        ambiguous="您属于多个住户，请指定以哪一户报名",
    )
    if project.status not in SIGNUP_PROJECT_STATUSES:
        raise Conflict("项目已竣工，不再招募监督员", code="project_finished")
    if live_signup(project.id, resident.id) is not None:
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
    # Notices tells the resident; the payload is all it needs (api.core.events).
    emit(
        "signup_reviewed",
        signup_id=signup.id,
        project_id=signup.project_id,
        resident_id=signup.resident_id,
        status=status,
        reason=reason,
    )


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
