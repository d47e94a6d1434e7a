"""Shared pieces of the voting benchmarks (ballots, tally, freshness).

Settings come from the environment, so that no benchmark touches a database or Redis it was
not given:

- BENCH_PG_URL     PostgreSQL URL (default: database `bench_voting` on 127.0.0.1, created if
                   missing). Its tables are dropped and recreated: give it a database of its own.
- BENCH_REDIS_URL  Redis URL (default: redis://127.0.0.1:6379/14). The database is flushed.

The `test` database and Redis database 15 (the test suite's) are refused.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_voting"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SECRET = "bench-secret-key-0123456789abcdef"


# --- settings ---------------------------------------------------------------------------------


def pg_url() -> str:
    url = os.environ.get("BENCH_PG_URL", DEFAULT_PG)
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        sys.exit("BENCH_PG_URL must name a PostgreSQL database")
    if parsed.database in (None, "", "test", "postgres"):
        sys.exit(f"BENCH_PG_URL names database {parsed.database!r}: give the benchmark its own")
    if parsed.get_driver_name() != "psycopg":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def redis_url() -> str:
    return guard_redis(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))


def guard_redis(url: str) -> str:
    number = urlparse(url).path.strip("/") or "0"
    if number == "15":
        sys.exit("BENCH_REDIS_URL names Redis database 15 (the tests'): give the benchmark its own")
    return url


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def ensure_pg_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it is missing."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def server_env(pg: str, redis: str | None) -> dict:
    """The environment of our gunicorn and worker processes (production settings)."""
    env = dict(os.environ)
    env.update(
        APP_ENV="production",
        DATABASE_URL=pg,
        REDIS_URL=redis or "",
        SECRET_KEY=SECRET,
        WECHAT_APPID="wx-bench-appid",
        WECHAT_SECRET="bench-wechat-secret",
        WECHAT_API_BASE="http://127.0.0.1:9/",
        PYTHONUNBUFFERED="1",
    )
    return env


def make_app(pg: str, redis: str | None):
    from api.app import create_app

    return create_app(
        {
            "APP_ENV": "production",
            "DATABASE_URL": pg,
            "REDIS_URL": redis or "",
            "SECRET_KEY": SECRET,
            "WECHAT_APPID": "wx-bench-appid",
            "WECHAT_SECRET": "bench-wechat-secret",
            "WECHAT_API_BASE": "http://127.0.0.1:9/",
        }
    )


def reset_schema(app) -> None:
    """Empty tables, as the tests make them (db.create_all from the models)."""
    from api.core import db

    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.create_all()


def flush_redis(url: str) -> None:
    from redis import Redis

    client = Redis.from_url(guard_redis(url))
    client.flushdb()
    client.close()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def pg_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as conn:
        version = conn.scalar(text("SHOW server_version"))
    engine.dispose()
    return f"PostgreSQL {version}"


# --- data -------------------------------------------------------------------------------------


@dataclass
class Scene:
    county_id: int
    community_id: int
    estate_id: int
    project_id: int
    plan_id: int
    clerk_id: int
    household_ids: list[int] = field(default_factory=list)
    resident_ids: list[int] = field(default_factory=list)  # one verified member per household
    consultation_id: int | None = None


def bulk_households(estate_id: int, building_id: int, count: int, tag: str) -> None:
    """`count` households in one building, written by PostgreSQL (generate_series)."""
    from api.core import db

    db.session.execute(
        text(
            """
            INSERT INTO households (estate_id, building_id, unit, room, floor_area, owner_name,
                                    owner_phone_last4, created_at, updated_at)
            SELECT :estate, :building, '1单元', :tag || lpad(i::text, 7, '0'),
                   45 + (i % 100), '业主' || i, lpad((i % 10000)::text, 4, '0'), now(), now()
            FROM generate_series(1, :count) AS i
            """
        ),
        {"estate": estate_id, "building": building_id, "count": count, "tag": tag},
    )


def build_scene(app, households: int, residents: bool = True, name: str = "基准") -> Scene:
    """A county, community, estate with `households` households (each with one verified
    resident if `residents`), a project on it with a plan, and a clerk. The registry rows come
    from devtools/factory.py; households, residents and claims from bulk SQL."""
    from api.core import db
    from devtools import factory
    from participation.models import County, Household, HouseholdClaim, Resident

    with app.app_context():
        county = db.session.scalar(select(County).where(County.name == "基准县"))
        county = county or factory.county("基准县")
        community = factory.community(county, f"{name}社区")
        estate = factory.estate(community, f"{name}小区")
        building = factory.building(estate)
        bulk_households(estate.id, building.id, households, tag=f"e{estate.id}-")
        household_ids: list[int] = []
        resident_ids: list[int] = []
        if residents:
            household_ids = list(
                db.session.scalars(
                    select(Household.id)
                    .where(Household.estate_id == estate.id)
                    .order_by(Household.id)
                )
            )
            db.session.execute(
                text(
                    """
                    INSERT INTO residents (openid, nickname, created_at, last_login_at)
                    SELECT 'bench-' || h.id, '居民' || h.id, now(), now()
                    FROM households h WHERE h.estate_id = :estate ORDER BY h.id
                    """
                ),
                {"estate": estate.id},
            )
            db.session.execute(
                text(
                    """
                    INSERT INTO household_claims (resident_id, household_id, community_id,
                        relation, claimed_name, claimed_phone_last4, status, verified_at,
                        created_at)
                    SELECT r.id, h.id, :community, 'owner', h.owner_name, h.owner_phone_last4,
                           'verified', now(), now()
                    FROM households h JOIN residents r ON r.openid = 'bench-' || h.id
                    WHERE h.estate_id = :estate
                    """
                ),
                {"estate": estate.id, "community": community.id},
            )
            db.session.execute(
                text(
                    """
                    INSERT INTO privacy_consents (resident_id, version, accepted_at)
                    SELECT r.id, :version, now()
                    FROM households h JOIN residents r ON r.openid = 'bench-' || h.id
                    WHERE h.estate_id = :estate
                    """
                ),
                {"estate": estate.id, "version": factory.privacy_version()},
            )
            resident_ids = list(
                db.session.scalars(
                    select(HouseholdClaim.resident_id)
                    .join(Household, Household.id == HouseholdClaim.household_id)
                    .where(Household.estate_id == estate.id)
                    .order_by(HouseholdClaim.household_id)
                )
            )
            assert db.session.get(Resident, resident_ids[0]) is not None
        clerk = factory.staff(f"bench-clerk-{community.id}", ("committee", community), hashed="-")
        project = factory.project(county, [estate], f"{name}改造项目")
        plan = factory.plan(project, clerk)
        db.session.commit()
        return Scene(
            county.id,
            community.id,
            estate.id,
            project.id,
            plan.id,
            clerk.id,
            household_ids,
            resident_ids,
        )


def open_plan_consultation(app, scene: Scene) -> int:
    """Create and open a plan satisfaction consultation the way the API does."""
    from api.core import commit, db
    from participation.models import Project, Staff
    from voting import jobs
    from voting.service import consultations

    with app.app_context():
        project = db.session.get(Project, scene.project_id)
        staff = db.session.get(Staff, scene.clerk_id)
        consultation = consultations.create_consultation(
            project, staff, {"kind": "plan_satisfaction", "plan_id": scene.plan_id}
        )
        commit()
        consultation = consultations.lock(consultation.id, shared=False)
        consultations.open_consultation(consultation)
        jobs.after_open(consultation)
        commit()
        scene.consultation_id = consultation.id
        return consultation.id


def resident_tokens(app, resident_ids: list[int]) -> list[str]:
    """Tokens of residents who accepted the privacy notice in force (as `build_estate`'s did)."""
    from devtools import factory

    with app.test_request_context():
        return [factory.resident_token(rid) for rid in resident_ids]


def independent_count(engine, consultation_id: int) -> dict:
    """Straight from the ballots table: households per choice and the sum of revisions."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT choice, count(*), sum(revision) FROM ballots "
                "WHERE consultation_id = :c GROUP BY choice"
            ),
            {"c": consultation_id},
        ).all()
    return {
        "by_choice": {choice: int(n) for choice, n, _ in rows},
        "counted": sum(int(n) for _, n, _ in rows),
        "changes": sum(int(r) for _, _, r in rows),
    }


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Gunicorn:
    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 8

    def argv(self, target: str, port: int) -> list[str]:
        argv = [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--bind",
            f"127.0.0.1:{port}",
            "--backlog",
            "256",
            "--timeout",
            "30",
            "--log-level",
            "warning",
        ]
        if self.worker_class == "gthread":
            argv += ["--threads", str(self.threads)]
        return argv + [target]

    def describe(self) -> str:
        if self.worker_class == "gthread":
            return f"{self.workers} workers, gthread x {self.threads} threads"
        return f"{self.workers} workers, {self.worker_class}"


def drop_scratch(scratch: Path, keep: bool) -> None:
    """Remove a run's folder of server logs, or say where it is when `--keep-logs` asks for them."""
    if keep:
        print(f"logs in {scratch}")
        return
    for log in scratch.iterdir():
        log.unlink()
    scratch.rmdir()


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    """Start a process in its own process group, output to `log`."""
    out = log.open("ab")
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM the process group we started (gunicorn and its workers), then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def wait_http(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Wait until something answers HTTP on the port (any status)."""
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see {log}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/__ready__")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer within {timeout} s; see {log}")


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# --- CPU accounting -----------------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds used: user + system) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by the live processes of a process group (e.g. gunicorn's)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and stat[0] == pgid:
                total += stat[1]
    return total


def backend_cpu(engine) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend connected to this database."""
    with engine.connect() as conn:
        pids = conn.scalars(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ).all()
    cpu = {}
    for pid in pids:
        stat = _stat(pid)
        if stat:
            cpu[pid] = stat[1]
    return cpu
