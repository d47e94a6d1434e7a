"""A project bundling estates of two communities (捆绑打包): whose vote is it to run?"""

from sqlalchemy import select

from api.core import db
from participation.models import (
    Building,
    Community,
    Estate,
    Household,
    HouseholdClaim,
    Project,
    Resident,
    RoleGrant,
    Staff,
)
from tests.support.voting_helpers import (
    build_scene,
    evidence_upload,
    open_consultation,
    resident,
    run_jobs,
)
from voting.models import Consultation


def bundle_second_community(app, scene):
    """Add an estate of a second community (one household, one verified member) to the
    scene's project, and a clerk of that community. Returns (clerk B, household B, member B)."""
    with app.app_context():
        community = Community(county_id=scene.county_id, name="邻近社区")
        db.session.add(community)
        db.session.flush()
        estate = Estate(community_id=community.id, name="邻近小区")
        db.session.add(estate)
        db.session.flush()
        building = Building(estate_id=estate.id, name="9栋")
        db.session.add(building)
        db.session.flush()
        household = Household(
            estate_id=estate.id,
            building_id=building.id,
            unit="1单元",
            room="901",
            floor_area=90,
            owner_name="赵六",
            owner_phone_last4="9999",
        )
        member = Resident(openid="bundled-b", nickname="邻居")
        clerk = Staff(username="clerk-b", password_hash="x")
        db.session.add_all([household, member, clerk])
        db.session.flush()
        db.session.add_all(
            [
                HouseholdClaim(
                    resident_id=member.id,
                    household_id=household.id,
                    community_id=community.id,
                    claimed_name="赵六",
                    claimed_phone_last4="9999",
                    status="verified",
                ),
                RoleGrant(staff_id=clerk.id, role="committee", scope_id=community.id),
            ]
        )
        project = db.session.get(Project, scene.project_id)
        project.estates.append(estate)
        db.session.commit()
        ids = clerk.id, household.id, member.id
    with app.app_context():
        clerk = db.session.get(Staff, ids[0])
        db.session.expunge(clerk)
    return clerk, ids[1], ids[2]


def test_a_clerk_of_one_community_cannot_run_a_bundled_projects_vote(client, make, app):
    scene = build_scene(app, households=3)
    clerk_b, household_b, member_b = bundle_second_community(app, scene)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "plan_satisfaction"},
        headers=make.headers(scene.clerk),
    )
    assert created.status_code == 403, created.get_json()
    assert created.get_json()["error"]["code"] == "out_of_scope"
    with app.app_context():
        assert db.session.scalar(select(Consultation.id)) is None

    # The owner drafts it and the county opens it (no single committee covers both
    # communities); neither clerk may close it, each records its own households' paper.
    headers_owner = make.headers(scene.owner)
    cid = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "plan_satisfaction"},
        headers=headers_owner,
    ).get_json()["id"]
    for clerk in (scene.clerk, clerk_b):
        opening = client.post(f"/api/v1/consultations/{cid}/open", headers=make.headers(clerk))
        assert opening.status_code == 403, opening.get_json()
    county = make.headers(make.staff("county", scene.county_id))
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=county).status_code == 200
    for clerk in (scene.clerk, clerk_b):
        closing = client.post(f"/api/v1/consultations/{cid}/close", headers=make.headers(clerk))
        assert closing.status_code == 403, closing.get_json()
    paper = {"choice": "satisfied", "household_id": household_b}
    mine = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots",
        json={**paper, "evidence_upload_id": evidence_upload(app, scene.project_id, clerk_b.id)},
        headers=make.headers(clerk_b),
    )
    assert mine.status_code == 201, mine.get_json()
    theirs = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots",
        json={
            **paper,
            "evidence_upload_id": evidence_upload(app, scene.project_id, scene.clerk.id),
        },
        headers=make.headers(scene.clerk),
    )
    assert theirs.status_code == 403
    # The member of the second community votes like anyone else.
    voted = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"choice": "satisfied"},
        headers=make.headers(resident(app, member_b)),
    )
    assert voted.status_code == 200
    run_jobs(app)


def test_a_committee_covering_every_community_runs_it(client, make, app):
    scene = build_scene(app, households=3)
    clerk_b, _, _ = bundle_second_community(app, scene)
    with app.app_context():
        community_b = db.session.scalar(
            select(RoleGrant.scope_id).where(RoleGrant.staff_id == clerk_b.id)
        )
        db.session.add(RoleGrant(staff_id=scene.clerk.id, role="committee", scope_id=community_b))
        db.session.commit()
    assert open_consultation(client, make, scene)
