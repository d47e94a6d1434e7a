"""Who may do what with notices (the matrix, every endpoint), and bad input on every write:
the error shape, the right status, nothing written, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.core import db, utcnow
from notices.models import Notice
from participation.models import Estate, Project
from tests.support.notices_helpers import (
    TEMPLATE,
    build_town,
    building_id,
    post_notice,
    table_counts,
)

STAFF = ("clerk", "other_clerk", "owner", "other_owner", "county", "other_county", "prefecture")
STAFF += ("nobody",)


@pytest.fixture(scope="module")
def town(app, module_make):
    """The town, built once for the module; each test rolls back to it."""
    town = build_town(app, module_make)
    with app.app_context():  # a project reaching both communities
        project = Project(
            county_id=town.county.id,
            name="跨社区项目",
            category="basic",
            plan_year=2027,
            status="consulting",
            estates=[
                db.session.get(Estate, town.estate.id),
                db.session.get(Estate, town.estate_c.id),
            ],
        )
        db.session.add(project)
        db.session.commit()
        town.project_ab_id = project.id
    return town


def _error(reply, status, code=None):
    assert reply.status_code == status, reply.json
    assert set(reply.json) == {"error"}
    assert set(reply.json["error"]) == {"code", "message", "details"}
    if code:
        assert reply.json["error"]["code"] == code


def _notice_status(app, notice_id) -> str:
    with app.app_context():
        return db.session.get(Notice, notice_id).status


# --- writing a notice: who may publish where -------------------------------------------------

# target -> the staff who may publish there (everyone else in STAFF gets 403)
MAY_PUBLISH = {
    "estate": {"clerk", "owner", "county", "prefecture"},
    "buildings": {"clerk", "owner", "county", "prefecture"},
    "community": {"clerk", "county", "prefecture"},
    "project": {"clerk", "owner", "county", "prefecture"},
    "project_c": {"other_clerk", "other_owner", "county", "prefecture"},
    "project_ab": {"county", "prefecture"},  # neither clerk covers both communities
}


def _target(town, name) -> dict:
    return {
        "estate": {"estate_id": town.estate.id},
        "buildings": {
            "estate_id": town.estate.id,
            "building_ids": [building_id(town, town.estate, "1栋")],
        },
        "community": {"community_id": town.community.id},
        "project": {"project_id": town.project.id},
        "project_c": {"project_id": town.project_c.id},
        "project_ab": {"project_id": town.project_ab_id},
    }[name]


@pytest.mark.parametrize("target", sorted(MAY_PUBLISH))
def test_who_may_publish_a_notice_where(app, client, make, town, target):
    for who in STAFF:
        before = table_counts(app)
        reply = post_notice(client, make, town.staff[who], **_target(town, target))
        if who in MAY_PUBLISH[target]:
            assert reply.status_code == 201, (who, reply.json)
        else:
            _error(reply, 403, "out_of_scope")
            assert table_counts(app) == before, who


def test_residents_and_strangers_may_not_publish(app, client, make, town):
    before = table_counts(app)
    body = {"estate_id": town.estate.id, "category": "general", "title": "t", "body": "b"}
    _error(client.post("/api/v1/notices", json=body), 401, "unauthorized")
    reply = client.post("/api/v1/notices", json=body, headers=make.headers(town.residents["a1"]))
    _error(reply, 403, "staff_only")
    bad_token = {"Authorization": "Bearer not-a-token"}
    _error(client.post("/api/v1/notices", json=body, headers=bad_token), 401, "token_invalid")
    assert table_counts(app) == before


# --- reading and managing a notice ------------------------------------------------------------


@pytest.fixture
def notices(client, make, town):
    """An estate draft (by the clerk) and a draft for the two-community project (county)."""
    estate = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id, draft=True)
    project_ab = post_notice(
        client, make, town.staff["county"], project_id=town.project_ab_id, draft=True
    )
    return {"estate": estate.json["id"], "project_ab": project_ab.json["id"]}


# what those who see a notice read of it (the console's figures among them)
READS = ("", "/receipts", "/delivery-report", "/buildings", "/unreached")

# notice -> (staff who see it, staff who manage it); the rest get 404
ACCESS = {
    "estate": (
        {"clerk", "owner", "county", "prefecture"},
        {"clerk", "owner", "county", "prefecture"},
    ),
    # both committees see a notice to their residents, neither may change it alone
    "project_ab": ({"clerk", "other_clerk", "county", "prefecture"}, {"county", "prefecture"}),
}


@pytest.mark.parametrize("which", sorted(ACCESS))
def test_who_sees_and_who_manages_a_notice(app, client, make, town, notices, which):
    notice_id = notices[which]
    sees, manages = ACCESS[which]
    for who in STAFF:
        headers = make.headers(town.staff[who])
        reads = [
            client.get(f"/api/v1/notices/{notice_id}{tail}", headers=headers) for tail in READS
        ]
        writes = [
            client.patch(f"/api/v1/notices/{notice_id}", json={"pinned": True}, headers=headers),
            client.post(
                f"/api/v1/notices/{notice_id}/withdraw", json={"reason": "x"}, headers=headers
            ),
        ]
        for reply in reads:
            if who in sees:
                assert reply.status_code == 200, (who, reply.json)
            else:
                _error(reply, 404, "notice_not_found")
        for reply in writes:
            if who in manages:
                assert reply.status_code in (200, 409), (who, reply.json)  # 409: withdrawn already
            elif who in sees:
                _error(reply, 403, "out_of_scope")
            else:
                _error(reply, 404, "notice_not_found")
    assert _notice_status(app, notice_id) == "withdrawn"  # by the first who manages it


def test_only_those_who_manage_publish_a_draft(app, client, make, town, notices):
    notice_id = notices["project_ab"]
    for who in ("clerk", "other_clerk"):
        reply = client.post(
            f"/api/v1/notices/{notice_id}/publish", headers=make.headers(town.staff[who])
        )
        _error(reply, 403, "out_of_scope")
    for who in ("owner", "nobody", "other_county"):
        reply = client.post(
            f"/api/v1/notices/{notice_id}/publish", headers=make.headers(town.staff[who])
        )
        _error(reply, 404, "notice_not_found")
    assert _notice_status(app, notice_id) == "draft"
    assert table_counts(app)["deliveries"] == 0
    reply = client.post(
        f"/api/v1/notices/{notice_id}/publish", headers=make.headers(town.staff["county"])
    )
    assert reply.status_code == 200 and reply.json["status"] == "published"


def test_residents_read_only_what_was_published_to_them(app, client, make, town, notices):
    clerk, r = town.staff["clerk"], town.residents
    published = post_notice(client, make, clerk, estate_id=town.estate.id).json["id"]
    draft = notices["estate"]
    member = make.headers(r["a1"])

    assert client.get(f"/api/v1/notices/{published}", headers=member).status_code == 200
    _error(client.get(f"/api/v1/notices/{draft}", headers=member), 404, "notice_not_found")
    _error(client.post(f"/api/v1/notices/{draft}/read", headers=member), 404, "notice_not_found")
    for who in ("c1", "b1", "pending", "outsider"):
        headers = make.headers(r[who])
        _error(client.get(f"/api/v1/notices/{published}", headers=headers), 404)
        _error(client.post(f"/api/v1/notices/{published}/read", headers=headers), 404)
    before = table_counts(app)
    for method, path, body in (
        ("patch", f"/api/v1/notices/{published}", {"pinned": True}),
        ("post", f"/api/v1/notices/{published}/publish", None),
        ("post", f"/api/v1/notices/{published}/withdraw", {"reason": "x"}),
        ("get", f"/api/v1/notices/{published}/receipts", None),
        ("get", f"/api/v1/notices/{published}/delivery-report", None),
        ("get", f"/api/v1/notices/{published}/buildings", None),
        ("get", f"/api/v1/notices/{published}/unreached", None),
    ):
        reply = getattr(client, method)(path, json=body, headers=member)
        _error(reply, 403, "staff_only")
    # staff do not mark notices read, nor record subscriptions
    _error(
        client.post(f"/api/v1/notices/{published}/read", headers=make.headers(clerk)),
        403,
        "residents_only",
    )
    subscribe = {"results": {TEMPLATE: "accept"}}
    reply = client.post("/api/v1/me/subscriptions", json=subscribe, headers=make.headers(clerk))
    _error(reply, 403, "residents_only")
    _error(client.get("/api/v1/me/subscriptions", headers=make.headers(clerk)), 403)
    assert table_counts(app) == before
    for method, path in (
        ("get", "/api/v1/notices"),
        ("get", f"/api/v1/notices/{published}"),
        ("post", f"/api/v1/notices/{published}/read"),
        ("get", "/api/v1/me/subscriptions"),
        ("post", "/api/v1/me/subscriptions"),
        ("get", f"/api/v1/notices/{published}/receipts"),
        ("get", f"/api/v1/notices/{published}/delivery-report"),
        ("get", f"/api/v1/notices/{published}/buildings"),
        ("get", f"/api/v1/notices/{published}/unreached"),
    ):
        _error(getattr(client, method)(path), 401, "unauthorized")
    _error(client.get("/api/v1/notices/999999", headers=member), 404, "notice_not_found")


# --- bad input on every write: the error shape, nothing written --------------------------------


def _bad_notice_bodies(town):
    estate = {"estate_id": town.estate.id}
    base = {"category": "general", "title": "停水通知", "body": "内容", **estate}
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    future = (utcnow() + timedelta(days=1)).isoformat()
    other_building = building_id(town, town.estate_c, "1栋")
    return [
        ({}, 422, None),
        ({k: v for k, v in base.items() if k != "estate_id"}, 422, None),  # no target
        ({**base, "community_id": town.community.id}, 422, None),  # two targets
        ({**base, "estate_id": None, "building_ids": [1]}, 422, None),  # buildings, no estate
        ({**base, "building_ids": [other_building]}, 422, "buildings_not_in_estate"),
        ({**base, "building_ids": []}, 422, None),
        ({**base, "estate_id": 999_999}, 404, "estate_not_found"),
        ({**base, "estate_id": 2**40}, 422, None),
        ({**base, "estate_id": str(town.estate.id)}, 422, None),
        ({**base, "category": "gate_result"}, 422, None),  # written by events only
        ({**base, "category": "party"}, 422, None),
        ({**base, "title": "x" * 101}, 422, None),
        ({**base, "title": "   "}, 422, None),
        ({**base, "body": "含\x00字符"}, 422, None),
        ({**base, "body": "长" * 10_001}, 422, None),
        ({**base, "attachments": ["not a url"]}, 422, None),
        ({**base, "attachments": ["https://example.org/a.pdf"] * 21}, 422, None),
        ({**base, "publish_at": past}, 422, "publish_at_past"),
        ({**base, "publish_at": "2030-01-01T08:00:00"}, 422, None),  # no offset
        ({**base, "publish_at": "明天"}, 422, None),
        ({**base, "expires_at": past}, 422, "expires_before_publish"),
        ({**base, "publish_at": future, "expires_at": future}, 422, "expires_before_publish"),
        ({**base, "draft": True, "publish_at": future}, 422, None),
        ({**base, "surprise": 1}, 422, None),
        (["a", "list"], 422, None),
    ]


def test_bad_notice_bodies_are_refused_and_nothing_is_written(app, client, make, town):
    headers = make.headers(town.staff["clerk"])
    before = table_counts(app)
    for body, status, code in _bad_notice_bodies(town):
        reply = client.post("/api/v1/notices", json=body, headers=headers)
        _error(reply, status, code)
        assert table_counts(app) == before, body
    for raw in (b"{not json", b"\xff\xfe", b""):
        reply = client.post(
            "/api/v1/notices", data=raw, headers={**headers, "Content-Type": "application/json"}
        )
        assert reply.status_code in (400, 422), raw
        _error(reply, reply.status_code)
    assert table_counts(app) == before


def test_bad_edits_publishes_and_withdrawals_are_refused_and_change_nothing(
    app, client, make, town, notices
):
    headers = make.headers(town.staff["clerk"])
    notice_id = notices["estate"]
    url = f"/api/v1/notices/{notice_id}"
    before = table_counts(app)
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    for body, code in (
        ({}, None),
        ({"title": ""}, None),
        ({"category": "gate_result"}, None),
        ({"expires_at": past}, "expires_before_publish"),
        ({"status": "published"}, None),
        ({"pinned": "perhaps"}, None),
        (["x"], None),
    ):
        _error(client.patch(url, json=body, headers=headers), 422, code)
    for body, code in (
        ({"publish_at": past}, "publish_at_past"),
        ({"publish_at": "soon"}, None),
        ({"publish_at": "2030-01-01T08:00:00"}, None),
        ({"when": "now"}, None),
    ):
        _error(client.post(f"{url}/publish", json=body, headers=headers), 422, code)
    for body in ({}, {"reason": ""}, {"reason": "理" * 501}, {"reason": 5}):
        _error(client.post(f"{url}/withdraw", json=body, headers=headers), 422)
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert (notice.status, notice.title, notice.pinned) == ("draft", "停水通知", False)
    assert table_counts(app) == before
    for query in ({"lowest": 0}, {"lowest": "many"}, {"lowest": 501}):
        _error(client.get(f"{url}/receipts", query_string=query, headers=headers), 422)
    for query in ({"page": 0}, {"per_page": 1000}, {"status": "lost"}, {"project_id": "x"}):
        _error(client.get("/api/v1/notices", query_string=query, headers=headers), 422)
    for tail in ("/buildings", "/unreached"):
        for query in ({"page": 0}, {"per_page": 101}, {"per_page": "x"}, {"page": "一"}):
            _error(client.get(f"{url}{tail}", query_string=query, headers=headers), 422)
    for query in ({"building_id": 0}, {"building_id": "x"}, {"building_id": 2**40}):
        _error(client.get(f"{url}/unreached", query_string=query, headers=headers), 422)


def test_the_figures_of_a_notice_refuse_what_it_did_not_reach(app, client, make, town):
    """The not-reached list of a building the notice did not reach (another estate's, an
    unknown one) is a 422 naming it; unknown notices are 404; nothing is written."""
    headers = make.headers(town.staff["clerk"])
    published = post_notice(
        client,
        make,
        town.staff["clerk"],
        estate_id=town.estate.id,
        building_ids=[building_id(town, town.estate, "1栋")],
    ).json["id"]
    before = table_counts(app)
    url = f"/api/v1/notices/{published}/unreached"
    for other in (
        building_id(town, town.estate, "2栋"),  # the estate's, not chosen
        building_id(town, town.estate_c, "1栋"),  # another community's
        999_999,
    ):
        reply = client.get(url, query_string={"building_id": other}, headers=headers)
        _error(reply, 422, "building_not_in_notice")
        assert reply.json["error"]["details"] == {"building_id": other}
    for tail in ("/delivery-report", "/buildings", "/unreached"):
        _error(
            client.get(f"/api/v1/notices/999999{tail}", headers=headers), 404, "notice_not_found"
        )
        _error(client.get(f"/api/v1/notices/0{tail}", headers=headers), 404)
    assert table_counts(app) == before


def test_bad_subscription_answers_are_refused_and_nothing_is_written(app, client, make, town):
    headers = make.headers(town.residents["a1"])
    before = table_counts(app)
    for body, code in (
        ({}, None),
        ({"results": {}}, None),
        ({"results": {"errMsg": "requestSubscribeMessage:ok"}}, None),
        ({"results": ["accept"]}, None),
        ({"results": {TEMPLATE: "maybe"}}, None),
        ({"results": {TEMPLATE: 1}}, None),
        ({"results": {"someone-elses-template": "accept"}}, "unknown_template"),
        ({"results": {TEMPLATE: "accept", "other": "accept"}}, "unknown_template"),
        ({"results": {f"t{i}": "accept" for i in range(22)}}, None),
        ({"results": {TEMPLATE: "accept"}, "extra": True}, None),
    ):
        _error(client.post("/api/v1/me/subscriptions", json=body, headers=headers), 422, code)
    assert table_counts(app) == before


def test_no_odd_input_makes_a_500(app, client, make, town, notices):
    headers = make.headers(town.staff["clerk"])
    oddities = [None, 0, -1, 1e308, "", "\u0000", "😀" * 300, [], {}, [{}], {"a": {"b": []}}, True]
    fields = ("estate_id", "building_ids", "category", "title", "body", "attachments", "pinned")
    fields += ("expires_at", "publish_at", "draft", "community_id", "project_id")
    for name in fields:
        for value in oddities:
            body = {"category": "general", "title": "t", "body": "b", "estate_id": town.estate.id}
            body[name] = value
            reply = client.post("/api/v1/notices", json=body, headers=headers)
            assert reply.status_code < 500, (name, value, reply.json)
            reply = client.patch(
                f"/api/v1/notices/{notices['estate']}", json={name: value}, headers=headers
            )
            assert reply.status_code < 500, (name, value, reply.json)
    resident = make.headers(town.residents["a1"])
    for value in oddities:
        reply = client.post("/api/v1/me/subscriptions", json={"results": value}, headers=resident)
        assert reply.status_code == 422, value
