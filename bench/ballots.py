"""Benchmark: ballot throughput under gunicorn on PostgreSQL, against a floor measured in the
same run.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_voting \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python -m bench.ballots            # floor, ours, ours + a worker; 20 s each

Runs, one after the other, each under the same gunicorn settings (2 workers, gthread with 8
threads by default) and the same load (wrk if installed, else Python threads; 16 keep-alive
connections; each request a random resident's ballot with a random choice, so re-votes are
included):

- floor:         bench/floor_app.py, one `INSERT … ON CONFLICT … DO UPDATE` through psycopg into
                 a plain table per request;
- ours:          `gunicorn wsgi:app`, `PUT /api/v1/consultations/{id}/ballot`, with REDIS_URL set
                 so that each ballot asks for its tally job (as in production), no worker running;
- ours+worker:   the same with a `flask --app wsgi worker` process running the tally jobs.

It prints req/s, p50/p95/p99 latency and errors of each, and the ratio ours / floor. Nothing is
asserted: bench/README.md records the figures. The tables of BENCH_PG_URL's database are
dropped and recreated, and BENCH_REDIS_URL's database is flushed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import common, floor_app, loadgen

MODES = ("floor", "ours", "ours+worker")


def ballot_rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        changes = conn.scalar(text("SELECT count(*) FROM ballot_changes"))
        ballots = conn.scalar(text("SELECT count(*) FROM ballots"))
    engine.dispose()
    return int(changes), int(ballots)


def cpu_now(server, worker, engine) -> dict:
    return {
        "server": common.group_cpu(server.pid),
        "worker": common.group_cpu(worker.pid) if worker else 0.0,
        "db": common.backend_cpu(engine),
    }


def cpu_used(before: dict, after: dict, requests: int) -> dict:
    """CPU milliseconds per request of the server processes, the worker, and PostgreSQL's
    backends on this database (a backend that started during the run counts from zero)."""
    n = max(requests, 1)
    db = sum(cpu - before["db"].get(pid, 0.0) for pid, cpu in after["db"].items())
    return {
        "server": (after["server"] - before["server"]) * 1000 / n,
        "worker": (after["worker"] - before["worker"]) * 1000 / n,
        "db": db * 1000 / n,
    }


def cpu_line(cpu: dict) -> str:
    total = cpu["server"] + cpu["worker"] + cpu["db"]
    worker = f" + worker {cpu['worker']:.2f}" if cpu["worker"] else ""
    return f"gunicorn {cpu['server']:.2f} + postgres {cpu['db']:.2f}{worker} = {total:.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--modes", default=",".join(MODES), help=f"any of {', '.join(MODES)}")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the modes this many times")
    parser.add_argument("--keep-logs", action="store_true")
    options = parser.parse_args()
    modes = options.modes.split(",")
    for mode in modes:
        if mode not in MODES:
            parser.error(f"unknown mode {mode!r}")
    tool = options.tool
    if tool == "auto":
        tool = "wrk" if loadgen.have_wrk() else "python"
    gunicorn = common.Gunicorn(worker_class=options.worker_class, threads=options.threads)

    pg, redis = common.pg_url(), common.redis_url()
    common.ensure_pg_database(pg)
    print(f"machine: {common.machine()}, {common.pg_version(pg)}")
    print(f"gunicorn: {gunicorn.describe()}; load: {tool}, {options.connections} connections")

    app = common.make_app(pg, redis)
    common.reset_schema(app)
    common.flush_redis(redis)
    started = time.perf_counter()
    scene = common.build_scene(app, options.households)
    consultation_id = common.open_plan_consultation(app, scene)
    tokens = common.resident_tokens(app, scene.resident_ids)
    floor_app.create_table(common.libpq_url(pg))
    print(
        f"{options.households} households with a verified resident each, consultation "
        f"{consultation_id} open ({time.perf_counter() - started:.1f} s to build)"
    )
    path = f"/api/v1/consultations/{consultation_id}/ballot"

    results: dict[str, list[loadgen.Load]] = {mode: [] for mode in modes}
    engine = create_engine(pg, pool_size=1)
    scratch = Path(tempfile.mkdtemp(prefix="bench-ballots-"))
    env = common.server_env(pg, redis)
    env["FLOOR_DATABASE_URL"] = common.libpq_url(pg)
    try:
        for round_ in range(options.rounds):
            for mode in modes:
                port = common.free_port()
                target = "bench.floor_app:app" if mode == "floor" else "wsgi:app"
                log = scratch / f"{mode}.log"
                server = worker = None
                try:
                    if mode == "ours+worker":
                        worker = common.start(
                            [str(common.VENV_BIN / "flask"), "--app", "wsgi", "worker"],
                            env,
                            scratch / "worker.log",
                        )
                    server = common.start(gunicorn.argv(target, port), env, log)
                    common.wait_http(port, server, log)
                    loadgen.run(tool, port, path, tokens, options.warmup, options.connections)
                    before = ballot_rows(pg)
                    cpu_before = cpu_now(server, worker, engine)
                    load = loadgen.run(
                        tool, port, path, tokens, options.seconds, options.connections
                    )
                    cpu = cpu_used(cpu_before, cpu_now(server, worker, engine), load.requests)
                    after = ballot_rows(pg)
                finally:
                    common.stop(server)
                    common.stop(worker)
                load.cpu = cpu
                results[mode].append(load)
                note = ""
                if mode != "floor":
                    note = (
                        f"   [ballot_changes +{after[0] - before[0]}, "
                        f"{after[1]} households have voted]"
                    )
                print(f"round {round_ + 1} {mode:<12} {load.line()}{note}")
                print(f"{'':20}CPU per request: {cpu_line(cpu)}")
                if load.errors:
                    print(f"{'':20}errors/statuses: {load.statuses}")
    finally:
        engine.dispose()
        common.drop_scratch(scratch, keep=options.keep_logs)

    print()
    best = {mode: max(loads, key=lambda load: load.rps) for mode, loads in results.items()}
    if "floor" in best:
        floor = best["floor"]
        for mode in modes:
            if mode == "floor":
                continue
            load = best[mode]
            verdict = (
                "met"
                if load.rps / floor.rps >= 0.7 and load.p99_ms <= 50 and load.errors == 0
                else "MISSED"
            )
            print(
                f"{mode}: {load.rps:.0f} req/s vs floor {floor.rps:.0f} req/s: "
                f"ratio {load.rps / floor.rps:.2f} (target >= 0.70), "
                f"p99 {load.p99_ms:.1f} ms (target <= 50), errors {load.errors}: {verdict}"
            )
            ours_cpu = statistics.median(sum(x.cpu.values()) for x in results[mode])
            floor_cpu = statistics.median(sum(x.cpu.values()) for x in results["floor"])
            print(
                f"{'':>{len(mode) + 2}}CPU per request (median of rounds) {ours_cpu:.2f} ms vs "
                f"floor {floor_cpu:.2f} ms: the 2 cores allow at most {2000 / ours_cpu:.0f} "
                f"vs {2000 / floor_cpu:.0f} req/s, a ratio of {floor_cpu / ours_cpu:.2f}"
            )
            ratios = [o.rps / f.rps for o, f in zip(results[mode], results["floor"], strict=True)]
            if len(ratios) > 1:
                print(
                    f"{'':>{len(mode) + 2}}ratio per round: "
                    + ", ".join(f"{r:.2f}" for r in ratios)
                    + f" (median {statistics.median(ratios):.2f})"
                )


if __name__ == "__main__":
    main()
