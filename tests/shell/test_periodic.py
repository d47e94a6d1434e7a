"""The periodic jobs heal themselves: a Redis that loses its data (flushed, or restarted without
persistence) loses every scheduled run, and a running worker asks for them again within
PERIODIC_CHECK_SECONDS, without a restart (issue 9, item 4).

A real `flask --app wsgi worker` (with RQ's scheduler) on PostgreSQL and Redis; one test
flushes the Redis database of its own settings (FLUSHDB), never another, and one restarts a
`redis-server` of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from api.core import db, utcnow
from devtools.factory import Maker
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support.own_redis import OwnRedis
from tests.support.voting_helpers import build_scene
from voting.models import Consultation

pytestmark = [pytest.mark.services, pytest.mark.commits]

ROOT = Path(__file__).resolve().parents[2]
CHECK_SECONDS = 2  # PERIODIC_CHECK_SECONDS of the worker under test


@pytest.fixture
def start_worker(tmp_path):
    """Start a `flask --app wsgi worker` on `redis_url` checking the periodic jobs every
    CHECK_SECONDS; returns a function reading the end of its log. Stopped at the test's end."""
    started = []

    def start(redis_url: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
        env.update(
            APP_ENV="development",
            DATABASE_URL=DATABASE_URL,
            REDIS_URL=redis_url,
            SECRET_KEY="test-secret-key-0123456789",
            PERIODIC_CHECK_SECONDS=str(CHECK_SECONDS),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
        )
        log = tmp_path / f"worker-{len(started)}.log"
        out = log.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--name", "periodic"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its group holds RQ's scheduler process too
        )
        started.append((process, out))
        return lambda: log.read_text(errors="replace")[-4000:]

    yield start
    for process, out in started:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)
            out.close()


def wait_for(condition, what: str, timeout: float, output) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{output()}")


def scheduled(redis) -> set[str]:
    """The periodic jobs (by name, without their time) that have a run scheduled."""
    names = set()
    for queue in ("default", "notices"):
        for job_id in ScheduledJobRegistry(queue, connection=redis).get_job_ids():
            names.add(job_id.rsplit("-", 1)[0])
    return names


PERIODIC = {
    "reconcile",
    "feedback-reconcile",
    "notices-sweep",
    "milestones-overdue-20",
    "residents-purge-20",
}
DAILY = ("milestones-overdue-", "residents-purge-")


def _periodic(names: set[str]) -> set[str]:
    # A daily job's id names its date (milestones-overdue-2026-12-02): keep its prefix.
    return {next((f"{d}20" for d in DAILY if n.startswith(d)), n) for n in names}


def _due_consultation(app, client) -> int:
    """A draft consultation due to open in a moment: only a reconcile opens it."""
    scene = build_scene(app, households=2)
    opens_at = utcnow() + timedelta(seconds=2)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={
            "kind": "plan_satisfaction",
            "plan_id": scene.plan_id,
            "opens_at": opens_at.isoformat(),
        },
        headers=Maker(app).headers(scene.clerk),
    )
    assert created.status_code == 201, created.json
    assert created.json["status"] == "draft"
    return created.json["id"]


def _opened(app, consultation_id):
    def opened() -> bool:
        with app.app_context():
            status = db.session.scalar(
                select(Consultation.status).where(Consultation.id == consultation_id)
            )
            db.session.remove()
            return status == "open"

    return opened


def _resume(app, redis, consultation_id, output) -> None:
    """The periodic jobs are scheduled again within a check, and a reconcile runs (opening the
    due consultation) at the next minute: within 2 minutes of the loss."""
    wait_for(
        lambda: _periodic(scheduled(redis)) >= PERIODIC,
        "the worker to schedule the periodic jobs again",
        CHECK_SECONDS + 30,  # a loaded machine: the worker reconnects with a back-off
        output,
    )
    wait_for(_opened(app, consultation_id), "a periodic reconcile to open it", 100, output)


def test_periodic_jobs_resume_after_redis_is_flushed(app, client, redis, start_worker):
    output = start_worker(REDIS_URL)
    wait_for(
        lambda: _periodic(scheduled(redis)) >= PERIODIC,
        "the worker to schedule the periodic jobs as it starts",
        30,
        output,
    )

    redis.flushdb()  # this test's database only
    assert scheduled(redis) == set()
    consultation_id = _due_consultation(app, client)

    _resume(app, redis, consultation_id, output)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")
def test_periodic_jobs_resume_after_redis_restarts_empty(app, client, tmp_path, start_worker):
    """Redis without persistence restarted: the scheduler process dies with its connection,
    and the worker starts it again as well."""
    own = OwnRedis(tmp_path)
    redis = Redis.from_url(own.url)
    try:
        output = start_worker(own.url)
        wait_for(
            lambda: _periodic(scheduled(redis)) >= PERIODIC,
            "the worker to schedule the periodic jobs as it starts",
            30,
            output,
        )

        own.stop()
        time.sleep(1)
        own.start()
        assert scheduled(redis) == set()
        consultation_id = _due_consultation(app, client)

        _resume(app, redis, consultation_id, output)
    finally:
        redis.close()
        own.stop()
