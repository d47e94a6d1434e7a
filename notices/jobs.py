"""Background work of notices beyond the delivery batches (notices.service.delivery):

- `publish_scheduled(id)` runs at a notice's `publish_at` through RQ's scheduler (job id naming
  the notice and the time); `publish_due()` publishes any whose time has passed, so a lost
  schedule delays a notice by at most a sweep.
- `sweep()` every minute: publishes due notices, marks deliveries whose worker died mid-call
  `failed: interrupted` (never resent), re-queues deliveries nobody is working on; then
  schedules itself and the daily job.
- `milestones_daily()` at 09:00 Shanghai time: one notice per overdue milestone, ever.
Consultation reminders are voting's to time (its `consultation_closing` event); the notice is
published by the listener in notices.service.events.
Without Redis (the embedded default) nothing is scheduled: `catch_up()` does the due work when
a request looks (lists, receipts), and `flask --app wsgi notices sweep` does it by hand.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from api.core import LOCAL, DomainError, commit, db, local_today, schedule_at, utcnow
from api.core.periodic import run_then_schedule, schedule_next
from notices.models import Notice
from notices.service import delivery, events, publishing
from participation.models import Milestone, Project

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=1)
DAILY_AT = time(9, 0)  # Asia/Shanghai


# --- scheduled publishing ---------------------------------------------------------------------


def schedule_publish(notice: Notice) -> None:
    """Ask RQ's scheduler to publish the notice at its publish_at."""
    at = notice.publish_at
    schedule_at(
        at,
        publish_scheduled,
        notice.id,
        queue="notices",
        job_id=f"notice-{notice.id}-publish-{int(at.timestamp())}",
    )


def _publish_one(notice_id: int, now: datetime, slack: timedelta = timedelta(0)) -> bool:
    """Publish the notice at `now` if it is scheduled for `now + slack` or earlier."""
    notice = db.session.scalar(
        select(Notice)
        .where(Notice.id == notice_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if notice is None or notice.status != "scheduled" or notice.publish_at > now + slack:
        db.session.rollback()
        return False  # published, withdrawn or moved meanwhile
    try:
        publishing.publish(notice, now)
    except DomainError as exc:
        db.session.rollback()
        log.warning("scheduled notice %s not published: %s", notice_id, exc.code)
        return False
    commit()
    return True


def publish_scheduled(notice_id: int) -> bool:
    """The scheduled job: publish the notice if it is still scheduled and its time has come."""
    # The scheduler may move a job a moment early; a second's slack keeps it from doing nothing.
    return _publish_one(notice_id, utcnow(), slack=timedelta(seconds=1))


def publish_due(now: datetime | None = None) -> list[int]:
    """Publish every scheduled notice whose time has passed."""
    now = now or utcnow()
    due = list(
        db.session.scalars(
            select(Notice.id)
            .where(Notice.status == "scheduled", Notice.publish_at <= now)
            .order_by(Notice.publish_at, Notice.id)
        )
    )
    return [notice_id for notice_id in due if _publish_one(notice_id, now)]


# --- the sweep --------------------------------------------------------------------------------


def sweep(now: datetime | None = None) -> dict:
    """Bring notices and deliveries up to date (see the module's docstring)."""
    now = now or utcnow()
    published = publish_due(now)
    interrupted = delivery.mark_interrupted(now)
    commit()
    requeued = []
    for notice_id in delivery.stalled_notice_ids(now):
        if delivery.request_delivery(notice_id):
            requeued.append(notice_id)
    commit()
    done = {"published": published, "interrupted": interrupted, "requeued": requeued}
    if published or interrupted or requeued:
        log.info("notices sweep: %s", done)
    return done


def schedule_sweep(now: datetime | None = None) -> None:
    """Schedule the next sweep (job id naming its minute, at 30 s past) and the next daily run."""
    now = now or utcnow()
    schedule_next(
        sweep_job, name="notices-sweep", every=SWEEP_EVERY, queue="notices", second=30, now=now
    )
    schedule_daily(now)


def sweep_job() -> dict:
    """The periodic job: sweep, then schedule the next (even if this one failed)."""
    return run_then_schedule(sweep, schedule_sweep)


def catch_up() -> None:
    """Without a scheduler (the embedded default), do what is due now."""
    if current_app.extensions["jobs"].inline:
        sweep()


# --- daily: overdue milestones ----------------------------------------------------------------


def next_daily_at(now: datetime) -> datetime:
    """The next 09:00 on the local clock after `now`."""
    local = now.astimezone(LOCAL)
    at = datetime.combine(local.date(), DAILY_AT, tzinfo=LOCAL)
    if at <= local:
        at += timedelta(days=1)
    return at


def schedule_daily(now: datetime | None = None) -> None:
    """Schedule the next daily run (job id naming its local date)."""
    at = next_daily_at(now or utcnow())
    schedule_at(
        at, milestones_daily, queue="notices", job_id=f"milestones-overdue-{at.date().isoformat()}"
    )


def milestones_overdue(today=None) -> list[int]:
    """A notice for each milestone past its due date and not done, once per milestone; the ids
    of the milestones announced now. Commits after each."""
    today = today or local_today()
    rows = db.session.execute(
        select(Milestone, Project)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            Milestone.done_on.is_(None),
            Milestone.due_on < today,
            Project.status != "accepted",
        )
        .order_by(Milestone.id)
    ).all()
    keys = {m.id: events.milestone_key(m.id) for m, _ in rows}
    known = set(
        db.session.scalars(select(Notice.event_key).where(Notice.event_key.in_(keys.values())))
    )
    published = []
    for milestone, project in rows:
        if keys[milestone.id] in known:
            continue
        notice = events.milestone_overdue(milestone, project)
        commit()
        if notice is not None:
            published.append(milestone.id)
    return published


def milestones_daily() -> list[int]:
    """The daily job: publish a notice for each milestone newly overdue; schedule tomorrow's."""
    return run_then_schedule(milestones_overdue, schedule_daily)
