"""Background work of the voting domain: the tally, the consultation clock, the closing
reminder, and the reconciler that keeps them honest.

- `request_tally(id)` in a transaction that changes what a tally counts: at most one tally job
  *queued* per consultation (a marker set with SET NX, released when the job starts), so a
  burst makes a handful of jobs and a ballot committed during a run causes one more run after
  it. A ballot asks after its commit (`tally_after_ballot`), which skips Redis altogether
  while this process knows that the job it queued has not started counting.
- `run_tally(id)` recomputes from the ballots with SQL aggregates and writes the tally row and
  the project's satisfaction fields in one transaction; running it twice changes nothing.
- `after_open(consultation)`: the opening's follow-ups: the first count, the announcement
  (`consultation_opened`), the close scheduled at its time and the reminder 24 h before it
  (`closing_reminder`).
- `reconcile()` (every minute, and `flask --app wsgi reconcile`) opens and closes consultations
  whose times have come, announces the reminders that are due, and recomputes every stale
  tally, so a lost Redis or a killed worker delays a figure or a reminder but never loses it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from rq import Retry

from api.core import (
    DomainError,
    PendingJob,
    commit,
    db,
    emit,
    enqueue_after_commit,
    release_dedupe,
    schedule_at,
    utcnow,
)
from api.core.periodic import run_then_schedule, schedule_next
from api.core.trace import current_request_id
from voting.models import Consultation
from voting.queries.consultations import due_to_close, due_to_open
from voting.queries.tally import stale_consultation_ids
from voting.service import consultations, reminders
from voting.service.tally import recompute

log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(minutes=1)
# A queued tally waits this long before it counts, gathering the ballots that arrive meanwhile;
# the gate still shows the last ballot well within 2 s (bench/freshness.py).
TALLY_SETTLE_SECONDS = 0.2


# --- the tally --------------------------------------------------------------------------------


def tally_key(consultation_id: int) -> str:
    return f"tally-queued:{consultation_id}"


_TALLY_JOB = {"retry": Retry(max=3, interval=[1, 5, 15]), "result_ttl": 300}
# How long after queuing a tally job this process asks for no other (`tally_after_ballot`):
# half the settle window, the other half a margin.
TALLY_SKIP_SECONDS = TALLY_SETTLE_SECONDS / 2


def request_tally(consultation_id: int) -> None:
    """Ask for a recount once the current transaction commits."""
    enqueue_after_commit(
        run_tally,
        consultation_id,
        queue="tallies",
        dedupe_key=tally_key(consultation_id),
        **_TALLY_JOB,
    )


def tally_after_ballot(consultation_id: int) -> None:
    """Ask for a recount after a ballot's commit, without Redis when that is provably needless.

    Why it is safe to skip. This process queued a tally job itself (its SET NX of the marker
    succeeded and the job was enqueued) and noted the time `t`, read *before* the SET. That
    job, like any tally job, first waits `TALLY_SETTLE_SECONDS` with its marker still set,
    then releases the marker, and only then counts (`run_tally`): it cannot start before it
    was queued, after `t`, so its count starts after `t + TALLY_SETTLE_SECONDS` in real time
    (a sleep never returns early; clocks on one machine or not, a duration is a duration). Its
    count is a statement whose snapshot is taken when it starts, so it sees every ballot
    committed before then. This function runs after the ballot's commit has returned; if it
    is still before `t + TALLY_SKIP_SECONDS` (half the window, the other half a margin), the
    ballot was committed before that count can start, and the queued job will count it: the
    SET NX would only have found the marker set. A job that fails is retried by RQ and counts
    later still. What the skip cannot see is what Redis loses (a flush or a restart that drops
    the queued job): then, as for a ballot whose own request is lost, the tally is stale by
    its change counter and the reconciler recounts it within a minute.

    Other processes know nothing of `t`: they SET NX as usual. In the embedded default (no
    Redis) the tally runs here and now, as after any commit.
    """
    runner = current_app.extensions["jobs"]
    marks = current_app.extensions.setdefault("tally_queued_at", {})
    now = time.monotonic()
    if now - marks.get(consultation_id, float("-inf")) < TALLY_SKIP_SECONDS:
        return
    job = runner.submit(
        PendingJob(
            run_tally,
            (consultation_id,),
            "tallies",
            None,
            dict(_TALLY_JOB),
            tally_key(consultation_id),
            current_request_id(),
        )
    )
    if job is not None and not runner.inline:
        marks[consultation_id] = now


def run_tally(consultation_id: int) -> None:
    """The tally job. Raises on failure so that RQ records it and retries."""
    release_dedupe(tally_key(consultation_id), settle_seconds=TALLY_SETTLE_SECONDS)
    recompute(consultation_id)
    commit()


# --- the consultation clock -------------------------------------------------------------------


def after_open(consultation: Consultation) -> None:
    """Count the (empty) ballot box, announce the opening (notices publishes it to the
    residents), and schedule the close at its time and the reminder 24 h before it."""
    request_tally(consultation.id)
    emit(
        "consultation_opened",
        consultation_id=consultation.id,
        project_id=consultation.project_id,
        kind=consultation.kind,
        title=consultation.title,
        opened_at=consultation.opened_at,
        closes_at=consultation.closes_at,
    )
    if consultation.closes_at is not None:
        at = consultation.closes_at
        schedule_at(
            at, reconcile, queue="default", job_id=f"close-{consultation.id}-{int(at.timestamp())}"
        )
    remind_at = reminders.reminder_at(consultation)
    if remind_at is not None:
        schedule_at(
            remind_at,
            closing_reminder,
            consultation.id,
            queue="notices",
            job_id=f"closing-reminder-{consultation.id}-{int(remind_at.timestamp())}",
        )


def open_and_close_due(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Open drafts whose open time has come and close open ones whose close time has passed."""
    now = now or utcnow()
    opened, closed = [], []
    for consultation_id in due_to_open(now):
        consultation = consultations.lock(consultation_id, shared=False)
        if consultation.status != "draft":
            continue
        try:
            consultations.open_consultation(consultation, now)
        except DomainError as exc:
            log.warning("consultation %s not opened at its time: %s", consultation_id, exc.code)
            db.session.rollback()
            continue
        after_open(consultation)
        commit()
        opened.append(consultation_id)
    for consultation_id in due_to_close(now):
        consultation = consultations.lock(consultation_id, shared=False)
        if consultation.status != "open":
            continue
        consultations.close_consultation(consultation, now)
        request_tally(consultation_id)
        commit()
        closed.append(consultation_id)
    return opened, closed


def catch_up(consultation: Consultation) -> None:
    """Open or close one consultation whose time has come, now (a request saw it due).

    The embedded default has no scheduler; this keeps its answers true all the same.
    """
    now = utcnow()
    due_open = (
        consultation.status == "draft" and consultation.opens_at and (consultation.opens_at <= now)
    )
    if due_open or consultation.is_due_to_close(now):
        open_and_close_due(now)
        db.session.refresh(consultation)


# --- the closing reminder ---------------------------------------------------------------------


def closing_reminder(consultation_id: int) -> bool:
    """The job scheduled 24 h before the close: announce the reminder if it is still due."""
    announced = reminders.remind(consultation_id)
    commit()
    return announced


def send_due_reminders(now: datetime | None = None) -> list[int]:
    """Announce every closing reminder that is due at `now` (listeners publish each once);
    the consultations announced. Commits after each."""
    now = now or utcnow()
    reminded = []
    for consultation_id in reminders.due_reminders(now):
        if reminders.remind(consultation_id, now):
            reminded.append(consultation_id)
        commit()
    return reminded


def catch_up_reminders() -> None:
    """Without a scheduler (the embedded default), announce the reminders due now: called
    where a request looks at notices, as the notices sweep is."""
    if current_app.extensions["jobs"].inline:
        send_due_reminders()


# --- the reconciler ---------------------------------------------------------------------------


def reconcile(now: datetime | None = None) -> dict:
    """Bring every consultation up to date: open/close what is due, announce the reminders
    that are due (again: a lost reminder job is made good), recount what is stale."""
    now = now or utcnow()
    opened, closed = open_and_close_due(now)
    reminded = send_due_reminders(now)
    recounted = []
    for consultation_id in stale_consultation_ids():
        recompute(consultation_id)
        commit()
        recounted.append(consultation_id)
    if opened or closed or recounted:
        log.info("reconcile: opened %s closed %s recounted %s", opened, closed, recounted)
    return {"opened": opened, "closed": closed, "reminded": reminded, "recounted": recounted}


def schedule_reconcile(now: datetime | None = None) -> None:
    """Schedule the next periodic reconcile, with a job id naming its minute (no doubles)."""
    schedule_next(reconcile_job, name="reconcile", every=RECONCILE_EVERY, queue="default", now=now)


def reconcile_job() -> dict:
    """The periodic job: reconcile, then schedule the next run (even if this one failed)."""
    return run_then_schedule(reconcile, schedule_reconcile)
