"""Notices, the households they reach, read receipts, subscription consents and deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, choice_check, db, labels, utcnow

# The categories, labelled in api.core.labels (the label is also the message's thing3); staff
# publish the first six, the others are written by the events that publish by themselves.
CATEGORIES = tuple(labels.NOTICE_CATEGORIES)
STAFF_CATEGORIES = CATEGORIES[:6]
TARGET_KINDS = tuple(labels.NOTICE_TARGET_KINDS)
STATUSES = tuple(labels.NOTICE_STATUSES)
# pending: waiting for its batch; sending: claimed, the call to WeChat under way; the rest are
# outcomes (retrying comes back to sending at next_attempt_at).
DELIVERY_STATUSES = (
    "pending",
    "sending",
    "sent",
    "no_consent",
    "failed",
    "retrying",
    "cancelled",
)
DELIVERY_OPEN = ("pending", "retrying")


class Notice(db.Model):
    """A notice (公告): written by staff, or by an event, for the households of a place.

    The target is one of: a community, an estate, some buildings of one estate, a project (its
    estates), or one resident (the reporter of an inspection ticket). `county_id`,
    `community_id`, `estate_id` and `project_id` are kept so that scope checks and staff lists
    are plain SQL; `building_ids` holds the chosen buildings. The households reached are frozen
    in `NoticeTarget` when it is published. `event_key` names the event that wrote a system
    notice (UNIQUE), so an event publishes once however often it is reported.
    """

    __tablename__ = "notices"
    __table_args__ = (
        choice_check("category", CATEGORIES),
        choice_check("target_kind", TARGET_KINDS),
        choice_check("status", STATUSES),
        CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published"),
        CheckConstraint("status <> 'scheduled' OR publish_at IS NOT NULL", name="scheduled"),
        CheckConstraint("status <> 'withdrawn' OR withdrawn_at IS NOT NULL", name="withdrawn"),
        CheckConstraint(
            "(target_kind = 'resident') = (recipient_id IS NOT NULL)", name="recipient"
        ),
        Index("ix_notices_status_publish_at", "status", "publish_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    pinned: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    target_kind: Mapped[str] = mapped_column(String(12))
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estates.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    building_ids: Mapped[list | None] = mapped_column(JSON)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    event_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def category_label(self) -> str:
        return labels.NOTICE_CATEGORIES[self.category]

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class NoticeTarget(db.Model):
    """A household a published notice reached, as the roster stood when it was published."""

    __tablename__ = "notice_targets"
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("households.id"), primary_key=True, index=True
    )


class NoticeRead(db.Model):
    """A resident opened the notice (已读); the first time counts."""

    __tablename__ = "notice_reads"
    __table_args__ = (UniqueConstraint("notice_id", "resident_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubscriptionConsent(db.Model):
    """One acceptance of a message template in the mini-program (订阅消息授权): WeChat lets
    the service send that user one message of that template per acceptance.

    Spent when a message is sent (`spent_by_delivery_id`). Spent with no delivery means WeChat
    said the user has no acceptance left (errcode 43101), which voids what we had counted.
    """

    __tablename__ = "subscription_consents"
    __table_args__ = (
        Index(
            "ix_subscription_consents_unspent",
            "resident_id",
            "template_id",
            postgresql_where=text("spent_at IS NULL"),
            sqlite_where=text("spent_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    template_id: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    spent_by_delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))


class Delivery(db.Model):
    """One notice sent (or not) to one resident as a WeChat subscription message.

    UNIQUE (notice, resident): whatever job runs, and however often, a resident gets a notice
    at most once. A job claims the row (pending/retrying → sending) before it calls WeChat and
    records the outcome after; a row left `sending` by a killed worker is never sent again.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "resident_id"),
        choice_check("status", DELIVERY_STATUSES),
        Index("ix_deliveries_status", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    errcode: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    msgid: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
