"""Building blocks for voting tests: an estate with verified households and a project on it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from api.core import db, utcnow
from api.jobs import make_worker
from devtools import factory
from feedback.models import Upload
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


def backdate_opening(app, consultation_id: int, days: int | None = None) -> None:
    """Move the consultation's `opened_at` and `opens_at` back by `days` (default: one more
    than `GATE_MIN_OPEN_DAYS`), committed: as if it had opened that long ago, so that the
    minimum voting period is over and a clerk may close it early."""
    with app.app_context():
        back = timedelta(days=app.config["GATE_MIN_OPEN_DAYS"] + 1 if days is None else days)
        consultation = db.session.get(Consultation, consultation_id)
        consultation.opened_at = (consultation.opened_at or utcnow()) - back
        consultation.opens_at = (consultation.opens_at or utcnow()) - back
        db.session.commit()


def consultation_status(app, consultation_id: int) -> str:
    with app.app_context():
        return db.session.get(Consultation, consultation_id).status


def run_jobs(app) -> None:
    """Run queued jobs now: a real RQ worker in burst mode when Redis is configured (in-process
    jobs have already run)."""
    if app.extensions["jobs"].inline:
        return
    make_worker(app).work(burst=True)


def evidence_upload(app, project_id: int, staff_id: int | None = None, resident_id=None) -> int:
    """An upload row of the project by a staff member (the photo of a paper ballot's form) or
    by a resident, committed; its id. No file: a paper ballot names the upload, never reads it.
    """
    with app.app_context():
        upload = Upload(
            project_id=project_id,
            uploader_id=resident_id,
            staff_uploader_id=staff_id,
            path=f"{project_id}/{uuid.uuid4().hex}.jpg",
            content_type="image/jpeg",
            size=1,
            sha256="0" * 64,
        )
        db.session.add(upload)
        db.session.commit()
        return upload.id
