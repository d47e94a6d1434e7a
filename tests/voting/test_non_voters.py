"""Whom to visit (issue 10, item 8): `GET /consultations/{id}/non-voters`, the frozen
electorate's households that have not voted, for the committee's door-to-door visits.

The committee of the households' community (its own part of a bundled project), the county and
the prefecture read it; the project owner and residents do not. Rows go by estate, building,
unit and room (numbers in their natural order), the owner's name masked; the counts per building
come with every page.
"""

from __future__ import annotations

import pytest

from api.core import db
from devtools import factory
from participation.models import Estate, Project
from tests.support.voting_helpers import evidence_upload, run_jobs
from tests.support.voting_world import (
    ACTORS,
    World,
    assert_error_shape,
    build_world,
    consultation_in,
    diff,
    snapshot,
)


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world (tests/support/voting_world.py), built once; each test rolls back."""
    return build_world(app, module_make)


def _non_voters(client, w: World, cid: int, who: str = "clerk", query: str = ""):
    return client.get(f"/api/v1/consultations/{cid}/non-voters{query}", headers=w.headers[who])


def _more_buildings(app, w: World) -> dict[str, int]:
    """Add 2栋 (rooms 2, 301, 1201) and 10栋 (rooms 201, 1101) to the world's estate, whose 1栋
    holds households 0–3 (rooms 00001–00004); building name -> id."""
    with app.app_context():
        estate = db.session.get(Estate, w.scene.estate_id)
        for building, room, name in (
            ("10栋", "1101", "欧阳娜娜"),
            ("2栋", "1201", "李四"),
            ("10栋", "201", "张三"),
            ("2栋", "301", "王小明"),
            ("2栋", "2", "赵"),
        ):
            factory.household(estate, room, building_name=building, owner_name=name)
        db.session.commit()
        return {b.name: b.id for b in (factory.building(estate, n) for n in ("1栋", "2栋", "10栋"))}


# --- who may read it --------------------------------------------------------------------------

EXPECTED = {
    "anonymous": (401, "unauthorized"),
    "resident_member": (403, "staff_only"),
    "resident_other_estate": (403, "staff_only"),
    "resident_unverified": (403, "staff_only"),
    "clerk_other_community": (404, "consultation_not_found"),
    "owner_other_project": (404, "consultation_not_found"),
    "owner": (403, "out_of_scope"),  # the interested party does not knock on doors
    "clerk": (200, None),
    "county_officer": (200, None),
    "prefecture": (200, None),
}


def test_the_expectations_name_every_actor():
    assert set(EXPECTED) == set(ACTORS)


@pytest.mark.parametrize("actor", ACTORS)
def test_who_reads_the_non_voters(app, client, make, world, actor):
    w = world
    cid = consultation_in(app, client, w, "voted")
    status, code = EXPECTED[actor]
    reply = _non_voters(client, w, cid, actor)
    assert reply.status_code == status, reply.get_json()
    if status == 200:
        body = reply.get_json()
        assert [row["household_id"] for row in body["items"]] == [w.scene.household_ids[3]]
    else:
        assert_error_shape(reply, status, code)


# --- what it answers ------------------------------------------------------------------------


def test_non_voters_by_building_unit_and_room_with_counts_masked_and_paged(
    app, client, make, world
):
    w = world
    buildings = _more_buildings(app, w)
    cid = consultation_in(app, client, w, "voted")  # households 0, 1 online, 2 on paper

    pages = [
        _non_voters(client, w, cid, query=f"?per_page=4&page={page}").get_json()
        for page in (1, 2, 3)
    ]
    assert [len(p["items"]) for p in pages] == [4, 2, 0]
    assert {(p["page"], p["per_page"], p["total"]) for p in pages} == {
        (1, 4, 6),
        (2, 4, 6),
        (3, 4, 6),
    }
    rows = pages[0]["items"] + pages[1]["items"]
    # 1栋 before 2栋 before 10栋; room 2 before 301 before 1201.
    assert [(r["building"], r["room"]) for r in rows] == [
        ("1栋", "00004"),
        ("2栋", "2"),
        ("2栋", "301"),
        ("2栋", "1201"),
        ("10栋", "201"),
        ("10栋", "1101"),
    ]
    assert [r["owner_name"] for r in rows] == ["业*3", "*", "王*明", "李*", "张*", "欧**娜"]
    for row in rows:
        assert set(row) == {
            "household_id",
            "estate",
            "building_id",
            "building",
            "unit",
            "room",
            "owner_name",
        }, row
        assert row["unit"] == "1单元" and row["estate"] == "测试小区"
        assert row["building_id"] == buildings[row["building"]]
    assert rows[0]["household_id"] == w.scene.household_ids[3]

    first = pages[0]
    assert (first["consultation_id"], first["eligible"], first["not_voted"]) == (cid, 9, 6)
    assert first["buildings"] == [
        {
            "building_id": buildings["1栋"],
            "name": "1栋",
            "estate": "测试小区",
            "eligible": 4,
            "not_voted": 1,
        },
        {
            "building_id": buildings["2栋"],
            "name": "2栋",
            "estate": "测试小区",
            "eligible": 3,
            "not_voted": 3,
        },
        {
            "building_id": buildings["10栋"],
            "name": "10栋",
            "estate": "测试小区",
            "eligible": 2,
            "not_voted": 2,
        },
    ]
    assert pages[2]["buildings"] == first["buildings"]  # with every page

    # One building; the counts still cover them all.
    two = _non_voters(client, w, cid, query=f"?building_id={buildings['2栋']}").get_json()
    assert [r["room"] for r in two["items"]] == ["2", "301", "1201"] and two["total"] == 3
    assert two["buildings"] == first["buildings"] and two["not_voted"] == 6

    # A visit that ends in a paper ballot takes the household off the list.
    visited = rows[1]["household_id"]
    recorded = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots",
        json={
            "household_id": visited,
            "choice": "satisfied",
            "evidence_upload_id": evidence_upload(
                app, w.project_id, staff_id=w.callers["clerk"].id
            ),
        },
        headers=w.headers["clerk"],
    )
    assert recorded.status_code == 201, recorded.get_json()
    run_jobs(app)
    after = _non_voters(client, w, cid, query=f"?building_id={buildings['2栋']}").get_json()
    assert visited not in [r["household_id"] for r in after["items"]]
    assert after["total"] == 2 and after["not_voted"] == 5
    assert [b["not_voted"] for b in after["buildings"]] == [1, 2, 2]


def test_the_list_never_shows_a_choice_phone_or_receipt(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    text = _non_voters(client, w, cid).get_data(as_text=True)
    for secret in ("satisfied", "abstain", "receipt", "choice", "phone", "1234", "业主3"):
        assert secret not in text, secret


def test_a_closed_consultation_still_lists_who_did_not_vote(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "closed")
    reply = _non_voters(client, w, cid, "county_officer")
    assert reply.status_code == 200
    assert [r["household_id"] for r in reply.get_json()["items"]] == [w.scene.household_ids[3]]


def test_a_bundled_projects_committee_lists_its_own_part(app, client, make, world):
    """The project bundles community B's estate: each committee gets its own community's
    households and buildings; the county gets both."""
    w = world
    with app.app_context():
        project = db.session.get(Project, w.project_id)
        project.estates.append(db.session.get(Estate, w.other_estate_id))
        db.session.commit()
    county_officer = w.headers["county_officer"]
    created = client.post(
        f"/api/v1/projects/{w.project_id}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": w.scene.plan_id},
        headers=county_officer,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    opened = client.post(f"/api/v1/consultations/{cid}/open", headers=county_officer)
    assert opened.status_code == 200, opened.get_json()
    run_jobs(app)

    mine = _non_voters(client, w, cid, "clerk").get_json()
    assert [r["household_id"] for r in mine["items"]] == w.scene.household_ids
    assert [b["estate"] for b in mine["buildings"]] == ["测试小区"]
    assert (mine["eligible"], mine["not_voted"], mine["total"]) == (4, 4, 4)

    theirs = _non_voters(client, w, cid, "clerk_other_community").get_json()
    assert [r["household_id"] for r in theirs["items"]] == [w.other_household_id]
    assert [r["owner_name"] for r in theirs["items"]] == ["王*"]
    assert [(b["estate"], b["eligible"]) for b in theirs["buildings"]] == [("邻小区", 1)]

    county = _non_voters(client, w, cid, "county_officer").get_json()
    assert county["total"] == 5 and len(county["buildings"]) == 2

    # Filtering on the other community's building is not a way round it.
    other_building = theirs["buildings"][0]["building_id"]
    refused = _non_voters(client, w, cid, "clerk", f"?building_id={other_building}")
    assert_error_shape(refused, 422, "building_not_in_list")
    # The owner of the bundled project still may not read it.
    assert_error_shape(_non_voters(client, w, cid, "owner"), 403, "out_of_scope")


# --- bad input ----------------------------------------------------------------------------------

BAD_QUERIES = [
    ("?page=0", 422, "invalid", "page"),
    ("?page=abc", 422, "invalid", "page"),
    ("?per_page=0", 422, "invalid", "per_page"),
    ("?per_page=101", 422, "invalid", "per_page"),
    ("?building_id=abc", 422, "invalid", "building_id"),
    ("?building_id=0", 422, "invalid", "building_id"),
    ("?building_id=99999999999", 422, "invalid", "building_id"),
    ("?building_id=999999", 422, "building_not_in_list", None),
]


@pytest.mark.parametrize(
    ("query", "status", "code", "field"), BAD_QUERIES, ids=[q[0] for q in BAD_QUERIES]
)
def test_bad_queries_are_refused_and_change_nothing(
    app, client, make, world, query, status, code, field
):
    w = world
    cid = consultation_in(app, client, w, "voted")
    before = snapshot(app)
    reply = _non_voters(client, w, cid, query=query)
    error = assert_error_shape(reply, status, code)
    if field is not None:
        assert field in error["details"]["fields"], error
    after = snapshot(app)
    assert after == before, diff(before, after)


def test_a_draft_has_no_list_yet(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "draft")
    assert_error_shape(_non_voters(client, w, cid), 409, "consultation_not_open")


def test_an_unknown_consultation_is_404(app, client, make, world):
    w = world
    assert_error_shape(_non_voters(client, w, 999_999), 404, "consultation_not_found")
