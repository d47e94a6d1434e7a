"""Background work of the participation domain: the retention period of residents' personal
data.

- `purge()` erases every resident who has not signed in for `RESIDENT_RETENTION_DAYS` days,
  exactly as `DELETE /me` does (`participation.service.erasure.erase_resident`), one resident
  per transaction, so that a failure keeps what was done before it.
- `schedule_purge()` asks for the next daily run (04:00 on the prefecture's clock, job id naming
  its date, so a run is asked for once however many workers ask); `api.app.wire_domains`
  registers it with `api.core.periodic`, and `flask residents-purge` runs the purge by hand.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from flask import current_app

from api.core import LOCAL, commit, schedule_at, utcnow
from api.core.periodic import run_then_schedule
from participation.service import erasure

log = logging.getLogger(__name__)

PURGE_AT = time(4, 0)  # local: after the evening's activity, before the morning's


def due(now: datetime | None = None) -> list[int]:
    """The ids of the residents the purge would erase now (nothing is written)."""
    return erasure.stale_resident_ids(current_app.config["RESIDENT_RETENTION_DAYS"], now)


def purge(now: datetime | None = None) -> list[int]:
    """Erase every resident past the retention period; the ids erased. Commits after each, so
    that one resident's erasure holds its rows' locks briefly. Raises on failure (RQ records
    it; the next run takes up the residents still due)."""
    now = now or utcnow()
    erased = []
    for resident_id in due(now):
        if erasure.erase_resident(resident_id, now):
            erased.append(resident_id)
        commit()
    if erased:
        # Ids only: no name or openid ever goes to a log.
        log.info("retention: erased %d residents: %s", len(erased), erased)
    return erased


def next_purge_at(now: datetime) -> datetime:
    """The next `PURGE_AT` on the local clock after `now`."""
    local = now.astimezone(LOCAL)
    at = datetime.combine(local.date(), PURGE_AT, tzinfo=LOCAL)
    if at <= local:
        at += timedelta(days=1)
    return at


def schedule_purge(now: datetime | None = None) -> None:
    """Schedule the next daily purge (job id naming its local date)."""
    at = next_purge_at(now or utcnow())
    schedule_at(at, purge_job, queue="default", job_id=f"residents-purge-{at.date().isoformat()}")


def purge_job() -> list[int]:
    """The daily job: purge, then schedule tomorrow's run (even if this one failed)."""
    return run_then_schedule(purge, schedule_purge)
