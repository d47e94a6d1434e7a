"""Building blocks for voting tests: an estate with verified households and a project on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert

from api.core import db
from api.jobs import make_worker
from participation.models import (
    Building,
    Community,
    County,
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
from voting.models import Consultation


@dataclass
class Scene:
    county_id: int
    community_id: int
    estate_id: int
    project_id: int
    plan_id: int
    household_ids: list[int] = field(default_factory=list)
    resident_ids: list[int] = field(default_factory=list)  # one verified member per household
    clerk: Staff | None = None
    owner: Staff | None = None


def build_scene(app, households: int = 10, area: str = "80.00", areas=None) -> Scene:
    """A county, community, estate with `households` households, each with one verified
    member; a project on the estate with one plan version; a clerk and an owner. Bulk inserts,
    so thousands of households are quick."""
    with app.app_context():
        county = County(name="测试县")
        db.session.add(county)
        db.session.flush()
        community = Community(county_id=county.id, name="测试社区")
        db.session.add(community)
        db.session.flush()
        estate = Estate(community_id=community.id, name="测试小区")
        db.session.add(estate)
        db.session.flush()
        building = Building(estate_id=estate.id, name="1栋")
        db.session.add(building)
        db.session.flush()
        rows = [
            {
                "estate_id": estate.id,
                "building_id": building.id,
                "unit": "1单元",
                "room": f"{i + 1:05d}",
                "floor_area": Decimal(areas[i] if areas else area),
                "owner_name": f"业主{i}",
                "owner_phone_last4": "1234",
            }
            for i in range(households)
        ]
        db.session.execute(insert(Household), rows)
        household_ids = list(
            db.session.scalars(
                db.select(Household.id)
                .where(Household.estate_id == estate.id)
                .order_by(Household.room)
            )
        )
        db.session.execute(
            insert(Resident),
            [{"openid": f"scene-{h}", "nickname": f"居民{h}"} for h in household_ids],
        )
        resident_ids = list(
            db.session.scalars(
                db.select(Resident.id).where(Resident.openid.like("scene-%")).order_by(Resident.id)
            )
        )
        db.session.execute(
            insert(HouseholdClaim),
            [
                {
                    "resident_id": r,
                    "household_id": h,
                    "community_id": community.id,
                    "relation": "owner",
                    "claimed_name": "x",
                    "claimed_phone_last4": "1234",
                    "status": "verified",
                }
                for r, h in zip(resident_ids, household_ids, strict=True)
            ],
        )
        owner_account = Staff(username="owner-account", password_hash="x")
        clerk = Staff(username="clerk-account", password_hash="x")
        db.session.add_all([owner_account, clerk])
        db.session.flush()
        project = Project(
            county_id=county.id,
            name="测试项目",
            category="basic",
            plan_year=2027,
            status="consulting",
            estates=[estate],
        )
        db.session.add(project)
        db.session.flush()
        plan = Plan(
            project_id=project.id,
            version=1,
            created_by_id=owner_account.id,
            items=[
                PlanItem(
                    position=1,
                    category="lighting",
                    description="路灯",
                    estimated_cost=Decimal("1000"),
                )
            ],
        )
        db.session.add(plan)
        db.session.add_all(
            [
                RoleGrant(staff_id=clerk.id, role="committee", scope_id=community.id),
                RoleGrant(staff_id=owner_account.id, role="owner", scope_id=project.id),
            ]
        )
        db.session.commit()
        for obj in (clerk, owner_account):
            db.session.refresh(obj)
            db.session.expunge(obj)
        return Scene(
            county.id,
            community.id,
            estate.id,
            project.id,
            plan.id,
            household_ids,
            resident_ids,
            clerk,
            owner_account,
        )


def resident(app, resident_id: int) -> Resident:
    with app.app_context():
        obj = db.session.get(Resident, resident_id)
        db.session.expunge(obj)
        return obj


def open_consultation(client, make, scene: Scene, **settings) -> int:
    """Create and open a plan satisfaction consultation as the clerk; its id."""
    headers = make.headers(scene.clerk)
    body = {"kind": "plan_satisfaction", "plan_id": scene.plan_id, **settings}
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations", json=body, headers=headers
    )
    assert created.status_code == 201, created.json
    opened = client.post(f"/api/v1/consultations/{created.json['id']}/open", headers=headers)
    assert opened.status_code == 200, opened.json
    return created.json["id"]


def consultation_status(app, consultation_id: int) -> str:
    with app.app_context():
        return db.session.get(Consultation, consultation_id).status


def run_jobs(app) -> None:
    """Run queued jobs now: a real RQ worker in burst mode when Redis is configured (in-process
    jobs have already run)."""
    if app.extensions["jobs"].inline:
        return
    make_worker(app).work(burst=True)
