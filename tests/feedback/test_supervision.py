"""Supervisor sign-up: the committee accepts up to the project's cap, declines with a reason;
the roster is public within the estate, masked; the cap holds when two accepts race."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from api import auth
from api.core import db
from feedback.models import SupervisorSignup
from feedback.service import supervision
from participation.models import Household, Project
from tests.support.feedback_world import (
    assert_error_shape,
    build_world,
    refused,
    set_columns,
    snapshot,
)
from tests.support.voting_helpers import build_scene, resident


def _sign_up(client, headers, project_id, **body):
    return client.post(f"/api/v1/projects/{project_id}/supervisors", json=body, headers=headers)


def _signups(app, project_id, status=None) -> int:
    with app.app_context():
        query = select(func.count()).where(SupervisorSignup.project_id == project_id)
        if status:
            query = query.where(SupervisorSignup.status == status)
        return db.session.scalar(query)


def test_sign_up_accept_decline_and_withdraw(app, client):
    w = build_world(app)
    member = w.headers["resident_member"]
    signed = _sign_up(
        client, member, w.construction, trade="  电工 ", days_available=["sun", "sat", "sat"]
    )
    assert signed.status_code == 201, signed.json
    assert signed.json["status"] == "pending"
    assert signed.json["trade"] == "电工"
    assert signed.json["days_available"] == ["sat", "sun"]
    assert signed.json["nickname"] == "张*"

    again = _sign_up(client, member, w.construction)
    assert_error_shape(again, 409, "already_signed_up")

    declined = client.post(
        f"/api/v1/supervisors/{signed.json['id']}/decline",
        json={"reason": "本期名额已安排"},
        headers=w.headers["clerk"],
    )
    assert declined.status_code == 200
    assert declined.json["status"] == "declined" and declined.json["reason"] == "本期名额已安排"
    twice = client.post(
        f"/api/v1/supervisors/{signed.json['id']}/accept", headers=w.headers["clerk"]
    )
    assert_error_shape(twice, 409, "signup_not_pending")

    # Declined, the resident may sign up again; withdrawn, the place is free.
    second = _sign_up(client, member, w.construction, trade="木工")
    assert second.status_code == 201
    accepted = client.post(
        f"/api/v1/supervisors/{second.json['id']}/accept", headers=w.headers["county_officer"]
    )
    assert accepted.json["status"] == "accepted"
    withdrawn = client.post(f"/api/v1/supervisors/{second.json['id']}/withdraw", headers=member)
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    assert_error_shape(
        client.post(f"/api/v1/supervisors/{second.json['id']}/withdraw", headers=member),
        409,
        "signup_not_live",
    )


def test_accept_refuses_at_the_cap_and_writes_nothing(app, client):
    w = build_world(app)
    set_columns(app, Project, w.construction, supervisor_cap=1)  # the supervisor holds it
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/supervisors/{w.signup_pending}/accept", headers=w.headers["clerk"]
    )
    error = refused(app, before, reply, 409, "supervisor_cap_reached")
    assert error["details"] == {"cap": 1, "accepted": 1}

    # A withdrawal frees the place.
    client.post(
        f"/api/v1/supervisors/{w.signup_accepted}/withdraw", headers=w.headers["supervisor"]
    )
    reply = client.post(
        f"/api/v1/supervisors/{w.signup_pending}/accept", headers=w.headers["clerk"]
    )
    assert reply.status_code == 200, reply.json


def test_sign_up_is_closed_once_the_works_are_over(app, client):
    w = build_world(app)
    before = snapshot(app)
    reply = _sign_up(client, w.headers["resident_member"], w.completed)
    refused(app, before, reply, 409, "project_finished")


def test_the_roster_is_masked_for_residents_and_complete_for_staff(app, client):
    w = build_world(app)
    path = f"/api/v1/projects/{w.construction}/supervisors"
    public = client.get(path, headers=w.headers["resident_member"]).json
    assert public["total"] == 1
    [entry] = public["items"]
    assert entry["nickname"] == "李*娜"  # 李娜娜, masked
    assert entry["trade"] == "电工" and entry["days_available"] == ["mon", "wed"]
    assert entry["note"] is None and entry["reason"] is None  # private to staff

    staff = client.get(path, headers=w.headers["clerk"]).json
    assert {s["status"] for s in staff["items"]} == {"pending", "accepted"}
    assert {s["note"] for s in staff["items"]} == {None, "退休电工"}
    assert all("李娜娜" not in str(s) and "王芳" not in str(s) for s in staff["items"])
    pending = client.get(path, query_string={"status": "pending"}, headers=w.headers["clerk"])
    assert [s["id"] for s in pending.json["items"]] == [w.signup_pending]
    bad = client.get(path, query_string={"status": "maybe"}, headers=w.headers["clerk"])
    assert "status" in assert_error_shape(bad, 422)["details"]["fields"]


def test_a_resident_of_several_covered_households_names_one(app, client, make):
    w = build_world(app)
    with app.app_context():
        neighbour_household = db.session.get(Household, w.households["neighbour"])
        db.session.expunge(neighbour_household)
    member = resident(app, w.callers["resident_member"])
    make.member(neighbour_household, member)
    before = snapshot(app)
    reply = _sign_up(client, w.headers["resident_member"], w.construction)
    error = refused(app, before, reply, 422, "household_required")
    assert sorted(error["details"]["households"]) == sorted(
        [w.households["resident_member"], w.households["neighbour"]]
    )
    foreign = _sign_up(
        client,
        w.headers["resident_member"],
        w.construction,
        household_id=w.households["supervisor"],
    )
    refused(app, before, foreign, 422, "not_household_member")
    ok = _sign_up(
        client, w.headers["resident_member"], w.construction, household_id=w.households["neighbour"]
    )
    assert ok.status_code == 201


def test_the_database_refuses_a_second_live_sign_up(app):
    """The partial unique index holds even if the service's check were skipped."""
    w = build_world(app)
    with app.app_context():
        db.session.add(
            SupervisorSignup(
                project_id=w.construction,
                resident_id=w.callers["supervisor"],
                household_id=w.households["supervisor"],
                status="pending",
            )
        )
        with pytest.raises(Exception) as raised:
            db.session.commit()
        assert "unique" in str(raised.value).lower()
        db.session.rollback()


@pytest.mark.services
def test_two_accepts_racing_for_the_last_place_leave_the_cap_intact(app, monkeypatch):
    """Two clerks accept different sign-ups for the last place at the same moment. Without the
    project row lock both would count 0 accepted and both pass; with it, the second waits,
    then sees the first and is refused."""
    scene = build_scene(app, households=2)
    with app.app_context():
        project = db.session.get(Project, scene.project_id)
        project.status, project.supervisor_cap = "construction", 1
        ids = []
        for resident_id, household_id in zip(scene.resident_ids, scene.household_ids, strict=True):
            signup = SupervisorSignup(
                project_id=project.id,
                resident_id=resident_id,
                household_id=household_id,
                status="pending",
            )
            db.session.add(signup)
            db.session.flush()
            ids.append(signup.id)
        db.session.commit()

    both_counting = threading.Barrier(2, timeout=2)
    real_count = supervision.accepted_count

    def count_together(project_id):
        # Holds each accept at its count until the other arrives, or for 2 s if the other is
        # blocked on the lock, which is what must happen.
        try:
            both_counting.wait()
        except threading.BrokenBarrierError:
            pass
        return real_count(project_id)

    monkeypatch.setattr(supervision, "accepted_count", count_together)
    with app.test_request_context():
        token = auth.issue_token(auth.STAFF, scene.clerk.id)
    results = {}

    def accept(signup_id):
        client = app.test_client()
        reply = client.post(
            f"/api/v1/supervisors/{signup_id}/accept",
            headers={"Authorization": f"Bearer {token}"},
        )
        error = reply.get_json().get("error") or {}
        results[signup_id] = (reply.status_code, error.get("code"))

    threads = [threading.Thread(target=accept, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results.values()) == [(200, None), (409, "supervisor_cap_reached")], results
    assert _signups(app, scene.project_id, "accepted") == 1
