"""Subscription consents (订阅消息授权): recorded when a resident accepts a template in the
mini-program, spent one per message sent, given back when WeChat did not take the message, and
voided when WeChat says the resident has none left. Functions flush, never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from api.core import InvalidInput, db, utcnow
from notices import queries
from notices.models import SubscriptionConsent
from participation.models import Resident

MAX_UNSPENT_PER_TEMPLATE = 100  # WeChat keeps counting; we stop recording beyond this

_consents = SubscriptionConsent.__table__


def record_subscriptions(resident: Resident, results: dict[str, str]) -> dict:
    """Record one consent per template the resident accepted (wx.requestSubscribeMessage's
    answer); "reject", "ban" and "filter" record nothing. Unknown template ids are a 422."""
    templates = queries.known_templates()
    unknown = sorted(set(results) - set(templates))
    if unknown:
        raise InvalidInput(
            "不认识的订阅消息模板", code="unknown_template", details={"template_ids": unknown}
        )
    now = utcnow()
    have = queries.unspent(resident)
    recorded = {}
    for template, answer in sorted(results.items()):
        if answer != "accept":
            continue
        if have.get(template, 0) >= MAX_UNSPENT_PER_TEMPLATE:
            recorded[template] = 0
            continue
        db.session.add(
            SubscriptionConsent(resident_id=resident.id, template_id=template, accepted_at=now)
        )
        recorded[template] = 1
    db.session.flush()
    return {"recorded": recorded, "unspent": queries.unspent(resident)}


def spend_consent(resident_id: int, template_id: str, delivery_id: int, now: datetime):
    """Spend the resident's oldest unspent consent for the template; its id, or None."""
    oldest = (
        select(_consents.c.id)
        .where(
            _consents.c.resident_id == resident_id,
            _consents.c.template_id == template_id,
            _consents.c.spent_at.is_(None),
        )
        .order_by(_consents.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return db.session.execute(
        update(_consents)
        .where(_consents.c.id == oldest, _consents.c.spent_at.is_(None))
        .values(spent_at=now, spent_by_delivery_id=delivery_id)
        .returning(_consents.c.id)
    ).scalar()


def give_back(consent_id: int) -> None:
    """WeChat did not take the message: the consent it spent is unspent again."""
    db.session.execute(
        update(_consents)
        .where(_consents.c.id == consent_id)
        .values(spent_at=None, spent_by_delivery_id=None)
    )


def void_unspent(resident_id, template_id: str, now: datetime) -> None:
    """WeChat says the resident has no acceptance of the template left: neither do we.
    `resident_id` is an id or a scalar subquery that gives one."""
    db.session.execute(
        update(_consents)
        .where(
            _consents.c.resident_id == resident_id,
            _consents.c.template_id == template_id,
            _consents.c.spent_at.is_(None),
        )
        .values(spent_at=now)
    )
