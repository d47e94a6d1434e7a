"""Load generators for the ballot benchmarks: wrk with a Lua script, or Python threads.

Both send `PUT /api/v1/consultations/<id>/ballot` with a random resident's bearer token and a
random choice (re-votes included) on keep-alive connections for a fixed duration, and report
throughput, latency percentiles and errors (connection errors, timeouts and non-2xx replies).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import percentile

CHOICES = ("satisfied",) * 8 + ("unsatisfied", "abstain")  # mostly satisfied, as on the ground


@dataclass
class Load:
    tool: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict = field(default_factory=dict)
    last_ack: float | None = None  # time.monotonic() of the last reply (python only)
    acked: dict = field(default_factory=dict)  # token index -> last acknowledged choice
    cpu: dict = field(default_factory=dict)  # CPU ms per request, filled in by the caller

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.rps:8.0f} req/s  p50 {self.p50_ms:6.1f} ms  p95 {self.p95_ms:6.1f} ms  "
            f"p99 {self.p99_ms:6.1f} ms  max {self.max_ms:7.1f} ms  "
            f"errors {self.errors}  ({self.requests} requests in {self.seconds:.1f} s, {self.tool})"
        )


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


# --- wrk ----------------------------------------------------------------------------------------

LUA = r"""
local tokens = {}
local path = "%(path)s"
local choices = {%(choices)s}
local counter = 0

init = function(args)
  for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
  -- a distinct seed per thread: the address of a fresh table differs in each Lua state
  math.randomseed(os.time() + tonumber(string.match(tostring({}), "0x(%%x+)"), 16) %% 1000003)
end

request = function()
  local token = tokens[math.random(#tokens)]
  local choice = choices[math.random(#choices)]
  return wrk.format("PUT", path, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, '{"choice": "' .. choice .. '"}')
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%%d duration_us=%%d connect=%%d read=%%d write=%%d status=%%d timeout=%%d " ..
    "p50=%%d p95=%%d p99=%%d max=%%d\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def run_wrk(
    port: int, path: str, tokens: list[str], seconds: float, connections: int, threads: int = 2
) -> Load:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        token_file = Path(scratch) / "tokens.txt"
        token_file.write_text("\n".join(tokens) + "\n")
        script = Path(scratch) / "ballot.lua"
        script.write_text(
            LUA
            % {
                "path": path,
                "tokens": token_file,
                "choices": ", ".join(f'"{c}"' for c in CHOICES),
            }
        )
        argv = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    match = re.search(r"^BENCH (.*)$", out.stdout, re.M)
    if out.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    f = {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}
    errors = f["connect"] + f["read"] + f["write"] + f["status"] + f["timeout"]
    return Load(
        tool=f"wrk -t{threads} -c{connections}",
        requests=f["requests"],
        seconds=f["duration_us"] / 1e6,
        errors=errors,
        p50_ms=f["p50"] / 1000,
        p95_ms=f["p95"] / 1000,
        p99_ms=f["p99"] / 1000,
        max_ms=f["max"] / 1000,
        statuses={k: f[k] for k in ("connect", "read", "write", "status", "timeout") if f[k]},
    )


# --- Python -------------------------------------------------------------------------------------


def run_python(
    port: int,
    path: str,
    tokens: list[str],
    seconds: float,
    connections: int,
    seed: int = 1,
) -> Load:
    """Threads with one keep-alive http.client connection each. Every thread finishes the
    request it has in flight when the time is up, so at return every ballot sent is answered."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    statuses: dict = {}
    acked: dict = {}
    last_ack = [0.0]
    lock = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = latencies[n]
        while time.monotonic() < deadline:
            index = rng.randrange(len(tokens))
            choice = rng.choice(CHOICES)
            body = json.dumps({"choice": choice})
            headers = {
                "Authorization": f"Bearer {tokens[index]}",
                "Content-Type": "application/json",
            }
            start = time.perf_counter()
            try:
                conn.request("PUT", path, body, headers)
                reply = conn.getresponse()
                reply.read()
                status = reply.status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append(time.perf_counter() - start)
            now = time.monotonic()
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    acked[index] = choice
                    last_ack[0] = max(last_ack[0], now)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for per in latencies for x in per)
    errors = sum(
        n for status, n in statuses.items() if not (isinstance(status, int) and status < 300)
    )
    return Load(
        tool=f"python x{connections}",
        requests=len(flat),
        seconds=elapsed,
        errors=errors,
        p50_ms=percentile(flat, 50) * 1000,
        p95_ms=percentile(flat, 95) * 1000,
        p99_ms=percentile(flat, 99) * 1000,
        max_ms=(flat[-1] * 1000) if flat else float("nan"),
        statuses=statuses,
        last_ack=last_ack[0] or None,
        acked=acked,
    )


def run(tool: str, port: int, path: str, tokens: list[str], seconds: float, connections: int):
    if tool == "wrk":
        return run_wrk(port, path, tokens, seconds, connections)
    return run_python(port, path, tokens, seconds, connections)
