"""Benchmark: how soon after a burst of ballots the gate shows the last one.

    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_voting \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python -m bench.freshness          # 3 bursts of 10 s

Our app runs under gunicorn (2 workers, gthread x 8) on PostgreSQL with REDIS_URL set, and a
real `flask --app wsgi worker` process runs the tally jobs. Each round sends a 10 s burst of
ballots (Python load generator, 16 keep-alive connections, random residents and choices,
re-votes included; every thread waits for the reply of the ballot it has in flight, so when the
burst ends every ballot has been answered). Then it counts the ballots straight from the
ballots table (households per choice, and the sum of revisions) and polls
`GET /api/v1/projects/{id}/gate` every 10 ms until the gate's count equals that independent
count and the gate is not stale. The figure is the time from the last acknowledged ballot to
that first matching answer. Polling stops after 30 s (reported as missed). Nothing is
asserted; bench/README.md records the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine

from bench import common, loadgen


def gate_matches(gate: dict, expected: dict) -> bool:
    by_choice = {
        choice: figures["households"]
        for choice, figures in (gate.get("figures") or {}).get("by_choice", {}).items()
    }
    return (
        gate.get("counted") == expected["counted"]
        and by_choice == expected["by_choice"]
        and gate.get("stale") is False
    )


def poll_gate(port: int, project_id: int, token: str, expected: dict, limit: float):
    """Poll until the gate matches; (seconds since the call, polls, last answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}
    start = time.monotonic()
    polls, gate = 0, {}
    try:
        while time.monotonic() - start < limit:
            conn.request("GET", f"/api/v1/projects/{project_id}/gate", headers=headers)
            reply = conn.getresponse()
            body = reply.read()
            polls += 1
            if reply.status == 200:
                gate = json.loads(body)
                if gate_matches(gate, expected):
                    return time.monotonic(), polls, gate
            time.sleep(0.01)
    finally:
        conn.close()
    return None, polls, gate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10, help="length of one burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--limit", type=float, default=30, help="give up polling after this")
    parser.add_argument("--keep-logs", action="store_true")
    options = parser.parse_args()

    pg, redis = common.pg_url(), common.redis_url()
    common.ensure_pg_database(pg)
    print(f"machine: {common.machine()}, {common.pg_version(pg)}")
    app = common.make_app(pg, redis)
    common.reset_schema(app)
    common.flush_redis(redis)
    scene = common.build_scene(app, options.households)
    consultation_id = common.open_plan_consultation(app, scene)
    tokens = common.resident_tokens(app, scene.resident_ids)
    path = f"/api/v1/consultations/{consultation_id}/ballot"
    gunicorn = common.Gunicorn()
    print(
        f"{options.households} households, consultation {consultation_id}; gunicorn "
        f"{gunicorn.describe()}; a `flask --app wsgi worker` process; bursts of "
        f"{options.seconds:g} s at {options.connections} connections"
    )

    scratch = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    env = common.server_env(pg, redis)
    port = common.free_port()
    engine = create_engine(pg)  # connected before the burst: counting adds no connect time
    common.independent_count(engine, consultation_id)
    worker = server = None
    figures = []
    try:
        worker = common.start(
            [str(common.VENV_BIN / "flask"), "--app", "wsgi", "worker"], env, scratch / "worker.log"
        )
        server = common.start(gunicorn.argv("wsgi:app", port), env, scratch / "server.log")
        common.wait_http(port, server, scratch / "server.log")
        for round_ in range(1, options.rounds + 1):
            load = loadgen.run_python(
                port, path, tokens, options.seconds, options.connections, seed=round_
            )
            expected = common.independent_count(engine, consultation_id)
            acked = len(load.acked)
            done, polls, gate = poll_gate(
                port, scene.project_id, tokens[0], expected, options.limit
            )
            if done is None:
                lag = None
                verdict = f"NOT shown within {options.limit:g} s; last answer {gate}"
            else:
                lag = done - load.last_ack
                verdict = f"gate shows the last ballot {lag * 1000:.0f} ms after it ({polls} polls)"
            figures.append(lag)
            print(
                f"round {round_}: burst {load.rps:.0f} ballots/s, {load.requests} ballots "
                f"({load.errors} errors, p99 {load.p99_ms:.0f} ms); ballots table: "
                f"{expected['counted']} households {expected['by_choice']}, "
                f"{expected['changes']} changes; {verdict}",
                flush=True,
            )
            if expected["counted"] < acked:
                print(
                    f"  !! {acked} households were acknowledged but only "
                    f"{expected['counted']} have a ballot"
                )
    finally:
        common.stop(server)
        common.stop(worker)
        engine.dispose()
        log = (scratch / "worker.log").read_text(errors="replace")
        jobs = len(re.findall(r"Successfully completed voting\.jobs\.run_tally", log))
        print(f"tally jobs the worker ran: {jobs}")
        if options.keep_logs:
            print(f"logs in {scratch}")
        else:
            for path_ in scratch.iterdir():
                path_.unlink()
            scratch.rmdir()

    shown = [f for f in figures if f is not None]
    if shown:
        worst = max(shown)
        print(
            f"\nfreshness: median {statistics.median(shown) * 1000:.0f} ms, worst "
            f"{worst * 1000:.0f} ms over {len(figures)} bursts (target <= 2 s): "
            f"{'met' if worst <= 2 and len(shown) == len(figures) else 'MISSED'}"
        )
    else:
        print("\nfreshness: the gate never showed the last ballot: MISSED")


if __name__ == "__main__":
    main()
