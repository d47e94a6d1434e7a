"""Benchmark: the screens a resident opens most, under gunicorn on PostgreSQL, against a read
floor measured in the same run.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_voting \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python -m bench.reads              # floor and ours, 10 s per screen

Screens, each read as a verified resident with a bearer token (a random one of the estate's
1,000 residents; one of ten for the two gates of the big estate):

- project:        GET /api/v1/projects/{id}            (the project of a 1,000-household estate,
                                                        its plan satisfaction consultation open)
- gate:           GET /api/v1/projects/{id}/gate       (that consultation: a ballot from every
                                                        household, counted)
- consultation:   GET /api/v1/consultations/{id}
- notices:        GET /api/v1/notices                  (10 notices published to the estate)
- gate@1000:      GET /api/v1/projects/{id}/gate on an estate of `--big` households whose
- gate@<big>:     consultations have 1,000 and `--big` (1,000,000) ballots, built in bulk with
                  generate_series as bench/tally.py does: the gate's cost should not grow.

Each is measured under the same gunicorn settings as bench/ballots.py (2 workers, gthread with 8
threads, closed loop of 16 keep-alive connections: wrk if installed, else Python threads),
against bench/floor_app.py, which answers the same paths with one `SELECT` by primary key
through psycopg. It prints req/s, latency, errors, and the CPU per request of the gunicorn
processes plus PostgreSQL's backends (from /proc), and the ratio of ours to the floor. Nothing
is asserted: bench/README.md records the figures. The tables of BENCH_PG_URL's database are
dropped and recreated, and BENCH_REDIS_URL's database is flushed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import common, floor_app, loadgen
from bench.ballots import cpu_line, cpu_now, cpu_used

NOTICES = 10
BIG_RESIDENTS = 10


# --- the data -----------------------------------------------------------------------------------


def bulk_ballots(app, consultation_id: int) -> int:
    """A ballot from every household of the consultation's electorate, written by PostgreSQL (92%
    satisfied, 5% unsatisfied, 3% abstain; every third changed once), then counted by the tally
    job, as a worker would."""
    from api.core import db
    from voting import jobs

    with app.app_context():
        db.session.execute(
            text(
                """
                INSERT INTO ballots (consultation_id, household_id, resident_id, choice, receipt,
                                     channel, weight_area, weight_persons, revision, created_at,
                                     updated_at)
                SELECT e.consultation_id, e.household_id, c.resident_id,
                       CASE WHEN i % 100 < 92 THEN 'satisfied'
                            WHEN i % 100 < 97 THEN 'unsatisfied' ELSE 'abstain' END,
                       lpad(to_hex(e.household_id), 10, '0'), 'wechat',
                       e.floor_area, e.members, 1 + (i % 3 = 0)::int, now(), now()
                FROM (SELECT *, row_number() OVER (ORDER BY household_id) AS i
                      FROM electorate_entries WHERE consultation_id = :c) AS e
                LEFT JOIN household_claims c
                  ON c.household_id = e.household_id AND c.status = 'verified'
                """
            ),
            {"c": consultation_id},
        )
        db.session.commit()
        sync_watermark(consultation_id)
        jobs.run_tally(consultation_id)
        return int(
            db.session.scalar(
                text("SELECT count(*) FROM ballots WHERE consultation_id = :c"),
                {"c": consultation_id},
            )
        )


def sync_watermark(consultation_id: int) -> None:
    """Ballots written in bulk bypass the ballot path, which keeps the tally's change counter
    (`tallies.changes`, where the schema has it): set it as the migration's backfill does, the
    sum of the ballots' revisions. In an app context."""
    from api.core import db

    has_counter = db.session.scalar(
        text(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'tallies' AND column_name = 'changes'"
        )
    )
    if has_counter:
        db.session.execute(
            text(
                "UPDATE tallies SET changes = (SELECT coalesce(sum(revision), 0) FROM ballots "
                "WHERE consultation_id = :c) WHERE consultation_id = :c"
            ),
            {"c": consultation_id},
        )
        db.session.commit()


def publish_notices(app, scene: common.Scene, count: int) -> None:
    """`count` notices from the estate's clerk, through the API (delivery jobs are queued on
    Redis; no worker sends them)."""
    from api import auth

    with app.test_request_context():
        token = auth.issue_token(auth.STAFF, scene.clerk_id)
    client = app.test_client()
    for n in range(count):
        reply = client.post(
            "/api/v1/notices",
            json={
                "estate_id": scene.estate_id,
                "category": "construction",
                "title": f"施工通知 {n + 1}：雨污分流管网开挖",
                "body": "下周一起分段开挖，请注意出行安全。" * 4,
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 201, reply.get_json()


def big_estate(app, big: int) -> tuple[dict[int, int], list[int]]:
    """An estate of `big` households with two projects whose gate consultations have 1,000 and
    `big` ballots (bench/tally.py's builder), and BIG_RESIDENTS verified residents on its first
    households: ({ballots: project id}, resident ids)."""
    from api.core import db
    from bench import tally
    from voting import jobs
    from voting.models import Consultation

    # tally.build vacuums through the app's engine; a plain engine of our own does it whatever
    # the app's pool does on checkout (a ping that leaves a transaction open breaks AUTOCOMMIT).
    plain = create_engine(common.pg_url())
    tally.db_engine = lambda app: plain
    try:
        consultations = tally.build(app, (1000, big))
    finally:
        plain.dispose()
    with app.app_context():
        estate_id = db.session.scalar(
            text("SELECT id FROM estates WHERE name = :n"), {"n": f"{tally.ESTATE_NAME}小区"}
        )
        community_id = db.session.scalar(
            text("SELECT community_id FROM estates WHERE id = :e"), {"e": estate_id}
        )
        params = {"estate": estate_id, "community": community_id, "n": BIG_RESIDENTS}
        db.session.execute(
            text(
                """
                INSERT INTO residents (openid, nickname, created_at, last_login_at)
                SELECT 'bench-big-' || h.id, '居民' || h.id, now(), now()
                FROM households h WHERE h.estate_id = :estate ORDER BY h.id LIMIT :n
                """
            ),
            params,
        )
        db.session.execute(
            text(
                """
                INSERT INTO household_claims (resident_id, household_id, community_id, relation,
                    claimed_name, claimed_phone_last4, status, verified_at, created_at)
                SELECT r.id, h.id, :community, 'owner', h.owner_name, h.owner_phone_last4,
                       'verified', now(), now()
                FROM households h JOIN residents r ON r.openid = 'bench-big-' || h.id
                WHERE h.estate_id = :estate
                """
            ),
            params,
        )
        residents = list(
            db.session.scalars(
                text("SELECT id FROM residents WHERE openid LIKE 'bench-big-%' ORDER BY id")
            )
        )
        db.session.commit()
        projects = {}
        for size, consultation_id in consultations.items():
            started = time.perf_counter()
            sync_watermark(consultation_id)
            jobs.run_tally(consultation_id)
            projects[size] = db.session.get(Consultation, consultation_id).project_id
            print(
                f"  tally of {size:,} ballots in {time.perf_counter() - started:.1f} s", flush=True
            )
        return projects, residents


# --- one check ------------------------------------------------------------------------------------


def peek(port: int, path: str, token: str) -> tuple[int, dict | list | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        reply = conn.getresponse()
        body = reply.read()
    finally:
        conn.close()
    try:
        return reply.status, json.loads(body)
    except ValueError:
        return reply.status, None


def describe(name: str, status: int, body) -> str:
    if status != 200 or not isinstance(body, dict):
        return f"{name}: HTTP {status} {str(body)[:200]}"
    if name.startswith("gate"):
        keys = ("counted", "eligible", "stale", "results_hidden", "computed_at")
        return f"{name}: " + ", ".join(f"{k}={body.get(k)!r}" for k in keys if k in body)
    if name == "notices":
        return f"{name}: total={body.get('total')}, items={len(body.get('items', []))}"
    return f"{name}: {len(json.dumps(body))} bytes of JSON"


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument(
        "--big", type=int, default=1_000_000, help="ballots of the big gate (0: skip it)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="per screen and mode")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--screens", default="", help="comma-separated subset of the screens")
    parser.add_argument("--rounds", type=int, default=1, help="repeat floor and ours")
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="also run `py-spy record --gil --subprocesses` on ours during each screen, writing "
        "DIR/<screen>.txt (collapsed stacks); the CPU figures of that run are then perturbed",
    )
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable")
    options = parser.parse_args()
    tool = options.tool
    if tool == "auto":
        tool = "wrk" if loadgen.have_wrk() else "python"
    gunicorn = common.Gunicorn(worker_class=options.worker_class, threads=options.threads)
    logging.getLogger("api.access").setLevel(logging.WARNING)

    pg, redis = common.pg_url(), common.redis_url()
    common.ensure_pg_database(pg)
    print(f"machine: {common.machine()}, {common.pg_version(pg)}")
    print(f"gunicorn: {gunicorn.describe()}; load: {tool}, {options.connections} connections")
    print(f"load average at the start: {Path('/proc/loadavg').read_text().strip()}")

    app = common.make_app(pg, redis)
    common.reset_schema(app)
    common.flush_redis(redis)
    started = time.perf_counter()
    scene = common.build_scene(app, options.households)
    consultation_id = common.open_plan_consultation(app, scene)
    voted = bulk_ballots(app, consultation_id)
    publish_notices(app, scene, NOTICES)
    tokens = common.resident_tokens(app, scene.resident_ids)
    print(
        f"{options.households} households with a verified resident each, consultation "
        f"{consultation_id} open with {voted} ballots, {NOTICES} notices "
        f"({time.perf_counter() - started:.1f} s to build)",
        flush=True,
    )
    screens = {
        "project": (f"/api/v1/projects/{scene.project_id}", tokens),
        "gate": (f"/api/v1/projects/{scene.project_id}/gate", tokens),
        "consultation": (f"/api/v1/consultations/{consultation_id}", tokens),
        "notices": ("/api/v1/notices", tokens),
    }
    if options.big:
        started = time.perf_counter()
        projects, residents = big_estate(app, options.big)
        big_tokens = common.resident_tokens(app, residents)
        for size, project_id in sorted(projects.items()):
            screens[f"gate@{size}"] = (f"/api/v1/projects/{project_id}/gate", big_tokens)
        print(
            f"estate of {options.big:,} households, gates of 1,000 and {options.big:,} ballots "
            f"({time.perf_counter() - started:.1f} s to build)",
            flush=True,
        )
    if options.screens:
        wanted = options.screens.split(",")
        unknown = set(wanted) - set(screens)
        if unknown:
            parser.error(f"unknown screens {sorted(unknown)}; there are {sorted(screens)}")
        screens = {name: screens[name] for name in wanted}
    floor_app.create_table(common.libpq_url(pg))
    from api.core import db

    with app.app_context():
        db.engine.dispose()  # this process's connections stay out of the measured backends

    results: dict[tuple[str, str], list[loadgen.Load]] = {}
    engine = create_engine(pg, pool_size=1)
    scratch = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    env = common.server_env(pg, redis)
    env["FLOOR_DATABASE_URL"] = common.libpq_url(pg)
    try:
        for round_ in range(options.rounds):
            for mode in ("floor", "ours"):
                port = common.free_port()
                target = "bench.floor_app:app" if mode == "floor" else "wsgi:app"
                log = scratch / f"{mode}.log"
                server = None
                try:
                    server = common.start(gunicorn.argv(target, port), env, log)
                    common.wait_http(port, server, log)
                    for name, (path, keys) in screens.items():
                        if round_ == 0 and mode == "ours":
                            print("  " + describe(name, *peek(port, path, keys[0])), flush=True)
                        loadgen.run(
                            tool, port, path, keys, options.warmup, options.connections, "GET"
                        )
                        spy = None
                        if options.profile and mode == "ours":
                            Path(options.profile).mkdir(parents=True, exist_ok=True)
                            spy = subprocess.Popen(
                                [options.py_spy, "record", "--gil", "--subprocesses", "--rate",
                                 "250", "--format", "raw", "--duration",
                                 str(int(options.seconds)), "--nonblocking", "--output",
                                 str(Path(options.profile) / f"{name}.txt"), "--pid",
                                 str(server.pid)],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                            )  # fmt: skip
                        cpu_before = cpu_now(server, None, engine)
                        load = loadgen.run(
                            tool, port, path, keys, options.seconds, options.connections, "GET"
                        )
                        load.cpu = cpu_used(
                            cpu_before, cpu_now(server, None, engine), load.requests
                        )
                        if spy is not None:
                            try:
                                spy.wait(30)
                            except subprocess.TimeoutExpired:
                                spy.kill()
                                spy.wait(5)
                        results.setdefault((name, mode), []).append(load)
                        print(f"round {round_ + 1} {mode:<5} {name:<13} {load.line()}")
                        print(f"{'':25}CPU per request: {cpu_line(load.cpu)}", flush=True)
                        if load.errors:
                            print(f"{'':25}errors/statuses: {load.statuses}")
                finally:
                    common.stop(server)
    finally:
        engine.dispose()
        common.drop_scratch(scratch, keep=options.keep_logs)

    print()
    print(f"load average at the end: {Path('/proc/loadavg').read_text().strip()}")
    print(
        f"{'screen':<14}{'floor req/s':>12}{'ours req/s':>12}{'ratio':>7}"
        f"{'floor CPU ms':>14}{'ours CPU ms':>13}{'CPU x floor':>13}  (median of rounds)"
    )
    for name in screens:
        floor, ours = results[(name, "floor")], results[(name, "ours")]
        floor_rps = statistics.median(x.rps for x in floor)
        ours_rps = statistics.median(x.rps for x in ours)
        floor_cpu = statistics.median(sum(x.cpu.values()) for x in floor)
        ours_cpu = statistics.median(sum(x.cpu.values()) for x in ours)
        errors = sum(x.errors for x in ours)
        print(
            f"{name:<14}{floor_rps:>12.0f}{ours_rps:>12.0f}{ours_rps / floor_rps:>7.2f}"
            f"{floor_cpu:>14.2f}{ours_cpu:>13.2f}{ours_cpu / floor_cpu:>13.2f}"
            + (f"  errors {errors}" if errors else "")
        )


if __name__ == "__main__":
    main()
