"""Benchmark: latency at a steady load (open loop), ours against the floor in the same run.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_voting \\
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python -m bench.latency            # 50, 100, 200 ballots/s: ~3 min

At each rate R it offers, at fixed times, R ballots/s (`PUT /api/v1/consultations/{id}/ballot`,
a random resident and a random choice, re-votes included) and R reads/s (half `GET
/api/v1/projects/{id}/gate`, half `GET /api/v1/projects/{id}`, as random residents) for
`--seconds` after a `--warmup`, first to bench/floor_app.py (the same paths: one upsert or one
`SELECT` by primary key), then to ours (`gunicorn wsgi:app`, production settings, with a `flask
--app wsgi worker` running the tally jobs unless `--no-worker`), each under the same gunicorn
settings as bench/ballots.py, restarted for every rate.

The load generator is open-loop (bench/loadgen.py `open_loop`; wrk2 is not packaged here):
each request is sent at its scheduled time on a free keep-alive connection or a new one, and
its latency runs from the scheduled time to the reply, so a server that falls behind shows its
queue in p99 instead of slowing the offered rate (no coordinated omission). It reports, per
kind of request, the offered and achieved rate (2xx replies over the time from the first
scheduled request to the last reply), p50/p99/max, errors, the generator's own send lag, and
the CPU per request of the servers (gunicorn + worker + PostgreSQL's backends). Every run is
bounded (warm-up + seconds + a drain of at most 20 s); the servers started are stopped in the
end (SIGTERM to their process group, SIGKILL after 10 s). Nothing is asserted: bench/README.md
records the figures. The tables of BENCH_PG_URL's database are dropped and recreated, and
BENCH_REDIS_URL's database is flushed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from bench import common, floor_app, loadgen
from bench.ballots import cpu_line, cpu_now, cpu_used


def streams(rate: float, ballot_path: str, read_paths: list[str], tokens: list[str]) -> list:
    def ballot(rng: random.Random):
        body = json.dumps({"choice": rng.choice(loadgen.CHOICES)}).encode()
        headers = {
            "Authorization": f"Bearer {rng.choice(tokens)}",
            "Content-Type": "application/json",
        }
        return "PUT", ballot_path, headers, body

    def reader(path: str):
        def read(rng: random.Random):
            return "GET", path, {"Authorization": f"Bearer {rng.choice(tokens)}"}, None

        return read

    out = [loadgen.Stream("ballot", rate, ballot)]
    share = rate / len(read_paths)
    for n, path in enumerate(read_paths):
        name = path.rsplit("/", 1)[-1] if path.endswith("gate") else "project"
        # reads fall between the ballots, spread evenly
        out.append(loadgen.Stream(name, share, reader(path), phase=(n + 1) / (len(read_paths) + 1)))
    return out


def combined(name: str, parts: list[loadgen.OpenResult]) -> loadgen.OpenResult:
    latencies = sorted(x for part in parts for x in part.latencies)
    statuses: dict = {}
    for part in parts:
        for key, n in part.statuses.items():
            statuses[key] = statuses.get(key, 0) + n
    return loadgen.OpenResult(
        name=name,
        offered_rate=sum(p.offered_rate for p in parts),
        scheduled=sum(p.scheduled for p in parts),
        ok=sum(p.ok for p in parts),
        errors=sum(p.errors for p in parts),
        statuses=statuses,
        latencies=latencies,
        achieved_rate=sum(p.achieved_rate for p in parts),
        send_lag_p99_ms=max(p.send_lag_p99_ms for p in parts),
        send_lag_max_ms=max(p.send_lag_max_ms for p in parts),
        timeline=[x for part in parts for x in part.timeline],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", default="50,100,200", help="ballots/s offered (as many reads)")
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20, help="measured, per rate and mode")
    parser.add_argument("--warmup", type=float, default=3, help="offered first, not measured")
    parser.add_argument("--drain", type=float, default=20, help="wait at most this for replies")
    parser.add_argument("--max-connections", type=int, default=256, help="in flight at most")
    parser.add_argument("--modes", default="floor,ours", help="floor, ours, or both")
    parser.add_argument("--no-worker", action="store_true", help="ours without a tally worker")
    parser.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--threads", type=int, default=8, help="threads per gthread worker")
    parser.add_argument("--keep-logs", action="store_true")
    options = parser.parse_args()
    rates = [float(r) for r in options.rates.split(",")]
    modes = options.modes.split(",")
    if set(modes) - {"floor", "ours"}:
        parser.error("--modes takes floor and/or ours")
    gunicorn = common.Gunicorn(worker_class=options.worker_class, threads=options.threads)
    logging.getLogger("api.access").setLevel(logging.WARNING)

    pg, redis = common.pg_url(), common.redis_url()
    common.ensure_pg_database(pg)
    print(f"machine: {common.machine()}, {common.pg_version(pg)}")
    ours = "ours" + ("" if options.no_worker else " with a tally worker")
    print(f"gunicorn: {gunicorn.describe()}; {ours}; open loop, {options.seconds:g} s measured")
    print(f"load average at the start: {Path('/proc/loadavg').read_text().strip()}")

    app = common.make_app(pg, redis)
    common.reset_schema(app)
    common.flush_redis(redis)
    scene = common.build_scene(app, options.households)
    consultation_id = common.open_plan_consultation(app, scene)
    tokens = common.resident_tokens(app, scene.resident_ids)
    floor_app.create_table(common.libpq_url(pg))
    from api.core import db

    with app.app_context():
        db.engine.dispose()
    ballot_path = f"/api/v1/consultations/{consultation_id}/ballot"
    read_paths = [
        f"/api/v1/projects/{scene.project_id}/gate",
        f"/api/v1/projects/{scene.project_id}",
    ]
    print(f"{options.households} households with a verified resident each, consultation open")

    engine = create_engine(pg, pool_size=1)
    scratch = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    env = common.server_env(pg, redis)
    env["FLOOR_DATABASE_URL"] = common.libpq_url(pg)
    table = []
    try:
        for rate in rates:
            for mode in modes:
                port = common.free_port()
                target = "bench.floor_app:app" if mode == "floor" else "wsgi:app"
                server = worker = None
                try:
                    if mode == "ours" and not options.no_worker:
                        worker = common.start(
                            [str(common.VENV_BIN / "flask"), "--app", "wsgi", "worker"],
                            env,
                            scratch / "worker.log",
                        )
                    server = common.start(gunicorn.argv(target, port), env, scratch / f"{mode}.log")
                    common.wait_http(port, server, scratch / f"{mode}.log")
                    load_before = Path("/proc/loadavg").read_text().split()[0]
                    cpu_before = cpu_now(server, worker, engine)
                    mine = os.times()
                    started = time.monotonic()
                    parts = loadgen.open_loop(
                        port,
                        streams(rate, ballot_path, read_paths, tokens),
                        options.seconds,
                        warmup=options.warmup,
                        max_connections=options.max_connections,
                        drain=options.drain,
                    )
                    wall = time.monotonic() - started
                    mine_after = os.times()
                    sent = int(2 * rate * (options.warmup + options.seconds))
                    cpu = cpu_used(cpu_before, cpu_now(server, worker, engine), sent)
                    load_after = Path("/proc/loadavg").read_text().split()[0]
                finally:
                    common.stop(server)
                    common.stop(worker)
                generator = (
                    (mine_after.user + mine_after.system - mine.user - mine.system) / wall * 100
                )
                reads = combined("reads", parts[1:])
                print(
                    f"\n{rate:g} ballots/s + {rate:g} reads/s to {mode} (load average "
                    f"{load_before} -> {load_after}; generator CPU {generator:.0f}% of a core)"
                )
                for part in [*parts, reads]:
                    print("  " + part.line())
                    if part.errors:
                        print(f"  {'':8} statuses: {part.statuses}")
                print(f"  CPU per request (warm-up included): {cpu_line(cpu)}")
                every = combined("all", parts).per_second_max_ms()
                print(
                    "  longest latency of each second (ms): " + " ".join(f"{x:.0f}" for x in every),
                    flush=True,
                )
                table.append((rate, mode, parts[0], reads, load_before, load_after))
    finally:
        engine.dispose()
        common.drop_scratch(scratch, keep=options.keep_logs)

    print(f"\nload average at the end: {Path('/proc/loadavg').read_text().strip()}")
    print(
        "| ballots/s offered | server | ballots achieved | ballot p50 / p99 | reads achieved "
        "| read p50 / p99 | errors | load average |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for rate, mode, ballot, reads, before, after in table:
        print(
            f"| {rate:g} | {mode} | {ballot.achieved_rate:.1f}/s "
            f"({ballot.achieved_rate / ballot.offered_rate:.1%}) "
            f"| {ballot.pct(50):.1f} / {ballot.pct(99):.1f} ms "
            f"| {reads.achieved_rate:.1f}/s ({reads.achieved_rate / reads.offered_rate:.1%}) "
            f"| {reads.pct(50):.1f} / {reads.pct(99):.1f} ms | {ballot.errors + reads.errors} "
            f"| {before} → {after} |"
        )


if __name__ == "__main__":
    main()
