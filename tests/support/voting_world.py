"""A world for the voting permission and bad-input tests: the scene of `voting_helpers` plus a
caller of every kind, and the checks those tests share (the error shape, nothing written).

The scene's county holds two communities. Community A has the estate with the project under
test (`build_scene`), a second project on the same estate (owned by `owner_other_project`) and
a resident whose claim is still pending; community B, next door in the same county, has an
estate with one verified resident and its own clerk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace

from api.core import db
from devtools import factory
from participation.models import Estate, Plan, Project
from tests.support.database import every_row
from tests.support.voting_helpers import (
    Scene,
    backdate_opening,
    build_scene,
    evidence_upload,
    resident,
    run_jobs,
)
from voting.models import Ballot, BallotChange, Consultation

CJK = re.compile(r"[\u4e00-\u9fff]")

REFUSED = (
    "anonymous",
    "resident_other_estate",  # verified member of a household in community B's estate
    "resident_unverified",  # holds only a pending claim on a household of the project's estate
    "clerk_other_community",  # committee clerk of community B (same county)
    "owner_other_project",  # owner of another project on the same estate
)
ALLOWED = (
    "resident_member",  # verified member of a household of the project's estate
    "clerk",  # committee clerk of community A
    "owner",  # the project's owner
    "county_officer",  # officer of the county
    "prefecture",
)
ACTORS = REFUSED + ALLOWED


@dataclass
class World:
    scene: Scene
    other_community_id: int = 0
    other_estate_id: int = 0
    other_household_id: int = 0
    other_project_id: int = 0
    callers: dict = field(default_factory=dict)  # actor -> Resident | Staff | None
    headers: dict = field(default_factory=dict)  # actor -> request headers
    members: list = field(default_factory=list)  # headers of each scene household's member
    # actor -> id of an upload of the project by that actor (the staff who see the project, and
    # resident_member): a paper ballot's evidence must be the recording clerk's own.
    uploads: dict = field(default_factory=dict)

    @property
    def project_id(self) -> int:
        return self.scene.project_id


def build_world(app, make, households: int = 4) -> World:
    """The scene and one caller of every kind in `ACTORS` (see the module docstring)."""
    scene = build_scene(app, households=households)
    w = World(scene=scene)
    county = SimpleNamespace(id=scene.county_id)
    other_community = make.community(county, name="邻社区")
    other_estate = make.estate(other_community, name="邻小区")
    other_household = make.household(other_estate, room="201", name="王五", phone="4321")
    outsider = make.member(other_household)
    pending = make.member(SimpleNamespace(id=scene.household_ids[1]), status="pending")
    with app.app_context():
        title = "工作人员"
        other_owner = factory.staff("owner-other", display_name=title)
        other_clerk = factory.staff(
            "clerk-other", ("committee", other_community), display_name=title
        )
        county_officer = factory.staff(
            "county-officer", ("county", scene.county_id), display_name=title
        )
        prefecture = factory.staff("prefecture", ("prefecture", None), display_name=title)
        other_project = factory.project(
            scene.county_id,
            [db.session.get(Estate, scene.estate_id)],
            "另一项目",
            category="improvement",
        )
        factory.plan(other_project, other_owner, items=[("greening", "绿化", "500")])
        factory.grant(other_owner, "owner", other_project)
        db.session.commit()
        w.other_project_id = other_project.id
        factory.detached(other_owner, other_clerk, county_officer, prefecture)
    w.other_community_id = other_community.id
    w.other_estate_id = other_estate.id
    w.other_household_id = other_household.id
    w.callers = {
        "anonymous": None,
        "resident_other_estate": outsider,
        "resident_unverified": pending,
        "clerk_other_community": other_clerk,
        "owner_other_project": other_owner,
        "resident_member": resident(app, scene.resident_ids[0]),
        "clerk": scene.clerk,
        "owner": scene.owner,
        "county_officer": county_officer,
        "prefecture": prefecture,
    }
    w.headers = {
        actor: ({} if who is None else make.headers(who)) for actor, who in w.callers.items()
    }
    w.members = [make.headers(resident(app, r)) for r in scene.resident_ids]
    w.uploads = {
        actor: evidence_upload(app, scene.project_id, staff_id=w.callers[actor].id)
        for actor in ("clerk", "owner", "county_officer", "prefecture")
    }
    w.uploads["resident_member"] = evidence_upload(
        app, scene.project_id, resident_id=w.callers["resident_member"].id
    )
    return w


# --- consultations in a given state -----------------------------------------------------------


def create_consultation(client, w: World, **body) -> int:
    body = {"kind": "plan_satisfaction", "plan_id": w.scene.plan_id, **body}
    reply = client.post(
        f"/api/v1/projects/{w.project_id}/consultations", json=body, headers=w.headers["clerk"]
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def open_(client, w: World, consultation_id: int) -> None:
    reply = client.post(f"/api/v1/consultations/{consultation_id}/open", headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()


def close(client, w: World, consultation_id: int) -> None:
    reply = client.post(
        f"/api/v1/consultations/{consultation_id}/close", headers=w.headers["clerk"]
    )
    assert reply.status_code == 200, reply.get_json()


def put_ballot(client, headers, consultation_id: int, **body):
    return client.put(f"/api/v1/consultations/{consultation_id}/ballot", json=body, headers=headers)


def consultation_in(app, client, w: World, state: str) -> int | None:
    """A plan satisfaction consultation of the world's project in `state`:
    `draft`, `open`, `elapsed` (open, and its minimum voting period is over), `voted` (open;
    households 0 and 1 voted online, 2 on paper) or `closed` (voted, then closed by the clerk
    after the minimum voting period, and counted)."""
    if state == "none":
        return None
    cid = create_consultation(client, w)
    if state == "draft":
        return cid
    open_(client, w, cid)
    if state == "elapsed":
        backdate_opening(app, cid)
    if state in ("voted", "closed"):
        assert put_ballot(client, w.members[0], cid, choice="satisfied").status_code == 200
        assert put_ballot(client, w.members[1], cid, choice="unsatisfied").status_code == 200
        paper = client.post(
            f"/api/v1/consultations/{cid}/paper-ballots",
            json={
                "household_id": w.scene.household_ids[2],
                "choice": "abstain",
                # A photo of its own: one photo is the evidence of one household's ballot, and
                # the clerk's upload in `w.uploads` stays free for the tests.
                "evidence_upload_id": evidence_upload(
                    app, w.project_id, staff_id=w.callers["clerk"].id
                ),
            },
            headers=w.headers["clerk"],
        )
        assert paper.status_code == 201, paper.get_json()
    if state == "closed":
        backdate_opening(app, cid)  # the minimum voting period is over
        close(client, w, cid)
    run_jobs(app)
    return cid


# --- the checks ----------------------------------------------------------------------------------


def assert_error_shape(reply, status: int | None = None, code: str | None = None) -> dict:
    """The reply is the one JSON error shape, with a stable code and a Chinese message."""
    if status is not None:
        assert reply.status_code == status, reply.get_data(as_text=True)[:500]
    assert reply.mimetype == "application/json", reply.get_data(as_text=True)[:200]
    body = reply.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and CJK.search(error["message"]), error
    assert isinstance(error["details"], dict), error
    if code is not None:
        assert error["code"] == code, error
    return error


COUNTED = (Ballot, BallotChange, Consultation, Project, Plan)


def row_counts(app) -> dict[str, int]:
    """How many ballots, ballot changes, consultations, projects and plans there are."""
    with app.app_context():
        try:
            return {model.__name__: db.session.query(model).count() for model in COUNTED}
        finally:
            db.session.remove()


def snapshot(app) -> dict:
    """Every row of every table: a refused write must leave them all as they were."""
    return every_row(app)


def diff(before: dict, after: dict) -> dict:
    """The tables whose rows changed, for an assertion message."""
    return {
        name: {
            "gone": sorted(set(rows) - set(after[name]))[:3],
            "new": sorted(set(after[name]) - set(rows))[:3],
        }
        for name, rows in before.items()
        if rows != after[name]
    }
