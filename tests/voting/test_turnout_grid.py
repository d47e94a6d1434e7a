"""The floor grid (issue 13, item 5): `GET /consultations/{id}/turnout/grid`, one building of
the electorate as its doors by unit and floor, each with whether its household voted and how,
for the committee's door-to-door work in the console.

Whom it shows, as the non-voters list: the committee of the households' community, the county,
the prefecture; not the project owner, nor residents. Room numbers only: no name, no choice, no
receipt.
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
from voting.queries.turnout import room_floor


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world (tests/support/voting_world.py), built once; each test rolls back."""
    return build_world(app, module_make)


def _grid(client, w: World, cid: int, who: str = "clerk", query: str = ""):
    return client.get(f"/api/v1/consultations/{cid}/turnout/grid{query}", headers=w.headers[who])


def _tower(app, w: World, rooms: list[tuple[str, str]]) -> int:
    """A building "2栋" of the world's estate with households at (unit, room); its id."""
    with app.app_context():
        estate = db.session.get(Estate, w.scene.estate_id)
        for unit, room in rooms:
            factory.household(estate, room, building_name="2栋", unit=unit, owner_name="李四")
        db.session.commit()
        return factory.building(estate, "2栋").id


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
def test_who_reads_the_grid(app, client, make, world, actor):
    w = world
    cid = consultation_in(app, client, w, "voted")
    status, code = EXPECTED[actor]
    before = snapshot(app)
    reply = _grid(client, w, cid, actor)
    assert reply.status_code == status, reply.get_json()
    if status == 200:
        rooms = [
            room
            for unit in reply.get_json()["units"]
            for floor in unit["floors"]
            for room in floor["rooms"]
        ]
        assert [r["household_id"] for r in rooms] == w.scene.household_ids
    else:
        assert_error_shape(reply, status, code)
        after = snapshot(app)
        assert after == before, diff(before, after)


# --- what it answers ------------------------------------------------------------------------


def test_floors_from_room_numbers():
    assert [room_floor(r) for r in ("1203", "301", "A-1203", "2", "00001", "商铺", "0101")] == [
        12,
        3,
        12,
        None,
        None,
        None,
        1,
    ]


def test_the_grid_shows_each_door_by_unit_and_floor_with_how_it_voted(app, client, make, world):
    w = world
    building = _tower(
        app,
        w,
        [
            ("2单元", "101"),
            ("1单元", "1201"),
            ("1单元", "201"),
            ("1单元", "202"),
            ("1单元", "商铺"),
        ],
    )
    cid = consultation_in(app, client, w, "voted")  # 1栋: households 0, 1 online, 2 on paper

    first = _grid(client, w, cid).get_json()
    assert [b["name"] for b in first["buildings"]] == ["1栋", "2栋"]
    assert first["building"]["name"] == "1栋"  # the first, when none is asked for
    statuses = [
        room["status"] for unit in first["units"] for f in unit["floors"] for room in f["rooms"]
    ]
    assert statuses == ["wechat", "wechat", "paper", "not_voted"]
    assert first["counts"] == {
        "wechat": 2,
        "paper": 1,
        "assisted": 0,
        "not_voted": 1,
        "not_in_electorate": 0,
    }

    tower = _grid(client, w, cid, query=f"?building_id={building}").get_json()
    assert tower["building"] == {
        "building_id": building,
        "name": "2栋",
        "estate": "测试小区",
        "eligible": 5,
        "not_voted": 5,
    }
    assert [
        (unit["unit"], [(f["floor"], [r["room"] for r in f["rooms"]]) for f in unit["floors"]])
        for unit in tower["units"]
    ] == [
        ("1单元", [(2, ["201", "202"]), (12, ["1201"]), (None, ["商铺"])]),
        ("2单元", [(1, ["101"])]),
    ]
    room = tower["units"][0]["floors"][0]["rooms"][0]
    assert set(room) == {"household_id", "room", "status", "status_label"}
    assert (room["status"], room["status_label"]) == ("not_voted", "未投票")

    # A paper ballot after a visit: its door turns `paper`.
    recorded = client.post(
        f"/api/v1/consultations/{cid}/paper-ballots",
        json={
            "household_id": room["household_id"],
            "choice": "satisfied",
            "channel": "assisted",
            "assisted_by": "社区网格员",
            "evidence_upload_id": evidence_upload(
                app, w.project_id, staff_id=w.callers["clerk"].id
            ),
        },
        headers=w.headers["clerk"],
    )
    assert recorded.status_code == 201, recorded.get_json()
    run_jobs(app)
    after = _grid(client, w, cid, query=f"?building_id={building}").get_json()
    assert after["units"][0]["floors"][0]["rooms"][0]["status"] == "assisted"
    assert after["counts"]["assisted"] == 1 and after["counts"]["not_voted"] == 4


def test_a_household_added_after_the_opening_is_not_in_the_electorate(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    building = _tower(app, w, [("1单元", "301")])
    grid = _grid(client, w, cid).get_json()
    # The new building has no household of the electorate: it is not in the list at all.
    assert [b["name"] for b in grid["buildings"]] == ["1栋"]
    assert_error_shape(
        _grid(client, w, cid, query=f"?building_id={building}"), 422, "building_not_in_list"
    )
    with app.app_context():
        factory.household(db.session.get(Estate, w.scene.estate_id), "00005")
        db.session.commit()
    rooms = _grid(client, w, cid).get_json()["units"][0]["floors"][0]["rooms"]
    assert rooms[-1]["room"] == "00005" and rooms[-1]["status"] == "not_in_electorate"


def test_the_grid_never_shows_a_name_choice_or_receipt(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "closed")
    text = _grid(client, w, cid, "county_officer").get_data(as_text=True)
    for secret in ("satisfied", "unsatisfied", "abstain", "receipt", "choice", "业主", "phone"):
        assert secret not in text, secret


def test_a_committee_sees_only_its_own_part_of_a_bundled_project(app, client, make, world):
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
    mine = _grid(client, w, cid, "clerk").get_json()
    assert [b["estate"] for b in mine["buildings"]] == ["测试小区"]
    theirs = _grid(client, w, cid, "clerk_other_community").get_json()
    assert [b["estate"] for b in theirs["buildings"]] == ["邻小区"]
    refused = _grid(client, w, cid, "clerk", f"?building_id={theirs['building']['building_id']}")
    assert_error_shape(refused, 422, "building_not_in_list")
    assert len(_grid(client, w, cid, "county_officer").get_json()["buildings"]) == 2


# --- bad input ----------------------------------------------------------------------------------

BAD_QUERIES = [
    ("?building_id=abc", 422, "invalid", "building_id"),
    ("?building_id=0", 422, "invalid", "building_id"),
    ("?building_id=-1", 422, "invalid", "building_id"),
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
    error = assert_error_shape(_grid(client, w, cid, query=query), status, code)
    if field is not None:
        assert field in error["details"]["fields"], error
    after = snapshot(app)
    assert after == before, diff(before, after)


def test_a_draft_has_no_grid_yet(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "draft")
    assert_error_shape(_grid(client, w, cid), 409, "consultation_not_open")


def test_an_unknown_consultation_is_404(app, client, make, world):
    w = world
    assert_error_shape(_grid(client, w, 999_999), 404, "consultation_not_found")
    assert_error_shape(_grid(client, w, 999_999, "owner"), 404, "consultation_not_found")
