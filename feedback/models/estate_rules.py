"""An estate's management rules (小区管理办法, the estate's 管理规约), and residents' comments on
a draft.

    draft ──publish──► published ──(owners' decision on 管理规约 passed)──► adopted
                           │   └───(the decision failed)──────────────────► rejected
                           └──withdraw──► withdrawn

The committee writes a draft and publishes it; the estate's verified residents read it and
comment; an owners' decision (an `owners_decision` consultation on the matter
`management_statute`) adopts it. The adopted rules are shown to the estate's residents with the
date and the decision's result. A version never changes once published: a change is a new
version. Adopting a version supersedes the estate's earlier adopted one (`superseded_at`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, choice_check, db, labels, utcnow

RULES_STATUSES = tuple(labels.ESTATE_RULES_STATUSES)
COMMENT_STATUSES = tuple(labels.COMMENT_STATUSES)


class EstateRules(db.Model):
    """One version of an estate's management rules (小区管理办法)."""

    __tablename__ = "estate_rules"
    __table_args__ = (
        UniqueConstraint("estate_id", "version"),
        choice_check("status", RULES_STATUSES),
        Index("ix_estate_rules_estate_status", "estate_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comments_close_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The owners' decision on 管理规约 that adopts (or rejected) it, and what it said for this
    # estate, copied when the result was recorded (the estate's figures of the final tally).
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict | None] = mapped_column(JSON)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RulesComment(db.Model):
    """A resident's comment on a published draft of the rules, checked by WeChat's content
    check like any comment (`COMMENT_STATUSES`) before others see it."""

    __tablename__ = "rules_comments"
    __table_args__ = (
        choice_check("status", COMMENT_STATUSES),
        Index("ix_rules_comments_rules_status", "rules_id", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    rules_id: Mapped[int] = mapped_column(ForeignKey("estate_rules.id"))
    # None once the author's personal data is erased.
    author_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    check_attempts: Mapped[int] = mapped_column(Integer, default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply: Mapped[str | None] = mapped_column(Text)  # the committee's answer, shown with it
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
