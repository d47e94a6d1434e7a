"""Completion ratings and their window, the completion satisfaction, the joint acceptance and
the project's moves to completed and accepted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from api import auth
from api.core import db
from devtools import factory
from feedback import jobs, queries
from feedback.models import CompletionTally, Rating
from participation.models import Household, Project
from tests.support.feedback_world import (
    RATING,
    acceptance_body,
    assert_error_shape,
    build_world,
    refused,
    set_columns,
    snapshot,
)
from tests.support.voting_helpers import build_scene, resident, run_jobs


def _rate(client, headers, project_id, **scores):
    return client.post(
        f"/api/v1/projects/{project_id}/ratings", json={**RATING, **scores}, headers=headers
    )


def _completion(client, headers, project_id) -> dict:
    reply = client.get(f"/api/v1/projects/{project_id}/completion", headers=headers)
    assert reply.status_code == 200, reply.json
    return reply.json


def test_rating_and_re_rating_until_the_window_closes(app, client):
    w = build_world(app)
    member = w.headers["resident_member"]
    first = _rate(client, member, w.completed, overall=2, comment="绿化太少")
    assert first.status_code == 201, first.json
    assert first.json["revision"] == 1 and first.json["overall"] == 2
    assert first.json["household_id"] == w.households["resident_member"]

    second = _rate(client, member, w.completed, overall=5)
    assert second.status_code == 200
    assert second.json["id"] == first.json["id"] and second.json["revision"] == 2
    assert second.json["overall"] == 5 and second.json["comment"] is None
    mine = client.get(f"/api/v1/projects/{w.completed}/ratings/mine", headers=member).json
    assert mine["revision"] == 2 and mine["overall"] == 5

    set_columns(
        app, Project, w.completed, rating_closes_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    before = snapshot(app)
    late = _rate(client, member, w.completed, overall=1)
    error = refused(app, before, late, 409, "rating_closed")
    assert "closed_at" in error["details"]
    first_time = _rate(client, w.headers["supervisor_pending"], w.completed)
    refused(app, before, first_time, 409, "rating_closed")
    assert _completion(client, member, w.completed)["rating_open"] is False


def test_no_rating_before_completion(app, client):
    w = build_world(app)
    before = snapshot(app)
    for project in (w.construction, w.other):
        reply = _rate(client, w.headers["resident_member"], project)
        refused(app, before, reply, 409, "rating_not_open")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quality", 0),
        ("overall", 6),
        ("overall", "5"),
        ("overall", 4.5),
        ("facilities", None),
        ("environment", True),
        ("comment", "长" * 501),
        ("household_id", 0),
    ],
)
def test_a_bad_score_is_422_and_writes_nothing(app, client, field, value):
    w = build_world(app)
    before = snapshot(app)
    reply = _rate(client, w.headers["resident_member"], w.completed, **{field: value})
    assert field in refused(app, before, reply, 422)["details"]["fields"]


def test_a_missing_dimension_is_422(app, client):
    w = build_world(app)
    before = snapshot(app)
    body = {k: v for k, v in RATING.items() if k != "site_management"}
    reply = client.post(
        f"/api/v1/projects/{w.completed}/ratings", json=body, headers=w.headers["resident_member"]
    )
    assert "site_management" in refused(app, before, reply, 422)["details"]["fields"]


def test_the_completion_satisfaction_is_exact_and_on_the_project(app, client):
    """Six households rate; every figure is worked out here from what they sent."""
    scene = build_scene(app, households=8)
    set_columns(
        app,
        Project,
        scene.project_id,
        status="completed",
        rating_closes_at=datetime.now(UTC) + timedelta(days=30),
    )
    scores = [
        {"quality": 5, "environment": 5, "facilities": 4, "site_management": 4, "overall": 5},
        {"quality": 4, "environment": 3, "facilities": 3, "site_management": 2, "overall": 4},
        {"quality": 2, "environment": 3, "facilities": 2, "site_management": 1, "overall": 2},
        {"quality": 3, "environment": 4, "facilities": 5, "site_management": 3, "overall": 3},
        {"quality": 5, "environment": 4, "facilities": 4, "site_management": 5, "overall": 4},
        {"quality": 1, "environment": 1, "facilities": 1, "site_management": 1, "overall": 1},
    ]
    for resident_id, body in zip(scene.resident_ids, scores, strict=False):
        headers = {"Authorization": f"Bearer {_token(app, resident_id)}"}
        assert _rate(client, headers, scene.project_id, **body).status_code == 201
    # One household changes its mind: 1 → 5 overall.
    headers = {"Authorization": f"Bearer {_token(app, scene.resident_ids[5])}"}
    scores[5] = {**scores[5], "overall": 5}
    assert _rate(client, headers, scene.project_id, **scores[5]).status_code == 200

    run_jobs(app)  # a real worker when Redis is configured; in-process jobs have run already
    owner = {"Authorization": f"Bearer {_token(app, scene.owner)}"}
    figures = _completion(client, owner, scene.project_id)
    satisfied = sum(1 for s in scores if s["overall"] >= 4)
    assert figures["ratings"] == 6
    assert figures["satisfaction_rate"] == round(satisfied / 6, 6) == round(4 / 6, 6)
    assert figures["means"] == {
        d: round(sum(s[d] for s in scores) / 6, 2)
        for d in ("quality", "environment", "facilities", "site_management", "overall")
    }
    assert figures["rating_open"] is True and figures["computed_at"]
    project = client.get(f"/api/v1/projects/{scene.project_id}", headers=owner).json
    assert project["completion_satisfaction_rate"] == figures["satisfaction_rate"]
    assert project["completion_ratings"] == 6 and project["completion_means"] == figures["means"]

    with app.app_context():
        tally = db.session.get(CompletionTally, scene.project_id)
        assert tally.changes_seen == 7  # six ratings, one of them twice
        assert queries.stale_project_ids() == []


def test_the_reconciler_recounts_a_project_the_job_missed(app):
    w = build_world(app)  # the world's rating was written without a job
    with app.app_context():
        assert queries.stale_project_ids() == [w.completed]
        assert jobs.reconcile()["recounted"] == [w.completed]
        project = db.session.get(Project, w.completed)
        assert project.completion_ratings == 1
        assert float(project.completion_satisfaction_rate) == 1.0
        assert project.completion_means["site_management"] == 3.0
        assert queries.stale_project_ids() == []
        # Running it again changes nothing but the time.
        jobs.run_completion(w.completed)
        assert float(db.session.get(Project, w.completed).completion_satisfaction_rate) == 1.0


def _token(app, who) -> str:
    with app.test_request_context():
        if isinstance(who, int):
            return factory.resident_token(who)
        return auth.issue_token(auth.STAFF, who.id)


# --- moving to completed and accepted -----------------------------------------------------------


def _move(client, headers, project_id, to):
    return client.post(
        f"/api/v1/projects/{project_id}/transitions", json={"to": to}, headers=headers
    )


def test_completion_opens_a_30_day_window_and_acceptance_closes_the_lifecycle(app, client):
    w = build_world(app)
    owner = w.headers["owner"]
    started = datetime.now(UTC)
    done = _move(client, owner, w.construction, "completed")
    assert done.status_code == 200, done.json
    closes = datetime.fromisoformat(done.json["rating_closes_at"])
    assert timedelta(days=30) <= closes - started < timedelta(days=30, minutes=1)
    assert _rate(client, w.headers["resident_member"], w.construction).status_code == 201

    missing = _move(client, owner, w.construction, "accepted")
    assert_error_shape(missing, 409, "acceptance_missing")

    body = acceptance_body([w.callers["resident_member"], w.callers["supervisor"]])
    recorded = client.post(
        f"/api/v1/projects/{w.construction}/acceptance", json=body, headers=owner
    )
    assert recorded.status_code == 201, recorded.json
    record = recorded.json
    assert record["passed"] is True
    assert [r["nickname"] for r in record["representatives"]] == ["张*", "李*娜"]
    # The completion satisfaction as it stood then, copied in.
    assert record["completion_ratings"] == 1 and record["completion_satisfaction_rate"] == 1.0
    assert {p["role"]: p["verdict"] for p in record["parties"]} == {
        "design": "pass",
        "construction": "pass",
        "supervision": "conditional",
    }
    again = client.post(f"/api/v1/projects/{w.construction}/acceptance", json=body, headers=owner)
    assert_error_shape(again, 409, "acceptance_exists")

    accepted = _move(client, owner, w.construction, "accepted")
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    shown = client.get(
        f"/api/v1/projects/{w.construction}/acceptance", headers=w.headers["resident_member"]
    ).json
    assert shown["id"] == record["id"]
    assert "张伟" not in str(shown) and "李娜娜" not in str(shown)
    # Ratings stay open in `accepted` until the window closes.
    assert _rate(client, w.headers["supervisor"], w.construction).status_code == 201


def test_a_failed_acceptance_keeps_the_project_from_accepted(app, client):
    w = build_world(app)
    owner = w.headers["owner"]
    body = acceptance_body([w.callers["resident_member"]], verdict="fail")
    recorded = client.post(f"/api/v1/projects/{w.completed}/acceptance", json=body, headers=owner)
    assert recorded.status_code == 201 and recorded.json["passed"] is False
    before = snapshot(app)
    error = refused(app, before, _move(client, owner, w.completed, "accepted"), 409)
    assert error["code"] == "acceptance_failed"
    assert error["details"]["failed"] == ["construction"]


def test_a_representative_who_fails_it_also_keeps_it_from_accepted(app, client):
    w = build_world(app)
    body = acceptance_body([w.callers["resident_member"]])
    body["representatives"][0]["verdict"] = "fail"
    client.post(f"/api/v1/projects/{w.completed}/acceptance", json=body, headers=w.headers["owner"])
    reply = _move(client, w.headers["owner"], w.completed, "accepted")
    error = assert_error_shape(reply, 409, "acceptance_failed")
    assert error["details"]["failed"] == [f"representative:{w.callers['resident_member']}"]


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda b, w: b["representatives"].append(b["representatives"][0]), 422, None),
        (
            lambda b, w: b["representatives"].append(
                {"resident_id": w.callers["resident_other_estate"], "verdict": "pass"}
            ),
            422,
            "representative_not_eligible",
        ),
        (
            lambda b, w: b["representatives"].append(
                {"resident_id": w.callers["resident_unverified"], "verdict": "pass"}
            ),
            422,
            "representative_not_eligible",
        ),
        (lambda b, w: b["parties"].pop(), 422, "parties_invalid"),
        (lambda b, w: b["parties"].append(dict(b["parties"][0])), 422, "parties_invalid"),
        (lambda b, w: b.update(representatives=[]), 422, None),
        (
            lambda b, w: b.update(held_on=(date.today() + timedelta(days=2)).isoformat()),
            422,
            "held_on_in_future",
        ),
        (lambda b, w: b.update(held_on="2026-02-30"), 422, None),
        (lambda b, w: b["parties"][0].update(verdict="ok"), 422, None),
        (lambda b, w: b["parties"][0].update(name=""), 422, None),
    ],
)
def test_a_bad_acceptance_is_refused_and_writes_nothing(app, client, change, status, code):
    w = build_world(app)
    body = acceptance_body([w.callers["resident_member"]])
    change(body, w)
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/projects/{w.completed}/acceptance", json=body, headers=w.headers["owner"]
    )
    refused(app, before, reply, status, code)


def test_acceptance_only_of_a_completed_project(app, client):
    w = build_world(app)
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/projects/{w.construction}/acceptance",
        json=acceptance_body([w.callers["resident_member"]]),
        headers=w.headers["owner"],
    )
    refused(app, before, reply, 409, "project_not_completed")
    assert_error_shape(
        client.get(f"/api/v1/projects/{w.completed}/acceptance", headers=w.headers["owner"]),
        404,
        "acceptance_not_found",
    )


def test_a_member_of_two_covered_households_names_the_one_they_rate_for(app, client, make):
    w = build_world(app)
    with app.app_context():
        other = db.session.get(Household, w.households["neighbour"])
        db.session.expunge(other)
    make.member(other, resident(app, w.callers["resident_member"]))
    before = snapshot(app)
    reply = _rate(client, w.headers["resident_member"], w.completed)
    refused(app, before, reply, 422, "household_required")
    ok = _rate(
        client,
        w.headers["resident_member"],
        w.completed,
        household_id=w.households["neighbour"],
    )
    assert ok.status_code == 201 and ok.json["household_id"] == w.households["neighbour"]
    with app.app_context():
        assert (
            db.session.scalar(select(Rating.household_id).where(Rating.id == ok.json["id"]))
            == w.households["neighbour"]
        )
