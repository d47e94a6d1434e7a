"""Writes of projects and plans. Functions flush, never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from api.core import Conflict, InvalidInput, NotFound, db, utcnow
from participation.models import Estate, Staff
from participation.projects import (
    MILESTONES,
    STATUSES,
    FundingLine,
    Milestone,
    Plan,
    PlanItem,
    Project,
    ProjectTransition,
)


def _estates(estate_ids: list[int]) -> list[Estate]:
    ids = sorted(set(estate_ids))
    estates = db.session.scalars(select(Estate).where(Estate.id.in_(ids))).all()
    missing = sorted(set(ids) - {e.id for e in estates})
    if missing:
        raise NotFound("找不到这些小区", code="estate_not_found", details={"estate_ids": missing})
    counties = {e.community.county_id for e in estates}
    if len(counties) > 1:
        raise InvalidInput("一个项目的小区须在同一县市", code="estates_in_several_counties")
    return estates


def milestone_dates(plan_year: int) -> dict[str, date]:
    """The policy's due date of each milestone for a plan year."""
    return {
        kind: date(plan_year + years, month, day)
        for kind, (month, day, years) in MILESTONES.items()
    }


def create_project(args: dict) -> Project:
    """A project in the reserve list, with its milestones due as the policy sets them."""
    estates = _estates(args["estate_ids"])
    project = Project(
        county_id=estates[0].community.county_id,
        name=args["name"],
        description=args.get("description"),
        category=args["category"],
        plan_year=args["plan_year"],
        supervisor_cap=args["supervisor_cap"],
        status="reserve",
        estates=estates,
    )
    project.funding = [FundingLine(**line) for line in args["funding"]]
    project.milestones = [
        Milestone(kind=kind, due_on=due) for kind, due in milestone_dates(args["plan_year"]).items()
    ]
    db.session.add(project)
    db.session.flush()
    return project


def update_project(project: Project, args: dict) -> Project:
    for name in ("name", "description", "category", "supervisor_cap"):
        if name in args:
            setattr(project, name, args[name])
    if "funding" in args:
        project.funding = [FundingLine(**line) for line in args["funding"]]
    for kind, done_on in args.get("milestones", {}).items():
        milestone = next(m for m in project.milestones if m.kind == kind)
        milestone.done_on = done_on
    db.session.flush()
    return project


def create_plan(project: Project, staff: Staff, args: dict) -> Plan:
    """The next numbered version of the project's plan; earlier versions stay as they were."""
    if project.status not in ("reserve", "annual_plan", "consulting"):
        raise Conflict("项目已过方案阶段，不能再提交新方案", code="project_past_planning")
    latest = db.session.scalar(select(func.max(Plan.version)).where(Plan.project_id == project.id))
    plan = Plan(
        project_id=project.id,
        version=(latest or 0) + 1,
        summary=args.get("summary"),
        created_by_id=staff.id,
        items=[PlanItem(position=i, **item) for i, item in enumerate(args["items"], start=1)],
    )
    db.session.add(plan)
    db.session.flush()
    db.session.expire(project, ["plans"])
    return plan


def transition(project: Project, staff: Staff, to: str, checks=None) -> Project:
    """Move the project one step along its lifecycle.

    `checks` maps a target status to a function `check(project)` that raises to refuse the
    move: the other domains own those rules (voting the satisfaction gate before
    `construction`, feedback the acceptance record before `accepted`).
    """
    current = STATUSES.index(project.status)
    target = STATUSES.index(to)
    if target != current + 1:
        raise Conflict(
            f"项目当前状态为{project.status}，不能直接转为{to}",
            code="invalid_transition",
            details={"from": project.status, "to": to, "next": STATUSES[current + 1 : current + 2]},
        )
    check = (checks or {}).get(to)
    if check is not None:
        check(project)
    db.session.add(
        ProjectTransition(
            project_id=project.id,
            from_status=project.status,
            to_status=to,
            staff_id=staff.id,
            at=utcnow(),
        )
    )
    project.status = to
    db.session.flush()
    return project
