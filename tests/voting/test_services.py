"""The voting flows of DESIGN.md §4 under real concurrency, on PostgreSQL, Redis and real workers.

Ballots go through a real HTTP server (werkzeug, threaded, on 127.0.0.1) serving the session's
app, from many client threads at once; tally jobs run in real RQ workers: `flask --app wsgi
worker tallies` as a subprocess (only the `tallies` queue, so the periodic reconcile on `default`
never runs and cannot hide a tally the coalescing missed), or in-process in burst mode.

Every expectation is computed in the test from the replies alone. A household's ballot that
counts is the one whose acknowledgement carries the highest `revision`: the revision is
incremented under the ballot row's lock, so it orders a household's ballots as they were
committed, even when two of its requests race (their `updated_at` times need not).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select, text
from werkzeug.serving import WSGIRequestHandler, make_server

from api import auth
from api.core import db
from devtools import factory
from tests.conftest import DATABASE_URL, REDIS_URL
from tests.support.voting_helpers import backdate_opening, build_scene, open_consultation, run_jobs
from voting.jobs import tally_key
from voting.models import Ballot, BallotChange, Tally

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
CHOICES = ("satisfied", "unsatisfied", "abstain")
THREADS = 16


# --- a real server, clients, workers -----------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture
def server(app):
    """The app behind a real threaded HTTP server on 127.0.0.1; its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def http_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: straight to 127.0.0.1
    return session


def _json(reply: requests.Response) -> dict:
    try:
        return reply.json()
    except ValueError:  # not the API's JSON: keep what came, the status check reports it
        return {"raw": reply.text[:500]}


def tokens(app, resident_ids) -> dict[int, str]:
    with app.test_request_context():
        return {r: factory.resident_token(r) for r in resident_ids}


def staff_token(app, staff) -> str:
    with app.test_request_context():
        return auth.issue_token(auth.STAFF, staff.id)


def _flask_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "FLASK_"))}
    env.update(
        APP_ENV="test",
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        SECRET_KEY="test-secret-key-0123456789",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def flask_command(args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=_flask_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class WorkerProcess:
    """`flask --app wsgi worker tallies` in its own process group (RQ forks its scheduler)."""

    def __init__(self, redis, log_dir: Path, name: str):
        self.redis, self.name = redis, name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "tallies", "--name", name],
            cwd=ROOT,
            env=_flask_env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout=30.0) -> None:
        wait_for(
            lambda: any(w.name == self.name for w in Worker.all(connection=self.redis)),
            timeout,
            lambda: f"worker {self.name} did not start:\n{self.log()}",
        )

    def idle(self) -> bool:
        return any(
            w.name == self.name and w.get_state() == "idle"
            for w in Worker.all(connection=self.redis)
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """Kill the worker and its scheduler: the process group we started, nothing else.

        The group is killed before the worker is reaped: until then its id cannot be reused.
        """
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()


@pytest.fixture
def workers(redis, tmp_path):
    """Start workers with `workers.start(name)`; all are killed when the test ends."""
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(redis, tmp_path, name)
        started.append(worker)
        return worker

    try:
        yield SimpleNamespace(start=start, started=started)
    finally:
        errors = []
        for worker in started:
            try:
                worker.stop()
            except Exception as exc:  # stop the others all the same
                errors.append(exc)
        assert not errors, errors


def wait_for(predicate, timeout: float, message, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            pytest.fail(message() if callable(message) else message)
        time.sleep(interval)


# --- a burst of ballots from many threads ---------------------------------------------------


@dataclass
class Reply:
    household: int
    choice: str
    status: int
    body: dict
    sent: float  # time.monotonic() when the request was sent
    done: float


class Burst:
    """Ballots `[(household_id, resident_token, choice)]` sent by `threads` threads in list order
    (each thread takes the next ballot), so one household's ballots may race each other."""

    def __init__(self, base: str, consultation_id: int, ballots, threads=THREADS):
        self.url = f"{base}/api/v1/consultations/{consultation_id}/ballot"
        self.ballots = list(ballots)
        self.replies: list[Reply] = []
        self.errors: list[BaseException] = []
        self._next = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, name=f"voter-{i}", daemon=True)
            for i in range(threads)
        ]

    def _take(self):
        with self._lock:
            if self._next >= len(self.ballots):
                return None
            self._next += 1
            return self.ballots[self._next - 1]

    def _run(self):
        try:
            with http_session() as session:
                while (ballot := self._take()) is not None:
                    household, token, choice = ballot
                    sent = time.monotonic()
                    reply = session.put(
                        self.url,
                        json={"choice": choice},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=60,
                    )
                    body = _json(reply)
                    self.replies.append(
                        Reply(household, choice, reply.status_code, body, sent, time.monotonic())
                    )
        except BaseException as exc:  # reported by join()
            self.errors.append(exc)

    def start(self) -> Burst:
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout=120.0) -> list[Reply]:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "the burst did not finish in time"
        assert not self.errors, self.errors
        assert len(self.replies) == len(self.ballots)
        return self.replies

    def run(self, timeout=120.0) -> list[Reply]:
        return self.start().join(timeout)


def random_ballots(rng, scene, token_of, households: int, submissions: int):
    """Every one of the first `households` households votes at least once, some many times,
    in a random order; choices are random (mostly satisfied, so the rates are not trivial)."""
    voters = list(
        zip(scene.household_ids[:households], scene.resident_ids[:households], strict=True)
    )
    picks = voters + [rng.choice(voters) for _ in range(submissions - households)]
    rng.shuffle(picks)
    return [(h, token_of[r], rng.choices(CHOICES, weights=(85, 10, 5))[0]) for h, r in picks]


# --- the independent count ------------------------------------------------------------------


def counted_choices(replies: list[Reply]) -> dict[int, str]:
    """Each household's last acknowledged ballot (highest revision among its 200 replies).

    Checks on the way that a household's acknowledged revisions are exactly 1..n: every
    acknowledged ballot is a change of its own, none lost, none counted twice.
    """
    by_household: dict[int, list[dict]] = defaultdict(list)
    for reply in replies:
        if reply.status == 200:
            assert reply.body["choice"] == reply.choice, reply.body
            assert reply.body["household_id"] == reply.household, reply.body
            by_household[reply.household].append(reply.body)
    last = {}
    for household, bodies in by_household.items():
        revisions = sorted(b["revision"] for b in bodies)
        assert revisions == list(range(1, len(bodies) + 1)), (household, revisions)
        assert len({b["receipt"] for b in bodies}) == 1, "a household keeps its receipt"
        last[household] = max(bodies, key=lambda b: b["revision"])["choice"]
    return last


def expected_gate(last: dict[int, str], eligible: int) -> dict:
    counted = len(last)
    satisfied = sum(1 for choice in last.values() if choice == "satisfied")
    satisfaction = Fraction(satisfied, counted) if counted else None
    participation = Fraction(counted, eligible)
    return {
        "counted": counted,
        "eligible": eligible,
        "satisfaction_rate": None if satisfaction is None else float(round(satisfaction, 6)),
        "participation_rate": float(round(participation, 6)),
        "passed": satisfaction is not None
        and satisfaction >= Fraction(9, 10)
        and participation >= Fraction(2, 3),
        "by_choice": dict(Counter(last.values())),
    }


def gate(client, make, scene) -> dict:
    reply = client.get(
        f"/api/v1/projects/{scene.project_id}/gate", headers=make.headers(scene.owner)
    )
    assert reply.status_code == 200, reply.json
    return reply.json


def gate_figures(g: dict) -> dict:
    return {
        "counted": g["counted"],
        "eligible": g["eligible"],
        "satisfaction_rate": g["satisfaction_rate"],
        "participation_rate": g["participation_rate"],
        "passed": g["passed"],
        "by_choice": {c: w["households"] for c, w in g["figures"]["by_choice"].items()},
    }


def assert_no_server_errors(replies: list[Reply], allowed=(200,)) -> None:
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= set(allowed), statuses


def audit_rows(app, consultation_id, household_id=None) -> int:
    with app.app_context():
        query = select(func.count()).select_from(BallotChange)
        query = query.where(BallotChange.consultation_id == consultation_id)
        if household_id is not None:
            query = query.where(BallotChange.household_id == household_id)
        return db.session.scalar(query)


def ballot_rows(app, consultation_id) -> list[Ballot]:
    with app.app_context():
        rows = db.session.scalars(
            select(Ballot).where(Ballot.consultation_id == consultation_id)
        ).all()
        db.session.expunge_all()
        return rows


def tally_runs(app, consultation_id) -> int:
    with app.app_context():
        return db.session.get(Tally, consultation_id).runs


def tallies_settled(redis, consultation_id) -> bool:
    """No tally job queued, running or asked for."""
    queue = Queue("tallies", connection=redis)
    return (
        queue.count == 0
        and StartedJobRegistry("tallies", connection=redis).count == 0
        and not redis.exists(tally_key(consultation_id))
    )


def wait_settled(client, make, scene, redis, consultation_id, timeout=60.0, worker=None) -> dict:
    """Wait until the workers have counted every ballot and nothing more is queued; the gate."""

    def fresh():
        return not gate(client, make, scene)["stale"] and tallies_settled(redis, consultation_id)

    wait_for(
        fresh,
        timeout,
        lambda: (
            f"the tally never caught up: {gate(client, make, scene)}; "
            f"queued {Queue('tallies', connection=redis).count}\n"
            + (worker.log() if worker else "")
        ),
    )
    assert FailedJobRegistry("tallies", connection=redis).count == 0
    return gate(client, make, scene)


# --- 1. concurrent ballots, re-votes included -------------------------------------------------


def test_concurrent_ballots_and_revotes_give_the_exact_gate(
    app, client, make, server, redis, workers
):
    """2,000 ballots of 500 households (of 520 eligible) from 16 threads, a worker counting
    all along: once it is idle, the gate shows exactly the households' last acknowledged
    ballots, with one audit row per acknowledged ballot and never a 500."""
    rng = random.Random(20270401)
    scene = build_scene(app, households=520)
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, scene.resident_ids)
    worker = workers.start("voting-services-1")

    replies = Burst(server, cid, random_ballots(rng, scene, token_of, 500, 2000)).run()

    assert_no_server_errors(replies)
    last = counted_choices(replies)
    assert len(last) == 500
    result = wait_settled(client, make, scene, redis, cid, worker=worker)
    print(f"2,000 ballots with a live worker: {tally_runs(app, cid)} tally runs")
    assert gate_figures(result) == expected_gate(last, eligible=520)
    assert result["final"] is False  # still open
    assert audit_rows(app, cid) == 2000
    ballots = ballot_rows(app, cid)
    assert {b.household_id: b.choice for b in ballots} == last
    assert sum(b.revision for b in ballots) == 2000


# --- 2. a burst makes a handful of tally jobs -------------------------------------------------


def test_a_burst_of_1000_ballots_makes_at_most_10_tally_jobs(app, client, make, server, redis):
    """With no worker running during it, a burst of 1,000 concurrent ballots leaves at most 10
    tally jobs (every job RQ holds is counted, whatever its state); a worker then runs them and
    the count is exact. The opening's own job has run first, so the burst starts with no job
    asked for and its first ballots race to ask for one."""
    rng = random.Random(1000)
    scene = build_scene(app, households=1000)
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, scene.resident_ids)
    run_jobs(app)
    assert tallies_settled(redis, cid)
    jobs_before = set(redis.keys("rq:job:*"))  # the opening's job, kept as finished

    replies = Burst(server, cid, random_ballots(rng, scene, token_of, 1000, 1000)).run()

    assert_no_server_errors(replies)
    jobs = set(redis.keys("rq:job:*")) - jobs_before
    print(f"1,000 ballots made {len(jobs)} tally job(s)")
    assert 1 <= len(jobs) <= 10, len(jobs)
    assert Queue("tallies", connection=redis).count == len(jobs)  # all waiting in the queue
    runs_before = tally_runs(app, cid)

    run_jobs(app)  # a real RQ worker, in burst mode

    assert tally_runs(app, cid) - runs_before == len(jobs)
    result = gate(client, make, scene)
    assert result["stale"] is False
    assert gate_figures(result) == expected_gate(counted_choices(replies), eligible=1000)
    assert audit_rows(app, cid) == 1000


# --- 3. Redis lost and the worker killed mid-burst ----------------------------------------------


def test_redis_flushed_and_worker_killed_mid_burst_then_reconcile_is_exact(
    app, client, make, server, redis, workers
):
    """Halfway through a burst Redis is flushed (queued jobs and markers lost) and the worker
    is killed with SIGKILL; the burst goes on. The gate is stale until `flask --app wsgi
    reconcile` runs; then it is exact, and stays exact when a new worker runs what is queued."""
    rng = random.Random(3)
    scene = build_scene(app, households=300)
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, scene.resident_ids)
    first = workers.start("voting-services-3a")
    first.wait_ready()

    burst = Burst(server, cid, random_ballots(rng, scene, token_of, 300, 1000)).start()
    wait_for(lambda: len(burst.replies) >= 500, 60, "the burst did not get halfway")
    assert tally_runs(app, cid) > 1, "the worker should have been counting during the burst"
    redis.flushdb()
    os.kill(first.pid, signal.SIGKILL)
    first.stop()  # its forked scheduler goes with it
    assert first.proc.returncode == -signal.SIGKILL
    replies = burst.join()

    assert_no_server_errors(replies)
    last = counted_choices(replies)
    assert gate(client, make, scene)["stale"] is True  # no worker: ballots after the kill wait

    # The reconciler alone, with no worker, makes the figure exact...
    done = flask_command(["reconcile"])
    assert done.returncode == 0, done.stderr
    assert f"recounted 1: [{cid}]" in done.stdout, done.stdout
    result = gate(client, make, scene)
    assert result["stale"] is False
    assert gate_figures(result) == expected_gate(last, eligible=300)
    # ...and a restarted worker runs whatever was asked for since the flush without harm. (The
    # killed worker may have taken a job from the new queue and died in it, leaving its marker
    # for its minute: then nothing is queued, and only the reconciler brought the figure.)
    second = workers.start("voting-services-3b")
    second.wait_ready()
    queue = Queue("tallies", connection=redis)
    wait_for(
        lambda: queue.count == 0 and second.idle(),
        30,
        lambda: f"jobs left queued:\n{second.log()}",
    )
    result = gate(client, make, scene)
    assert result["stale"] is False
    assert gate_figures(result) == expected_gate(last, eligible=300)
    assert audit_rows(app, cid) == 1000


# --- 4. a ballot during a tally causes one more tally ------------------------------------------


def _waiting_on_a_lock(app, statement_prefix: str) -> bool:
    with app.app_context():
        return bool(
            db.session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE :prefix"
                ),
                {"prefix": f"{statement_prefix}%"},
            )
        )


def test_a_ballot_committed_while_a_tally_runs_causes_one_more_tally(
    app, client, make, server, redis, workers, monkeypatch
):
    """The tally job has counted and is about to write (held on the project's row lock) when
    another ballot commits: that ballot asks for a new job, which runs after the first one, so
    the final tally includes it with no reconcile."""
    # The owner reads the live count of 7 ballots here (RESULTS_MIN_BALLOTS, default 10:
    # test_visibility.py).
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 1)
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, scene.resident_ids)
    worker = workers.start("voting-services-4")
    ballots = [
        (h, token_of[r], "satisfied")
        for h, r in zip(scene.household_ids, scene.resident_ids, strict=True)
    ]
    replies = Burst(server, cid, ballots[:5], threads=1).run()
    wait_settled(client, make, scene, redis, cid, worker=worker)
    runs_before = tally_runs(app, cid)

    with app.app_context():
        holder = db.engine.connect()
    try:
        holder.execute(
            text("SELECT id FROM projects WHERE id = :id FOR UPDATE"), {"id": scene.project_id}
        )
        replies += Burst(server, cid, [ballots[5]], threads=1).run()
        wait_for(
            # It locks the project's row before the tally's (voting.service.tally.recompute).
            lambda: _waiting_on_a_lock(app, "SELECT projects."),
            30,
            lambda: f"the tally job never reached the project's row:\n{worker.log()}",
        )
        assert not redis.exists(tally_key(cid)), "a running job has released its marker"
        # Counted already, not yet written: this ballot is not in the running job's count.
        replies += Burst(server, cid, [(*ballots[6][:2], "unsatisfied")], threads=1).run()
        assert redis.exists(tally_key(cid)), "the late ballot asked for another job"
        assert Queue("tallies", connection=redis).count == 1
    finally:
        holder.rollback()  # the running job writes its (older) count, then the next one runs
        holder.close()

    assert_no_server_errors(replies)
    result = wait_settled(client, make, scene, redis, cid, worker=worker)
    assert tally_runs(app, cid) - runs_before == 2
    assert gate_figures(result) == expected_gate(counted_choices(replies), eligible=10)
    assert result["counted"] == 7


# --- 5. two members of one household at once ------------------------------------------------


def test_two_members_of_one_household_voting_at_once(app, client, make, server):
    """Two verified members of one household vote at the same moment, 25 times over: every
    reply is 200, the household has one ballot, whose choice is the later of the two, and
    the audit trail has both changes of every round."""
    scene = build_scene(app, households=3)
    household_id = scene.household_ids[0]
    second = make.member(SimpleNamespace(id=household_id))
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, [scene.resident_ids[0], second.id])
    members = [
        (token_of[scene.resident_ids[0]], "satisfied"),
        (token_of[second.id], "unsatisfied"),
    ]
    rounds = 25
    barrier = threading.Barrier(2, timeout=30)
    replies: list[Reply] = []
    errors: list[BaseException] = []
    url = f"{server}/api/v1/consultations/{cid}/ballot"

    def member(token, choice):
        try:
            with http_session() as session:
                for _ in range(rounds):
                    barrier.wait()
                    sent = time.monotonic()
                    reply = session.put(
                        url,
                        json={"choice": choice},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=30,
                    )
                    replies.append(
                        Reply(
                            household_id,
                            choice,
                            reply.status_code,
                            _json(reply),
                            sent,
                            time.monotonic(),
                        )
                    )
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=member, args=m, daemon=True) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and not errors, errors

    assert_no_server_errors(replies)
    assert len(replies) == 2 * rounds
    first, other = ([r for r in replies if r.choice == c] for c in ("satisfied", "unsatisfied"))
    overlapping = sum(1 for a in first for b in other if a.sent < b.done and b.sent < a.done)
    assert overlapping >= 1, "the two members' requests never overlapped"
    last = counted_choices(replies)  # revisions 1..50, one receipt
    (ballot,) = ballot_rows(app, cid)
    assert ballot.household_id == household_id and ballot.revision == 2 * rounds
    assert ballot.choice == last[household_id]
    assert audit_rows(app, cid, household_id) == 2 * rounds
    assert audit_rows(app, cid) == 2 * rounds


# --- 6. ballots racing the close ------------------------------------------------------------


def test_ballots_racing_the_close(app, client, make, server, redis, workers):
    """The clerk closes while 16 threads are voting: every ballot acknowledged with 200 is in
    the final tally, every ballot sent after the close answered is refused with 409
    `ballot_closed`, and no acknowledged ballot is dated after the close."""
    rng = random.Random(6)
    scene = build_scene(app, households=300)
    cid = open_consultation(client, make, scene)
    backdate_opening(app, cid)  # a week on: the clerk may close it before every household voted
    token_of = tokens(app, scene.resident_ids)
    worker = workers.start("voting-services-6")
    clerk = {"Authorization": f"Bearer {staff_token(app, scene.clerk)}"}

    burst = Burst(server, cid, random_ballots(rng, scene, token_of, 300, 900)).start()
    wait_for(lambda: len(burst.replies) >= 350, 60, "the burst did not get going")
    with http_session() as session:
        close_sent = time.monotonic()
        closed = session.post(
            f"{server}/api/v1/consultations/{cid}/close", headers=clerk, timeout=30
        )
        close_done = time.monotonic()
    replies = burst.join()

    assert closed.status_code == 200, closed.json()
    closed_at = datetime.fromisoformat(closed.json()["closed_at"])
    refused = [r for r in replies if r.status == 409]
    accepted = [r for r in replies if r.status == 200]
    in_flight = [r for r in replies if r.sent <= close_sent < r.done]
    print(
        f"{len(accepted)} accepted, {len(refused)} refused, {len(in_flight)} in flight; "
        f"the close took {close_done - close_sent:.3f} s, the burst went on "
        f"{max(r.done for r in replies) - close_done:+.3f} s after it"
    )
    assert_no_server_errors(replies, allowed=(200, 409))
    # The close does not wait for the voting to stop: ballots were still coming after it.
    assert any(r.sent > close_done for r in replies), "the close waited for the burst to end"
    assert all(r.status == 409 for r in replies if r.sent > close_done)
    assert refused and accepted
    assert {r.body["error"]["code"] for r in refused} == {"ballot_closed"}
    # Ballots and the close are ordered by the consultation's lock: none is dated after it.
    assert all(datetime.fromisoformat(r.body["updated_at"]) <= closed_at for r in accepted)

    last = counted_choices(replies)
    result = wait_settled(client, make, scene, redis, cid, worker=worker)
    assert result["final"] is True
    assert gate_figures(result) == expected_gate(last, eligible=300)
    assert audit_rows(app, cid) == len(accepted)
    assert {b.household_id: b.choice for b in ballot_rows(app, cid)} == last
