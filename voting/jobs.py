"""Background work of the voting domain: the tally, and the reconciler that keeps it honest.

- `request_tally(id)` after a ballot: at most one tally job *queued* per consultation (a
  marker set with SET NX, released when the job starts), so a burst makes a handful of jobs
  and a ballot committed during a run causes one more run after it.
- `run_tally(id)` recomputes from the ballots with SQL aggregates and writes the tally row and
  the project's satisfaction fields in one transaction; running it twice changes nothing.
- `reconcile()` (every minute, and `flask --app wsgi reconcile`) opens and closes consultations
  whose times have come and recomputes every stale tally, so a lost Redis or a killed worker
  delays a figure but never corrupts it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from rq import Retry
from sqlalchemy import or_, select

from api.core import (
    DomainError,
    commit,
    db,
    emit,
    enqueue_after_commit,
    release_dedupe,
    schedule_at,
    utcnow,
)
from participation.models import STATUSES as PROJECT_STATUSES
from participation.models import Project
from voting import service
from voting.models import Ballot, Consultation, Tally
from voting.tally import as_decimal, count_ballots, evaluate

log = logging.getLogger(__name__)

RECONCILE_EVERY = timedelta(minutes=1)
# A queued tally waits this long before it counts, gathering the ballots that arrive meanwhile;
# the gate still shows the last ballot well within 2 s (bench/freshness.py).
TALLY_SETTLE_SECONDS = 0.2


def tally_key(consultation_id: int) -> str:
    return f"tally-queued:{consultation_id}"


def request_tally(consultation_id: int) -> None:
    """Ask for a recount once the current transaction commits."""
    enqueue_after_commit(
        run_tally,
        consultation_id,
        queue="tallies",
        dedupe_key=tally_key(consultation_id),
        retry=Retry(max=3, interval=[1, 5, 15]),
        result_ttl=300,
    )


def recompute(consultation_id: int) -> Tally | None:
    """Count the consultation's ballots and write the tally (and the project's gate fields).

    Tallies of one consultation are serialised by a row lock on its tally row, so a slower,
    older count never overwrites a newer one. Flushes; the caller commits.
    """
    tally = db.session.scalar(
        select(Tally)
        .where(Tally.consultation_id == consultation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if tally is None:  # never opened
        return None
    consultation = db.session.scalar(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .execution_options(populate_existing=True)
    )
    # The status is read before the ballots: if it says closed, every ballot is in the count.
    final = consultation.status == "closed"
    became_final = final and not tally.final
    count = count_ballots(consultation_id)
    result = evaluate(consultation, count)
    now = utcnow()
    tally.computed_at = now
    tally.changes_seen = count.changes
    tally.final = final
    tally.passed = result.passed
    tally.satisfaction_rate = as_decimal(result.satisfaction_rate)
    tally.participation_rate = as_decimal(result.participation_rate)
    tally.counted = result.counted
    tally.eligible = result.eligible
    tally.figures = result.figures
    tally.runs = (tally.runs or 0) + 1
    project = db.session.get(Project, consultation.project_id)
    if project.gate_consultation_id == consultation_id:
        project.plan_satisfaction_rate = tally.satisfaction_rate
        project.participation_rate = tally.participation_rate
        project.gate_passed = result.passed
        project.gate_final = final
        project.gate_computed_at = now
    db.session.flush()
    if became_final and project.gate_consultation_id == consultation_id:
        emit("gate_final", project_id=project.id, consultation_id=consultation_id)
    return tally


def run_tally(consultation_id: int) -> None:
    """The tally job. Raises on failure so that RQ records it and retries."""
    release_dedupe(tally_key(consultation_id), settle_seconds=TALLY_SETTLE_SECONDS)
    recompute(consultation_id)
    commit()


def stale_consultation_ids() -> list[int]:
    """Consultations whose tally misses ballots, or misses the close.

    Closed consultations with a final tally are left out (no ballot can reach them), except
    those a project's satisfaction gate still waits on: a final tally that somehow missed a
    ballot makes the gate refuse construction as `tally_pending`, and only a recount lifts it.
    """
    changes = (
        select(db.func.coalesce(db.func.sum(Ballot.revision), 0))
        .where(Ballot.consultation_id == Consultation.id)
        .scalar_subquery()
    )
    awaiting_gate = select(Project.gate_consultation_id).where(
        Project.gate_consultation_id.is_not(None),
        Project.status.in_(PROJECT_STATUSES[: PROJECT_STATUSES.index("construction")]),
    )
    return list(
        db.session.scalars(
            select(Consultation.id)
            .join(Tally, Tally.consultation_id == Consultation.id)
            .where(
                or_(
                    Consultation.status == "open",
                    Tally.final.is_(False),
                    Tally.computed_at.is_(None),
                    Consultation.id.in_(awaiting_gate),
                ),
                or_(
                    Tally.computed_at.is_(None),
                    Tally.final != (Consultation.status == "closed"),
                    Tally.changes_seen != changes,
                ),
            )
            .order_by(Consultation.id)
        )
    )


def open_and_close_due(now: datetime | None = None) -> tuple[list[int], list[int]]:
    """Open drafts whose open time has come and close open ones whose close time has passed."""
    now = now or utcnow()
    opened, closed = [], []
    due_to_open = db.session.scalars(
        select(Consultation.id).where(Consultation.status == "draft", Consultation.opens_at <= now)
    ).all()
    for consultation_id in due_to_open:
        consultation = service.lock(consultation_id, shared=False)
        if consultation.status != "draft":
            continue
        try:
            service.open_consultation(consultation, now)
        except DomainError as exc:
            log.warning("consultation %s not opened at its time: %s", consultation_id, exc.code)
            db.session.rollback()
            continue
        after_open(consultation)
        commit()
        opened.append(consultation_id)
    due_to_close = db.session.scalars(
        select(Consultation.id).where(Consultation.status == "open", Consultation.closes_at <= now)
    ).all()
    for consultation_id in due_to_close:
        consultation = service.lock(consultation_id, shared=False)
        if consultation.status != "open":
            continue
        service.close_consultation(consultation, now)
        request_tally(consultation_id)
        commit()
        closed.append(consultation_id)
    return opened, closed


def after_open(consultation: Consultation) -> None:
    """Count the (empty) ballot box, schedule the close at its time, and announce the opening
    (notices publishes it to the residents)."""
    request_tally(consultation.id)
    emit("consultation_opened", consultation_id=consultation.id)
    if consultation.closes_at is not None:
        at = consultation.closes_at
        schedule_at(
            at, reconcile, queue="default", job_id=f"close-{consultation.id}-{int(at.timestamp())}"
        )


def reconcile(now: datetime | None = None) -> dict:
    """Bring every consultation up to date: open/close what is due, recount what is stale."""
    opened, closed = open_and_close_due(now)
    recounted = []
    for consultation_id in stale_consultation_ids():
        recompute(consultation_id)
        commit()
        recounted.append(consultation_id)
    if opened or closed or recounted:
        log.info("reconcile: opened %s closed %s recounted %s", opened, closed, recounted)
    return {"opened": opened, "closed": closed, "recounted": recounted}


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


def next_reconcile_at(now: datetime | None = None) -> datetime:
    now = now or utcnow()
    return now.replace(second=0, microsecond=0) + RECONCILE_EVERY


def schedule_reconcile(now: datetime | None = None) -> None:
    """Schedule the next periodic reconcile, with a job id naming its minute (no doubles)."""
    at = next_reconcile_at(now)
    schedule_at(at, reconcile_job, queue="default", job_id=f"reconcile-{int(at.timestamp())}")


def reconcile_job() -> dict:
    """The periodic job: reconcile, then schedule the next run (even if this one failed)."""
    try:
        return reconcile()
    finally:
        schedule_reconcile()
