"""Comments through WeChat's content check (the local fake WeChat): pass, review, risky, WeChat
down; reports, moderation and likes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.core import db
from feedback import jobs
from feedback.models import Comment, CommentDecision, CommentReport
from tests.conftest import count_rows
from tests.support.feedback_world import (
    World,
    assert_error_shape,
    build_world,
    refused,
    snapshot,
)


def _post(client, w, body, actor="resident_member", plan=False, **extra):
    path = (
        f"/api/v1/plans/{w.plan}/comments"
        if plan
        else f"/api/v1/projects/{w.construction}/comments"
    )
    return client.post(path, json={"body": body, **extra}, headers=w.headers[actor])


def _listed(client, w, actor, plan=False, **query) -> list[dict]:
    path = (
        f"/api/v1/plans/{w.plan}/comments"
        if plan
        else f"/api/v1/projects/{w.construction}/comments"
    )
    reply = client.get(path, headers=w.headers[actor], query_string=query)
    assert reply.status_code == 200, reply.json
    return reply.json["items"]


def _ids(items) -> list[int]:
    return [c["id"] for c in items]


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def test_a_comment_that_passes_is_shown_to_everyone(app, world, client, wechat):
    w = world
    reply = _post(client, w, "希望加装电梯")
    assert reply.status_code == 201, reply.json
    comment = reply.json
    assert comment["status"] == "visible" and comment["mine"] is True
    assert comment["author"] == "张*" and comment["likes"] == 0
    assert wechat.checked == ["希望加装电梯"]
    assert comment["id"] in _ids(_listed(client, w, "supervisor"))
    assert comment["id"] in _ids(_listed(client, w, "clerk"))

    reply_to = _post(client, w, "同意", actor="supervisor", parent_id=comment["id"])
    assert reply_to.status_code == 201 and reply_to.json["parent_id"] == comment["id"]


@pytest.mark.parametrize(
    ("text", "setup"),
    [
        ("这里有违禁内容", lambda fake: None),  # WeChat's v1 answer: errcode 87014
        ("加我微信买发票", lambda fake: fake.suggest_for.update({"发票": "risky"})),  # v2
    ],
)
def test_risky_content_is_refused_with_a_clear_message_and_nothing_stored(
    app, world, client, wechat, text, setup
):
    w = world
    setup(wechat)
    before = snapshot(app)
    error = refused(app, before, _post(client, w, text), 422, "content_risky")
    assert "内容" in error["message"]
    assert wechat.checked == [text]
    error = refused(app, before, _post(client, w, text, plan=True), 422, "content_risky")


def test_content_for_review_waits_for_a_clerk(app, world, client, wechat):
    w = world
    wechat.suggest_for["拆迁"] = "review"
    comment = _post(client, w, "听说要拆迁？").json
    assert comment["status"] == "pending_review"
    assert comment["id"] not in _ids(_listed(client, w, "supervisor"))
    mine = _listed(client, w, "resident_member")
    assert [c["status"] for c in mine if c["id"] == comment["id"]] == ["pending_review"]
    held = _listed(client, w, "clerk", status="pending_review")
    assert _ids(held) == [comment["id"]]

    shown = client.post(
        f"/api/v1/comments/{comment['id']}/restore",
        json={"reason": "属实询问，可以公开"},
        headers=w.headers["clerk"],
    )
    assert shown.status_code == 200 and shown.json["status"] == "visible"
    assert shown.json["moderation"]["status_reason"] == "属实询问，可以公开"
    assert comment["id"] in _ids(_listed(client, w, "supervisor"))


def test_wechat_down_keeps_the_comment_waiting_unseen_then_checks_it(app, world, client, wechat):
    w = world
    wechat.down = True
    reply = _post(client, w, "什么时候完工？")
    assert reply.status_code == 201, reply.json
    comment = reply.json
    assert comment["status"] == "pending_check"
    with app.app_context():  # not lost
        stored = db.session.get(Comment, comment["id"])
        assert stored.body == "什么时候完工？" and stored.status == "pending_check"
    assert comment["id"] not in _ids(_listed(client, w, "supervisor"))  # not shown
    assert comment["id"] in _ids(_listed(client, w, "clerk", status="pending_check"))
    assert_error_shape(
        client.put(f"/api/v1/comments/{comment['id']}/like", headers=w.headers["supervisor"]),
        404,
        "comment_not_found",
    )
    # A clerk cannot show what WeChat has not checked.
    refused_restore = client.post(
        f"/api/v1/comments/{comment['id']}/restore",
        json={"reason": "看着没问题"},
        headers=w.headers["clerk"],
    )
    assert_error_shape(refused_restore, 409, "comment_not_restorable")
    # Nor hide it: it is shown to no one, and hiding it would let it skip the check.
    refused_hide = client.post(
        f"/api/v1/comments/{comment['id']}/hide",
        json={"reason": "先隐藏"},
        headers=w.headers["clerk"],
    )
    assert_error_shape(refused_hide, 409, "comment_not_hideable")

    with app.app_context():  # still down: the reconciler leaves it waiting
        assert jobs.reconcile()["waiting"] == 1
        assert db.session.get(Comment, comment["id"]).status == "pending_check"

    wechat.down = False
    with app.app_context():
        done = jobs.reconcile()
        assert done["rechecked"] == [comment["id"]] and done["waiting"] == 0
        stored = db.session.get(Comment, comment["id"])
        assert stored.status == "visible" and stored.check_attempts == 3
        decision = db.session.scalar(
            select(CommentDecision).where(CommentDecision.comment_id == comment["id"])
        )
        assert (decision.action, decision.from_status, decision.to_status) == (
            "checked",
            "pending_check",
            "visible",
        )
    assert comment["id"] in _ids(_listed(client, w, "supervisor"))


def test_a_comment_rechecked_as_risky_is_kept_for_the_record_but_never_shown(
    app, world, client, wechat
):
    w = world
    wechat.down = True
    comment = _post(client, w, "含有违禁词的评论").json
    wechat.down = False
    with app.app_context():
        jobs.reconcile()
        assert db.session.get(Comment, comment["id"]).status == "refused"
    assert comment["id"] not in _ids(_listed(client, w, "supervisor"))
    staff_view = {c["id"]: c for c in _listed(client, w, "clerk")}
    assert staff_view[comment["id"]]["status"] == "refused"


def test_three_reports_hide_a_comment_until_a_clerk_decides(app, world, client, wechat, make):
    w = world
    path = f"/api/v1/comments/{w.comment}/report"
    for actor in ("resident_member", "supervisor"):
        reply = client.post(path, json={"reason": "不实"}, headers=w.headers[actor])
        assert reply.status_code == 201 and reply.json["status"] == "visible"
    assert_error_shape(
        client.post(path, json={}, headers=w.headers["supervisor"]), 409, "already_reported"
    )
    third = client.post(path, json={}, headers=w.headers["supervisor_pending"])
    assert third.json["status"] == "reported"
    assert w.comment not in _ids(_listed(client, w, "resident_member"))
    staff = {c["id"]: c for c in _listed(client, w, "clerk")}
    assert staff[w.comment]["status"] == "reported"
    assert staff[w.comment]["moderation"]["report_count"] == 3

    restored = client.post(
        f"/api/v1/comments/{w.comment}/restore",
        json={"reason": "经核实内容属实"},
        headers=w.headers["clerk"],
    )
    assert restored.json["status"] == "visible"
    # Once a clerk has decided, more reports are counted but do not hide it again.
    with app.app_context():
        db.session.add(CommentReport(comment_id=w.comment, resident_id=w.neighbour))
        db.session.commit()
    another = client.post(path, json={}, headers=w.headers["supervisor_pending"])
    assert_error_shape(another, 409, "already_reported")
    assert w.comment in _ids(_listed(client, w, "resident_member"))

    hidden = client.post(
        f"/api/v1/comments/{w.comment}/hide",
        json={"reason": "涉及他人隐私"},
        headers=w.headers["county_officer"],
    )
    assert hidden.json["status"] == "hidden"
    assert w.comment not in _ids(_listed(client, w, "resident_member"))
    assert_error_shape(
        client.post(
            f"/api/v1/comments/{w.comment}/hide", json={"reason": "x"}, headers=w.headers["clerk"]
        ),
        409,
        "comment_not_hideable",
    )
    with app.app_context():
        actions = db.session.scalars(
            select(CommentDecision.action)
            .where(CommentDecision.comment_id == w.comment)
            .order_by(CommentDecision.id)
        ).all()
    assert actions == ["reported", "restore", "hide"]


def test_the_author_cannot_report_their_own_comment(app, world, client, wechat):
    w = world
    mine = _post(client, w, "我的评论").json
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/comments/{mine['id']}/report", json={}, headers=w.headers["resident_member"]
    )
    refused(app, before, reply, 409, "own_comment")


def test_one_like_per_resident(app, world, client):
    w = world
    like = f"/api/v1/comments/{w.comment}/like"
    first = client.put(like, headers=w.headers["resident_member"]).json
    again = client.put(like, headers=w.headers["resident_member"]).json
    assert first == again == {"comment_id": w.comment, "liked": True, "likes": 1}
    assert client.put(like, headers=w.headers["supervisor"]).json["likes"] == 2
    listed = {c["id"]: c for c in _listed(client, w, "resident_member")}
    assert listed[w.comment]["likes"] == 2 and listed[w.comment]["liked"] is True
    assert client.delete(like, headers=w.headers["resident_member"]).json == {
        "comment_id": w.comment,
        "liked": False,
        "likes": 1,
    }
    assert client.delete(like, headers=w.headers["resident_member"]).json["likes"] == 1
    listed = {c["id"]: c for c in _listed(client, w, "resident_member")}
    assert listed[w.comment]["liked"] is False
    with app.app_context():
        assert count_rows(app, CommentReport) == 0


def test_a_reply_names_a_visible_comment_of_the_same_target(app, world, client, wechat):
    w = world
    on_plan = _post(client, w, "方案很好", plan=True).json
    before = snapshot(app)
    for parent in (w.hidden_comment, on_plan["id"], 999999):
        reply = _post(client, w, "回复", parent_id=parent)
        refused(app, before, reply, 422, "parent_invalid")
    assert wechat.checked == ["方案很好"]  # a refused reply costs no WeChat call
    ok = _post(client, w, "回复", plan=True, parent_id=on_plan["id"])
    assert ok.status_code == 201
    assert _ids(_listed(client, w, "supervisor", plan=True)) == [on_plan["id"], ok.json["id"]]
    assert on_plan["id"] not in _ids(_listed(client, w, "supervisor"))


@pytest.mark.parametrize(
    ("body", "field"),
    [("", "body"), ("   ", "body"), ("长" * 1001, "body"), (None, "body"), (["x"], "body")],
)
def test_a_bad_comment_is_422_and_costs_no_wechat_call(app, world, client, wechat, body, field):
    w = world
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/projects/{w.construction}/comments",
        json={"body": body},
        headers=w.headers["resident_member"],
    )
    assert field in refused(app, before, reply, 422)["details"]["fields"]
    assert wechat.checked == []
