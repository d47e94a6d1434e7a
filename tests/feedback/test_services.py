"""The feedback jobs on real PostgreSQL and Redis with a real RQ worker: the completion
satisfaction coalesced per project, exact, and recovered by `flask --app wsgi reconcile` after
Redis is flushed; comments WeChat could not check re-checked by a retried job."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from api import auth
from api.core import db
from api.jobs import make_worker
from devtools import factory
from feedback import jobs, queries
from feedback.models import Comment
from feedback.models.ratings import DIMENSIONS, CompletionTally
from participation.models import Project
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support.feedback_world import build_world, set_columns
from tests.support.voting_helpers import build_scene

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


def flask_command(args, timeout=60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
    env.update(
        APP_ENV="test",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        SECRET_KEY="test-secret-key-0123456789",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _headers(app, resident_id) -> dict:
    with app.test_request_context():
        return {"Authorization": f"Bearer {factory.resident_token(resident_id)}"}


def _completed(app, project_id) -> None:
    set_columns(
        app,
        Project,
        project_id,
        status="completed",
        rating_closes_at=datetime.now(UTC) + timedelta(days=30),
    )


def _scores(rng) -> dict:
    return {d: rng.randint(1, 5) for d in DIMENSIONS}


def expected(ratings: dict) -> dict:
    """What the project must show, from the last rating each household sent."""
    count = len(ratings)
    satisfied = sum(1 for s in ratings.values() if s["overall"] >= 4)
    return {
        "ratings": count,
        "satisfaction_rate": round(satisfied / count, 6),
        "means": {d: round(sum(s[d] for s in ratings.values()) / count, 2) for d in DIMENSIONS},
    }


def shown(client, app, project_id, owner) -> dict:
    with app.test_request_context():
        token = auth.issue_token(auth.STAFF, owner.id)
    reply = client.get(
        f"/api/v1/projects/{project_id}/completion", headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.json
    return {k: reply.json[k] for k in ("ratings", "satisfaction_rate", "means")}


def _runs(app, project_id) -> int:
    with app.app_context():
        tally = db.session.get(CompletionTally, project_id)
        return tally.runs if tally else 0


def test_the_completion_job_is_coalesced_exact_and_recovered_by_reconcile(app, client, redis):
    rng = random.Random(4)
    scene = build_scene(app, households=60)
    _completed(app, scene.project_id)
    tallies = Queue("tallies", connection=redis)
    sent: dict[int, dict] = {}

    def rate(resident_id, household_id, expect=(200, 201)):
        body = _scores(rng)
        reply = client.post(
            f"/api/v1/projects/{scene.project_id}/ratings",
            json=body,
            headers=_headers(app, resident_id),
        )
        assert reply.status_code in expect, reply.json
        sent[household_id] = body

    pairs = list(zip(scene.resident_ids, scene.household_ids, strict=True))
    for resident_id, household_id in pairs[:30]:
        rate(resident_id, household_id, expect=(201,))
    # 30 ratings, no worker yet: one queued job, not 30.
    assert tallies.count == 1
    make_worker(app, queues=("tallies",)).work(burst=True)
    assert _runs(app, scene.project_id) == 1
    assert shown(client, app, scene.project_id, scene.owner) == expected(sent)

    # More ratings and changes of mind; then Redis loses the queued job and its marker.
    for resident_id, household_id in pairs[30:45] + pairs[:10]:
        rate(resident_id, household_id)
    assert tallies.count == 1
    redis.flushdb()
    assert tallies.count == 0
    stale = shown(client, app, scene.project_id, scene.owner)
    assert stale != expected(sent) and stale["ratings"] == 30
    with app.app_context():
        assert queries.stale_project_ids() == [scene.project_id]

    done = flask_command(["reconcile"])
    assert done.returncode == 0, done.stderr
    assert f"completion satisfaction recounted 1: [{scene.project_id}]" in done.stdout
    assert shown(client, app, scene.project_id, scene.owner) == expected(sent)
    with app.app_context():
        assert queries.stale_project_ids() == []

    # With the marker gone with the flush, the next rating queues a job again.
    rate(*pairs[50])
    assert tallies.count == 1
    make_worker(app, queues=("tallies",)).work(burst=True)
    assert shown(client, app, scene.project_id, scene.owner) == expected(sent)


def test_a_rating_committed_while_the_job_runs_causes_one_more_run(app, client, redis, monkeypatch):
    """The job has counted and not yet committed when another rating commits: that rating asks
    for a new job (the marker was released at the start), which runs after, with no reconcile."""
    scene = build_scene(app, households=3)
    _completed(app, scene.project_id)
    rng = random.Random(5)
    sent = {}
    first = _scores(rng)
    client.post(
        f"/api/v1/projects/{scene.project_id}/ratings",
        json=first,
        headers=_headers(app, scene.resident_ids[0]),
    )
    sent[scene.household_ids[0]] = first
    late = _scores(rng)
    real_recompute = jobs.recompute
    calls = []

    def recompute_then_a_rating_arrives(project_id):
        tally = real_recompute(project_id)
        calls.append(project_id)
        if len(calls) == 1:
            reply = app.test_client().post(
                f"/api/v1/projects/{project_id}/ratings",
                json=late,
                headers=_headers(app, scene.resident_ids[1]),
            )
            assert reply.status_code == 201, reply.json
        return tally

    monkeypatch.setattr(jobs, "recompute", recompute_then_a_rating_arrives)
    make_worker(app, queues=("tallies",)).work(burst=True)
    sent[scene.household_ids[1]] = late

    assert len(calls) == 2
    assert shown(client, app, scene.project_id, scene.owner) == expected(sent)


def test_a_comment_wechat_could_not_check_is_retried_by_a_job_then_by_reconcile(
    app, client, redis, wechat
):
    w = build_world(app)
    wechat.down = True
    reply = client.post(
        f"/api/v1/projects/{w.construction}/comments",
        json={"body": "施工噪音什么时候结束？"},
        headers=w.headers["resident_member"],
    )
    assert reply.status_code == 201 and reply.json["status"] == "pending_check"
    comment_id = reply.json["id"]
    default = Queue("default", connection=redis)
    [job] = default.jobs
    assert job.func_name == "feedback.jobs.run_recheck" and job.args == (comment_id,)
    assert job.retries_left == len(jobs.RECHECK_BACKOFF)

    # WeChat still down when the worker runs it: the job fails and is scheduled again.
    make_worker(app, queues=("default",)).work(burst=True)
    scheduled = ScheduledJobRegistry("default", connection=redis)
    assert scheduled.get_job_ids() == [job.id]
    with app.app_context():
        stored = db.session.get(Comment, comment_id)
        assert stored.status == "pending_check" and stored.check_attempts == 2

    # The retry is due later; WeChat is back and the worker runs it now.
    wechat.down = False
    job.refresh()
    default.enqueue_job(job)
    make_worker(app, queues=("default",)).work(burst=True)
    with app.app_context():
        assert db.session.get(Comment, comment_id).status == "visible"
    listed = client.get(
        f"/api/v1/projects/{w.construction}/comments", headers=w.headers["supervisor"]
    ).json
    assert comment_id in [c["id"] for c in listed["items"]]

    # Redis lost the job of another waiting comment: the reconciler checks it all the same.
    wechat.down = True
    second = client.post(
        f"/api/v1/projects/{w.construction}/comments",
        json={"body": "支持！"},
        headers=w.headers["supervisor"],
    ).json
    redis.flushdb()
    wechat.down = False
    with app.app_context():
        assert jobs.reconcile()["rechecked"] == [second["id"]]
        assert db.session.get(Comment, second["id"]).status == "visible"
