"""The scaffold of a periodic job: each run schedules the next through RQ's scheduler, with a
job id naming its time, so that however many processes ask, one run is queued per period.

A chain of runs lives in Redis only: a Redis flushed, or restarted without persistence, breaks
it. So each domain registers the function that asks for its next run (`register`, in
`api.app.wire_domains`), and a worker calls them all (`schedule_all`) as it starts and then every
`PERIODIC_CHECK_SECONDS`: a run already asked for is not asked for twice (its id names it), a
lost one is asked for again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, current_app

from api.core.clock import utcnow
from api.core.jobs import schedule_at

log = logging.getLogger(__name__)

_REGISTERED = "periodic_jobs"


def next_run_at(now: datetime, every: timedelta, second: int = 0) -> datetime:
    """The next run after `now`: at `second` past the minute, one period on."""
    return now.replace(second=second, microsecond=0) + every


def schedule_next(
    job,
    *,
    name: str,
    every: timedelta,
    queue: str,
    second: int = 0,
    now: datetime | None = None,
) -> datetime:
    """Schedule `job` for its next run; the job id `<name>-<unix time>` makes a second request
    for the same run a no-op. Returns the time asked for."""
    at = next_run_at(now or utcnow(), every, second)
    schedule_at(at, job, queue=queue, job_id=f"{name}-{int(at.timestamp())}")
    return at


def run_then_schedule(run, schedule):
    """The body of a periodic job: `run()`, then `schedule()` the next run even if this one
    raised (the failure still reaches RQ, which records it)."""
    try:
        return run()
    finally:
        schedule()


def register(app: Flask, schedule: Callable[[], object]) -> None:
    """Make `schedule()` (which asks for a periodic job's next run, idempotently) one of those
    a worker calls as it starts and then every `PERIODIC_CHECK_SECONDS`."""
    app.extensions.setdefault(_REGISTERED, []).append(schedule)


def schedule_all() -> None:
    """Ask for the next run of every registered periodic job (in an app context). A failure of
    one is logged and does not keep the others from being asked for."""
    for schedule in current_app.extensions.get(_REGISTERED, ()):
        try:
            schedule()
        except Exception:
            log.exception("could not schedule the periodic job %s", schedule.__qualname__)
