"""Logs a machine can read: with LOG_FORMAT=json one JSON object per line, each naming the
request it belongs to; the id comes back in `X-Request-ID` and follows the request's jobs."""

from __future__ import annotations

import io
import json
import logging

import pytest

from api import logs
from tests.support.fresh_app import dispose, fresh_app
from tests.support.voting_helpers import build_scene, open_consultation, resident, run_jobs


def _our_handler() -> logging.StreamHandler:
    return next(h for h in logging.getLogger().handlers if isinstance(h, logs._AppHandler))


@pytest.fixture
def json_lines(app):
    """The root handler's JSON lines while the test runs (the format the session app's
    settings give is put back after)."""
    buffer = io.StringIO()
    logs.configure("json", "INFO")
    handler = _our_handler()
    previous = handler.setStream(buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    handler.setStream(previous)
    logs.configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


def vote(client, make, app, resident_id, consultation_id):
    return client.put(
        f"/api/v1/consultations/{consultation_id}/ballot",
        json={"choice": "satisfied"},
        headers=make.headers(resident(app, resident_id)),
    )


def test_a_request_and_the_job_it_enqueued_log_json_lines_with_its_request_id(
    app, client, make, json_lines
):
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    run_jobs(app)
    seen = len(json_lines())

    reply = vote(client, make, app, scene.resident_ids[0], cid)
    assert reply.status_code == 200
    request_id = reply.headers["X-Request-ID"]
    assert len(request_id) == 32  # generated: none came in
    run_jobs(app)  # under Redis the worker runs the tally now; in-process it already ran

    lines = json_lines()[seen:]
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    ours = [line for line in lines if line["request_id"] == request_id]
    access = [line for line in ours if line["logger"] == "api.access"]
    assert len(access) == 1
    assert access[0]["level"] == "INFO" and access[0]["status"] == 200
    assert access[0]["path"] == f"/api/v1/consultations/{cid}/ballot"
    assert access[0]["method"] == "PUT" and access[0]["duration_ms"] >= 0
    # The tally the ballot asked for logs under the ballot's request id, whichever runner ran
    # it: "in-process job run_tally done" (api.jobs) or RQ's "Job OK" (rq.worker).
    job_lines = [line for line in ours if line["logger"] in ("api.jobs", "rq.worker")]
    assert job_lines, lines
    assert any("run_tally" in line["message"] or "Job OK" in line["message"] for line in job_lines)


def test_a_sane_request_id_from_the_proxy_is_kept_and_another_is_replaced(client, json_lines):
    reply = client.get("/api/v1/no/such/page", headers={"X-Request-ID": "nginx-7f3a9c01"})
    assert reply.status_code == 404
    assert reply.headers["X-Request-ID"] == "nginx-7f3a9c01"
    assert json_lines()[-1]["request_id"] == "nginx-7f3a9c01"

    for junk in ("a b", "x" * 200, "新的", "<script>", ""):
        reply = client.get("/api/v1/no/such/page", headers={"X-Request-ID": junk})
        replaced = reply.headers["X-Request-ID"]
        assert replaced != junk and len(replaced) == 32, junk


def test_an_exception_is_logged_with_its_traceback_in_the_line(app, client, json_lines):
    log = logging.getLogger("tests.logs")
    with app.test_request_context(headers={"X-Request-ID": "req-with-error"}):
        app.preprocess_request()  # binds the request id, as for any request
        try:
            raise RuntimeError("broken on purpose")
        except RuntimeError:
            log.exception("something failed")
        app.do_teardown_request()
    line = json_lines()[-1]
    assert line["message"] == "something failed" and line["level"] == "ERROR"
    assert line["request_id"] == "req-with-error"
    assert "RuntimeError: broken on purpose" in line["exception"]
    assert "Traceback" in line["exception"]


def test_the_request_id_is_forgotten_when_the_request_ends(client, json_lines):
    client.get("/healthz")
    logging.getLogger("tests.logs").warning("between requests")
    assert json_lines()[-1]["request_id"] is None


@pytest.mark.commits
def test_log_format_json_is_a_setting(tmp_path):
    fresh = fresh_app(tmp_path, LOG_FORMAT="json")
    handler = _our_handler()
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        reply = fresh.test_client().get("/api/v1/nothing/here")
        line = json.loads(buffer.getvalue().splitlines()[-1])
        assert line["request_id"] == reply.headers["X-Request-ID"]
        assert line["logger"] == "api.access" and line["status"] == 404
    finally:
        handler.setStream(previous)
        logs.configure()  # text, as the session app's settings say
        dispose(fresh)


@pytest.mark.services
def test_an_rq_job_carries_the_request_id_in_its_meta(app, client, make, redis, json_lines):
    from rq import Queue

    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    run_jobs(app)

    reply = vote(client, make, app, scene.resident_ids[0], cid)
    request_id = reply.headers["X-Request-ID"]
    [job] = Queue("tallies", connection=redis).get_jobs()
    assert job.meta["request_id"] == request_id

    seen = len(json_lines())
    run_jobs(app)
    worker_lines = [line for line in json_lines()[seen:] if line["logger"] == "rq.worker"]
    done = [line for line in worker_lines if "Job OK" in line["message"]]
    assert [line["request_id"] for line in done] == [request_id]
