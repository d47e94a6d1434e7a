"""Inspection reports and the ticket flow: open → answered → resolved, or reopened and
answered again, every step a `TicketEvent`. Functions flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from api.core import LOCAL, Conflict, Forbidden, db, emit, utcnow
from feedback.models.tickets import (
    AWAITING_ANSWER,
    Inspection,
    Ticket,
    TicketEvent,
    add_working_days,
)
from feedback.policy import require_reporter
from feedback.queries import accepted_signup
from feedback.service import uploads
from feedback.service.warranty import ticket_phase
from participation.models import Project, Resident, Staff

# Supervisors inspect while the works are on; residents report problems then and after them,
# once accepted until the warranty period ends (`feedback.service.warranty`).
INSPECTION_STATUSES = ("construction",)
PROBLEM_STATUSES = ("construction", "completed", "accepted")


class TicketStateConflict(Conflict):
    code = "ticket_state"
    message = "工单当前状态不允许此操作"


def file_inspection(project: Project, resident: Resident, args: dict) -> Inspection:
    """An accepted supervisor's report; one with a problem (severity not `none`) opens a ticket.

    Refuses anyone else (403 `not_supervisor`) and a project not under construction (409).
    """
    signup = accepted_signup(project.id, resident.id)
    if signup is None:
        raise Forbidden("只有本项目已确认的监督员可以提交检查记录", code="not_supervisor")
    if project.status not in INSPECTION_STATUSES:
        raise Conflict(
            "项目不在施工阶段，不能提交检查记录",
            code="project_not_under_construction",
            details={"status": project.status},
        )
    photos = uploads.attachable(project, resident, args.get("photo_ids") or [])
    now = utcnow()
    inspection = Inspection(
        project_id=project.id,
        signup_id=signup.id,
        resident_id=resident.id,
        aspects=args["aspects"],
        findings=args["findings"],
        severity=args["severity"],
        location=args.get("location"),
        created_at=now,
        photos=photos,
    )
    db.session.add(inspection)
    db.session.flush()
    if inspection.has_problem:
        _open_ticket(
            project,
            resident,
            source="inspection",
            inspection_id=inspection.id,
            aspects=args["aspects"],
            description=args["findings"],
            location=args.get("location"),
            severity=args["severity"],
            photos=photos,
            now=now,
        )
        db.session.expire(inspection, ["ticket"])
    return inspection


def report_problem(
    project: Project, resident: Resident, args: dict, at: datetime | None = None
) -> Ticket:
    """Any verified resident of a covered estate reports a problem: a ticket on the same flow,
    its answer due 3 working days after `at` (now unless told: the demo's older reports).

    Before the works start: 409 `project_not_started`. After acceptance the ticket is of the
    `warranty` phase, until the warranty ends (on its end date included); after it: 409
    `warranty_expired`. Nothing is written when refused.
    """
    if project.status not in PROBLEM_STATUSES:
        raise Conflict(
            "项目尚未开工，暂不受理问题反映",
            code="project_not_started",
            details={"status": project.status},
        )
    now = at or utcnow()
    phase = ticket_phase(project, now.astimezone(LOCAL).date())
    photos = uploads.attachable(project, resident, args.get("photo_ids") or [])
    return _open_ticket(
        project,
        resident,
        source="resident",
        inspection_id=None,
        aspects=args["aspects"],
        description=args["description"],
        location=args.get("location"),
        severity=args["severity"],
        photos=photos,
        now=now,
        phase=phase,
    )


def _open_ticket(
    project, resident, *, source, photos, now, phase="construction", **fields
) -> Ticket:
    due = add_working_days(now)
    ticket = Ticket(
        project_id=project.id,
        source=source,
        reporter_id=resident.id,
        status="open",
        phase=phase,
        due_at=due,
        opened_at=now,
        updated_at=now,
        reopen_count=0,
        photos=list(photos),
        **fields,
    )
    db.session.add(ticket)
    db.session.flush()
    _event(ticket, "opened", now, resident_id=resident.id, due_at=due)
    return ticket


def _event(ticket: Ticket, kind: str, now: datetime, **fields) -> TicketEvent:
    step = TicketEvent(ticket_id=ticket.id, kind=kind, at=now, **fields)
    db.session.add(step)
    db.session.flush()
    db.session.expire(ticket, ["events"])
    return step


def lock(ticket_id: int) -> Ticket | None:
    """The ticket locked for a change of state (two answers cannot cross)."""
    return db.session.scalar(
        select(Ticket)
        .where(Ticket.id == ticket_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def answer(ticket: Ticket, staff: Staff, text: str, photo_ids: list[int] = ()) -> Ticket:
    """The owner answers an open or reopened ticket, with photos if any; an answer after the
    due time is marked late.

    The photos are the staff member's own images of this project, none used as evidence of
    anything (a paper ballot's form): 422 `upload_invalid` or `upload_in_use`, with the ids
    under `details.photo_ids`. The reporter may fetch them (`policy.sees_upload`).
    """
    ticket = lock(ticket.id)
    if ticket.status not in AWAITING_ANSWER:
        raise TicketStateConflict("该工单不在待答复状态", details={"status": ticket.status})
    photos = uploads.publishable(
        db.session.get(Project, ticket.project_id),
        staff,
        list(photo_ids),
        field="photo_ids",
        message="照片须是您为本项目上传的图片",
    )
    now = utcnow()
    late = now > ticket.due_at
    ticket.status = "answered"
    ticket.answered_at = now
    ticket.updated_at = now
    step = _event(ticket, "answered", now, staff_id=staff.id, body=text, late=late, photos=photos)
    db.session.flush()
    # Notices tells the reporter; the payload is all it needs (api.core.events).
    emit(
        "ticket_answered",
        ticket_id=ticket.id,
        answer_id=step.id,
        project_id=ticket.project_id,
        reporter_id=ticket.reporter_id,
        description=ticket.description,
    )
    return ticket


def confirm(ticket: Ticket, resident: Resident, remarks: str | None) -> Ticket:
    """The reporter accepts the answer: the ticket is resolved (for good)."""
    require_reporter(ticket, resident)
    ticket = lock(ticket.id)
    if ticket.status != "answered":
        raise TicketStateConflict("工单答复后才能确认解决", details={"status": ticket.status})
    now = utcnow()
    ticket.status = "resolved"
    ticket.resolved_at = now
    ticket.updated_at = now
    _event(ticket, "resolved", now, resident_id=resident.id, body=remarks)
    return ticket


def reopen(ticket: Ticket, resident: Resident, reason: str) -> Ticket:
    """The reporter is not satisfied with the answer: the ticket waits for a new one, due in
    another 3 working days."""
    require_reporter(ticket, resident)
    ticket = lock(ticket.id)
    if ticket.status != "answered":
        raise TicketStateConflict("只有已答复的工单可以重新提出", details={"status": ticket.status})
    now = utcnow()
    ticket.status = "reopened"
    ticket.due_at = add_working_days(now)
    ticket.reopen_count += 1
    ticket.updated_at = now
    _event(ticket, "reopened", now, resident_id=resident.id, body=reason, due_at=ticket.due_at)
    return ticket
