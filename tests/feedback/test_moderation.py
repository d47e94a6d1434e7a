"""Issue 14: the staff's moderation queue across their projects, and official replies to
residents' comments (who may, what residents see)."""

from __future__ import annotations

import pytest

from tests.support.feedback_world import World, build_world, refused, snapshot

QUEUE = "/api/v1/comments/moderation"


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    return build_world(app)


def _ids(reply) -> list[int]:
    assert reply.status_code == 200, reply.json
    return [c["id"] for c in reply.json["items"]]


def test_the_queue_holds_reported_held_and_hidden_comments_of_the_callers_projects(client, world):
    w = world
    # The hidden comment waits in the queue; the visible one without reports does not.
    assert _ids(client.get(QUEUE, headers=w.headers["clerk"])) == [w.hidden_comment]
    reported = client.post(
        f"/api/v1/comments/{w.comment}/report",
        json={"reason": "不实"},
        headers=w.headers["resident_member"],
    )
    assert reported.status_code == 201
    page = client.get(QUEUE, headers=w.headers["clerk"]).json
    assert page["total"] == 2 and page["page"] == 1 and page["per_page"] == 20
    first = next(c for c in page["items"] if c["id"] == w.comment)
    assert first["status"] == "visible"
    assert first["moderation"]["report_count"] == 1
    assert first["project_name"] == "甲小区改造" and first["author"] == "赵*"
    assert first["may_moderate"] is True and first["may_reply"] is True
    assert first["may_hide"] is True and first["may_restore"] is False
    second = next(c for c in page["items"] if c["id"] == w.hidden_comment)
    assert (second["may_hide"], second["may_restore"], second["may_reply"]) == (False, True, False)

    # The owner answers but does not moderate; the county moderates but does not answer.
    mine = client.get(QUEUE, headers=w.headers["owner"]).json["items"]
    assert {(c["may_moderate"], c["may_restore"]) for c in mine} == {(False, False)}
    assert [c["may_reply"] for c in mine if c["id"] == w.comment] == [True]
    county = client.get(QUEUE, headers=w.headers["county_officer"]).json["items"]
    assert {(c["may_moderate"], c["may_reply"]) for c in county} == {(True, False)}
    assert {(c["id"], c["may_hide"]) for c in county} == {
        (w.comment, True),
        (w.hidden_comment, False),
    }
    # Staff of other projects and communities have nothing of this world's.
    for actor in ("clerk_other_community", "owner_other_project"):
        assert _ids(client.get(QUEUE, headers=w.headers[actor])) == []

    hidden = client.get(QUEUE, query_string={"status": "hidden"}, headers=w.headers["clerk"])
    assert _ids(hidden) == [w.hidden_comment]
    of_project = {"project_id": w.construction}
    assert len(_ids(client.get(QUEUE, query_string=of_project, headers=w.headers["clerk"]))) == 2
    assert (
        _ids(client.get(QUEUE, query_string={"project_id": w.other}, headers=w.headers["clerk"]))
        == []
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"status": "gone"}, 422),
        ({"project_id": "x"}, 422),
        ({"project_id": 0}, 422),
        ({"per_page": 101}, 422),
        ({"project_id": 999999}, 404),
    ],
)
def test_bad_queue_queries_are_refused(app, client, world, query, status):
    before = snapshot(app)
    reply = client.get(QUEUE, query_string=query, headers=world.headers["clerk"])
    refused(app, before, reply, status)


def test_a_project_out_of_sight_is_not_confirmed(app, client, world):
    before = snapshot(app)
    reply = client.get(
        QUEUE,
        query_string={"project_id": world.construction},
        headers=world.headers["clerk_other_community"],
    )
    refused(app, before, reply, 404, "project_not_found")


def test_an_official_reply_is_shown_to_residents_with_the_role_only(app, client, world):
    w = world
    reply = client.post(
        f"/api/v1/comments/{w.comment}/replies",
        json={"body": " 周末不安排高噪音作业 "},
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 201, reply.json
    assert reply.json["role"] == "committee" and reply.json["role_label"] == "社区居委会"
    assert reply.json["body"] == "周末不安排高噪音作业"
    owner = client.post(
        f"/api/v1/comments/{w.comment}/replies", json={"body": "已安排"}, headers=w.headers["owner"]
    )
    assert owner.status_code == 201 and owner.json["role"] == "owner"

    seen = client.get(
        f"/api/v1/projects/{w.construction}/comments", headers=w.headers["resident_member"]
    ).json["items"]
    replies = next(c for c in seen if c["id"] == w.comment)["official_replies"]
    assert [(r["role_label"], r["body"]) for r in replies] == [
        ("社区居委会", "周末不安排高噪音作业"),
        ("建设单位", "已安排"),
    ]
    assert "工作人员" not in str(replies) and "clerk" not in str(replies)

    before = snapshot(app)
    hidden = client.post(
        f"/api/v1/comments/{w.hidden_comment}/replies",
        json={"body": "回复"},
        headers=w.headers["clerk"],
    )
    error = refused(app, before, hidden, 409, "comment_not_visible")
    assert error["details"] == {"status": "hidden"}
    county = client.post(
        f"/api/v1/comments/{w.comment}/replies",
        json={"body": "回复"},
        headers=w.headers["county_officer"],
    )
    refused(app, before, county, 403, "out_of_scope")
