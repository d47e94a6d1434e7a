"""Writes of projects and plans. Functions flush, never commit."""

from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import func, select

from api.core import Conflict, InvalidInput, NotFound, db, labels, provided, utcnow
from participation.models import (
    MILESTONES,
    STATUSES,
    ContributionScheme,
    Estate,
    FundingLine,
    Milestone,
    Plan,
    PlanItem,
    Project,
    ProjectExpense,
    ProjectTransition,
    Staff,
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
        warranty_years=args.get("warranty_years", 2),
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
    """Change what `args` names. A new `warranty_years` of an accepted project moves its
    warranty end, from the same acceptance date (the feedback domain's, provided as
    `warranty_ends_on`)."""
    for name in ("name", "description", "category", "supervisor_cap", "warranty_years"):
        if name in args:
            setattr(project, name, args[name])
    if "warranty_years" in args and project.status == "accepted":
        project.warranty_ends_on = provided("warranty_ends_on")(project)
    if "funding" in args:
        project.funding = _funding_lines(project, args["funding"])
    for kind, done_on in args.get("milestones", {}).items():
        milestone = next(m for m in project.milestones if m.kind == kind)
        milestone.done_on = done_on
    db.session.flush()
    return project


def _funding_lines(project: Project, lines: list[dict]) -> list[FundingLine]:
    """The project's funding lines as `lines` give them: a line with an `id` is that existing
    line of the project, changed in place (a contribution scheme or an expense may name it);
    one without is new; an existing line not named is removed, unless a contribution scheme or
    an expense names it (409 `funding_line_in_use`). An id that is not one of the project's
    lines is 422 `funding_line_unknown`."""
    existing = {line.id: line for line in project.funding}
    kept: list[FundingLine] = []
    for args in lines:
        line_id = args.get("id")
        if line_id is None:
            kept.append(FundingLine(**args))
            continue
        line = existing.get(line_id)
        if line is None or line in kept:
            raise InvalidInput(
                "资金来源不属于本项目", code="funding_line_unknown", details={"id": line_id}
            )
        for name in ("source", "amount", "note"):
            if name in args:
                setattr(line, name, args[name])
        kept.append(line)
    removed = [line_id for line_id in existing if existing[line_id] not in kept]
    in_use = sorted(
        set(
            db.session.scalars(
                select(ContributionScheme.funding_line_id).where(
                    ContributionScheme.funding_line_id.in_(removed)
                )
            )
        )
        | set(
            db.session.scalars(
                select(ProjectExpense.funding_line_id).where(
                    ProjectExpense.funding_line_id.in_(removed)
                )
            )
        )
    )
    if in_use:
        raise Conflict(
            "该资金来源已被居民出资方案或支出记录引用，不能删除",
            code="funding_line_in_use",
            details={"funding_line_ids": in_use},
        )
    return kept


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


_LIFECYCLE = "project_lifecycle"


def register_guard(app, status: str, check) -> None:
    """Have `check(project)` run before any project of `app` enters `status`; it raises a
    `DomainError` to refuse the move. The domains that own such rules register them when the
    app is built (`api.app.create_app`): voting the satisfaction gate before `construction`,
    feedback the acceptance record before `accepted`."""
    _lifecycle(app)["guards"].setdefault(status, []).append(check)


def register_effect(app, status: str, effect) -> None:
    """Have `effect(project)` run, in the same transaction, once a project of `app` has entered
    `status` (feedback opens the rating window on `completed`)."""
    _lifecycle(app)["effects"].setdefault(status, []).append(effect)


def _lifecycle(app) -> dict:
    return app.extensions.setdefault(_LIFECYCLE, {"guards": {}, "effects": {}})


def transition(project: Project, staff: Staff, to: str) -> Project:
    """Move the project one step along its lifecycle, through every guard registered for the
    step, then run the step's registered effects. Flushes; the caller commits.

    There is no way around the guards: an app whose lifecycle was never wired (one not built
    by `create_app`) refuses every transition rather than moving without them.
    """
    lifecycle = current_app.extensions.get(_LIFECYCLE)
    if lifecycle is None:
        raise RuntimeError("the project lifecycle is not wired: build the app with create_app")
    current = STATUSES.index(project.status)
    target = STATUSES.index(to)
    if target != current + 1:
        raise Conflict(
            f"项目当前状态为「{labels.PROJECT_STATUSES[project.status]}」，"
            f"不能直接转为「{labels.PROJECT_STATUSES[to]}」",
            code="invalid_transition",
            details={"from": project.status, "to": to, "next": STATUSES[current + 1 : current + 2]},
        )
    for check in lifecycle["guards"].get(to, ()):
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
    for effect in lifecycle["effects"].get(to, ()):
        effect(project)
    return project
