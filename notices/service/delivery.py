"""Sending a published notice to its residents as WeChat subscription messages (订阅消息).

Everything here flushes and leaves the commit to its caller, except the batch job
`deliver_batch`, which runs on its own and must commit each claim before it calls WeChat: that
commit is what makes a second send impossible.

The guarantees, and how they are kept:

- **At most once per resident and notice.** Publishing writes one `Delivery` row per resident
  (UNIQUE notice, resident). A job claims a row (pending/retrying → sending, one UPDATE that
  only one job can win) and commits *before* it calls WeChat; it records the outcome after. A
  retried or duplicated job finds the row taken or done and skips it. A row left `sending` by a
  killed worker is marked failed (`interrupted`) by the sweep and never sent again: WeChat may
  or may not have delivered it, and a second message is the worse mistake.
- **Never without a consent.** Each message spends one unspent `SubscriptionConsent` of the
  resident for the template, claimed in the same transaction as the delivery (UPDATE … WHERE
  spent_at IS NULL, FOR UPDATE SKIP LOCKED on PostgreSQL). No consent: `no_consent`, no call.
- **Transient failures retry with backoff** (no answer, -1 busy, 45009/45011 limits, an expired
  token): the consent is given back, since WeChat did not take it, and the row waits as
  `retrying` until `next_attempt_at` (waits from NOTICE_RETRY_SECONDS); the batch job
  schedules itself again for then. When the waits are used up it is `failed`. A no-answer may,
  rarely, hide a message WeChat did deliver; WeChat offers no idempotency key, so such a retry
  can duplicate it (a known limitation).
- **43101** (the user refused, or has no acceptance left) is permanent: the row is `failed` with
  the errcode, the consent stays spent, and the resident's other unspent consents for that
  template are voided too: WeChat has just told us there are none.
- **A per-second cap** over all workers (`WECHAT_SEND_RATE_PER_SECOND`, 0 = none): see
  notices.service.pacing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from rq import Retry
from sqlalchemy import and_, func, or_, select, update

from api.core import LOCAL, commit, db, enqueue_after_commit, schedule_at, utcnow
from api.wechat import WeChatRejected, WeChatUnavailable
from notices.models import DELIVERY_OPEN, Delivery, Notice, SubscriptionConsent
from notices.service import subscriptions
from notices.service.pacing import pace
from participation.models import Resident

log = logging.getLogger(__name__)

TRANSIENT_ERRCODES = {-1, 40001, 42001, 45009, 45011}
REFUSED = 43101
UNAVAILABLE_STREAK = 3  # consecutive transient failures that end a batch early (WeChat is down)
SENDING_STALE = timedelta(minutes=2)  # a claim older than this lost its worker
STALLED = timedelta(minutes=2)  # open rows of a notice nobody touched for this long are re-queued

_deliveries = Delivery.__table__
_consents = SubscriptionConsent.__table__


# --- what is sent ----------------------------------------------------------------------------


def _clip(value: str, limit: int = 20) -> str:
    """WeChat refuses a `thing` value over 20 characters."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def message_data(notice: Notice) -> dict:
    """The template's keyword fields: title, local publish time, category."""
    when = (notice.published_at or utcnow()).astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
    return {
        "thing1": {"value": _clip(notice.title)},
        "time2": {"value": when},
        "thing3": {"value": _clip(notice.category_label)},
    }


def page_for(notice: Notice) -> str:
    return current_app.config["NOTICE_PAGE"].format(id=notice.id)


# --- asking for delivery ----------------------------------------------------------------------


def request_delivery(notice_id: int, delivery_ids: list[int] | None = None) -> int:
    """Ask for delivery jobs, in batches of NOTICE_BATCH_SIZE rows, once the transaction commits.

    Without `delivery_ids`, every open row of the notice. Returns the number of jobs asked for.
    """
    if delivery_ids is None:
        delivery_ids = list(
            db.session.scalars(
                select(Delivery.id)
                .where(Delivery.notice_id == notice_id, Delivery.status.in_(DELIVERY_OPEN))
                .order_by(Delivery.id)
            )
        )
    size = current_app.config["NOTICE_BATCH_SIZE"]
    timeout = int(size * (current_app.config["WECHAT_TIMEOUT_SECONDS"] + 1)) + 60
    batches = [delivery_ids[i : i + size] for i in range(0, len(delivery_ids), size)]
    for batch in batches:
        enqueue_after_commit(
            deliver_batch,
            notice_id,
            batch[0],
            batch[-1],
            queue="notices",
            retry=Retry(max=3, interval=[10, 60, 300]),
            job_timeout=timeout,
            result_ttl=600,
        )
    return len(batches)


# --- the batch job ----------------------------------------------------------------------------


def _in_batch(notice_id: int, first_id: int, last_id: int):
    return and_(
        _deliveries.c.notice_id == notice_id,
        _deliveries.c.id >= first_id,
        _deliveries.c.id <= last_id,
    )


def _due(now: datetime):
    return or_(
        _deliveries.c.status == "pending",
        and_(_deliveries.c.status == "retrying", _deliveries.c.next_attempt_at <= now),
    )


def deliver_batch(notice_id: int, first_id: int, last_id: int) -> dict:
    """The delivery job: send the notice to the due rows with ids first_id..last_id.

    Safe to run twice, or at once with a copy of itself: every row is claimed, and the claim
    committed, before WeChat is called. A row's outcome is committed with the next row's claim
    (one commit per message), and at the end. Rows that must wait (retrying, or left when
    WeChat stopped answering) make the job schedule itself again for when they are due.
    """
    counts = {"sent": 0, "no_consent": 0, "failed": 0, "retrying": 0}
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        return counts
    now = utcnow()
    if notice.status != "published":
        cancel_open(notice_id, now, first_id, last_id)
        commit()
        return counts
    counts["no_consent"] += _mark_without_consent(notice_id, first_id, last_id, now)
    commit()
    due = db.session.execute(
        select(_deliveries.c.id, Resident.openid)
        .join(Resident, Resident.id == _deliveries.c.resident_id)
        .where(_in_batch(notice_id, first_id, last_id), _due(now))
        .order_by(_deliveries.c.id)
    ).all()
    data, page = message_data(notice), page_for(notice)
    streak = 0
    try:
        for delivery_id, openid in due:
            pace()
            claimed = _claim(delivery_id, utcnow())
            commit()  # the claim, with the outcome of the row before
            if claimed is None:
                continue
            if claimed == "no_consent":
                counts["no_consent"] += 1
                continue
            status = _send_and_record(delivery_id, openid, *claimed, data, page)
            counts[status] += 1
            streak = streak + 1 if status == "retrying" else 0
            if streak >= UNAVAILABLE_STREAK:
                log.warning(
                    "notice %s: WeChat keeps failing, batch %s deferred", notice_id, first_id
                )
                break
    finally:
        _commit_outcome()
    _follow_up(notice_id, first_id, last_id)
    return counts


def _commit_outcome() -> None:
    """Commit the last outcome recorded, even when the job is failing for another reason (a
    Redis error while pacing, a job timeout): a message that was sent stays `sent`."""
    try:
        commit()
    except Exception:
        db.session.rollback()
        log.exception("could not record a delivery outcome; the sweep will settle the row")


def _follow_up(notice_id: int, first_id: int, last_id: int) -> None:
    """Schedule this batch again for its earliest waiting row (no scheduler: the sweep)."""
    now = utcnow()
    waiting = db.session.execute(
        select(
            func.min(_deliveries.c.next_attempt_at),
            func.count().filter(_deliveries.c.status == "pending"),
        ).where(_in_batch(notice_id, first_id, last_id), _deliveries.c.status.in_(DELIVERY_OPEN))
    ).one()
    next_retry, pending = waiting
    if pending:
        at = now + timedelta(seconds=current_app.config["NOTICE_RETRY_SECONDS"][0])
        at = min(at, next_retry) if next_retry else at
    else:
        at = next_retry
    if at is None:
        return
    # RQ's scheduler keeps whole seconds (it would run the job up to a second early, find
    # nothing due, and the same job id would then block the next try): round up.
    at = max(at, now)
    at = at.replace(microsecond=0) + timedelta(seconds=1) if at.microsecond else at
    schedule_at(
        at,
        deliver_batch,
        notice_id,
        first_id,
        last_id,
        queue="notices",
        job_id=f"deliver-{notice_id}-{first_id}-{int(at.timestamp())}",
    )


def _mark_without_consent(notice_id: int, first_id: int, last_id: int, now: datetime) -> int:
    """Rows never tried whose resident has no unspent consent: `no_consent`, in one statement."""
    has_consent = (
        select(_consents.c.id)
        .where(
            _consents.c.resident_id == _deliveries.c.resident_id,
            _consents.c.template_id == _deliveries.c.template_id,
            _consents.c.spent_at.is_(None),
        )
        .exists()
    )
    done = db.session.execute(
        update(_deliveries)
        .where(
            _in_batch(notice_id, first_id, last_id),
            _deliveries.c.status == "pending",
            ~has_consent,
        )
        .values(status="no_consent", finished_at=now, updated_at=now)
    )
    return done.rowcount or 0


def _claim(delivery_id: int, now: datetime):
    """Take the row and a consent for it. None if another job has it or it is not due;
    "no_consent" if the resident has none left; else (template_id, consent_id, attempts)."""
    row = db.session.execute(
        update(_deliveries)
        .where(_deliveries.c.id == delivery_id, _due(now))
        .values(status="sending", claimed_at=now, updated_at=now)
        .returning(_deliveries.c.resident_id, _deliveries.c.template_id, _deliveries.c.attempts)
    ).first()
    if row is None:
        return None
    resident_id, template_id, attempts = row
    consent_id = subscriptions.spend_consent(resident_id, template_id, delivery_id, now)
    if consent_id is None:
        _set(delivery_id, now, status="no_consent", finished_at=now)
        return "no_consent"
    return template_id, consent_id, attempts


def _set(delivery_id: int, now: datetime, **values) -> None:
    db.session.execute(
        update(_deliveries).where(_deliveries.c.id == delivery_id).values(updated_at=now, **values)
    )


def _send_and_record(delivery_id, openid, template_id, consent_id, attempts, data, page) -> str:
    """One call to WeChat and its outcome on the row (and the consent), flushed for the next
    commit; the new status."""
    wechat = current_app.extensions["wechat"]
    errcode, error = None, None
    try:
        msgid = wechat.send_subscribe_message(openid, template_id, data, page=page)
    except WeChatRejected as exc:
        errcode, error = exc.errcode, exc.errmsg[:200]
    except WeChatUnavailable:
        errcode, error = None, "wechat_unavailable"
    now = utcnow()
    attempts = (attempts or 0) + 1
    if error is None:
        _set(
            delivery_id,
            now,
            status="sent",
            attempts=attempts,
            msgid=str(msgid),
            errcode=None,
            last_error=None,
            finished_at=now,
        )
        return "sent"
    if errcode == REFUSED:
        resident_id = select(_deliveries.c.resident_id).where(_deliveries.c.id == delivery_id)
        subscriptions.void_unspent(resident_id.scalar_subquery(), template_id, now)
        _set(
            delivery_id,
            now,
            status="failed",
            attempts=attempts,
            errcode=errcode,
            last_error=error,
            finished_at=now,
        )
        return "failed"
    subscriptions.give_back(consent_id)  # WeChat did not take it
    transient = errcode is None or errcode in TRANSIENT_ERRCODES
    waits = current_app.config["NOTICE_RETRY_SECONDS"]
    if transient and attempts <= len(waits):
        delay = waits[attempts - 1]
        _set(
            delivery_id,
            now,
            status="retrying",
            attempts=attempts,
            errcode=errcode,
            last_error=error,
            next_attempt_at=now + timedelta(seconds=delay),
        )
        return "retrying"
    _set(
        delivery_id,
        now,
        status="failed",
        attempts=attempts,
        errcode=errcode,
        last_error=error,
        finished_at=now,
    )
    return "failed"


# --- recovery ---------------------------------------------------------------------------------


def cancel_open(notice_id: int, now: datetime, first_id: int = 0, last_id: int = 2**31 - 1):
    """A withdrawn notice sends nothing more."""
    db.session.execute(
        update(_deliveries)
        .where(_in_batch(notice_id, first_id, last_id), _deliveries.c.status.in_(DELIVERY_OPEN))
        .values(status="cancelled", finished_at=now, updated_at=now)
    )


def mark_interrupted(now: datetime) -> int:
    """Rows claimed by a worker that died before recording the outcome: failed, not resent.

    `updated_at` stays the worker's last touch, so that settling the row does not count as
    progress of its notice (see stalled_notice_ids)."""
    done = db.session.execute(
        update(_deliveries)
        .where(_deliveries.c.status == "sending", _deliveries.c.claimed_at < now - SENDING_STALE)
        .values(status="failed", last_error="interrupted", finished_at=now)
    )
    return done.rowcount or 0


def stalled_notice_ids(now: datetime) -> list[int]:
    """Published notices with due rows that no job has touched for STALLED."""
    last_touch = func.max(_deliveries.c.updated_at)
    due = func.count().filter(_due(now - timedelta(seconds=30)))
    return list(
        db.session.scalars(
            select(_deliveries.c.notice_id)
            .join(Notice, Notice.id == _deliveries.c.notice_id)
            .where(Notice.status == "published")
            .group_by(_deliveries.c.notice_id)
            .having(due > 0, last_touch < now - STALLED)
            .order_by(_deliveries.c.notice_id)
        )
    )
