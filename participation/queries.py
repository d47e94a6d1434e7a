"""Reads of the registry and of projects.

Functions named after a list (`counties`, `community_claims`, ...) return a SELECT in its
order, which the caller runs or pages (`api.http.paginate`); the others return rows. Other
domains may use these reads (voting, feedback and notices do); nothing here writes.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from api.core import db
from participation.models import (
    CATEGORIES,
    STATUSES,
    Building,
    Community,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Milestone,
    Plan,
    PrivacyConsent,
    Project,
    Resident,
    RoleGrant,
    Staff,
    project_estates,
)
from participation.models.registry import LIVE_CLAIM_STATUSES

NOTICE_FILE = Path(__file__).with_name("privacy_notice.md")

# --- places and the roster -------------------------------------------------------------------


def counties() -> Select:
    """Every county, in id order."""
    return select(County).order_by(County.id)


def communities(county_id: int | None = None) -> Select:
    """Communities in id order, of one county when `county_id` is given."""
    statement = select(Community).order_by(Community.id)
    if county_id is not None:
        statement = statement.where(Community.county_id == county_id)
    return statement


def estates(community_id: int | None = None) -> Select:
    """Estates in id order, of one community when `community_id` is given."""
    statement = select(Estate).order_by(Estate.id)
    if community_id is not None:
        statement = statement.where(Estate.community_id == community_id)
    return statement


def roster(estate: Estate, building_id: int | None = None, room: str | None = None) -> Select:
    """The estate's households by building, unit and room; of one of its buildings, and whose
    room contains `room` (as typed: `%` and `_` are plain characters), when given."""
    statement = (
        select(Household)
        .join(Building, Household.building_id == Building.id)
        .where(Household.estate_id == estate.id)
        .order_by(Building.name, Household.unit, Household.room)
    )
    if building_id is not None:
        statement = statement.where(Household.building_id == building_id)
    if room:
        statement = statement.where(Household.room.contains(room, autoescape=True))
    return statement


def find_household(estate: Estate, building: str, unit: str, room: str) -> Household | None:
    """The roster's household at this address of the estate, if there is one, locked for a
    claim (`FOR SHARE`): a clerk's edit or a re-import of the same row waits for the claim, or
    the claim for them, so that a claim never matches an owner the roster no longer holds."""
    return db.session.scalar(
        select(Household)
        .join(Building, Household.building_id == Building.id)
        .where(
            Household.estate_id == estate.id,
            Building.name == building,
            Household.unit == unit,
            Household.room == room,
        )
        .with_for_update(read=True, of=Household)
        .execution_options(populate_existing=True)
    )


def natural_key(name: str) -> tuple:
    """Sorts names as people count: 2栋 before 10栋, 1单元 before 12单元. A run of digits is
    what `\\d` matches (`isdecimal`, which `int` reads); ², ① are text (`isdigit` would take
    them for numbers that `int` cannot read)."""
    return tuple(
        (0, int(part), "") if part.isdecimal() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
        if part
    )


def estate_buildings(estate: Estate) -> list[Building]:
    """The estate's buildings, in natural order of their names (the claim's pick list)."""
    buildings = db.session.scalars(select(Building).where(Building.estate_id == estate.id))
    return sorted(buildings, key=lambda b: (natural_key(b.name), b.id))


def building_units(building: Building) -> list[str]:
    """The building's distinct units in natural order ("" where the building has none)."""
    units = db.session.scalars(
        select(Household.unit).where(Household.building_id == building.id).distinct()
    )
    return sorted(units, key=natural_key)


def unit_rooms(building: Building, unit: str) -> list[dict]:
    """The rooms of one unit of the building: household id and room, nothing of the owner."""
    rows = db.session.execute(
        select(Household.id, Household.room).where(
            Household.building_id == building.id, Household.unit == unit
        )
    ).all()
    return [
        {"household_id": row.id, "room": row.room}
        for row in sorted(rows, key=lambda row: (natural_key(row.room), row.id))
    ]


# --- residents and their households ----------------------------------------------------------


def verified_household_ids(resident: Resident) -> set[int]:
    """The households the resident is a verified member of."""
    return set(
        db.session.scalars(
            select(HouseholdClaim.household_id).where(
                HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified"
            )
        )
    )


def verified_estate_ids(resident: Resident) -> set[int]:
    """The estates in which the resident is a verified member of a household."""
    return set(
        db.session.scalars(
            select(Household.estate_id)
            .join(HouseholdClaim, HouseholdClaim.household_id == Household.id)
            .where(HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified")
        )
    )


def project_household_ids(resident: Resident, project) -> list[int]:
    """The households in the project's estates of which the resident is a verified member."""
    estate_ids = [estate.id for estate in project.estates]
    return list(
        db.session.scalars(
            select(Household.id)
            .join(HouseholdClaim, HouseholdClaim.household_id == Household.id)
            .where(
                HouseholdClaim.resident_id == resident.id,
                HouseholdClaim.status == "verified",
                Household.estate_id.in_(estate_ids),
            )
            .order_by(Household.id)
        )
    )


def sees_project(resident_id: int, project_id) -> ColumnElement[bool]:
    """SQL: the resident is a verified member of a household in one of the project's estates
    (`participation.policy.resident_sees_project` as one EXISTS; `project_id` a value or a
    column of the enclosing statement)."""
    return exists().where(
        HouseholdClaim.resident_id == resident_id,
        HouseholdClaim.status == "verified",
        Household.id == HouseholdClaim.household_id,
        project_estates.c.estate_id == Household.estate_id,
        project_estates.c.project_id == project_id,
    )


def resident_claims(resident: Resident) -> list[HouseholdClaim]:
    """Every claim of the resident, oldest first: verified, pending and rejected ones, and the
    memberships that ended (left, or revoked with the reason)."""
    return list(
        db.session.scalars(
            select(HouseholdClaim)
            .where(HouseholdClaim.resident_id == resident.id)
            .order_by(HouseholdClaim.id)
        )
    )


class HomeClaim(NamedTuple):
    """A live claim of the resident, with the address of its household (`home_claims`)."""

    claim: HouseholdClaim
    estate_id: int
    estate: str
    building: str
    unit: str
    room: str


def home_claims(resident_id: int) -> list[HomeClaim]:
    """The resident's verified and pending claims, oldest first, each with its household's
    estate and address: one statement, whatever the number of claims."""
    rows = db.session.execute(
        select(
            HouseholdClaim, Estate.id, Estate.name, Building.name, Household.unit, Household.room
        )
        .join(Household, Household.id == HouseholdClaim.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Household.estate_id)
        .where(
            HouseholdClaim.resident_id == resident_id,
            HouseholdClaim.status.in_(("verified", "pending")),
        )
        .order_by(HouseholdClaim.id)
    ).all()
    return [HomeClaim(*row) for row in rows]


def live_claim(resident: Resident, household: Household) -> HouseholdClaim | None:
    """The resident's claim on the household that is verified or still pending, if any."""
    return db.session.scalar(
        select(HouseholdClaim).where(
            HouseholdClaim.resident_id == resident.id,
            HouseholdClaim.household_id == household.id,
            HouseholdClaim.status.in_(LIVE_CLAIM_STATUSES),
        )
    )


def community_claims(community: Community, status: str | None = None) -> Select:
    """The community's claims, of one status when `status` is given: the pending ones first,
    the oldest of them first (the clerk's queue), then the reviewed ones, oldest first."""
    statement = select(HouseholdClaim).where(HouseholdClaim.community_id == community.id)
    if status is not None:
        statement = statement.where(HouseholdClaim.status == status)
    return statement.order_by(
        case((HouseholdClaim.status == "pending", 0), else_=1),
        HouseholdClaim.created_at,
        HouseholdClaim.id,
    )


# --- the privacy notice and residents' consents ----------------------------------------------


class PrivacyNotice(NamedTuple):
    """The privacy notice (隐私政策) in force: its version, title, effective date and text."""

    version: str
    title: str
    effective_date: date
    text: str


@functools.cache
def privacy_notice() -> PrivacyNotice:
    """The notice in force, read once from `participation/privacy_notice.md` (its header lines
    give the version, title and effective date; the text follows the `---` line). A new text
    takes a new version, which every resident accepts again before anything but sign-in."""
    header, _, text = NOTICE_FILE.read_text(encoding="utf-8").partition("\n---\n")
    fields = dict(line.split(": ", 1) for line in header.splitlines())
    return PrivacyNotice(
        version=fields["version"],
        title=fields["title"],
        effective_date=date.fromisoformat(fields["effective_date"]),
        text=text.strip(),
    )


def privacy_consent(resident_id: int, version: str) -> PrivacyConsent | None:
    """The resident's acceptance of this version of the notice, if they gave it."""
    return db.session.scalar(
        select(PrivacyConsent).where(
            PrivacyConsent.resident_id == resident_id, PrivacyConsent.version == version
        )
    )


# --- staff -----------------------------------------------------------------------------------


def staff_accounts() -> Select:
    """Every staff account, in id order."""
    return select(Staff).order_by(Staff.id)


def staff_by_username(username: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.username == username))


def staff_home_scope(staff_id: int) -> tuple[int | None, int | None]:
    """The county and the community a staff member works in, from their first grant that
    names one (a committee: its community and that community's county; a county officer: the
    county; an owner: the project's county); (None, None) for the prefecture or no grant.
    The audit trail keeps them on each entry (`api.core.audit`)."""
    grants = db.session.execute(
        select(RoleGrant.role, RoleGrant.scope_id)
        .where(RoleGrant.staff_id == staff_id, RoleGrant.role != "prefecture")
        .order_by(RoleGrant.id)
    ).all()
    for role, scope_id in grants:
        if role == "committee":
            county_id = db.session.scalar(
                select(Community.county_id).where(Community.id == scope_id)
            )
            return county_id, scope_id
        if role == "county":
            return scope_id, None
        if role == "owner":
            county_id = db.session.scalar(select(Project.county_id).where(Project.id == scope_id))
            if county_id is not None:
                return county_id, None
    return None, None


# --- projects --------------------------------------------------------------------------------


class Reading(NamedTuple):
    """What `caller_reading` found: the caller's row (None: no such account), the row reached
    through `via` (None without one, or when missing), the project (None: missing) and, for a
    resident, whether they see the project (None for staff: their grants are judged by
    `participation.policy`)."""

    caller: Resident | Staff | None
    via: object | None
    project: Project | None
    sees: bool | None


# Statements built once and run with bound values: building a SELECT and its cache key costs
# about as much CPU as running it (issue 11). Keyed by their shape; `options` must be tuples
# of loader options built once (module constants), or the statement is built anew each time.
_READINGS: dict[tuple, Select] = {}
_MAX_READINGS = 64


def _reading_statement(caller_model, via, options: tuple) -> Select:
    key = (caller_model, via, options)
    statement = _READINGS.get(key)
    if statement is not None:
        return statement
    caller_id = bindparam("caller_id")
    entities = [caller_model] + ([via.class_] if via is not None else []) + [Project]
    columns = [sees_project(caller_id, Project.id)] if caller_model is Resident else []
    statement = select(*entities, *columns).select_from(caller_model)
    if via is not None:
        statement = statement.outerjoin(via.class_, via == bindparam("via_id")).outerjoin(
            Project, Project.id == via.class_.project_id
        )
    else:
        statement = statement.outerjoin(Project, Project.id == bindparam("project_id"))
    statement = statement.where(caller_model.id == caller_id).options(*options)
    if caller_model is Staff:
        statement = statement.options(joinedload(Staff.grants))
    if len(_READINGS) < _MAX_READINGS:
        _READINGS[key] = statement
    return statement


def caller_reading(caller_model, caller_id: int, project_id=None, *, via=None, options=()):
    """The caller and the project a screen shows, in one statement (issue 11: a resident's
    screen costs one statement for the caller and their visibility).

    `caller_model` is `Resident` or `Staff` (a staff member's grants are joined in, not loaded
    by a second statement). The project is `project_id`, or, with `via=(column, value)`, the
    project of the row of `column`'s table where `column == value` (a consultation:
    `(Consultation.id, 7)`, its project by `project_id`). `options` (a tuple built once) are
    loader options for what the screen shows, e.g. the project's collections. None when the
    caller's account does not exist.
    """
    column, value = via if via is not None else (None, project_id)
    statement = _reading_statement(caller_model, column, tuple(options))
    values = {"caller_id": caller_id, "via_id" if column is not None else "project_id": value}
    row = db.session.execute(statement, values).unique().one_or_none()
    if row is None:
        return None
    resident = caller_model is Resident
    return Reading(
        caller=row[0],
        via=row[1] if column is not None else None,
        project=row[-2] if resident else row[-1],
        sees=bool(row[-1]) if resident else None,
    )


_CURRENT_PLAN = (
    select(Plan)
    .options(joinedload(Plan.items))
    .where(Plan.project_id == bindparam("project_id"))
    .order_by(Plan.version.desc())
    .limit(1)
)


def current_plan(project_id: int) -> Plan | None:
    """The project's current (latest) plan version with its items, in one statement."""
    return db.session.scalars(_CURRENT_PLAN, {"project_id": project_id}).unique().one_or_none()


def estate_projects(estate: Estate) -> Select:
    """The projects covering the estate, the latest plan year first."""
    return (
        select(Project)
        .join(project_estates, project_estates.c.project_id == Project.id)
        .where(project_estates.c.estate_id == estate.id)
        .order_by(Project.plan_year.desc(), Project.id)
    )


def staff_projects(
    scope,
    *,
    plan_year: int | None = None,
    status: str | None = None,
    category: str | None = None,
    county_id: int | None = None,
    q: str | None = None,
) -> Select:
    """The projects a staff member sees (`scope`: `policy.project_scope`), the latest plan year
    first, then the newest; of one plan year, status, category or county, and whose name
    contains `q` (as typed: `%` and `_` are plain characters), when given. Their estates are
    loaded with them (a second statement)."""
    statement = select(Project).options(selectinload(Project.estates))
    if not scope.everything:
        covering = exists().where(
            project_estates.c.project_id == Project.id,
            project_estates.c.estate_id == Estate.id,
            Estate.community_id.in_(sorted(scope.community_ids)),
        )
        reach = [
            Project.county_id.in_(sorted(scope.county_ids)),
            Project.id.in_(sorted(scope.project_ids)),
        ]
        if scope.community_ids:
            reach.append(covering)
        statement = statement.where(or_(*reach))
    if plan_year is not None:
        statement = statement.where(Project.plan_year == plan_year)
    if status is not None:
        statement = statement.where(Project.status == status)
    if category is not None:
        statement = statement.where(Project.category == category)
    if county_id is not None:
        statement = statement.where(Project.county_id == county_id)
    if q:
        statement = statement.where(Project.name.contains(q, autoescape=True))
    return statement.order_by(Project.plan_year.desc(), Project.id.desc())


class EstateProject(NamedTuple):
    """A project covering an estate, with its next milestone (`estates_projects`)."""

    estate_id: int
    project: Project
    next_milestone: Milestone | None


# The project's earliest milestone not yet met (by due date), for the enclosing statement's row.
_NEXT_MILESTONE = (
    select(Milestone.id)
    .where(Milestone.project_id == Project.id, Milestone.done_on.is_(None))
    .order_by(Milestone.due_on, Milestone.id)
    .limit(1)
    .correlate(Project)
    .scalar_subquery()
)


def estates_projects(estate_ids: list[int]) -> list[EstateProject]:
    """The projects covering each of these estates (a project of several estates once per
    estate), by estate, then the latest plan year first, each with its next milestone (the
    earliest not yet met, None when every one is): one statement, whatever the number of
    estates, projects and milestones."""
    if not estate_ids:
        return []
    rows = db.session.execute(
        select(project_estates.c.estate_id, Project, Milestone)
        .join(Project, Project.id == project_estates.c.project_id)
        .outerjoin(Milestone, Milestone.id == _NEXT_MILESTONE)
        .where(project_estates.c.estate_id.in_(estate_ids))
        .order_by(project_estates.c.estate_id, Project.plan_year.desc(), Project.id)
    ).all()
    return [EstateProject(*row) for row in rows]


def _overdue(today: date) -> ColumnElement[bool]:
    """SQL of `Milestone.overdue`: still open after its due date, or met late."""
    return ((Milestone.done_on.is_(None)) & (Milestone.due_on < today)) | (
        Milestone.done_on > Milestone.due_on
    )


def _in_year(plan_year: int | None) -> list[ColumnElement[bool]]:
    return [] if plan_year is None else [Project.plan_year == plan_year]


def _empty_summary() -> dict:
    return {
        "projects_total": 0,
        "by_status": {status: 0 for status in STATUSES},
        "by_category": {category: 0 for category in CATEGORIES},
        "gates": {"passed": 0, "shut": 0, "pending": 0},
        "completion_satisfaction_rate": None,
        "completion_rated_projects": 0,
        "completion_ratings": 0,
        "overdue_count": 0,
        "plan_years": [],
    }


def overview_summaries(county_ids: list[int], today: date, plan_year: int | None) -> dict:
    """Each county's figures for the overview, by county id: projects by status and by
    category (every code listed, zero included), gates passed and shut (final results only:
    a gate whose consultation is still open is `pending`, so no live result shows), the mean
    completion satisfaction of the projects rated, the overdue milestones on `today`, and the
    plan years the county has (whatever `plan_year` filters). Three statements, whatever the
    number of counties and projects."""
    summaries = {county_id: _empty_summary() for county_id in county_ids}
    if not county_ids:
        return summaries
    rows = db.session.execute(
        select(
            Project.county_id,
            Project.plan_year,
            Project.status,
            Project.category,
            Project.gate_final,
            Project.gate_passed,
            func.count(),
            func.count(Project.completion_satisfaction_rate),
            func.sum(Project.completion_satisfaction_rate),
            func.sum(Project.completion_ratings),
        )
        .where(Project.county_id.in_(county_ids))
        .group_by(
            Project.county_id,
            Project.plan_year,
            Project.status,
            Project.category,
            Project.gate_final,
            Project.gate_passed,
        )
    ).all()
    rate_sums: dict[int, float] = {}
    for county_id, year, status, category, final, passed, n, rated, rate_sum, ratings in rows:
        summary = summaries[county_id]
        if year not in summary["plan_years"]:
            summary["plan_years"].append(year)
        if plan_year is not None and year != plan_year:
            continue
        summary["projects_total"] += n
        summary["by_status"][status] = summary["by_status"].get(status, 0) + n
        summary["by_category"][category] = summary["by_category"].get(category, 0) + n
        gate = "pending" if not final else "passed" if passed else "shut"
        summary["gates"][gate] += n
        summary["completion_rated_projects"] += rated
        summary["completion_ratings"] += int(ratings or 0) if rated else 0
        rate_sums[county_id] = rate_sums.get(county_id, 0.0) + float(rate_sum or 0)
    for county_id, summary in summaries.items():
        summary["plan_years"].sort(reverse=True)
        if summary["completion_rated_projects"]:
            summary["completion_satisfaction_rate"] = round(
                rate_sums[county_id] / summary["completion_rated_projects"], 6
            )
    overdue = db.session.execute(
        select(Project.county_id, func.count())
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(Project.county_id.in_(county_ids), _overdue(today), *_in_year(plan_year))
        .group_by(Project.county_id)
    ).all()
    for county_id, n in overdue:
        summaries[county_id]["overdue_count"] = n
    return summaries


def county_overview(county: County, today: date, plan_year: int | None = None) -> dict:
    """The county's progress for the annual assessment (of one plan year, or of all): its
    figures (`overview_summaries`), its projects, and the milestones overdue on `today`, the
    latest due first, each with its project's name."""
    projects = db.session.scalars(
        select(Project)
        .where(Project.county_id == county.id, *_in_year(plan_year))
        .order_by(Project.id)
    ).all()
    overdue = db.session.execute(
        select(Milestone, Project.name)
        .join(Project, Project.id == Milestone.project_id)
        .where(Project.county_id == county.id, _overdue(today), *_in_year(plan_year))
        .order_by(Milestone.due_on, Milestone.id)
    ).all()
    return {
        "county_id": county.id,
        "county_name": county.name,
        "plan_year": plan_year,
        **overview_summaries([county.id], today, plan_year)[county.id],
        "overdue_milestones": [
            {
                "project_id": m.project_id,
                "project_name": name,
                "kind": m.kind,
                "due_on": m.due_on.isoformat(),
                "done_on": m.done_on.isoformat() if m.done_on else None,
                "days_late": ((m.done_on or today) - m.due_on).days,
            }
            for m, name in overdue
        ],
        "projects": projects,
    }
