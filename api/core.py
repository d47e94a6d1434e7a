"""The shared kernel: the one thing every domain may import.

It holds the database handle, the domain error types, the clock, and the job plumbing
(`enqueue_after_commit`, `commit`). It imports no domain and no Flask request state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


# --- the clock ---------------------------------------------------------------------------


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC. Every stored time goes through here."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone; PostgreSQL's `timestamptz` does. Either way the application sees an
    aware UTC datetime, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# --- domain errors -----------------------------------------------------------------------


class DomainError(Exception):
    """A refusal the caller can act on: a stable English code and a Chinese message.

    Domains raise these; the HTTP layer turns them into the one error shape with `status`.
    """

    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message: str | None = None, *, code: str | None = None, details=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details or {}


class InvalidInput(DomainError):
    status = 422
    code = "invalid"
    message = "提交的内容有误"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "找不到该记录"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = "没有权限进行此操作"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "当前状态不允许此操作"


class ServiceUnavailable(DomainError):
    status = 503
    code = "unavailable"
    message = "服务暂时不可用，请稍后再试"


# --- jobs --------------------------------------------------------------------------------


@dataclass
class PendingJob:
    func: Any
    args: tuple
    queue: str = "default"
    job_id: str | None = None
    options: dict = field(default_factory=dict)
    dedupe_key: str | None = None


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
    """
    db.session.info.setdefault(_PENDING, []).append(
        PendingJob(func, args, queue, job_id, options, dedupe_key)
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


# --- domain events -----------------------------------------------------------------------
#
# A domain announces what happened (`emit`) without knowing who listens, so that voting can
# say "a consultation opened" while notices publishes about it, and voting still never imports
# notices. Listeners are wired per app when it is built (see api/routes/notices.py).
#
#   consultation_opened(consultation_id)        voting.jobs.after_open, both open paths
#   gate_final(project_id, consultation_id)     voting.jobs.recompute, the first final tally of
#                                               a project's gate consultation
#   ticket_answered(ticket_id)                  feedback.ticket_service.answer


def listen(app, event: str, handler) -> None:
    """Call `handler(**payload)` whenever `event` is emitted in `app`."""
    app.extensions.setdefault("domain_events", {}).setdefault(event, []).append(handler)


def emit(event: str, **payload) -> None:
    """Run the listeners of `event` now, inside the caller's transaction.

    What they write commits or rolls back with the caller's work, and the jobs they ask for
    run after that commit. A listener that raises fails the caller: listeners decline quietly
    (log and return) when they have nothing to do.
    """
    for handler in current_app.extensions.get("domain_events", {}).get(event, ()):
        handler(**payload)


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


def _install_session_hooks() -> None:
    from flask_sqlalchemy.session import Session

    @event.listens_for(Session, "after_commit")
    def _move_to_ready(session):
        pending = session.info.pop(_PENDING, [])
        if pending:
            session.info.setdefault(_READY, []).extend(pending)

    @event.listens_for(Session, "after_rollback")
    def _drop_pending(session):
        session.info.pop(_PENDING, None)


_install_session_hooks()
