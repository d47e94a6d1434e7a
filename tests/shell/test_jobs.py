"""Jobs plumbing: a job asked for in a transaction runs after its commit and never after a rollback.

In-process mode (no REDIS_URL) runs the job right after `commit()`; RQ mode puts it on a queue on
Redis, where `api.jobs.make_worker` (and `flask --app wsgi worker`) run it inside an app context.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from api.core import Conflict, commit, db, enqueue_after_commit
from api.jobs import make_worker
from participation.models import Community, County
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support import jobs_for_tests
from tests.support.fresh_app import dispose, fresh_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _forget_runs():
    jobs_for_tests.RAN.clear()
    yield
    jobs_for_tests.RAN.clear()


def _communities(name=None) -> list[str]:
    query = select(Community.name).order_by(Community.id)
    if name is not None:
        query = query.where(Community.name == name)
    return list(db.session.scalars(query))


def _new_county(name: str) -> int:
    county = County(name=name)
    db.session.add(county)
    db.session.flush()
    return county.id


# --- in-process mode (REDIS_URL unset) -------------------------------------------------------


@pytest.fixture
def inline_app(tmp_path):
    app = fresh_app(tmp_path)
    assert app.extensions["jobs"].inline
    yield app
    dispose(app)


def test_inline_job_waits_for_the_commit_then_runs(inline_app):
    with inline_app.app_context():
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "乙社区")
        db.session.flush()
        assert jobs_for_tests.RAN == []
        assert _communities() == []

        commit()

        assert jobs_for_tests.RAN == ["add_community:乙社区"]
    with inline_app.app_context():
        assert _communities() == ["乙社区"]


def test_inline_job_is_dropped_on_rollback(inline_app):
    with inline_app.app_context():
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "不该出现")
        db.session.rollback()

        # The next transaction commits: the dropped job must not ride along with it.
        _new_county("丙县")
        commit()

        assert jobs_for_tests.RAN == []
        assert _communities() == []
        assert list(db.session.scalars(select(County.name))) == ["丙县"]


def test_plain_session_commit_holds_the_job_until_the_kernel_commit(inline_app):
    # Only api.core.commit() dispatches; a job is never lost by a commit that did not dispatch.
    with inline_app.app_context():
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "乙社区")
        db.session.commit()
        assert jobs_for_tests.RAN == []
        commit()
        assert jobs_for_tests.RAN == ["add_community:乙社区"]


def test_failing_inline_job_is_logged_and_keeps_the_request_data(inline_app, caplog):
    with inline_app.app_context():
        _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.fail, "boom")
        with caplog.at_level(logging.ERROR, logger="api.jobs"):
            commit()
        assert jobs_for_tests.RAN == ["fail:boom"]
        assert list(db.session.scalars(select(County.name))) == ["甲县"]
    assert any("in-process job fail failed" in r.getMessage() for r in caplog.records)


def test_request_that_fails_after_enqueueing_runs_no_job(tmp_path):
    """Through HTTP: the error handler rolls back, so the job asked for is dropped."""
    app = fresh_app(tmp_path)

    @app.post("/test/enqueue/<outcome>")
    def enqueue(outcome):
        county_id = _new_county(f"县-{outcome}")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, f"社区-{outcome}")
        if outcome == "refused":
            raise Conflict("不行", code="test_refused")
        commit()
        return {"ran": list(jobs_for_tests.RAN)}

    try:
        client = app.test_client()
        refused = client.post("/test/enqueue/refused")
        assert refused.status_code == 409
        assert refused.json["error"]["code"] == "test_refused"
        assert jobs_for_tests.RAN == []

        done = client.post("/test/enqueue/ok")
        assert done.status_code == 200
        # the job ran after the commit and before the reply left
        assert done.json == {"ran": ["add_community:社区-ok"]}
        with app.app_context():
            assert _communities() == ["社区-ok"]
            assert list(db.session.scalars(select(County.name))) == ["县-ok"]
    finally:
        dispose(app)


# --- RQ mode (REDIS_URL set) -----------------------------------------------------------------


@pytest.mark.services
def test_rq_job_is_queued_only_after_commit_and_a_worker_runs_it(app, redis):
    queue = Queue("default", connection=redis)
    with app.app_context():
        assert not app.extensions["jobs"].inline
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "乙社区")
        db.session.flush()
        assert queue.count == 0

        commit()

        assert queue.count == 1
        assert queue.jobs[0].func_name == "tests.support.jobs_for_tests.add_community"
        assert queue.jobs[0].args == (county_id, "乙社区")
        assert jobs_for_tests.RAN == []
        assert _communities() == []

    # A real worker, in this process, outside any app context: it makes its own.
    make_worker(app).work(burst=True)

    assert queue.count == 0
    assert jobs_for_tests.RAN == ["add_community:乙社区"]
    with app.app_context():
        assert _communities() == ["乙社区"]


@pytest.mark.services
def test_rq_job_is_not_queued_after_rollback(app, redis):
    queue = Queue("default", connection=redis)
    with app.app_context():
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "不该出现")
        db.session.rollback()
        _new_county("丙县")
        commit()
    assert queue.count == 0


@pytest.mark.services
def test_rq_job_goes_to_the_queue_it_names(app, redis):
    with app.app_context():
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "乙", queue="tallies")
        commit()
    assert Queue("tallies", connection=redis).count == 1
    assert Queue("default", connection=redis).count == 0


@pytest.mark.services
def test_failing_rq_job_is_recorded_as_failed(app, redis):
    with app.app_context():
        enqueue_after_commit(jobs_for_tests.fail, "boom")
        commit()
    job_id = Queue("default", connection=redis).job_ids[0]

    make_worker(app).work(burst=True)

    assert jobs_for_tests.RAN == ["fail:boom"]
    failed = FailedJobRegistry("default", connection=redis)
    assert job_id in failed.get_job_ids()


# --- the worker command --------------------------------------------------------------------


def _flask(args, env_overrides, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
    env.update(
        {
            "APP_ENV": "development",
            "SECRET_KEY": "test-secret-key-0123456789",  # PostgreSQL refuses the development key
            "PYTHONDONTWRITEBYTECODE": "1",
        },
        **env_overrides,
    )
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.services
def test_worker_command_runs_queued_jobs_and_stops_in_burst_mode(app, redis):
    with app.app_context():
        county_id = _new_county("甲县")
        enqueue_after_commit(jobs_for_tests.add_community, county_id, "命令行社区")
        commit()
    assert Queue("default", connection=redis).count == 1

    done = _flask(["worker", "--burst"], {"DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL})

    assert done.returncode == 0, done.stderr
    assert Queue("default", connection=redis).count == 0
    assert FailedJobRegistry("default", connection=redis).count == 0, done.stderr
    with app.app_context():
        assert _communities() == ["命令行社区"]


def test_worker_command_refuses_without_redis(tmp_path):
    done = _flask(
        ["worker", "--burst"],
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "REDIS_URL": ""},
    )

    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == "error: REDIS_URL is not set: jobs run in-process and no worker is needed"
