"""The staff's list of projects (issue 13, the console's 项目): `GET /projects` answers each staff
member with the projects they see (`participation.policy.sees_project`), filtered and paged.
Who may call it is in the permission matrix (tests/voting/test_permissions.py); here: what each
caller's list holds, the filters, bad input, and a statement count that does not grow with the
page."""

from __future__ import annotations

import pytest

from api.core import db
from devtools import factory
from participation.models import Project
from tests.support.statements import count_statements
from tests.support.voting_world import World, build_world

URL = "/api/v1/projects"


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world (the scene's project and another project on its estate, both in the
    scene's county) and a third project in a county of its own."""
    w = build_world(app, module_make)
    with app.app_context():
        county = factory.county("远县")
        estate = factory.estate(factory.community(county, "远社区"), "远小区")
        far = factory.project(
            county, [estate], "远县 100%_项目", status="reserve", category="enhancement"
        )
        far.plan_year = 2029
        db.session.commit()
        w.far_project_id = far.id
        w.far_county_id = county.id
    return w


def _ids(client, w: World, actor: str, **query) -> list[int]:
    reply = client.get(URL, query_string=query, headers=w.headers[actor])
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert set(body) == {"items", "page", "per_page", "total"}
    return [item["id"] for item in body["items"]]


def test_each_staff_member_lists_the_projects_they_see(client, world):
    w = world
    scene, other, far = w.project_id, w.other_project_id, w.far_project_id
    assert set(_ids(client, w, "prefecture")) >= {scene, other, far}
    assert set(_ids(client, w, "county_officer")) == {scene, other}
    assert set(_ids(client, w, "clerk")) == {scene, other}  # both cover its community's estate
    assert _ids(client, w, "clerk_other_community") == []
    assert _ids(client, w, "owner") == [scene]
    assert _ids(client, w, "owner_other_project") == [other]


@pytest.mark.parametrize("actor", ["resident_member", "resident_other_estate"])
def test_residents_are_refused(client, world, actor):
    reply = client.get(URL, headers=world.headers[actor])
    assert reply.status_code == 403
    assert reply.get_json()["error"]["code"] == "staff_only"
    assert reply.get_json()["error"]["message"]


def test_an_item_carries_the_summary_with_labels(client, world):
    reply = client.get(URL, headers=world.headers["owner"])
    (item,) = reply.get_json()["items"]
    assert item["name"] == "测试项目"
    assert item["status_label"] and item["category_label"]
    assert item["estate_ids"] == [world.scene.estate_id]


def test_the_filters_narrow_the_list(client, world):
    w = world
    pref = "prefecture"
    assert w.far_project_id not in _ids(client, w, pref, plan_year=2027)
    assert _ids(client, w, pref, plan_year=2029, county_id=w.far_county_id) == [w.far_project_id]
    assert _ids(client, w, pref, county_id=w.far_county_id) == [w.far_project_id]
    assert w.other_project_id in _ids(client, w, pref, category="improvement")
    assert w.project_id not in _ids(client, w, pref, category="improvement")
    assert _ids(client, w, pref, status="reserve", county_id=w.far_county_id) == [w.far_project_id]
    assert _ids(client, w, pref, status="accepted", county_id=w.far_county_id) == []
    # the name contains the text as typed: % and _ are plain characters
    assert _ids(client, w, pref, q="100%_") == [w.far_project_id]
    assert _ids(client, w, pref, q="%") == [w.far_project_id]
    assert w.other_project_id in _ids(client, w, pref, q="另一")
    # a county outside the caller's scope filters to nothing, it opens nothing
    assert _ids(client, w, "county_officer", county_id=w.far_county_id) == []
    assert _ids(client, w, pref, county_id=999999) == []


def test_the_list_pages(client, world):
    w = world
    total = client.get(URL, headers=w.headers["prefecture"]).get_json()["total"]
    assert total >= 3
    first = client.get(URL, query_string={"per_page": 1}, headers=w.headers["prefecture"])
    second = client.get(
        URL, query_string={"per_page": 1, "page": 2}, headers=w.headers["prefecture"]
    )
    assert first.get_json()["total"] == total
    assert first.get_json()["items"][0]["id"] != second.get_json()["items"][0]["id"]
    beyond = client.get(URL, query_string={"page": 1000}, headers=w.headers["prefecture"])
    assert beyond.status_code == 200 and beyond.get_json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"plan_year": "abc"},
        {"plan_year": "1999"},
        {"plan_year": ""},
        {"status": "bogus"},
        {"category": "basic "},
        {"county_id": "0"},
        {"county_id": "x"},
        {"q": "名" * 101},
        {"page": "0"},
        {"per_page": "101"},
    ],
)
def test_bad_input_is_refused_in_chinese(client, world, query):
    reply = client.get(URL, query_string=query, headers=world.headers["prefecture"])
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["error"]["message"]


def _statements(app, client, headers):
    with count_statements(app) as statements:
        reply = client.get(URL, query_string={"per_page": 100}, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return statements.count, reply.get_json()["total"]


def test_the_statements_do_not_grow_with_the_page(app, client, world):
    w = world
    before, total = _statements(app, client, w.headers["county_officer"])
    with app.app_context():
        estate = db.session.get(Project, w.project_id).estates[0]
        for k in range(3):
            factory.project(w.scene.county_id, [estate], f"加项目{k}")
        db.session.commit()
    try:
        after, grown = _statements(app, client, w.headers["county_officer"])
        assert grown == total + 3
        assert after == before, (before, after)
    finally:
        with app.app_context():
            for project in db.session.query(Project).filter(Project.name.like("加项目%")):
                project.estates = []
                db.session.delete(project)
            db.session.commit()


def test_a_step_out_of_order_names_the_statuses_in_chinese(client, world):
    """The console shows the refusal as it comes: the statuses by their Chinese names."""
    reply = client.post(
        f"/api/v1/projects/{world.project_id}/transitions",
        json={"to": "completed"},
        headers=world.headers["county_officer"],
    )
    assert reply.status_code == 409
    error = reply.get_json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["message"] == "项目当前状态为「征求居民意见」，不能直接转为「已完工」"
