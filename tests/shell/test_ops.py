"""What an operator's tools ask: `/healthz`, `/readyz` (each dependency within a second, the
schema at the newest migration) and `/metrics` (Prometheus' text format, not public)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text, update

from api.app import MIGRATIONS_DIR, create_app
from api.config import ConfigError
from api.core import db, utcnow
from api.health import _Probe, newest_migrations
from tests.support.fresh_app import dispose, fresh_app
from tests.support.voting_helpers import build_scene, open_consultation, resident, run_jobs
from voting.models import Tally

ROOT = Path(__file__).resolve().parents[2]
HEAD = next(iter(newest_migrations(str(MIGRATIONS_DIR))))


def _stamp(app, revision: str) -> None:
    """Record `revision` as applied, as `flask db stamp` would (without its logging setup)."""
    with app.app_context():
        db.session.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
        )
        db.session.execute(text("DELETE FROM alembic_version"))
        db.session.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
        db.session.commit()


def _app_on_no_database(tmp_path):
    """An app whose DATABASE_URL names a port nothing listens on (it starts: nothing connects
    before the first request)."""
    return create_app(
        {
            "APP_ENV": "test",
            "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere",
            "SECRET_KEY": "test-secret-key-0123456789",
            "UPLOAD_DIR": str(tmp_path),
        }
    )


def _not_ready(reply, *failed: str) -> dict:
    assert reply.status_code == 503, reply.json
    error = reply.json["error"]
    assert error["code"] == "not_ready" and error["message"] == "服务尚未就绪"
    assert error["details"]["failed"] == sorted(failed)
    return error["details"]["checks"]


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_answers_ok_without_a_token_and_without_the_database(tmp_path):
    app = _app_on_no_database(tmp_path)
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 200 and reply.json == {"status": "ok"}
    assert reply.headers["X-Request-ID"]


# --- /readyz ------------------------------------------------------------------------------------


@pytest.mark.commits
def test_readyz_answers_ok_when_the_schema_is_at_the_newest_migration(tmp_path):
    app = fresh_app(tmp_path)
    try:
        _stamp(app, HEAD)
        reply = app.test_client().get("/readyz")
        assert reply.status_code == 200, reply.json
        # The embedded default has no Redis to ask.
        assert reply.json == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    finally:
        dispose(app)


@pytest.mark.commits
def test_readyz_refuses_a_schema_without_migrations_or_behind_them(tmp_path):
    app = fresh_app(tmp_path)  # tables made by create_all: no `flask db upgrade`
    try:
        checks = _not_ready(app.test_client().get("/readyz"), "migrations")
        assert checks["database"] == "ok"
        assert checks["migrations"] == f"not the newest: at no migration, newest {HEAD}"

        older = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(HEAD).down_revision
        _stamp(app, older)
        checks = _not_ready(app.test_client().get("/readyz"), "migrations")
        assert checks["migrations"] == f"not the newest: at {older}, newest {HEAD}"
    finally:
        dispose(app)


def test_readyz_refuses_when_the_database_does_not_answer(tmp_path):
    app = _app_on_no_database(tmp_path)
    checks = _not_ready(app.test_client().get("/readyz"), "database", "migrations")
    assert checks == {
        "database": "unreachable (OperationalError)",
        "migrations": "unknown: the database did not answer",
    }


@pytest.mark.commits
def test_readyz_refuses_when_redis_is_not_there(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = fresh_app(tmp_path, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    try:
        _stamp(app, HEAD)
        checks = _not_ready(app.test_client().get("/readyz"), "redis")
        assert checks == {
            "database": "ok",
            "migrations": "ok",
            "redis": "unreachable (ConnectionError)",
        }
    finally:
        dispose(app)


@pytest.mark.commits
def test_readyz_answers_within_a_second_or_so_when_redis_hangs(tmp_path):
    """A Redis that takes the connection and never replies (stopped, or a black hole)."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # connections wait in the backlog: never accepted, never answered
    app = fresh_app(tmp_path, REDIS_URL=f"redis://127.0.0.1:{hung.getsockname()[1]}/0")
    try:
        _stamp(app, HEAD)
        for _ in range(2):
            started = time.monotonic()
            checks = _not_ready(app.test_client().get("/readyz"), "redis")
            assert time.monotonic() - started < 3  # 1 s at most of waiting, on a busy machine
            assert checks["database"] == "ok"
            # Our wait ran out, or the client's own socket timeout came first, or the check
            # before this one is still stuck.
            assert checks["redis"] in (
                "no answer within 1 s",
                "unreachable (TimeoutError)",
                "the previous check has not answered yet",
            )
    finally:
        hung.close()  # the waiting connection is reset: the check's thread ends
        dispose(app)


def test_a_check_that_hangs_costs_a_second_and_one_thread_however_often_it_is_asked():
    release = threading.Event()
    probe = _Probe("stuck")
    started = time.monotonic()
    assert probe.start(release.wait)(time.monotonic() + 0.3) == (False, "no answer within 1 s")
    assert 0.25 < time.monotonic() - started < 2
    threads = threading.active_count()

    started = time.monotonic()
    for _ in range(5):  # asked again while it hangs: refused at once, no new thread
        waited = probe.start(release.wait)(time.monotonic() + 0.3)
        assert waited == (False, "the previous check has not answered yet")
    assert time.monotonic() - started < 0.2
    assert threading.active_count() == threads

    release.set()  # the dependency answers at last: the next probe checks again
    deadline = time.monotonic() + 5
    while probe._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert probe.start(lambda: "pong")(time.monotonic() + 1) == (True, "pong")


# --- /metrics -----------------------------------------------------------------------------------


def _families(reply) -> dict:
    assert reply.status_code == 200, reply.data[:300]
    assert reply.headers["Content-Type"].startswith("text/plain; version=")
    return {f.name: f for f in text_string_to_metric_families(reply.data.decode())}


def _value(families, name, sample=None, **labels) -> float:
    for found in families[name].samples:
        if found.name == (sample or name) and all(
            found.labels.get(k) == v for k, v in labels.items()
        ):
            return found.value
    return 0.0


def vote(client, make, app, resident_id, consultation_id, choice):
    return client.put(
        f"/api/v1/consultations/{consultation_id}/ballot",
        json={"choice": choice},
        headers=make.headers(resident(app, resident_id)),
    )


def test_metrics_count_requests_by_url_rule_and_status_and_read_the_tables(app, client, make):
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    before = _families(client.get("/metrics"))
    rule = "/api/v1/consultations/<int:consultation_id>/ballot"
    put = {"method": "PUT", "endpoint": rule, "status": "200"}
    counted = _value(before, "renovation_http_requests", "renovation_http_requests_total", **put)

    assert vote(client, make, app, scene.resident_ids[0], cid, "satisfied").status_code == 200
    assert vote(client, make, app, scene.resident_ids[1], cid, "satisfied").status_code == 200
    assert client.get("/api/v1/no/such/thing/12345").status_code == 404

    families = _families(client.get("/metrics"))
    requests = ("renovation_http_requests", "renovation_http_requests_total")
    assert _value(families, *requests, **put) == counted + 2
    # The URL rule, never the raw path: one series however many ids and junk paths are asked.
    assert _value(families, *requests, method="GET", endpoint="<unmatched>", status="404") >= 1
    assert not [s for s in families[requests[0]].samples if "12345" in s.labels["endpoint"]]
    latency = "renovation_http_request_duration_seconds"
    assert _value(families, latency, latency + "_count", **put) == counted + 2
    assert _value(families, latency, latency + "_sum", **put) > 0

    # The ballots are counted (in-process at once, or by the worker): nothing is stale.
    run_jobs(app)
    families = _families(client.get("/metrics"))
    assert _value(families, "renovation_tallies_stale") == 0
    assert _value(families, "renovation_tallies_stale_max_age_seconds") == 0
    assert _value(families, "renovation_metrics_source_up", source="database") == 1
    statuses = {s.labels["status"] for s in families["renovation_notice_deliveries"].samples}
    assert {"pending", "sent", "failed", "no_consent"} <= statuses

    # A tally that missed a ballot ten minutes ago (its job lost with Redis): stale, and for how
    # long, until the reconcile recounts it.
    with app.app_context():
        db.session.execute(
            update(Tally)
            .where(Tally.consultation_id == cid)
            .values(changes_seen=0, computed_at=utcnow() - timedelta(minutes=10))
        )
        db.session.commit()
    families = _families(client.get("/metrics"))
    assert _value(families, "renovation_tallies_stale") == 1
    assert 600 <= _value(families, "renovation_tallies_stale_max_age_seconds") < 900


@pytest.mark.services
def test_metrics_give_each_queues_depth_and_failed_jobs(app, client, make, redis):
    from rq import Queue

    from tests.support import jobs_for_tests

    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    run_jobs(app)  # the opening's jobs
    assert vote(client, make, app, scene.resident_ids[0], cid, "satisfied").status_code == 200
    Queue("default", connection=redis).enqueue(jobs_for_tests.fail, "on purpose")

    families = _families(client.get("/metrics"))
    jobs = "renovation_rq_jobs"
    assert _value(families, jobs, queue="tallies", state="queued") == 1
    assert _value(families, jobs, queue="default", state="queued") == 1
    assert _value(families, jobs, queue="default", state="failed") == 0
    assert _value(families, "renovation_metrics_source_up", source="redis") == 1
    # Not counted yet: the ballot's tally waits in the queue.
    assert _value(families, "renovation_tallies_stale") == 1

    run_jobs(app)
    families = _families(client.get("/metrics"))
    assert _value(families, jobs, queue="tallies", state="queued") == 0
    assert _value(families, jobs, queue="default", state="failed") == 1
    assert _value(families, "renovation_tallies_stale") == 0


def test_metrics_are_for_this_host_only_without_a_token(client):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    reply = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert reply.status_code == 404 and reply.json["error"]["code"] == "not_found"


PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "a-production-secret-0123456789",
    "WECHAT_APPID": "wx-real-appid",
    "WECHAT_SECRET": "real-secret",
}


@pytest.mark.commits
def test_metrics_in_production_need_the_token_even_from_this_host(tmp_path):
    app = fresh_app(tmp_path, **PRODUCTION)
    try:
        reply = app.test_client().get("/metrics")
        assert reply.status_code == 404 and reply.json["error"]["code"] == "not_found"
    finally:
        dispose(app)


@pytest.mark.commits
def test_metrics_with_a_token_need_it_as_a_bearer_token(tmp_path):
    token = "scrape-token-0123456789"
    app = fresh_app(tmp_path, **PRODUCTION, METRICS_TOKEN=token)
    client = app.test_client()
    try:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0123456789"},
            {"Authorization": token},
        ):
            reply = client.get("/metrics", headers=headers)
            assert reply.status_code == 401, headers
            assert reply.json["error"]["code"] == "metrics_token_required"
            assert reply.json["error"]["message"] == "需要有效的监控令牌"
            assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        reply = client.get(
            "/metrics",
            headers={"Authorization": f"Bearer {token}"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
        assert "renovation_http_requests" in _families(reply)
    finally:
        dispose(app)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN must be 16+ printable characters"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be text or json, not 'xml'"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR"),
    ],
)
def test_ops_settings_are_checked_at_start(tmp_path, settings, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app({"APP_ENV": "test", "UPLOAD_DIR": str(tmp_path), **settings})


@pytest.mark.commits
def test_request_counters_of_several_processes_are_summed_with_a_multiprocess_dir(tmp_path):
    """Gunicorn's workers are processes forked from one: with PROMETHEUS_MULTIPROC_DIR each
    writes its counts to a file there, and a scrape of any one of them sums them all."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from tests.support.fresh_app import fresh_app\n"
        "app = fresh_app(Path(sys.argv[1]))\n"
        "for _ in range(2):  # two workers, three requests each\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        client = app.test_client()\n"
        "        codes = [client.get('/healthz').status_code for _ in range(3)]\n"
        "        os._exit(0 if codes == [200] * 3 else 1)\n"
        "    assert os.waitpid(pid, 0)[1] == 0\n"
        "sys.stdout.write(app.test_client().get('/metrics').data.decode())\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))},
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    families = {f.name: f for f in text_string_to_metric_families(done.stdout)}
    healthz = {"method": "GET", "endpoint": "/healthz", "status": "200"}
    requests = ("renovation_http_requests", "renovation_http_requests_total")
    assert _value(families, *requests, **healthz) == 6
    assert _value(families, "renovation_tallies_stale") == 0  # the scrape's own gauges too
