"""Background work of the feedback domain: the completion satisfaction and comment re-checks.

- `request_completion(id)` after a rating: at most one job *queued* per project (a marker set
  with SET NX, released when the job starts), so a burst of ratings makes a handful of jobs and
  a rating committed during a run causes one more run after it (as `voting.jobs` does).
- `run_completion(id)` recomputes from the ratings with SQL aggregates
  (`feedback.service.ratings.recompute`) and writes the completion tally and the project's
  completion fields in one transaction; running it twice changes nothing.
- `request_recheck(id)` after a comment WeChat could not check: a job retried with backoff.
- `reconcile()` (`flask --app wsgi reconcile`, and every minute on a worker) recounts every
  project whose ratings changed since its last count and re-checks waiting comments, so a lost
  Redis or a killed worker delays a figure but never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from rq import Retry

from api.core import commit, enqueue_after_commit, release_dedupe
from api.core.periodic import run_then_schedule, schedule_next
from api.wechat import WeChatUnavailable
from feedback.estate_rules_queries import waiting_for_check as rules_waiting_for_check
from feedback.queries import stale_project_ids, waiting_for_check
from feedback.service import comments as comment_service
from feedback.service import estate_rules
from feedback.service.ratings import recompute

log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(minutes=1)
RECHECK_BACKOFF = [30, 120, 600, 1800, 3600]  # seconds between WeChat re-checks of a comment


def completion_key(project_id: int) -> str:
    """The de-duplication marker of the project's queued completion job."""
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


def run_completion(project_id: int) -> None:
    """The completion job. Raises on failure so that RQ records it and retries."""
    release_dedupe(completion_key(project_id))
    recompute(project_id)
    commit()


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
    for comment_id in waiting_for_check():
        try:
            comment_service.recheck(comment_id)
        except WeChatUnavailable:
            commit()
            log.warning("reconcile: WeChat still unreachable, comments keep waiting")
            break
        commit()
        done.append(comment_id)
    return done, len(waiting_for_check())


def recheck_waiting_rules_comments() -> tuple[list[int], int]:
    """The same for comments on an estate's rules (小区管理办法)."""
    done = []
    for comment_id in rules_waiting_for_check():
        try:
            estate_rules.recheck(comment_id)
        except WeChatUnavailable:
            commit()
            log.warning("reconcile: WeChat still unreachable, rules comments keep waiting")
            break
        commit()
        done.append(comment_id)
    return done, len(rules_waiting_for_check())


# --- the reconciler ---------------------------------------------------------------------------


def reconcile() -> dict:
    """Recount every stale completion satisfaction; re-check comments (on projects and plans,
    and on estates' rules) waiting for WeChat."""
    recounted = []
    for project_id in stale_project_ids():
        recompute(project_id)
        commit()
        recounted.append(project_id)
    rechecked, waiting = recheck_waiting()
    rules_rechecked, rules_waiting = recheck_waiting_rules_comments()
    if recounted or rechecked or waiting or rules_rechecked or rules_waiting:
        log.info(
            "feedback reconcile: recounted %s, rechecked %s, %s comments waiting; rules "
            "comments rechecked %s, %s waiting",
            recounted,
            rechecked,
            waiting,
            rules_rechecked,
            rules_waiting,
        )
    return {
        "recounted": recounted,
        "rechecked": rechecked,
        "waiting": waiting,
        "rules_rechecked": rules_rechecked,
        "rules_waiting": rules_waiting,
    }


def schedule_reconcile(now: datetime | None = None) -> None:
    """Schedule the next periodic run, with a job id naming its minute (no doubles)."""
    schedule_next(
        reconcile_job, name="feedback-reconcile", every=RECONCILE_EVERY, queue="default", now=now
    )


def reconcile_job() -> dict:
    """The periodic job: reconcile, then schedule the next run (even if this one failed)."""
    return run_then_schedule(reconcile, schedule_reconcile)
