"""Background jobs as the domains ask for them: after the commit, de-duplicated, or at a time.

A transaction collects the jobs it asks for (`enqueue_after_commit`); a commit hands them to the
app's runner (RQ on Redis, or in-process in the embedded default) and a rollback drops them, so
a worker never looks for a row that is not there. The runners themselves live in `api.jobs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event

from api.core.db import db
from api.core.trace import current_request_id


@dataclass
class PendingJob:
    func: Any
    args: tuple
    queue: str = "default"
    job_id: str | None = None
    options: dict = field(default_factory=dict)
    dedupe_key: str | None = None
    request_id: str | None = None  # the request that asked for it, for its log lines


_PENDING = "pending_jobs"
_READY = "ready_jobs"


def enqueue_after_commit(
    func,
    *args,
    queue: str = "default",
    job_id: str | None = None,
    dedupe_key: str | None = None,
    **options,
):
    """Ask for `func(*args)` to run as a background job once the current transaction commits.

    Jobs take ids, never ORM objects. Nothing is enqueued if the transaction rolls back, so a
    worker never looks for a row that is not there. With `REDIS_URL` set the job goes to the
    RQ queue named `queue`; without it, it runs in this process right after `commit()`.

    With `dedupe_key`, a job is enqueued only if none with that key is still *queued*: the
    key is set with SET NX when enqueuing, and the job must call `release_dedupe(key)` when it
    starts, before it reads anything, so that a commit during its run asks for one more run.

    The job carries the current request id (`api.core.trace`): its log lines name the request
    that asked for it, and so do those of the jobs it asks for in turn.
    """
    db.session.info.setdefault(_PENDING, []).append(
        PendingJob(func, args, queue, job_id, options, dedupe_key, current_request_id())
    )


def release_dedupe(key: str, settle_seconds: float = 0.0) -> None:
    """Called by a de-duplicated job as it starts: later requests enqueue a new run.

    With `settle_seconds`, a queued job first waits that long with its marker still set, so
    that requests arriving meanwhile join this run instead of asking for the next one: a busy
    minute of ballots makes a few tallies a second, not one per ballot. (In-process jobs run
    in the request and never wait.)
    """
    current_app.extensions["jobs"].release(key, settle_seconds)


def schedule_at(when, func, *args, queue: str = "default", job_id: str) -> None:
    """Run `func(*args)` at `when` through RQ's scheduler (workers run `--with-scheduler`).

    `job_id` must be unique to that run (e.g. it names the minute), so a second request for
    the same run is a no-op rather than a second job. Without Redis this does nothing: the
    embedded default catches up lazily (see `voting.jobs.catch_up`).
    """
    current_app.extensions["jobs"].schedule(when, func, args, queue, job_id)


def commit() -> None:
    """Commit the request's one transaction, then dispatch the jobs it asked for."""
    db.session.commit()
    dispatch_ready_jobs()


def dispatch_ready_jobs() -> None:
    """Send the jobs of committed transactions to their queues (or run them in-process)."""
    ready = db.session.info.pop(_READY, [])
    if not ready:
        return
    runner = current_app.extensions["jobs"]
    for job in ready:
        runner.submit(job)


def _move_to_ready(session) -> None:
    pending = session.info.pop(_PENDING, [])
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


def _drop_pending(session) -> None:
    session.info.pop(_PENDING, None)


def install_session_hooks() -> None:
    """Make commits release, and rollbacks drop, the jobs a transaction asked for.

    Called by `create_app`; installing twice is a no-op (SQLAlchemy's listeners are global to
    the session class, and several apps in one process share them).
    """
    for name, hook in (("after_commit", _move_to_ready), ("after_rollback", _drop_pending)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
