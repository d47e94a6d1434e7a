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
  if "%(method)s" == "GET" then
    return wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
  end
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
    port: int,
    path: str,
    tokens: list[str],
    seconds: float,
    connections: int,
    threads: int = 2,
    method: str = "PUT",
) -> Load:
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as scratch:
        token_file = Path(scratch) / "tokens.txt"
        token_file.write_text("\n".join(tokens) + "\n")
        script = Path(scratch) / "ballot.lua"
        script.write_text(
            LUA
            % {
                "path": path,
                "method": method,
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
    method: str = "PUT",
) -> Load:
    """Threads with one keep-alive http.client connection each. Every thread finishes the
    request it has in flight when the time is up, so at return every ballot sent is answered.
    With method GET, each request reads `path` as a random resident (no body)."""
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
            body = json.dumps({"choice": choice}) if method == "PUT" else None
            headers = {"Authorization": f"Bearer {tokens[index]}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            start = time.perf_counter()
            try:
                conn.request(method, path, body, headers)
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
                if status == 200 and method == "PUT":
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


def run(
    tool: str,
    port: int,
    path: str,
    tokens: list[str],
    seconds: float,
    connections: int,
    method: str = "PUT",
):
    """Closed loop: `connections` clients, each sending its next request when the last is
    answered, for `seconds`. PUT sends a ballot, GET reads `path`, as random residents."""
    if tool == "wrk":
        return run_wrk(port, path, tokens, seconds, connections, method=method)
    return run_python(port, path, tokens, seconds, connections, method=method)


# --- open loop ------------------------------------------------------------------------------------
#
# wrk2 (wrk with a fixed request rate) is not packaged for Debian and its source cannot be
# fetched here, so the open-loop generator is our own. What makes it open-loop: every request
# has a scheduled time fixed before the run (stream k's i-th request at start + (i + phase) /
# rate), it is sent at that time whether or not earlier ones were answered (a new keep-alive
# connection is opened when none is idle, up to `max_connections` in flight), and its latency is
# measured from the *scheduled* time to the last byte of the reply. A server that falls behind
# therefore shows its queueing in the latencies instead of slowing the generator down (no
# coordinated omission). The generator's own lag (actual send minus scheduled) is reported
# separately, so that a generator short of CPU is seen as such.


@dataclass
class Stream:
    """One kind of request offered at a fixed rate. `make(rng)` returns (method, path, headers,
    body or None)."""

    name: str
    rate: float
    make: object
    phase: float = 0.0  # offset of the first request, as a fraction of 1 / rate


@dataclass
class OpenResult:
    name: str
    offered_rate: float
    scheduled: int
    ok: int
    errors: int
    statuses: dict
    latencies: list  # seconds from the scheduled time to the reply, sorted, every request
    achieved_rate: float  # 2xx replies / (last reply - first scheduled time)
    send_lag_p99_ms: float  # how late the generator itself got to a request (p99): its own
    # lateness, not the wait for a free slot when `max_connections` are in flight
    send_lag_max_ms: float
    # (scheduled time after the warm-up, latency) of every answered request, in seconds
    timeline: list = field(default_factory=list)

    def per_second_max_ms(self) -> list[float]:
        """The longest latency of the requests scheduled in each second of the run: a stall
        shows as a few slow seconds, a server short of capacity as latencies that keep growing."""
        seconds: dict[int, float] = {}
        for at, latency in self.timeline:
            second = int(at)
            seconds[second] = max(seconds.get(second, 0.0), latency * 1000)
        return [seconds.get(n, float("nan")) for n in range(max(seconds, default=-1) + 1)]

    def pct(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def line(self) -> str:
        return (
            f"{self.name:<8} offered {self.offered_rate:6.1f}/s achieved {self.achieved_rate:6.1f}/s "
            f"({self.achieved_rate / self.offered_rate:6.1%})  p50 {self.pct(50):7.1f} ms  "
            f"p99 {self.pct(99):7.1f} ms  max {self.pct(100):7.1f} ms  errors {self.errors}  "
            f"[send lag p99 {self.send_lag_p99_ms:.1f} ms, max {self.send_lag_max_ms:.1f} ms]"
        )


class _Pool:
    """Idle keep-alive connections to one port, most recently used first; a connection idle for
    more than `max_idle` seconds is dropped (gunicorn closes keep-alive connections after 2 s)."""

    def __init__(self, port: int, max_idle: float = 1.0):
        self.port = port
        self.max_idle = max_idle
        self.idle: list = []
        self.opened = 0

    async def get(self):
        import asyncio

        now = time.monotonic()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < self.max_idle and not reader.at_eof() and not writer.is_closing():
                return reader, writer, True
            writer.close()
        self.opened += 1
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return reader, writer, False

    def put(self, reader, writer) -> None:
        self.idle.append((reader, writer, time.monotonic()))

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(reader, writer, raw: bytes) -> tuple[int, bool]:
    """Send one request, read its reply: (status, keep-alive)."""
    writer.write(raw)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip().lower()
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        return status, False
    return status, fields.get("connection") != "close"


def _raw(method: str, path: str, headers: dict, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _open_loop(port, streams, seconds, warmup, max_connections, timeout, drain, seed):
    import asyncio

    loop = asyncio.get_running_loop()
    pool = _Pool(port)
    in_flight = asyncio.Semaphore(max_connections)
    rng = random.Random(seed)
    start = loop.time() + 0.2
    schedule = []
    for k, stream in enumerate(streams):
        count = int(stream.rate * (warmup + seconds))
        schedule += [(start + (i + stream.phase) / stream.rate, k) for i in range(count)]
    schedule.sort()
    measured_from = start + warmup
    records: list[list] = [[] for _ in streams]  # (scheduled, done, status, send lag)

    async def one(at: float, k: int) -> None:
        method, path, headers, body = streams[k].make(rng)
        raw = _raw(method, path, headers, body)
        status: object = "timeout"
        lag = loop.time() - at  # the generator's own lateness, before any wait for a slot
        try:
            async with asyncio.timeout(timeout):
                async with in_flight:
                    for attempt in (1, 2):
                        reader, writer, reused = await pool.get()
                        try:
                            status, keep = await _exchange(reader, writer, raw)
                        except (OSError, asyncio.IncompleteReadError) as exc:
                            writer.close()
                            if reused and attempt == 1:
                                continue  # closed by the server while idle: once more, afresh
                            status = type(exc).__name__
                            break
                        if keep:
                            pool.put(reader, writer)
                        else:
                            writer.close()
                        break
        except TimeoutError:
            status = "timeout"
        except Exception as exc:  # noqa: BLE001 - a generator error is counted, not raised
            status = type(exc).__name__
        if at >= measured_from:
            records[k].append((at, loop.time(), status, lag))

    tasks = []
    for at, k in schedule:
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(at, k)))
    done, pending = await asyncio.wait(tasks, timeout=drain) if tasks else (set(), set())
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=5)
    pool.close()

    results = []
    for k, stream in enumerate(streams):
        rows = records[k]
        scheduled = sum(1 for at, kk in schedule if kk == k and at >= measured_from)
        unfinished = scheduled - len(rows)
        statuses: dict = {}
        for _, _, status, _ in rows:
            statuses[status] = statuses.get(status, 0) + 1
        if unfinished:
            statuses["unfinished"] = unfinished
        ok_rows = [r for r in rows if isinstance(r[2], int) and r[2] < 300]
        first = min((r[0] for r in rows), default=measured_from)
        last = max((r[1] for r in ok_rows), default=first)
        span = max(last - first, 1 / stream.rate)
        lags = sorted(r[3] for r in rows)
        # Every request scheduled counts in the percentiles; one never answered counts as the
        # longest wait there was (the drain bound), so a failing server cannot look fast.
        latencies = sorted([r[1] - r[0] for r in rows] + [drain] * unfinished)
        results.append(
            OpenResult(
                name=stream.name,
                offered_rate=stream.rate,
                scheduled=scheduled,
                ok=len(ok_rows),
                errors=scheduled - len(ok_rows),
                statuses=statuses,
                latencies=latencies,
                achieved_rate=len(ok_rows) / span,
                send_lag_p99_ms=percentile(lags, 99) * 1000,
                send_lag_max_ms=(lags[-1] * 1000) if lags else float("nan"),
                timeline=[(r[0] - measured_from, r[1] - r[0]) for r in rows],
            )
        )
    return results


def open_loop(
    port: int,
    streams: list[Stream],
    seconds: float,
    warmup: float = 3.0,
    max_connections: int = 256,
    timeout: float = 15.0,
    drain: float = 20.0,
    seed: int = 1,
) -> list[OpenResult]:
    """Offer each stream at its fixed rate for `warmup` + `seconds` (only requests scheduled
    after the warm-up are counted), then wait at most `drain` seconds for the last replies.
    One asyncio loop in this thread; bounded: it returns within warmup + seconds + drain + 5 s."""
    import asyncio

    return asyncio.run(
        _open_loop(port, streams, seconds, warmup, max_connections, timeout, drain, seed)
    )
