"""Benchmark: one tally job over 100,000 and over 1,000,000 ballots on PostgreSQL.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_voting \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python -m bench.tally              # builds the data, then measures
    .venv/bin/python -m bench.tally --reuse           # measures again on the data already built

The data is written by PostgreSQL itself (`INSERT … SELECT … generate_series`), not through
the API: one estate of 1,000,000 households, and two open plan satisfaction consultations on
it, one whose electorate is the first 100,000 households and one whose electorate is all of
them, each with a ballot from every household (92% satisfied, 5% unsatisfied, 3% abstain; a
third of them changed once). The ballots table thus holds 1,100,000 rows, and each count has
to pick its consultation's rows out of it. `VACUUM ANALYZE` follows, as autovacuum would.

For each size a fresh Python process (so that its peak memory is its own) builds the app with
REDIS_URL set, enqueues `voting.jobs.run_tally` and runs it in a real worker (`api.jobs.
make_worker(app).work(burst=True)`; SimpleWorker runs jobs in its own process), then runs the
job three more times directly. It reports the job time as RQ recorded it, the warm times, the
process's peak RSS (`ru_maxrss`) before and after, and `EXPLAIN (ANALYZE, BUFFERS)` of the
counting query. Nothing is asserted; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from decimal import Decimal

from sqlalchemy import event, select, text

from bench import common

SIZES = (100_000, 1_000_000)
ESTATE_NAME = "万户基准"


# --- the data -----------------------------------------------------------------------------------


def build(app, sizes) -> dict[int, int]:
    """The estate, one consultation per size with its electorate and ballots; {size: id}."""
    from api.core import commit, db
    from participation.models import Plan, PlanItem, Project, Staff
    from voting.models import Consultation, Tally
    from voting.service.consultations import create_consultation

    biggest = max(sizes)
    started = time.perf_counter()
    scene = common.build_scene(app, biggest, residents=False, name=ESTATE_NAME)
    print(f"  {biggest:,} households in {time.perf_counter() - started:.1f} s", flush=True)
    consultations = {}
    with app.app_context():
        staff = db.session.get(Staff, scene.clerk_id)
        first = db.session.get(Project, scene.project_id)
        for size in sizes:
            if size == biggest:
                project = first
            else:
                project = Project(
                    county_id=scene.county_id,
                    name=f"{size}户基准项目",
                    category="basic",
                    plan_year=2027,
                    status="consulting",
                    estates=list(first.estates),
                )
                db.session.add(project)
                db.session.flush()
                db.session.add(
                    Plan(
                        project_id=project.id,
                        version=1,
                        created_by_id=staff.id,
                        items=[
                            PlanItem(
                                position=1,
                                category="lighting",
                                description="路灯",
                                estimated_cost=Decimal("1000"),
                            )
                        ],
                    )
                )
                db.session.flush()
                db.session.refresh(project)
            consultation = create_consultation(
                project, staff, {"kind": "plan_satisfaction", "plan_id": project.current_plan.id}
            )
            commit()
            consultations[size] = consultation.id
            started = time.perf_counter()
            params = {"c": consultation.id, "estate": scene.estate_id, "n": size}
            # The electorate: the first `size` households of the estate, frozen as opening does.
            db.session.execute(
                text(
                    """
                    INSERT INTO electorate_entries (consultation_id, household_id, estate_id,
                                                    floor_area, members)
                    SELECT :c, h.id, h.estate_id, h.floor_area, 1 + h.id % 3
                    FROM households h
                    WHERE h.estate_id = :estate
                      AND h.id < (SELECT min(id) FROM households WHERE estate_id = :estate) + :n
                    """
                ),
                params,
            )
            # A ballot from every household: i % 100 < 92 satisfied, < 97 unsatisfied, else
            # abstain; every third household changed its ballot once (revision 2).
            db.session.execute(
                text(
                    """
                    INSERT INTO ballots (consultation_id, household_id, choice, receipt, channel,
                                         weight_area, weight_persons, revision, created_at,
                                         updated_at)
                    SELECT e.consultation_id, e.household_id,
                           CASE WHEN i % 100 < 92 THEN 'satisfied'
                                WHEN i % 100 < 97 THEN 'unsatisfied' ELSE 'abstain' END,
                           lpad(to_hex(e.household_id), 10, '0'), 'wechat',
                           e.floor_area, e.members, 1 + (i % 3 = 0)::int, now(), now()
                    FROM (SELECT *, row_number() OVER (ORDER BY household_id) AS i
                          FROM electorate_entries WHERE consultation_id = :c) AS e
                    """
                ),
                params,
            )
            totals = db.session.execute(
                text(
                    "SELECT count(*), sum(members), sum(floor_area) FROM electorate_entries "
                    "WHERE consultation_id = :c"
                ),
                params,
            ).one()
            consultation = db.session.get(Consultation, consultation.id)
            consultation.status = "open"
            consultation.opened_at = consultation.opens_at = common_now()
            consultation.eligible_households = totals[0]
            consultation.eligible_persons = int(totals[1])
            consultation.eligible_area = totals[2]
            db.session.add(Tally(consultation_id=consultation.id, changes_seen=0))
            project.gate_consultation_id = consultation.id
            commit()
            print(
                f"  consultation {consultation.id}: {size:,} electors and ballots in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
    started = time.perf_counter()
    engine = db_engine(app)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("households", "electorate_entries", "ballots"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
    return consultations


def common_now():
    from api.core import utcnow

    return utcnow()


def db_engine(app):
    from api.core import db

    with app.app_context():
        return db.engine


def existing(app) -> dict[int, int]:
    """{size: consultation id} of data built by an earlier run, or {}."""
    from api.core import db
    from voting.models import Consultation

    with app.app_context():
        try:
            rows = db.session.execute(
                select(Consultation.id, Consultation.eligible_households).where(
                    Consultation.status == "open"
                )
            ).all()
        except Exception:  # no tables yet
            return {}
        return {int(n): cid for cid, n in rows}


# --- one measurement, in a fresh process --------------------------------------------------------


def child(consultation_id: int) -> None:
    from rq import Queue

    from api.core import db
    from api.jobs import make_worker
    from voting import jobs
    from voting.models import Tally

    def maxrss_mb() -> float:
        """Peak RSS of this process: VmHWM, the high-water mark of its own memory map.

        `ru_maxrss` would do on a process started fresh, but Linux carries the parent's peak
        into it across fork and exec, so a child of a big parent reports the parent's."""
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    app = common.make_app(common.pg_url(), common.redis_url())
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connected, as a worker is before its first job
        db.session.remove()
    baseline = maxrss_mb()

    runner = app.extensions["jobs"]
    queue = Queue("tallies", connection=runner.redis)
    job = queue.enqueue(jobs.run_tally, consultation_id, job_id=f"bench-tally-{os.getpid()}")
    started = time.perf_counter()
    make_worker(app, queues=("tallies",), name=f"bench-tally-{os.getpid()}").work(burst=True)
    worker_wall = time.perf_counter() - started
    job.refresh()
    status = job.get_status()
    job_seconds = (job.ended_at - job.started_at).total_seconds()
    after_job = maxrss_mb()

    warm = []
    statements = []
    with app.app_context():
        for _ in range(3):
            started = time.perf_counter()
            jobs.run_tally(consultation_id)
            warm.append(time.perf_counter() - started)
            db.session.remove()
        tally = db.session.get(Tally, consultation_id)
        result = {
            "counted": tally.counted,
            "eligible": tally.eligible,
            "satisfaction_rate": float(tally.satisfaction_rate),
            "changes_seen": tally.changes_seen,
            "runs": tally.runs,
        }

        # EXPLAIN ANALYZE the counting statement exactly as the job sends it.
        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM ballots" in statement and "GROUP BY" in statement:
                statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        from voting.queries.tally import count_ballots

        count_ballots(consultation_id)
        event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = statements[-1]
        raw = db.session.connection().connection.driver_connection
        plan = [
            row[0] for row in raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        ]
        db.session.rollback()
    print(
        json.dumps(
            {
                "status": str(status),
                "job_seconds": job_seconds,
                "worker_wall": worker_wall,
                "warm": warm,
                "baseline_mb": baseline,
                "after_job_mb": after_job,
                "peak_mb": maxrss_mb(),
                "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "result": result,
                "statement": statement,
                "plan": plan,
            }
        )
    )


def measure(consultation_id: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.tally", "--child", str(consultation_id)],
        cwd=common.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reuse", action="store_true", help="measure the data already built")
    parser.add_argument("--repeat", type=int, default=1, help="fresh processes per size")
    parser.add_argument("--plans", action="store_true", help="print the whole query plans")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        child(options.child)
        return

    pg, redis = common.pg_url(), common.redis_url()
    common.ensure_pg_database(pg)
    print(f"machine: {common.machine()}, {common.pg_version(pg)}")
    app = common.make_app(pg, redis)
    consultations = existing(app) if options.reuse else {}
    if not all(size in consultations for size in SIZES):
        print("building the data (tables dropped and recreated):", flush=True)
        common.reset_schema(app)
        started = time.perf_counter()
        consultations = build(app, SIZES)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    common.flush_redis(redis)

    results = {}
    for size in SIZES:
        for _ in range(options.repeat):
            r = measure(consultations[size])
            results.setdefault(size, []).append(r)
            execution = next((line for line in r["plan"] if "Execution Time" in line), "")
            print(
                f"{size:>9,} ballots: job {r['job_seconds'] * 1000:6.0f} ms in the worker "
                f"({r['status']}), warm runs "
                + ", ".join(f"{s * 1000:.0f}" for s in r["warm"])
                + f" ms; peak RSS {r['peak_mb']:.1f} MB (before the job {r['baseline_mb']:.1f}"
                f" MB, ru_maxrss {r['ru_maxrss_mb']:.1f} MB); counted {r['result']['counted']:,}, "
                f"satisfaction {r['result']['satisfaction_rate']:.4f}; "
                f"count query {execution.strip()}",
                flush=True,
            )
    print()
    for size in SIZES:
        r = results[size][0]
        print(f"plan of the count at {size:,}:")
        lines = r["plan"] if options.plans else [line for line in r["plan"] if "->" in line][:6]
        for line in lines:
            print(f"    {line}")
    small, big = SIZES
    job_big = min(r["job_seconds"] for r in results[big])
    growth = min(r["peak_mb"] for r in results[big]) - min(r["peak_mb"] for r in results[small])
    print()
    print(
        f"job at {big:,}: {job_big:.2f} s (target <= 1 s): "
        f"{'met' if job_big <= 1 else 'MISSED'}; peak memory at {big:,} minus at {small:,}: "
        f"{growth:+.1f} MB (target < 50 MB): {'met' if growth < 50 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
