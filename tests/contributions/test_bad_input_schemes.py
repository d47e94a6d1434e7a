"""Bad input to every contribution scheme endpoint (issue 15, H1): malformed JSON, wrong types,
numbers beyond any column, unknown ids, another project's plan item, funding line, building or
consultation, a scheme in the wrong state. Each is refused in the one error shape with a
4xx (never a 500), and nothing is written."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from api.core import db
from participation.models import Building, Plan, PlanItem
from tests.contributions.scheme_helpers import (
    S,
    adopted_scheme,
    create_scheme,
    funding_line,
    owners_decision,
    scheme_body,
)
from tests.support.voting_world import (
    assert_error_shape,
    build_world,
    consultation_in,
    snapshot,
)

BIG = 2**63
HUGE = 10**30


@pytest.fixture(scope="module")
def x(app, module_make):
    w = build_world(app, module_make)
    client = app.test_client()
    with app.app_context():
        other_item = db.session.scalar(
            select(PlanItem.id).join(Plan).where(Plan.project_id == w.other_project_id)
        )
        own_item = db.session.scalar(
            select(PlanItem.id).join(Plan).where(Plan.project_id == w.project_id)
        )
        other_building = db.session.scalar(
            select(Building.id).where(Building.estate_id == w.other_estate_id)
        )
    adopted = adopted_scheme(app, client, w)["id"]
    cancelled = create_scheme(client, w, title="已取消")["id"]
    reply = client.post(
        f"{S}/{cancelled}/cancel", json={"reason": "取消"}, headers=w.headers["owner"]
    )
    assert reply.status_code == 200
    return SimpleNamespace(
        w=w,
        draft=create_scheme(client, w, title="草案")["id"],
        adopted=adopted,
        cancelled=cancelled,
        own_item=own_item,
        other_item=other_item,
        other_building=other_building,
        own_line=funding_line(app, w.project_id),
        other_line=funding_line(app, w.other_project_id),
        other_decision=None,
    )


def refused(app, client, method, path, headers, status, code=None, **kwargs) -> dict:
    before = snapshot(app)
    reply = client.open(path, method=method.upper(), headers=headers, **kwargs)
    error = assert_error_shape(reply, status, code)
    assert snapshot(app) == before, (method, path)
    return error


def create_cases(x):
    return [
        ({"title": "缺少单价", "basis": "floor_area", "due_on": "2100-01-01"}, 422, None),
        (scheme_body(title=""), 422, None),
        (scheme_body(title="长" * 201), 422, None),
        (scheme_body(title="含\x00字符"), 422, None),
        (scheme_body(basis="area"), 422, None),
        (scheme_body(rate_fen="1250"), 422, None),
        (scheme_body(rate_fen=12.5), 422, None),
        (scheme_body(rate_fen=True), 422, None),
        (scheme_body(rate_fen=0), 422, None),
        (scheme_body(rate_fen=-1), 422, None),
        (scheme_body(rate_fen=10_000_001), 422, None),
        (scheme_body(rate_fen=BIG), 422, None),
        (scheme_body(rate_fen=HUGE), 422, None),
        (scheme_body(due_on="2020-01-01"), 422, "scheme_invalid"),
        (scheme_body(due_on="明天"), 422, None),
        (scheme_body(due_on="9999-12-31"), 422, None),
        (scheme_body(due_on=20300101), 422, None),
        (scheme_body(plan_item_id=x.other_item), 422, "scheme_invalid"),
        (scheme_body(plan_item_id=2**31 - 1), 422, "scheme_invalid"),
        (scheme_body(plan_item_id=BIG), 422, None),
        (scheme_body(plan_item_id=str(x.own_item)), 422, None),
        (scheme_body(building_ids=[x.other_building]), 422, "scheme_invalid"),
        (scheme_body(building_ids=[2**31 - 1]), 422, "scheme_invalid"),
        (scheme_body(building_ids=[HUGE]), 422, None),
        (scheme_body(building_ids="1"), 422, None),
        (scheme_body(building_ids=list(range(1, 503))), 422, None),
        (scheme_body(funding_line_id=x.other_line), 422, "scheme_invalid"),
        (scheme_body(funding_line_id=2**31 - 1), 422, "scheme_invalid"),
        (scheme_body(matter="management_statute"), 422, None),
        (scheme_body(status="adopted"), 422, None),
        (scheme_body(description=["x"]), 422, None),
        ([scheme_body()], 422, None),
        ("text", 422, None),
    ]


def test_create_refuses_bad_input_and_writes_nothing(app, client, x):
    path = f"/api/v1/projects/{x.w.project_id}/contribution-schemes"
    headers = x.w.headers["owner"]
    for body, status, code in create_cases(x):
        error = refused(app, client, "post", path, headers, status, code, json=body)
        if code == "scheme_invalid":
            assert error["details"], body
    refused(
        app,
        client,
        "post",
        path,
        headers,
        400,
        data='{"title": ',
        content_type="application/json",
    )
    for project in (2**31 - 1, BIG, x.w.other_project_id):
        other = f"/api/v1/projects/{project}/contribution-schemes"
        refused(app, client, "post", other, headers, 404, "project_not_found", json=scheme_body())


def test_a_valid_scheme_with_its_own_references_is_accepted(app, client, x):
    body = scheme_body(
        plan_item_id=x.own_item, funding_line_id=x.own_line, building_ids=[], matter="rebuild"
    )
    reply = client.post(
        f"/api/v1/projects/{x.w.project_id}/contribution-schemes",
        json=body,
        headers=x.w.headers["owner"],
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["plan_item_id"] == x.own_item


def test_patch_refuses_bad_input_and_other_states(app, client, x):
    headers = x.w.headers["owner"]
    path = f"{S}/{x.draft}"
    for body in (
        {"title": None},
        {"rate_fen": None},
        {"rate_fen": BIG},
        {"due_on": None},
        {"due_on": "2001-01-01"},
        {"basis": "floor"},
        {"plan_item_id": x.other_item},
        {"funding_line_id": x.other_line},
        {"building_ids": [x.other_building]},
        {"status": "adopted"},
        {"decision_id": 1},
        [],
    ):
        refused(app, client, "patch", path, headers, 422, json=body)
    refused(app, client, "patch", path, headers, 400, data="{", content_type="application/json")
    for scheme in (x.adopted, x.cancelled):
        refused(
            app,
            client,
            "patch",
            f"{S}/{scheme}",
            headers,
            409,
            "scheme_not_draft",
            json={"title": "改"},
        )
    for scheme in (2**31 - 1, BIG):
        refused(
            app,
            client,
            "patch",
            f"{S}/{scheme}",
            headers,
            404,
            "scheme_not_found",
            json={"title": "改"},
        )


def test_linking_refuses_what_is_not_this_schemes_owners_decision(app, client, x):
    w, headers = x.w, x.w.headers["owner"]
    path = f"{S}/{x.draft}/decision"
    satisfaction = consultation_in(app, client, w, "draft")
    wrong_matter = owners_decision(app, client, w, "draft", matter="rebuild")
    for body, status, code in (
        ({}, 422, None),
        ({"consultation_id": "1"}, 422, None),
        ({"consultation_id": 0}, 422, None),
        ({"consultation_id": BIG}, 422, None),
        ({"consultation_id": 2**31 - 1}, 404, "consultation_not_found"),
        ({"consultation_id": satisfaction}, 422, "not_an_owners_decision"),
        ({"consultation_id": wrong_matter}, 422, "decision_matter_mismatch"),
    ):
        refused(app, client, "put", path, headers, status, code, json=body)
    # Another project's owners' decision answers as a missing one.
    other = client.post(
        f"/api/v1/projects/{w.other_project_id}/consultations",
        json={"kind": "owners_decision", "matter": "raise_maintenance_fund"},
        headers=w.headers["clerk"],
    )
    assert other.status_code == 201, other.get_json()
    refused(
        app,
        client,
        "put",
        path,
        headers,
        404,
        "consultation_not_found",
        json={"consultation_id": other.get_json()["id"]},
    )
    mine = owners_decision(app, client, w, "draft")
    for scheme in (x.adopted, x.cancelled):
        refused(
            app,
            client,
            "put",
            f"{S}/{scheme}/decision",
            headers,
            409,
            "scheme_not_draft",
            json={"consultation_id": mine},
        )


def test_adopting_and_cancelling_refuse_the_wrong_state(app, client, x):
    headers = x.w.headers["owner"]
    refused(app, client, "post", f"{S}/{x.draft}/adopt", headers, 409, "decision_not_passed")
    for scheme in (x.adopted, x.cancelled):
        refused(app, client, "post", f"{S}/{scheme}/adopt", headers, 409, "scheme_not_draft")
    refused(app, client, "post", f"{S}/{BIG}/adopt", headers, 404, "scheme_not_found")
    path = f"{S}/{x.adopted}/cancel"
    for body in ({}, {"reason": ""}, {"reason": "长" * 201}, {"reason": 5}, ["取消"]):
        refused(app, client, "post", path, headers, 422, json=body)
    refused(app, client, "post", path, headers, 400, data="{", content_type="application/json")
    refused(
        app,
        client,
        "post",
        f"{S}/{x.cancelled}/cancel",
        headers,
        409,
        "scheme_cancelled",
        json={"reason": "再次"},
    )


def test_a_pledge_refuses_bad_input(app, client, x):
    w = x.w
    h = w.scene.household_ids[0]
    member = w.members[0]
    path = f"{S}/{x.adopted}/pledges/{h}"
    for body, code in (
        ({}, None),
        ({"choice": "maybe"}, None),
        ({"choice": "declined"}, "reason_required"),
        ({"choice": "declined", "reason": "   "}, None),
        ({"choice": "declined", "reason": "长" * 201}, None),
        ({"choice": ["pledged"]}, None),
        ({"choice": "pledged", "resident_id": 1}, None),
    ):
        refused(app, client, "put", path, member, 422, code, json=body)
    refused(app, client, "put", path, member, 400, data="{", content_type="application/json")
    for household in (2**31 - 1, BIG, w.other_household_id):
        refused(
            app,
            client,
            "put",
            f"{S}/{x.adopted}/pledges/{household}",
            w.headers["clerk"],
            404,
            "household_not_found",
            json={"choice": "pledged"},
        )
    for scheme in (x.draft, x.cancelled):
        refused(
            app,
            client,
            "put",
            f"{S}/{scheme}/pledges/{h}",
            member,
            409,
            "scheme_not_adopted",
            json={"choice": "pledged"},
        )
    refused(
        app,
        client,
        "put",
        f"{S}/{BIG}/pledges/{h}",
        member,
        404,
        "scheme_not_found",
        json={"choice": "pledged"},
    )


def test_reads_refuse_bad_queries_and_unknown_schemes(app, client, x):
    headers = x.w.headers["clerk"]
    for query in (
        "state=bogus",
        "building_id=abc",
        "building_id=0",
        "per_page=1000",
        "page=0",
        f"building_id={BIG}",
        "page=x",
    ):
        refused(app, client, "get", f"{S}/{x.adopted}/households?{query}", headers, 422)
    refused(app, client, "get", f"{S}/{x.adopted}/publicity?per_page=0", headers, 422)
    for suffix in ("", "/households", "/figures", "/publicity", "/export.xlsx"):
        for scheme in (2**31 - 1, BIG):
            refused(app, client, "get", f"{S}/{scheme}{suffix}", headers, 404, "scheme_not_found")
    refused(app, client, "get", f"/api/v1/projects/{BIG}/contribution-schemes", headers, 404)
