"""The joint completion acceptance (竣工联合验收) with residents' representatives.

The project owner records, once per project and while it is `completed`: the date, the verdict
and remarks of the design, construction and supervision companies, the residents'
representatives (verified members of covered households) with theirs, and the completion
satisfaction as it stood at that moment. The project may move to `accepted` only with such a
record and no `fail` among its verdicts (`feedback.policy.require_acceptance`).

Functions flush, never commit.
"""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from api.core import Conflict, InvalidInput, db, local_today, utcnow
from feedback.models.acceptance import (
    PARTY_ROLES,
    Acceptance,
    AcceptanceParty,
    AcceptanceRepresentative,
)
from feedback.queries import acceptance_of, representative_households
from feedback.service.ratings import recompute
from participation.models import Building, Household, HouseholdClaim, Project, Resident, Staff


def record(project: Project, staff: Staff, args: dict) -> Acceptance:
    """Record the acceptance of a completed project, with the completion satisfaction now.

    Refuses a project that is not `completed` (409 `project_not_completed`), a second record
    (409 `acceptance_exists`), a date in the future (422 `held_on_in_future`), a party role
    twice or missing (422 `parties_invalid`), and representatives who are not verified members
    of a covered household (422 `representative_not_eligible`).
    """
    if project.status != "completed":
        raise Conflict(
            "项目竣工后、验收前才能登记联合验收",
            code="project_not_completed",
            details={"status": project.status},
        )
    if acceptance_of(project) is not None:
        raise Conflict("本项目已登记联合验收记录", code="acceptance_exists")
    if args["held_on"] > local_today():
        raise InvalidInput("验收日期不能晚于今天", code="held_on_in_future")
    roles = [p["role"] for p in args["parties"]]
    if sorted(roles) != sorted(PARTY_ROLES):
        raise InvalidInput(
            "须填写设计、施工、监理单位各一家",
            code="parties_invalid",
            details={"roles": roles, "expected": list(PARTY_ROLES)},
        )
    resident_ids = [r["resident_id"] for r in args["representatives"]]
    if len(set(resident_ids)) != len(resident_ids):
        raise InvalidInput("居民代表不能重复", code="representatives_repeated")
    households = representative_households(project, resident_ids)
    missing = [r for r in resident_ids if r not in households]
    if missing:
        raise InvalidInput(
            "居民代表须是本项目所涉小区的已认证住户",
            code="representative_not_eligible",
            details={"resident_ids": missing},
        )
    # The figure "at that moment": counted now, not as the last job left it.
    recompute(project.id)
    acceptance = Acceptance(
        project_id=project.id,
        held_on=args["held_on"],
        remarks=args.get("remarks"),
        recorded_by_id=staff.id,
        completion_satisfaction_rate=project.completion_satisfaction_rate,
        completion_means=project.completion_means,
        completion_ratings=project.completion_ratings or 0,
        completion_computed_at=project.completion_computed_at,
        created_at=utcnow(),
        parties=[AcceptanceParty(**p) for p in args["parties"]],
        representatives=[
            AcceptanceRepresentative(household_id=households[r["resident_id"]], **r)
            for r in args["representatives"]
        ],
    )
    db.session.add(acceptance)
    db.session.flush()
    return acceptance


def representative_candidates(project: Project, q: str | None = None) -> Select:
    """A statement for the verified memberships of households in the project's estates (those
    who may be residents' representatives), by estate, building, unit and room; those whose
    claimed name, nickname, building or room contains `q` (as typed) when given. Erased
    residents are left out. The reply masks the names (`RepresentativeCandidateSchema`)."""
    estate_ids = [e.id for e in project.estates]
    statement = (
        select(HouseholdClaim)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Resident, Resident.id == HouseholdClaim.resident_id)
        .options(
            joinedload(HouseholdClaim.resident),
            joinedload(HouseholdClaim.household).joinedload(Household.building),
            joinedload(HouseholdClaim.household).joinedload(Household.estate),
        )
        .where(
            HouseholdClaim.status == "verified",
            Household.estate_id.in_(estate_ids),
            Resident.erased_at.is_(None),
        )
    )
    if q:
        statement = statement.where(
            or_(
                HouseholdClaim.claimed_name.contains(q, autoescape=True),
                Resident.nickname.contains(q, autoescape=True),
                Building.name.contains(q, autoescape=True),
                Household.room.contains(q, autoescape=True),
            )
        )
    return statement.order_by(
        Household.estate_id, Building.name, Household.unit, Household.room, HouseholdClaim.id
    )
