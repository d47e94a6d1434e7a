"""Benchmark: a notice to 5,000 residents, sent through RQ workers to a local fake WeChat.

    .venv/bin/python -m bench.notice_fanout                   # 1 and 4 workers
    .venv/bin/python -m bench.notice_fanout --workers 2 --residents 5000

For each worker count: a fresh schema in the benchmark's own PostgreSQL database, one estate of
5,000 households (35 buildings), each with one verified resident holding one subscription
consent; the workers (`flask --app wsgi worker notices`, the rate cap off) are started and
idle; then a clerk publishes a notice to the estate through the app (`POST /api/v1/notices`)
and the clock runs until every delivery row is recorded (sent, or any other final state).

It reports the publish request's own time, the time until every delivery is recorded, the
messages the fake received (and that none was received twice), and the number of jobs run.

Settings (environment):
- BENCH_PG_URL     default postgresql+psycopg://postgres@127.0.0.1:5432/bench_notices (its tables
                   are dropped and recreated: give it a database of its own; `test` is refused)
- BENCH_REDIS_URL  default redis://127.0.0.1:6379/12 (flushed; 14 and 15, CI's and the tests',
                   are refused)
The fake WeChat is devtools/fake_wechat.py, started on a free port.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_notices"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
SECRET = "bench-secret-key-0123456789abcdef"
TEMPLATE = "notice-bench-template"
APPID, APP_SECRET = "wx-bench-appid", "bench-wechat-secret"


def settings() -> tuple[str, str]:
    pg = os.environ.get("BENCH_PG_URL", DEFAULT_PG)
    url = make_url(pg)
    if url.get_backend_name() != "postgresql" or url.database in (None, "", "test", "postgres"):
        sys.exit("BENCH_PG_URL must name a PostgreSQL database of the benchmark's own")
    redis = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    if (urlparse(redis).path.strip("/") or "0") in ("14", "15"):
        sys.exit("BENCH_REDIS_URL names Redis database 14 or 15 (CI's and the tests')")
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False), redis


def ensure_database(pg: str) -> None:
    target = make_url(pg)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
        ):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def env_for(pg: str, redis: str, wechat: str) -> dict:
    env = dict(os.environ)
    env.update(
        APP_ENV="production",
        DATABASE_URL=pg,
        REDIS_URL=redis,
        SECRET_KEY=SECRET,
        WECHAT_APPID=APPID,
        WECHAT_SECRET=APP_SECRET,
        WECHAT_API_BASE=wechat,
        WECHAT_SEND_RATE_PER_SECOND="0",
        NOTICE_TEMPLATE_ID=TEMPLATE,
        PYTHONUNBUFFERED="1",
    )
    return env


def make_app(env: dict):
    from api.app import create_app

    keys = ("APP_ENV", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WECHAT_APPID")
    keys += ("WECHAT_SECRET", "WECHAT_API_BASE", "WECHAT_SEND_RATE_PER_SECOND")
    keys += ("NOTICE_TEMPLATE_ID",)
    return create_app({key: env[key] for key in keys})


def build_estate(app, residents: int) -> tuple[int, int]:
    """A fresh schema, an estate of `residents` households each with a verified, consenting
    resident, and a clerk; (estate id, clerk id)."""
    from api.core import db
    from notices.models import SubscriptionConsent
    from participation.models import (
        Building,
        Community,
        County,
        Estate,
        Household,
        HouseholdClaim,
        Resident,
        RoleGrant,
        Staff,
    )

    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()
        county = County(name="基准县")
        db.session.add(county)
        db.session.flush()
        community = Community(county_id=county.id, name="基准社区")
        db.session.add(community)
        db.session.flush()
        estate = Estate(community_id=community.id, name="基准小区")
        db.session.add(estate)
        db.session.flush()
        buildings = []
        for b in range((residents + 143) // 144):
            building = Building(estate_id=estate.id, name=f"{b + 1}栋")
            db.session.add(building)
            buildings.append(building)
        db.session.flush()
        db.session.execute(
            insert(Household),
            [
                {
                    "estate_id": estate.id,
                    "building_id": buildings[i // 144].id,
                    "unit": f"{i % 144 // 72 + 1}单元",
                    "room": f"{i % 72 // 4 + 1}{i % 4 + 1:02d}",
                    "floor_area": Decimal("80.00"),
                    "owner_name": f"业主{i}",
                    "owner_phone_last4": "1234",
                }
                for i in range(residents)
            ],
        )
        households = list(
            db.session.scalars(select(Household.id).where(Household.estate_id == estate.id))
        )
        db.session.execute(
            insert(Resident), [{"openid": f"bench-{h}", "nickname": None} for h in households]
        )
        resident_ids = dict(db.session.execute(select(Resident.openid, Resident.id)).all())
        db.session.execute(
            insert(HouseholdClaim),
            [
                {
                    "resident_id": resident_ids[f"bench-{h}"],
                    "household_id": h,
                    "community_id": community.id,
                    "relation": "owner",
                    "claimed_name": "x",
                    "claimed_phone_last4": "1234",
                    "status": "verified",
                }
                for h in households
            ],
        )
        db.session.execute(
            insert(SubscriptionConsent),
            [{"resident_id": r, "template_id": TEMPLATE} for r in resident_ids.values()],
        )
        clerk = Staff(username="bench-clerk", password_hash="x")
        db.session.add(clerk)
        db.session.flush()
        db.session.add(RoleGrant(staff_id=clerk.id, role="committee", scope_id=community.id))
        db.session.commit()
        return estate.id, clerk.id


def open_rows(app, notice_id: int) -> int:
    from api.core import db
    from notices.models import Delivery

    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(
                Delivery.notice_id == notice_id,
                Delivery.status.in_(("pending", "retrying", "sending")),
            )
        )
        db.session.remove()
        return count


def statuses(app, notice_id: int) -> dict:
    from api.core import db
    from notices.models import Delivery

    with app.app_context():
        rows = db.session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.notice_id == notice_id)
            .group_by(Delivery.status)
        ).all()
        return {status: n for status, n in rows}


def run(workers: int, residents: int, pg: str, redis_url: str, logs: Path) -> dict:
    from api import auth

    port = free_port()
    wechat = f"http://127.0.0.1:{port}/"
    env = env_for(pg, redis_url, wechat)
    Redis.from_url(redis_url).flushdb()
    fake = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_wechat", "--port", str(port)]
        + ["--appid", APPID, "--secret", APP_SECRET],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs = []
    try:
        app = make_app(env)
        estate_id, clerk_id = build_estate(app, residents)
        wait_until(lambda: _answers(wechat), 20, "the fake WeChat")
        for n in range(workers):
            out = (logs / f"worker-{workers}-{n}.log").open("w")
            procs.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "notices"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # with its scheduler child: stopped together
                    ),
                    out,
                )
            )
        redis = Redis.from_url(redis_url)
        wait_until(lambda: len(redis.smembers("rq:workers")) >= workers, 30, "the workers")

        with app.test_request_context():
            token = auth.issue_token(auth.STAFF, clerk_id)
        client = app.test_client()
        started = time.perf_counter()
        reply = client.post(
            "/api/v1/notices",
            json={
                "estate_id": estate_id,
                "category": "construction",
                "title": "施工通知：雨污分流管网开挖",
                "body": "下周一起分段开挖，请注意出行安全。",
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        published = time.perf_counter() - started
        assert reply.status_code == 201, reply.get_json()
        notice_id = reply.get_json()["id"]
        wait_until(lambda: open_rows(app, notice_id) == 0, 600, "every delivery recorded")
        recorded = time.perf_counter() - started

        messages = _messages(wechat)
        touser = [m["touser"] for m in messages]
        jobs = delivery_jobs(FinishedJobRegistry("notices", connection=redis), redis)
        failed_jobs = delivery_jobs(FailedJobRegistry("notices", connection=redis), redis)
        return {
            "workers": workers,
            "residents": residents,
            "publish_request_s": round(published, 2),
            "all_recorded_s": round(recorded, 2),
            "messages": len(messages),
            "duplicates": len(touser) - len(set(touser)),
            "jobs": jobs,
            "failed_jobs": failed_jobs,
            "statuses": statuses(app, notice_id),
            "per_second": round(len(messages) / recorded, 1),
        }
    finally:
        for proc, _out in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc, out in procs:
            try:
                proc.wait(timeout=20)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
                out.close()
        fake.terminate()
        fake.wait(timeout=10)


def delivery_jobs(registry, redis) -> int:
    """The delivery jobs in an RQ registry (the periodic sweep may have run as well)."""
    return sum(
        job is not None and job.func_name.endswith("deliver_batch")
        for job in Job.fetch_many(registry.get_job_ids(), connection=redis)
    )


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "_fake/messages", timeout=1):
            return True
    except OSError:
        return False


def _messages(base: str) -> list[dict]:
    with urllib.request.urlopen(base + "_fake/messages", timeout=30) as reply:
        return json.load(reply)["messages"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,4", help="worker counts to run, e.g. 1,4")
    parser.add_argument("--residents", type=int, default=5000)
    options = parser.parse_args()
    pg, redis = settings()
    ensure_database(pg)
    logs = Path(tempfile.mkdtemp(prefix="notice-fanout-"))
    print(f"PostgreSQL {make_url(pg).database}, Redis {redis}, worker logs in {logs}")
    for workers in (int(n) for n in options.workers.split(",")):
        result = run(workers, options.residents, pg, redis, logs)
        print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
