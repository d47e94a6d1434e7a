"""The ballot's hot path (issue 11): its statements, the change counter that is the gate's
freshness watermark, the tally that never overwrites a newer count, the advisory lock folded
into the ballot's one read, the retry on a dropped connection, and the tally request that skips
Redis when this process knows a queued job will count the ballot.

The first tests run on SQLite and on PostgreSQL; those marked `services` need PostgreSQL and
Redis (`TEST_DATABASE_URL`, `TEST_REDIS_URL`) and commit.
"""

from __future__ import annotations

import threading
import time

import pytest
from rq import Queue
from sqlalchemy import event, func, select, text

import voting.jobs
from api.core import db, utcnow
from tests.conftest import DATABASE_URL
from tests.support.statements import count_statements
from tests.support.voting_helpers import (
    backdate_opening,
    build_scene,
    open_consultation,
    run_jobs,
)
from tests.voting import test_services
from tests.voting.test_services import (
    Burst,
    assert_no_server_errors,
    http_session,
    random_ballots,
    staff_token,
    tokens,
    wait_for,
)
from voting.models import Ballot, Tally
from voting.queries.rules import Count
from voting.queries.tally import revisions_sum, stale_consultation_ids
from voting.service import ballots as ballot_service
from voting.service import consultations as consultation_service
from voting.service import tally as tally_service

# The real HTTP server and the real RQ workers of the services tests, as fixtures here too.
server = test_services.server
workers = test_services.workers

POSTGRES = bool(DATABASE_URL and DATABASE_URL.startswith("postgresql"))


def _ballot(client, make, scene, cid, n, choice="satisfied"):
    reply = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"choice": choice},
        headers=_resident_headers(client.application, scene.resident_ids[n]),
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _resident_headers(app, resident_id) -> dict:
    (token,) = tokens(app, [resident_id]).values()
    return {"Authorization": f"Bearer {token}"}


def _tally(app, cid) -> Tally:
    with app.app_context():
        tally = db.session.get(Tally, cid)
        db.session.expunge(tally)
        return tally


# --- the statements of a ballot ---------------------------------------------------------------


def test_a_ballot_is_two_statements_on_postgresql_and_four_on_sqlite(app, client, make):
    """PostgreSQL: the context (consultation, eligibility, weights) and the write (the
    consultation's locks and state, upsert, audit row, change counter). SQLite keeps the
    upsert, the audit row and the counter apart."""
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    _ballot(client, make, scene, cid, 0)  # compiled and cached, like a warm process
    with count_statements(app) as statements:
        _ballot(client, make, scene, cid, 1, "unsatisfied")
    sql = [" ".join(s.split()) for s in statements.sql]
    if POSTGRES:
        assert statements.count == 2, statements
        assert sql[0].startswith("SELECT consultations.id")
        assert sql[1].startswith("WITH open AS (SELECT consultations.id")
        assert "pg_advisory_xact_lock_shared" in sql[1] and "FOR SHARE" in sql[1]
        assert "INSERT INTO ballots" in sql[1] and "INSERT INTO ballot_changes" in sql[1]
        assert "UPDATE tallies SET changes" in sql[1]
    else:
        assert statements.count == 4, statements
        assert sql[0].startswith("SELECT consultations.id")
        assert sql[1].startswith("INSERT INTO ballots")
        assert sql[2].startswith("INSERT INTO ballot_changes")
        assert sql[3].startswith("UPDATE tallies SET changes")


@pytest.mark.services
def test_the_advisory_lock_is_taken_before_the_row_lock(app):
    """In the write, the lock is an InitPlan under a one-time filter, which runs before the
    consultations table is scanned (so before FOR SHARE locks its row): the order the close
    takes its locks in. (EXPLAIN plans the statement without running it.)"""
    with app.app_context():
        connection = db.session.connection()
        sql = str(ballot_service._WRITES[True].compile(dialect=db.engine.dialect))
        names = {name for name in ballot_service._WRITES[True].compile().params}
        params = dict.fromkeys(names, None)
        params.update(
            pg_advisory_xact_lock_shared_2=ballot_service._LOCK_KEY,
            status_1="open",
            revision_1=1,
            changes_1=1,
            v_consultation_id=1,
            v_updated_at=utcnow(),
        )
        cursor = connection.connection.driver_connection.cursor()
        cursor.execute(f"EXPLAIN (COSTS OFF) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        db.session.rollback()
    lines = [line.strip().removeprefix("->  ") for line in plan.splitlines()]
    wanted = ["CTE open", "LockRows", "InitPlan", "One-Time Filter", " on consultations"]
    found = [line for line in lines if any(w in line for w in wanted)]
    order = [next(w for w in wanted if w in line) for line in found]
    assert order[:5] == wanted, plan
    # The same key as the close's lock.
    close_lock = consultation_service._ADVISORY_LOCKS[False].text
    assert f"({ballot_service._LOCK_KEY}," in close_lock


# --- the change counter: the watermark --------------------------------------------------------


def test_the_counter_equals_the_sum_of_revisions_and_says_when_the_tally_is_stale(
    app, client, make
):
    scene = build_scene(app, households=4)
    cid = open_consultation(client, make, scene)
    for n, choice in enumerate(["satisfied", "unsatisfied", "satisfied", "abstain"]):
        _ballot(client, make, scene, cid, n, choice)
    _ballot(client, make, scene, cid, 0, "unsatisfied")  # a change: revision 2
    run_jobs(app)
    with app.app_context():
        tally = db.session.get(Tally, cid)
        assert tally.changes == revisions_sum(cid) == 5
        assert tally.changes_seen == 5 and tally.counted == 4
        assert cid not in stale_consultation_ids()
        # A change the count has not seen yet makes it stale, from the tally row alone.
        tally.changes += 1
        db.session.flush()
        assert cid in stale_consultation_ids()
        db.session.rollback()


def test_a_count_older_than_the_stored_one_is_not_written(app, client, make, monkeypatch):
    """A slower count that saw fewer changes (or the same changes before the close) than the
    stored tally leaves it alone; one that saw as many writes the same figures again."""
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    for n in range(3):
        _ballot(client, make, scene, cid, n)
    run_jobs(app)
    stored = _tally(app, cid)
    assert stored.changes_seen == 3

    older = Count()
    older.changes = 2  # saw two of the three ballots
    monkeypatch.setattr(tally_service, "count_ballots", lambda *args: older)
    with app.app_context():
        tally_service.recompute(cid)
        db.session.commit()
    after = _tally(app, cid)
    assert (after.changes_seen, after.counted, after.runs) == (3, 3, stored.runs)

    monkeypatch.undo()
    with app.app_context():
        tally_service.recompute(cid)  # as many changes: written again
        db.session.commit()
    assert _tally(app, cid).runs == stored.runs + 1


# --- the tally request after the ballot ------------------------------------------------------


@pytest.mark.services
def test_a_ballot_just_after_this_process_queued_the_tally_skips_redis(
    app, client, make, redis, monkeypatch
):
    """Ballot 1 queues the tally job (SET NX, enqueue) and notes when. Ballot 2, committed
    within the skip window, asks Redis nothing: the queued job waits the settle time before it
    counts, so it counts ballot 2 as well — shown by a real RQ worker, whose count sees both
    ballots and leaves the tally fresh. A ballot after the window asks Redis again."""
    monkeypatch.setattr(voting.jobs, "TALLY_SETTLE_SECONDS", 1.0)
    monkeypatch.setattr(voting.jobs, "TALLY_SKIP_SECONDS", 0.5)
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    run_jobs(app)  # the opening's count
    runner = app.extensions["jobs"]
    submitted = []
    real_submit = runner.submit
    monkeypatch.setattr(runner, "submit", lambda job: submitted.append(job) or real_submit(job))
    app.extensions.pop("tally_queued_at", None)

    started = time.monotonic()
    _ballot(client, make, scene, cid, 0)
    _ballot(client, make, scene, cid, 1, "unsatisfied")
    elapsed = time.monotonic() - started
    assert elapsed < 0.5, f"two ballots took {elapsed:.2f} s: the machine is too slow for this test"
    assert len(submitted) == 1, "the second ballot asked Redis"
    assert Queue("tallies", connection=redis).count == 1

    run_jobs(app)  # a real RQ worker, burst mode: settles 1 s, then counts
    tally = _tally(app, cid)
    assert tally.counted == 2 and tally.changes == tally.changes_seen == 2

    time.sleep(0.5)  # past the window
    _ballot(client, make, scene, cid, 2)
    assert len(submitted) == 2
    assert Queue("tallies", connection=redis).count == 1
    run_jobs(app)
    tally = _tally(app, cid)
    assert tally.counted == 3 and tally.changes == tally.changes_seen == 3


# --- PostgreSQL under concurrency --------------------------------------------------------------


@pytest.mark.services
def test_the_counter_equals_the_sum_of_revisions_after_concurrent_ballots(
    app, client, make, server, redis, workers
):
    """16 threads, re-votes of one household racing each other, a tally worker counting all
    the while: the counter is exactly the sum of the ballots' revisions (the audit), and the
    settled tally saw all of it."""
    import random

    scene = build_scene(app, households=60)
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, scene.resident_ids)
    workers.start("ballot-path-counter")
    replies = Burst(server, cid, random_ballots(random.Random(11), scene, token_of, 60, 400)).run()
    assert_no_server_errors(replies)

    def settled():
        tally = _tally(app, cid)
        return tally.changes == tally.changes_seen and not redis.exists(voting.jobs.tally_key(cid))

    wait_for(settled, 60, "the tally never caught up")
    with app.app_context():
        assert db.session.get(Tally, cid).changes == revisions_sum(cid) == len(replies)
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 60


@pytest.mark.services
def test_a_ballot_waiting_for_a_close_is_refused_once_the_close_commits(app, client, make, server):
    """A close holds the consultation's exclusive advisory lock and has updated the row; a
    ballot arrives and waits in its one read. When the close commits, the ballot's row lock
    re-reads the closed row (READ COMMITTED follows the update) and the ballot is refused."""
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    backdate_opening(app, cid)
    token = tokens(app, [scene.resident_ids[0]])[scene.resident_ids[0]]
    with app.app_context():
        closer = db.engine.connect()
    reply = {}
    try:
        closer.execute(text("SELECT pg_advisory_xact_lock(1987015781, :id)"), {"id": cid})
        closer.execute(
            text("UPDATE consultations SET status = 'closed', closed_at = now() WHERE id = :id"),
            {"id": cid},
        )

        def vote():
            with http_session() as session:
                reply["r"] = session.put(
                    f"{server}/api/v1/consultations/{cid}/ballot",
                    json={"choice": "satisfied"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )

        voter = threading.Thread(target=vote, daemon=True)
        voter.start()
        wait_for(
            lambda: any(row[1] == "advisory" and "pg_advisory" in row[2] for row in _activity(app)),
            30,
            lambda: f"the ballot never waited on the advisory lock: {_activity(app)!r}",
        )
        closer.commit()
    finally:
        closer.close()
    voter.join(30)
    assert reply["r"].status_code == 409, reply["r"].text
    assert reply["r"].json()["error"]["code"] == "ballot_closed"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


@pytest.mark.services
def test_a_dropped_connection_costs_the_ballot_nothing(app, client, make, server):
    """The ballot checks out its connection without the pre-ping. Its server process is
    killed between two ballots (pg_terminate_backend): the next ballot's first statement finds
    the connection dead, nothing was written, so it runs again on a new connection and
    succeeds. Another path (the gate) still pings and succeeds too."""
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    token_of = tokens(app, scene.resident_ids)
    backends = []
    with app.app_context():
        engine = db.engine

    def note_backend(conn, cursor, statement, *args):
        if statement.lstrip().startswith("WITH open AS"):
            backends.append(conn.connection.driver_connection.info.backend_pid)

    event.listen(engine, "before_cursor_execute", note_backend)
    try:
        url = f"{server}/api/v1/consultations/{cid}/ballot"
        with http_session() as session:

            def vote(n, choice):
                token = token_of[scene.resident_ids[n]]
                return session.put(
                    url,
                    json={"choice": choice},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )

            assert vote(0, "satisfied").status_code == 200
            with app.app_context():
                assert db.session.scalar(
                    text("SELECT pg_terminate_backend(:pid)"), {"pid": backends[-1]}
                )
                db.session.rollback()
            wait_for(lambda: _backend_gone(app, backends[-1]), 10, "the backend was not terminated")
            second = vote(1, "unsatisfied")
            assert second.status_code == 200, second.text
            assert backends[-1] != backends[0]
    finally:
        event.remove(engine, "before_cursor_execute", note_backend)
    with app.app_context():
        assert db.session.get(Tally, cid).changes == revisions_sum(cid) == 2


def _activity(app) -> list:
    with app.app_context():
        rows = db.session.execute(
            text(
                "SELECT wait_event_type, wait_event, left(query, 300) FROM pg_stat_activity"
                " WHERE datname = current_database()"
            )
        ).all()
        db.session.rollback()
        return [tuple(row) for row in rows]


def _backend_gone(app, pid) -> bool:
    with app.app_context():
        alive = db.session.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        )
        db.session.rollback()
        return alive == 0


@pytest.mark.services
def test_a_close_racing_ballots_still_orders_them(app, client, make, server, redis, workers):
    """A short version of test_services' close race on the folded lock: every ballot sent
    after the close answered is refused, none acknowledged is dated after the close."""
    import random
    from datetime import datetime

    scene = build_scene(app, households=100)
    cid = open_consultation(client, make, scene)
    backdate_opening(app, cid)
    token_of = tokens(app, scene.resident_ids)
    clerk = {"Authorization": f"Bearer {staff_token(app, scene.clerk)}"}
    burst = Burst(server, cid, random_ballots(random.Random(3), scene, token_of, 100, 400)).start()
    wait_for(lambda: len(burst.replies) >= 100, 60, "the burst did not get going")
    with http_session() as session:
        closed = session.post(f"{server}/api/v1/consultations/{cid}/close", headers=clerk)
        close_done = time.monotonic()
    replies = burst.join()
    assert closed.status_code == 200, closed.text
    closed_at = datetime.fromisoformat(closed.json()["closed_at"])
    assert_no_server_errors(replies, allowed=(200, 409))
    assert all(r.status == 409 for r in replies if r.sent > close_done)
    accepted = [r for r in replies if r.status == 200]
    assert all(datetime.fromisoformat(r.body["updated_at"]) <= closed_at for r in accepted)
    with app.app_context():
        assert db.session.get(Tally, cid).changes == revisions_sum(cid) == len(accepted)


@pytest.mark.services
def test_a_needs_survey_ballot_writes_its_picks_in_one_transaction(app, client, make, server):
    """A needs survey's picks are statements after the upsert: on the real server (where a
    resident's ballot otherwise runs statement by statement) the write runs in a transaction
    begun for it; a household's changed picks replace its earlier ones, and the counter counts
    each change."""
    from voting.models import BallotPick

    scene = build_scene(app, households=2)
    headers = make.headers(scene.clerk)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "needs_survey", "options": ["parking", "elevator", "greening"]},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=headers).status_code == 200
    token_of = tokens(app, scene.resident_ids)
    url = f"{server}/api/v1/consultations/{cid}/ballot"
    with http_session() as session:
        for n, items in ((0, ["parking", "elevator"]), (1, ["greening"]), (0, ["greening"])):
            reply = session.put(
                url,
                json={"items": items},
                headers={"Authorization": f"Bearer {token_of[scene.resident_ids[n]]}"},
                timeout=30,
            )
            assert reply.status_code == 200, reply.text
    with app.app_context():
        picks = db.session.execute(
            select(BallotPick.household_id, BallotPick.item).where(
                BallotPick.consultation_id == cid
            )
        ).all()
        assert sorted(picks) == sorted(
            [(scene.household_ids[0], "greening"), (scene.household_ids[1], "greening")]
        )
        assert db.session.get(Tally, cid).changes == revisions_sum(cid) == 3
