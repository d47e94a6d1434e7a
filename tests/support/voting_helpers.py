"""Building blocks for voting tests: an estate with verified households and a project on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from api.core import db
from api.jobs import make_worker
from devtools import factory
from participation.models import Resident, Staff
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
        county = factory.county("测试县")
        community = factory.community(county, "测试社区")
        estate = factory.estate(community, "测试小区")
        building = factory.building(estate)
        household_ids = factory.households(estate, building, households, area=area, areas=areas)
        resident_ids = factory.members(household_ids, community)
        owner_account = factory.staff("owner-account")
        clerk = factory.staff("clerk-account")
        project = factory.project(county, [estate], "测试项目")
        plan = factory.plan(project, owner_account)
        factory.grant(clerk, "committee", community)
        factory.grant(owner_account, "owner", project)
        db.session.commit()
        factory.detached(clerk, owner_account)
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
