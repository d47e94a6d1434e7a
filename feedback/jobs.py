"""Background work of the feedback domain: the completion satisfaction and comment re-checks.

- `request_completion(id)` after a rating: at most one job *queued* per project (a marker set
  with SET NX, released when the job starts), so a burst of ratings makes a handful of jobs and
  a rating committed during a run causes one more run after it (as `voting.jobs` does).
- `run_completion(id)` recomputes from the ratings with SQL aggregates and writes the
  completion tally and the project's completion fields in one transaction; running it twice
  changes nothing.
- `request_recheck(id)` after a comment WeChat could not check: a job retried with backoff.
- `reconcile()` (`flask --app wsgi reconcile`, and every minute on a worker) recounts every
  project whose ratings changed since its last count and re-checks waiting comments, so a lost
  Redis or a killed worker delays a figure but never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from flask import current_app
from rq import Retry
from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from api.core import commit, db, enqueue_after_commit, release_dedupe, schedule_at, utcnow
from api.wechat import WeChatUnavailable
from feedback import comment_service
from feedback.ratings import DIMENSIONS, SATISFIED_FROM, CompletionTally, Rating
from participation.models import Project

log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(minutes=1)
RECHECK_BACKOFF = [30, 120, 600, 1800, 3600]  # seconds between WeChat re-checks of a comment


def completion_key(project_id: int) -> str:
    return f"completion-queued:{project_id}"


def request_completion(project_id: int) -> None:
    """Ask for the project's completion satisfaction to be recounted once this commits."""
    enqueue_after_commit(
        run_completion,
        project_id,
        queue="tallies",
        dedupe_key=completion_key(project_id),
        retry=Retry(max=3, interval=[1, 5, 15]),
        result_ttl=300,
    )


def _rounded(value: Fraction | None, places: str) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(places), rounding=ROUND_HALF_EVEN
    )


def _locked_tally(project_id: int) -> CompletionTally:
    """The project's tally row, created if missing, locked FOR UPDATE: counts of one project
    are serialised, so a slower, older count never overwrites a newer one."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(CompletionTally)
        .values(project_id=project_id, changes_seen=0, ratings=0, satisfied=0, runs=0)
        .on_conflict_do_nothing()
    )
    return db.session.scalar(
        select(CompletionTally)
        .where(CompletionTally.project_id == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def recompute(project_id: int) -> CompletionTally | None:
    """Count the project's ratings in one SQL statement and write the figures.

    Completion satisfaction = households rating overall 4 or 5 / households that rated; the
    mean of each dimension to 2 places. Flushes; the caller commits.
    """
    if db.session.get(Project, project_id) is None:
        return None
    tally = _locked_tally(project_id)
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Rating.overall >= SATISFIED_FROM, 1), else_=0)), 0),
            func.coalesce(func.sum(Rating.revision), 0),
            *(func.coalesce(func.sum(getattr(Rating, d)), 0) for d in DIMENSIONS),
        ).where(Rating.project_id == project_id)
    ).one()
    count, satisfied, changes, *sums = (int(v) for v in row)
    now = utcnow()
    tally.ratings, tally.satisfied, tally.changes_seen = count, satisfied, changes
    tally.computed_at = now
    tally.runs = (tally.runs or 0) + 1
    project = db.session.scalar(
        select(Project).where(Project.id == project_id).execution_options(populate_existing=True)
    )
    project.completion_ratings = count
    project.completion_satisfaction_rate = _rounded(
        Fraction(satisfied, count) if count else None, "0.000001"
    )
    project.completion_means = {
        d: (float(_rounded(Fraction(total, count), "0.01")) if count else None)
        for d, total in zip(DIMENSIONS, sums, strict=True)
    }
    project.completion_computed_at = now
    db.session.flush()
    return tally


def run_completion(project_id: int) -> None:
    """The completion job. Raises on failure so that RQ records it and retries."""
    release_dedupe(completion_key(project_id))
    recompute(project_id)
    commit()


def stale_project_ids() -> list[int]:
    """Projects whose ratings changed since their last count (or were never counted)."""
    sums = (
        select(Rating.project_id, func.sum(Rating.revision).label("changes"))
        .group_by(Rating.project_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(sums.c.project_id)
            .outerjoin(CompletionTally, CompletionTally.project_id == sums.c.project_id)
            .where(
                or_(
                    CompletionTally.project_id.is_(None),
                    CompletionTally.changes_seen != sums.c.changes,
                )
            )
            .order_by(sums.c.project_id)
        )
    )


# --- comments waiting for WeChat's check ------------------------------------------------------


def request_recheck(comment_id: int) -> None:
    """Re-check a comment WeChat could not check, once this commits, retrying with backoff.

    With Redis the job goes to RQ and is retried on RECHECK_BACKOFF. In-process mode has no
    retry scheduler, and trying again at once would only repeat the failure the request has
    just met: the reconciler re-checks instead (`flask --app wsgi reconcile`).
    """
    if current_app.extensions["jobs"].inline:
        return
    enqueue_after_commit(
        run_recheck,
        comment_id,
        queue="default",
        retry=Retry(max=len(RECHECK_BACKOFF), interval=RECHECK_BACKOFF),
        result_ttl=300,
    )


def run_recheck(comment_id: int) -> str | None:
    """The re-check job: the comment's new status. Raises while WeChat is unreachable, after
    recording the attempt, so that RQ retries it."""
    try:
        status = comment_service.recheck(comment_id)
    except WeChatUnavailable:
        commit()  # keep the attempt count
        raise
    commit()
    return status


def recheck_waiting() -> tuple[list[int], int]:
    """Re-check waiting comments until WeChat fails; (those re-checked, those still waiting)."""
    done = []
    for comment_id in comment_service.waiting_for_check():
        try:
            comment_service.recheck(comment_id)
        except WeChatUnavailable:
            commit()
            log.warning("reconcile: WeChat still unreachable, comments keep waiting")
            break
        commit()
        done.append(comment_id)
    return done, len(comment_service.waiting_for_check())


# --- the reconciler ---------------------------------------------------------------------------


def reconcile() -> dict:
    """Recount every stale completion satisfaction; re-check comments waiting for WeChat."""
    recounted = []
    for project_id in stale_project_ids():
        recompute(project_id)
        commit()
        recounted.append(project_id)
    rechecked, waiting = recheck_waiting()
    if recounted or rechecked or waiting:
        log.info(
            "feedback reconcile: recounted %s, rechecked %s, %s comments waiting",
            recounted,
            rechecked,
            waiting,
        )
    return {"recounted": recounted, "rechecked": rechecked, "waiting": waiting}


def next_reconcile_at(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return now.replace(second=0, microsecond=0) + RECONCILE_EVERY


def schedule_reconcile(now: datetime | None = None) -> None:
    """Schedule the next periodic run, with a job id naming its minute (no doubles)."""
    at = next_reconcile_at(now)
    schedule_at(
        at, reconcile_job, queue="default", job_id=f"feedback-reconcile-{int(at.timestamp())}"
    )


def reconcile_job() -> dict:
    """The periodic job: reconcile, then schedule the next run (even if this one failed)."""
    try:
        return reconcile()
    finally:
        schedule_reconcile()
