"""The scaffold of a periodic job: each run schedules the next through RQ's scheduler, with a
job id naming its time, so that however many processes ask, one run is queued per period."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.core.clock import utcnow
from api.core.jobs import schedule_at


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
