"""Notices on real workers: `flask --app wsgi worker` processes on Redis and PostgreSQL, talking
to the fake WeChat of this test process. Every outcome recorded, retries through RQ's scheduler,
a worker killed (SIGKILL) in the middle of a batch and another started without a second message
to anyone, and a scheduled notice published at its time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, insert, select

from api.core import db, utcnow
from notices import jobs
from notices.models import DELIVERY_OPEN, Delivery, Notice, SubscriptionConsent
from participation.models import Resident
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support.notices_helpers import TEMPLATE, build_town, consent, deliveries, post_notice
from tests.support.voting_helpers import build_scene

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]


class Worker:
    """A `flask --app wsgi worker notices` process (with the scheduler) that this test started."""

    def __init__(self, wechat_server, tmp_path, name, **settings):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
        env.update(
            APP_ENV="development",
            DATABASE_URL=DATABASE_URL,
            REDIS_URL=REDIS_URL,
            SECRET_KEY="test-secret-key-0123456789",
            WECHAT_API_BASE=wechat_server.url_for("/"),
            WECHAT_TIMEOUT_SECONDS="1",
            WECHAT_SEND_RATE_PER_SECOND="0",
            NOTICE_RETRY_SECONDS="1,1,1,1",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
        )
        env.update({key: str(value) for key, value in settings.items()})
        self.log = tmp_path / f"{name}.log"
        self._out = self.log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "notices", "--name", name],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            # its own process group: RQ runs the scheduler in a child process, which a signal
            # to the worker alone would leave running
            start_new_session=True,
        )

    def kill(self):
        """SIGKILL to the worker and its scheduler: no clean-up, no handler; what is in flight
        stays in flight."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        """SIGTERM (RQ's warm shut-down), then SIGKILL if it has not ended within 10 s."""
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left of the group
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
            self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def workers(wechat_server, tmp_path):
    started = []

    def start(name, **settings):
        worker = Worker(wechat_server, tmp_path, name, **settings)
        started.append(worker)
        return worker

    yield start
    errors = []
    for worker in started:  # every one of them, even if stopping another failed
        try:
            worker.stop()
        except Exception as exc:  # noqa: BLE001 - reported below, after the others are stopped
            errors.append(exc)
    assert not errors, errors


def wait_for(condition, what, timeout=45.0, workers=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    logs = "\n".join(w.output()[-3000:] for w in workers)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def _open_rows(app, notice_id) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).where(
                Delivery.notice_id == notice_id,
                Delivery.status.in_((*DELIVERY_OPEN, "sending")),
            )
        )


def test_a_worker_records_every_outcome_and_retries_through_the_scheduler(
    app, client, make, wechat, workers
):
    town = build_town(app, make)
    r = town.residents
    for key in ("a1", "a2", "a3", "shared"):
        consent(app, r[key])
    wechat.errors_for[r["a2"].openid] = [43101]
    wechat.stalls_for[r["a3"].openid] = [1.5]  # no answer within the worker's 1 s
    wechat.errors_for[r["shared"].openid] = [-1]
    notice = post_notice(client, make, town.staff["clerk"], estate_id=town.estate.id).json

    worker = workers("outcomes")
    wait_for(lambda: _open_rows(app, notice["id"]) == 0, "every delivery final", workers=[worker])

    rows = deliveries(app, notice["id"])
    keys = ("a1", "a2", "a2b", "a3", "shared")
    outcome = {key: (rows[r[key].id].status, rows[r[key].id].attempts) for key in keys}
    assert outcome == {
        "a1": ("sent", 1),
        "a2": ("failed", 1),
        "a2b": ("no_consent", 0),
        "a3": ("sent", 2),  # timed out, retried
        "shared": ("sent", 2),  # -1 system busy, retried
    }
    assert rows[r["a2"].id].errcode == 43101
    received = Counter(m["touser"] for m in wechat.messages)
    assert received == Counter({r[k].openid: 1 for k in ("a1", "a3", "shared")})


def test_a_worker_killed_mid_batch_and_another_started_sends_no_one_twice(
    app, client, make, wechat, workers, monkeypatch
):
    scene = build_scene(app, households=60)
    with app.app_context():
        db.session.execute(
            insert(SubscriptionConsent),
            [{"resident_id": rid, "template_id": TEMPLATE} for rid in scene.resident_ids],
        )
        db.session.commit()
    monkeypatch.setitem(app.config, "NOTICE_BATCH_SIZE", 20)  # three jobs
    wechat.delay = 0.05  # a slow WeChat, so the kill lands mid-batch
    reply = post_notice(client, make, scene.clerk, estate_id=scene.estate_id)
    assert reply.status_code == 201, reply.json
    notice_id = reply.json["id"]

    first = workers("first")
    wait_for(lambda: len(wechat.messages) >= 10, "some messages", workers=[first])
    first.kill()
    assert _open_rows(app, notice_id) > 0, "the kill came too late to test anything"

    # the sweep, as if two minutes had passed: the row in flight is settled as interrupted,
    # never resent; the killed job's rows are queued again (alongside the jobs still queued)
    with app.app_context():
        done = jobs.sweep(utcnow() + timedelta(minutes=3))
    assert done["requeued"] == [notice_id]
    second = workers("second")
    wait_for(lambda: _open_rows(app, notice_id) == 0, "every delivery final", workers=[second])

    rows = deliveries(app, notice_id).values()
    with app.app_context():
        openid_of = dict(db.session.execute(select(Resident.id, Resident.openid)).all())
    received = Counter(m["touser"] for m in wechat.messages)
    assert max(received.values()) == 1, "a resident got the notice twice"
    sent = {openid_of[row.resident_id] for row in rows if row.status == "sent"}
    interrupted = {
        openid_of[row.resident_id]
        for row in rows
        if row.status == "failed" and row.last_error == "interrupted"
    }
    assert {row.status for row in rows} <= {"sent", "failed"}
    assert len(interrupted) <= 1  # at most the one in flight when the worker died
    assert sent | interrupted == set(received) | interrupted
    assert len(sent) + len(interrupted) == 60


def test_a_scheduled_notice_is_published_at_its_time_by_the_scheduler(
    app, client, make, wechat, workers, redis
):
    town = build_town(app, make)
    consent(app, town.residents["a1"])
    publish_at = utcnow() + timedelta(seconds=4)
    reply = post_notice(
        client,
        make,
        town.staff["clerk"],
        estate_id=town.estate.id,
        publish_at=publish_at.isoformat(),
    )
    assert reply.status_code == 201 and reply.json["status"] == "scheduled"
    notice_id = reply.json["id"]
    job_id = f"notice-{notice_id}-publish-{int(publish_at.timestamp())}"
    assert job_id in ScheduledJobRegistry("notices", connection=redis).get_job_ids()

    worker = workers("scheduler")
    time.sleep(1)
    with app.app_context():
        assert db.session.get(Notice, notice_id).status == "scheduled"  # not before its time

    def published():
        with app.app_context():
            return db.session.get(Notice, notice_id).status == "published"

    wait_for(published, "the notice published", timeout=30, workers=[worker])
    with app.app_context():
        notice = db.session.get(Notice, notice_id)
        assert notice.published_at >= publish_at - timedelta(seconds=1)
        assert notice.published_at <= publish_at + timedelta(seconds=15)
    wait_for(lambda: len(wechat.messages) == 1, "the message", workers=[worker])
    assert wechat.messages[0]["touser"] == town.residents["a1"].openid
