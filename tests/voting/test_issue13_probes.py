"""Review probes of issue 13's staff reads (`GET /projects`, `GET /consultations/{id}/turnout/
grid`, the exports): callers the matrices leave out (a county officer of another county, staff
without a grant, a deactivated clerk), odd query strings (repeated, huge, non-ASCII digits,
SQL wildcards), and statement counts that must not grow with the rows."""

from __future__ import annotations

import pytest

from api.core import db
from devtools import factory
from participation.models import Estate, Staff
from tests.support.statements import count_statements
from tests.support.voting_world import World, assert_error_shape, build_world, consultation_in


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    return build_world(app, module_make)


def _deactivated(app, make, role, scope):
    clerk = make.staff(role, scope)
    headers = make.headers(clerk)
    with app.app_context():
        db.session.get(Staff, clerk.id).active = False
        db.session.commit()
    return headers


def _community_id(app, w: World) -> int:
    with app.app_context():
        return db.session.get(Estate, w.scene.estate_id).community_id


# --- GET /projects ----------------------------------------------------------------------------


def test_project_list_for_callers_outside_every_matrix(app, client, make, world):
    w = world
    far_officer = make.headers(make.staff("county", make.county().id))
    no_grant = make.headers(make.staff())
    for headers in (far_officer, no_grant):
        reply = client.get("/api/v1/projects", headers=headers)
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json()["items"] == [] and reply.get_json()["total"] == 0
    gone = _deactivated(app, make, "committee", _community_id(app, w))
    assert_error_shape(client.get("/api/v1/projects", headers=gone), 401)


@pytest.mark.parametrize(
    "query",
    [
        [("status", "reserve"), ("status", "bogus")],
        [("county_id", "1"), ("county_id", "2")],
        [("county_id", str(2**31))],
        [("county_id", "١")],
        [("plan_year", "２０２７")],
        [("q", "\\")],
        [("q", "%_\\%")],
        [("q", "'; DROP TABLE projects; --")],
        [("q", "\x00")],
        [("per_page", "100"), ("page", str(2**31))],
        [("page", "99999999999999999999")],
    ],
)
def test_project_list_odd_queries_are_never_a_500(client, world, query):
    reply = client.get("/api/v1/projects", query_string=query, headers=world.headers["clerk"])
    assert reply.status_code in (200, 422), reply.get_data(as_text=True)[:300]
    if reply.status_code == 422:
        assert_error_shape(reply, 422)


def test_project_list_wildcards_match_as_typed(client, world):
    headers = world.headers["prefecture"]
    for q in ("%", "_", "\\", "%%"):
        reply = client.get("/api/v1/projects", query_string={"q": q}, headers=headers)
        assert reply.status_code == 200
        assert all(q in item["name"] for item in reply.get_json()["items"]), q


def _list_statements(app, client, headers) -> tuple[int, int]:
    with count_statements(app) as statements:
        reply = client.get("/api/v1/projects", query_string={"per_page": 100}, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return statements.count, reply.get_json()["total"]


@pytest.mark.parametrize("actor", ["clerk", "owner", "prefecture"])
def test_project_list_statements_do_not_grow_for_committee_owner_or_prefecture(
    app, client, make, world, actor
):
    """A committee's list (the estate join), an owner's, the prefecture's; the new projects
    bundle two estates each and one is consulting with an open gate (its redaction read)."""
    w = world
    headers = w.headers[actor]
    consultation_in(app, client, w, "voted")
    before, total = _list_statements(app, client, headers)
    with app.app_context():
        estate = db.session.get(Estate, w.scene.estate_id)
        second = factory.estate(estate.community, "加小区")
        for k in range(4):
            project = factory.project(w.scene.county_id, [estate, second], f"加项目{k}")
            if actor == "owner":  # the owner of every project added too
                factory.grant(w.callers["owner"], "owner", project)
        db.session.commit()
    after, grown = _list_statements(app, client, headers)
    assert grown == total + 4
    assert after == before, (before, after)


# --- GET /consultations/{id}/turnout/grid -------------------------------------------------------


def test_grid_for_callers_outside_every_matrix(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    url = f"/api/v1/consultations/{cid}/turnout/grid"
    for headers in (
        make.headers(make.staff("county", make.county().id)),
        make.headers(make.staff()),
    ):
        assert_error_shape(client.get(url, headers=headers), 404, "consultation_not_found")
    gone = _deactivated(app, make, "committee", _community_id(app, w))
    assert_error_shape(client.get(url, headers=gone), 401)


def test_grid_refuses_a_building_outside_its_list(app, client, make, world):
    """Another estate's building, and one of the same estate where no household of the
    electorate lives, are both `building_not_in_list`; nothing of them shows."""
    w = world
    cid = consultation_in(app, client, w, "voted")
    with app.app_context():
        other = db.session.get(Estate, w.other_estate_id)
        foreign = factory.household(other, "901", building_name="9栋", owner_name="王五")
        foreign_building = foreign.building_id
        estate = db.session.get(Estate, w.scene.estate_id)
        empty = factory.building(estate, "空楼").id
        db.session.commit()
    for building in (foreign_building, empty):
        reply = client.get(
            f"/api/v1/consultations/{cid}/turnout/grid?building_id={building}",
            headers=w.headers["prefecture"],
        )
        assert_error_shape(reply, 422, "building_not_in_list")
        assert "王五" not in reply.get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "?building_id=1&building_id=abc",
        "?building_id=abc&building_id=1",
        f"?building_id={2**31}",
        f"?building_id={2**64}",
        "?building_id=%D9%A1",  # Arabic-Indic digit one
        "?building_id=%EF%BC%91",  # full-width one
        "?building_id=1.0",
        "?building_id=%00",
        "?building_id=",
    ],
)
def test_grid_odd_queries_are_never_a_500(app, client, world, query):
    w = world
    cid = consultation_in(app, client, w, "open")
    reply = client.get(
        f"/api/v1/consultations/{cid}/turnout/grid{query}", headers=w.headers["clerk"]
    )
    assert reply.status_code in (200, 422), reply.get_data(as_text=True)[:300]
    if reply.status_code == 422:
        assert_error_shape(reply, 422)


def _grid_statements(app, client, w, cid) -> tuple[int, int]:
    with count_statements(app) as statements:
        reply = client.get(f"/api/v1/consultations/{cid}/turnout/grid", headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    doors = sum(len(f["rooms"]) for unit in body["units"] for f in unit["floors"])
    return statements.count, doors + len(body["buildings"])


def test_grid_statements_do_not_grow_with_buildings_or_doors(app, client, make, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    before, shown = _grid_statements(app, client, w, cid)
    with app.app_context():
        estate = db.session.get(Estate, w.scene.estate_id)
        for unit in ("1单元", "2单元"):
            for room in ("301", "302", "1101"):
                factory.household(estate, room, building_name="1栋", unit=unit, owner_name="李四")
        factory.household(estate, "101", building_name="3栋", owner_name="李四")
        db.session.commit()
    after, grown = _grid_statements(app, client, w, cid)
    assert grown > shown
    assert after == before, (before, after)


# --- the exports, callers outside the matrix --------------------------------------------------


@pytest.mark.parametrize("suffix", ["turnout.xlsx", "result.xlsx", "publicity.pdf"])
def test_exports_for_a_county_officer_of_another_county_are_404(app, client, make, world, suffix):
    w = world
    cid = consultation_in(app, client, w, "closed")
    headers = make.headers(make.staff("county", make.county().id))
    reply = client.get(f"/api/v1/consultations/{cid}/{suffix}", headers=headers)
    assert_error_shape(reply, 404, "consultation_not_found")
    gone = _deactivated(app, make, "committee", _community_id(app, w))
    assert_error_shape(client.get(f"/api/v1/consultations/{cid}/{suffix}", headers=gone), 401)
