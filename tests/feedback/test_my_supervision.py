"""A resident's own supervisor sign-ups (`GET /me/supervision`) and the notice that tells them
when the committee accepts or declines one (issue 12, the mini-program's supervision screen)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from api.core import db, utcnow
from feedback.models import SupervisorSignup
from notices.models import Notice
from notices.service import events as notice_events
from tests.support.feedback_world import assert_error_shape, build_world, refused, snapshot

MINE = "/api/v1/me/supervision"


def _supervision_notices(app, resident_id=None) -> list[Notice]:
    with app.app_context():
        query = select(Notice).where(Notice.category == "supervision_reviewed")
        if resident_id is not None:
            query = query.where(Notice.recipient_id == resident_id)
        notices = db.session.scalars(query.order_by(Notice.id)).all()
        db.session.expunge_all()
        return notices


def test_the_list_holds_the_callers_own_sign_ups_with_labels_and_reasons(app, client):
    w = build_world(app)
    pending = client.get(MINE, headers=w.headers["supervisor_pending"])
    assert pending.status_code == 200, pending.json
    assert pending.json["total"] == 1
    [item] = pending.json["items"]
    assert item["id"] == w.signup_pending
    assert item["project_id"] == w.construction and item["project_name"] == "甲小区改造"
    assert (item["status"], item["status_label"]) == ("pending", "待审核")
    assert item["reason"] is None and item["decided_at"] is None and item["created_at"]

    declined = client.post(
        f"/api/v1/supervisors/{w.signup_pending}/decline",
        json={"reason": "本期名额已安排"},
        headers=w.headers["clerk"],
    )
    assert declined.status_code == 200
    [item] = client.get(MINE, headers=w.headers["supervisor_pending"]).json["items"]
    assert (item["status"], item["status_label"]) == ("declined", "未通过")
    assert item["reason"] == "本期名额已安排" and item["decided_at"]

    # Someone else's sign-ups are never in the list: the accepted supervisor sees theirs only.
    theirs = client.get(MINE, headers=w.headers["supervisor"]).json
    assert [i["id"] for i in theirs["items"]] == [w.signup_accepted]
    assert theirs["items"][0]["status_label"] == "已通过"
    # A resident who never signed up sees an empty page.
    assert client.get(MINE, headers=w.headers["resident_member"]).json == {
        "items": [],
        "page": 1,
        "per_page": 20,
        "total": 0,
    }


def test_the_list_pages_newest_first(app, client):
    w = build_world(app)
    with app.app_context():
        resident_id = w.callers["supervisor_pending"]
        household_id = w.households["supervisor_pending"]
        base = utcnow() - timedelta(days=30)
        for n, project_id in enumerate((w.completed, w.accepted, w.other)):
            db.session.add(
                SupervisorSignup(
                    project_id=project_id,
                    resident_id=resident_id,
                    household_id=household_id,
                    status="withdrawn",
                    created_at=base + timedelta(days=n),
                    withdrawn_at=base + timedelta(days=n, hours=1),
                )
            )
        db.session.commit()
    headers = w.headers["supervisor_pending"]
    first = client.get(MINE, query_string={"per_page": 2}, headers=headers).json
    second = client.get(MINE, query_string={"per_page": 2, "page": 2}, headers=headers).json
    assert first["total"] == second["total"] == 4
    projects = [i["project_id"] for i in first["items"] + second["items"]]
    assert projects == [w.construction, w.other, w.accepted, w.completed]
    assert second["items"][0]["status_label"] == "已撤回"
    beyond = client.get(MINE, query_string={"page": 9}, headers=headers).json
    assert beyond["items"] == [] and beyond["total"] == 4


def test_who_may_list(app, client):
    w = build_world(app)
    assert_error_shape(client.get(MINE), 401)
    for staff in ("clerk", "owner", "county_officer", "prefecture"):
        assert_error_shape(client.get(MINE, headers=w.headers[staff]), 403)
    # An unverified resident has no sign-ups, but may ask.
    assert client.get(MINE, headers=w.headers["resident_unverified"]).status_code == 200


def test_bad_query_strings_are_refused(app, client):
    w = build_world(app)
    headers = w.headers["supervisor_pending"]
    before = snapshot(app)
    for query in ({"page": "x"}, {"page": 0}, {"per_page": 101}, {"per_page": "1.5"}):
        refused(app, before, client.get(MINE, query_string=query, headers=headers), 422)


def test_the_resident_hears_of_an_accept_once(app, client):
    w = build_world(app)
    resident_id = w.callers["supervisor_pending"]
    accepted = client.post(
        f"/api/v1/supervisors/{w.signup_pending}/accept", headers=w.headers["clerk"]
    )
    assert accepted.status_code == 200, accepted.json
    [notice] = _supervision_notices(app)
    assert notice.recipient_id == resident_id and notice.target_kind == "resident"
    assert notice.title == "您的监督员报名已通过"
    assert "甲小区改造" in notice.body

    mine = client.get("/api/v1/notices", headers=w.headers["supervisor_pending"]).json["items"]
    assert [n["category"] for n in mine] == ["supervision_reviewed"]
    # Nobody else hears of it.
    for other in ("supervisor", "resident_member"):
        theirs = client.get("/api/v1/notices", headers=w.headers[other]).json["items"]
        assert "supervision_reviewed" not in [n["category"] for n in theirs]

    # A second decision is refused and tells nobody again; a repeated event publishes once.
    again = client.post(
        f"/api/v1/supervisors/{w.signup_pending}/accept", headers=w.headers["clerk"]
    )
    assert_error_shape(again, 409, "signup_not_pending")
    with app.test_request_context():
        assert (
            notice_events.signup_reviewed(
                signup_id=w.signup_pending,
                project_id=w.construction,
                resident_id=resident_id,
                status="accepted",
                reason=None,
            )
            is None
        )
        db.session.commit()
    assert len(_supervision_notices(app)) == 1


def test_the_resident_hears_of_a_decline_with_the_reason_once(app, client):
    w = build_world(app)
    resident_id = w.callers["supervisor_pending"]
    path = f"/api/v1/supervisors/{w.signup_pending}/decline"
    declined = client.post(path, json={"reason": "本期名额已安排"}, headers=w.headers["clerk"])
    assert declined.status_code == 200, declined.json
    [notice] = _supervision_notices(app, resident_id)
    assert notice.title == "您的监督员报名未通过"
    assert "本期名额已安排" in notice.body

    again = client.post(path, json={"reason": "再次"}, headers=w.headers["clerk"])
    assert_error_shape(again, 409, "signup_not_pending")
    assert len(_supervision_notices(app)) == 1

    # A refused decision (no reason) writes nothing and tells nobody.
    with app.app_context():
        other = SupervisorSignup(
            project_id=w.construction,
            resident_id=w.callers["resident_member"],
            household_id=w.households["resident_member"],
            status="pending",
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    before = snapshot(app)
    refused(
        app,
        before,
        client.post(f"/api/v1/supervisors/{other_id}/decline", json={}, headers=w.headers["clerk"]),
        422,
    )
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(Notice.category == "supervision_reviewed")
        )
    assert count == 1
