"""A second demo project, already through its satisfaction gate and under construction.

So that the demo shows what happens on the building site (supervisors, inspections, tickets)
and after it (ratings, acceptance) without anyone casting 60 ballots by hand: the households of
the second estate get verified residents, vote through the same service the API uses, and the
project passes the gate the same way a real one would.
"""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import select

from api.core import db
from participation.models import (
    Estate,
    Household,
    HouseholdClaim,
    Plan,
    PlanItem,
    Project,
    Resident,
    RoleGrant,
    Staff,
)
from participation.service import projects as project_service
from voting.service import ballots, consultations
from voting.service.tally import recompute

SUPERVISOR_CODE = "demo-wang"  # the fake WeChat signs this code in as openid demo-openid-wang
PLAN_ITEMS = (
    ("roof_facade", "屋面防水及外墙保温改造，共4栋", "860000"),
    ("elevator", "加装电梯2部（2栋、3栋）", "1100000"),
    ("ev_charging", "新建电动自行车充电棚2处", "120000"),
)


def _members(estate: Estate) -> list[int]:
    """A verified resident for every household of the estate; the first is demo-wang's."""
    households = db.session.scalars(
        select(Household).where(Household.estate_id == estate.id).order_by(Household.id)
    ).all()
    residents = []
    for index, household in enumerate(households):
        openid = "demo-openid-wang" if index == 0 else f"demo-openid-e{estate.id}-{household.id}"
        resident = db.session.scalar(select(Resident).where(Resident.openid == openid))
        if resident is None:
            resident = Resident(openid=openid, nickname="王芳" if index == 0 else f"住户{index}")
            db.session.add(resident)
            db.session.flush()
            db.session.add(
                HouseholdClaim(
                    resident_id=resident.id,
                    household_id=household.id,
                    community_id=estate.community_id,
                    relation="owner",
                    claimed_name=household.owner_name,
                    claimed_phone_last4=household.owner_phone_last4,
                    status="verified",
                )
            )
        residents.append(resident.id)
    db.session.flush()
    return residents


def project_in_construction(county_id: int, estate: Estate, clerk: Staff, owner: Staff) -> Project:
    """The second estate's project, through a consultation that passed the gate (idempotent)."""
    name = f"{estate.name}老旧小区改造项目"
    project = db.session.scalar(select(Project).where(Project.name == name))
    if project is not None:
        return project
    residents = _members(estate)
    project = project_service.create_project(
        {
            "name": name,
            "description": "完善类改造：屋面外墙、加装电梯、充电设施。",
            "estate_ids": [estate.id],
            "category": "improvement",
            "plan_year": 2026,
            "supervisor_cap": 5,
            "funding": [
                {"source": "government", "amount": Decimal("1500000"), "note": "省级补助"},
                {"source": "maintenance_fund", "amount": Decimal("400000"), "note": "专项维修资金"},
                {"source": "residents", "amount": Decimal("180000"), "note": "居民出资"},
            ],
        }
    )
    project.status = "consulting"
    plan = Plan(
        project_id=project.id,
        version=1,
        summary="经需求调查后形成的改造方案",
        created_by_id=owner.id,
        items=[
            PlanItem(position=i, category=c, description=d, estimated_cost=Decimal(cost))
            for i, (c, d, cost) in enumerate(PLAN_ITEMS, start=1)
        ],
    )
    db.session.add(plan)
    db.session.add(RoleGrant(staff_id=owner.id, role="owner", scope_id=project.id))
    db.session.flush()
    db.session.expire(project, ["plans"])

    consultation = consultations.create_consultation(
        project, clerk, {"kind": "plan_satisfaction", "plan_id": plan.id}
    )
    consultations.open_consultation(consultation)
    rng = random.Random(7)
    voters = residents[1:]  # demo-wang has not voted: the demo can show a closed ballot box
    for resident_id in voters[: len(voters) - 3]:
        choice = "unsatisfied" if rng.random() < 0.04 else "satisfied"
        ballots.cast_ballot(consultation.id, resident_id, {"choice": choice})
    consultations.close_consultation(consultation)
    recompute(consultation.id)
    for step in ("approved", "construction"):
        project_service.transition(project, owner, step)
    return project
