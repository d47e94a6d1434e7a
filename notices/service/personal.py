"""What notices holds about a resident: what `GET /me/export` shows of it (`export`) and what
erasing the resident does to it (`erase`, registered with
`participation.service.erasure.register_eraser`).

`SOURCES` names the columns pointing at the resident that each section is read from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from api.core import db, utcnow
from notices.models import DELIVERY_OPEN, Delivery, Notice, NoticeRead, SubscriptionConsent

SOURCES = {
    "subscription_consents": ("subscription_consents.resident_id",),
    "notices_read": ("notice_reads.resident_id",),
    "notices_to_me": ("notices.recipient_id",),
    "messages": ("deliveries.resident_id",),
}


def export(resident_id: int) -> dict:
    """The resident's acceptances of message templates, the notices they opened, the notices
    written to them alone, and the WeChat messages sent (or not) to them."""
    consents = db.session.scalars(
        select(SubscriptionConsent)
        .where(SubscriptionConsent.resident_id == resident_id)
        .order_by(SubscriptionConsent.id)
    )
    reads = db.session.execute(
        select(NoticeRead, Notice.title)
        .join(Notice, Notice.id == NoticeRead.notice_id)
        .where(NoticeRead.resident_id == resident_id)
        .order_by(NoticeRead.id)
    )
    addressed = db.session.scalars(
        select(Notice).where(Notice.recipient_id == resident_id).order_by(Notice.id)
    )
    messages = db.session.scalars(
        select(Delivery).where(Delivery.resident_id == resident_id).order_by(Delivery.id)
    )
    return {
        "subscription_consents": [
            {"template_id": c.template_id, "accepted_at": c.accepted_at, "spent_at": c.spent_at}
            for c in consents
        ],
        "notices_read": [
            {"notice_id": read.notice_id, "title": title, "read_at": read.read_at}
            for read, title in reads
        ],
        "notices_to_me": [
            {
                "id": n.id,
                "category": n.category,
                "title": n.title,
                "body": n.body,
                "status": n.status,
                "published_at": n.published_at,
            }
            for n in addressed
        ],
        "messages": [
            {
                "notice_id": m.notice_id,
                "template_id": m.template_id,
                "status": m.status,
                "created_at": m.created_at,
                "finished_at": m.finished_at,
            }
            for m in messages
        ],
    }


def erase(resident_id: int, now: datetime | None = None) -> None:
    """Notices' part of an erasure: the resident's acceptances of message templates are
    deleted, and the messages still waiting to be sent to them are cancelled (WeChat would be
    sent the erased openid's tombstone). What they read, and the notices written to them, stay
    as the notices' record, pointing at a resident row that no longer names anyone."""
    now = now or utcnow()
    db.session.execute(
        update(Delivery)
        .where(Delivery.resident_id == resident_id, Delivery.status.in_(DELIVERY_OPEN))
        .values(status="cancelled", finished_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(SubscriptionConsent)
        .where(SubscriptionConsent.resident_id == resident_id)
        .execution_options(synchronize_session=False)
    )
