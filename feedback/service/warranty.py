"""The warranty period (保修期): after acceptance, residents keep reporting defects of the works
until the project's `warranty_ends_on`, and the owner answers them like construction tickets.

The period runs from the acceptance date (the joint acceptance record's `held_on`, or the day
the project was accepted when it has none) for `Project.warranty_years` years; a period begun on
Feb 29 ends on Feb 28 of a year that has none. `api.app.wire_domains` registers `start_warranty`
as the effect of entering `accepted` and provides `warranty_ends_on` to participation, which
recomputes the end when `warranty_years` changes after acceptance. Functions flush, never commit.

The overview's figures (`open_warranty_tickets`, `open_warranty_tickets_by_county`) count the
warranty tickets not resolved: open, answered (waiting for the reporter to confirm) or reopened;
a defect counts until its reporter confirms the repair.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from api.core import Conflict, db, local_today
from feedback.models.tickets import Ticket
from feedback.queries import acceptance_of
from participation.models import Project


class WarrantyExpired(Conflict):
    code = "warranty_expired"
    message = "项目保修期已结束，不再受理问题反映"


def add_years(start: date, years: int) -> date:
    """`start` plus whole years; Feb 29 becomes Feb 28 in a year without it."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def warranty_starts_on(project: Project) -> date:
    """The acceptance date: the acceptance record's date, else today (local)."""
    acceptance = acceptance_of(project)
    return acceptance.held_on if acceptance is not None else local_today()


def warranty_ends_on(project: Project) -> date:
    """The last day of the warranty: the acceptance date plus the project's warranty years."""
    return add_years(warranty_starts_on(project), project.warranty_years)


def start_warranty(project: Project) -> None:
    """The effect of entering `accepted`: the warranty ends `warranty_years` after acceptance."""
    project.warranty_ends_on = warranty_ends_on(project)
    db.session.flush()


def ticket_phase(project: Project, today: date) -> str:
    """The phase of a problem reported on `today`: `warranty` once the project is accepted,
    until its warranty end (inclusive), `construction` before. After the end: 409
    `warranty_expired`, naming the end date."""
    if project.status != "accepted":
        return "construction"
    # A project accepted before the end was recorded (none after the effect) has its
    # end computed from the acceptance record, the same way.
    ends_on = project.warranty_ends_on or warranty_ends_on(project)
    if today > ends_on:
        raise WarrantyExpired(
            f"项目保修期已于{ends_on.year}年{ends_on.month}月{ends_on.day}日结束，不再受理问题反映",
            details={"warranty_ends_on": ends_on.isoformat()},
        )
    return "warranty"


# --- the overview's figures -------------------------------------------------------------------


def _open_warranty():
    return (Ticket.phase == "warranty", Ticket.status != "resolved")


def open_warranty_tickets(project_ids: list[int]) -> dict[int, int]:
    """project id -> its warranty tickets not resolved (open, answered or reopened); projects
    without any are missing. One statement."""
    if not project_ids:
        return {}
    rows = db.session.execute(
        select(Ticket.project_id, func.count())
        .where(Ticket.project_id.in_(project_ids), *_open_warranty())
        .group_by(Ticket.project_id)
    ).all()
    return dict(rows)


def open_warranty_tickets_by_county(
    county_ids: list[int], plan_year: int | None = None
) -> dict[int, int]:
    """county id -> the warranty tickets not resolved of its projects (of `plan_year` when
    given); counties without any are missing. One statement."""
    if not county_ids:
        return {}
    statement = (
        select(Project.county_id, func.count())
        .select_from(Ticket)
        .join(Project, Project.id == Ticket.project_id)
        .where(Project.county_id.in_(county_ids), *_open_warranty())
        .group_by(Project.county_id)
    )
    if plan_year is not None:
        statement = statement.where(Project.plan_year == plan_year)
    return dict(db.session.execute(statement).all())
