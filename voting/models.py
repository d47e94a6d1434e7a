"""Consultations, their frozen electorate, ballots with their audit trail, and tallies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, choice_check, db, labels, utcnow

KINDS = tuple(labels.CONSULTATION_KINDS)
STATUSES = tuple(labels.CONSULTATION_STATUSES)
BASES = tuple(labels.BASES)
RULES = tuple(labels.RULES)
CHANNELS = tuple(labels.CHANNELS)
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
MATTERS = tuple(labels.MATTERS)
# The gate's reading (the prefecture's GATE_BASIS, frozen into each consultation when created):
# satisfied ÷ ballots cast, or satisfied ÷ every eligible household.
GATE_BASES = tuple(labels.GATE_BASES)
DELEGATION_STATUSES = tuple(labels.DELEGATION_STATUSES)
RELATIONS = tuple(labels.RELATIONS)


rule_of = labels.rule_of  # the rule art. 278 gives a matter (kept here for voting's callers)


# The answers of each kind are those people read a label for; a needs survey's ballot records
# "picked" and carries its items instead.
CHOICES = {kind: tuple(answers) or ("picked",) for kind, answers in labels.CHOICES.items()}
# In the order of the migration's CHECK constraint.
ALL_CHOICES = ("satisfied", "unsatisfied", "agree", "disagree", "abstain", "picked")


class Consultation(db.Model):
    """A consultation of residents (征求意见): plan satisfaction, a needs survey, or an
    owners' decision under Civil Code art. 278 (业主共同决定).

    Thresholds are kept as exact fractions (numerator and denominator) so that 2/3 is 2/3.
    """

    __tablename__ = "consultations"
    __table_args__ = (
        choice_check("kind", KINDS),
        choice_check("status", STATUSES),
        choice_check("basis", BASES),
        choice_check("gate_basis", GATE_BASES),
        choice_check("matter", MATTERS),
        CheckConstraint("(kind = 'owners_decision') = (matter IS NOT NULL)", name="matter_kind"),
        CheckConstraint("threshold_num > 0 AND threshold_num <= threshold_den", name="threshold"),
        CheckConstraint("quorum_num >= 0 AND quorum_num <= quorum_den", name="quorum"),
        Index("ix_consultations_status", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    threshold_num: Mapped[int] = mapped_column(Integer, default=9)
    threshold_den: Mapped[int] = mapped_column(Integer, default=10)
    quorum_num: Mapped[int] = mapped_column(Integer, default=2)
    quorum_den: Mapped[int] = mapped_column(Integer, default=3)
    basis: Mapped[str] = mapped_column(String(12), default="households")
    rule: Mapped[str | None] = mapped_column(String(20))
    # Owners' decisions: the art. 278 matter, which decides `rule` (`rule_of`).
    matter: Mapped[str | None] = mapped_column(String(30))
    gate_basis: Mapped[str] = mapped_column(String(10), default="ballots", server_default="ballots")
    options: Mapped[list] = mapped_column(JSON, default=list)
    # Frozen with the electorate when the consultation opens.
    eligible_households: Mapped[int] = mapped_column(Integer, default=0)
    eligible_persons: Mapped[int] = mapped_column(Integer, default=0)
    eligible_area: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=0)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def threshold(self) -> Fraction:
        return Fraction(self.threshold_num, self.threshold_den)

    @property
    def quorum(self) -> Fraction:
        return Fraction(self.quorum_num, self.quorum_den)

    def is_due_to_close(self, now: datetime) -> bool:
        return self.status == "open" and self.closes_at is not None and self.closes_at <= now

    def accepts_ballots(self, now: datetime) -> bool:
        return self.status == "open" and not self.is_due_to_close(now)


class ElectorateEntry(db.Model):
    """A household eligible in a consultation, as it stood when the consultation opened."""

    __tablename__ = "electorate_entries"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    floor_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    members: Mapped[int] = mapped_column(Integer)
    # The owner of record, as a person: the lowest household id in the estate with the same
    # roster owner name and phone digits. One owner of several units counts once in an owners'
    # decision's headcount (法释〔2009〕7号 art. 9); no name is copied here.
    owner_key: Mapped[int | None] = mapped_column(Integer)


class ElectorMember(db.Model):
    """A resident who was a verified member of an eligible household at the opening."""

    __tablename__ = "elector_members"
    __table_args__ = (
        ForeignKeyConstraint(
            ["consultation_id", "household_id"],
            ["electorate_entries.consultation_id", "electorate_entries.household_id"],
        ),
    )
    consultation_id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(primary_key=True)
    # The claim's relation at the opening: only owners vote in an owners' decision.
    relation: Mapped[str] = mapped_column(String(10), default="owner", server_default="owner")


class Ballot(db.Model):
    """A household's current ballot (选票): one per household, the last before the close counts.

    `weight_area` and `weight_persons` are copied from the frozen electorate so that the tally
    reads one table. `revision` counts the changes, so the sum of revisions over a
    consultation equals its number of audit rows: the tally's freshness watermark.
    """

    __tablename__ = "ballots"
    __table_args__ = (
        UniqueConstraint("consultation_id", "household_id"),
        ForeignKeyConstraint(
            ["consultation_id", "household_id"],
            ["electorate_entries.consultation_id", "electorate_entries.household_id"],
        ),
        choice_check("choice", ALL_CHOICES),
        choice_check("channel", CHANNELS),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(12))
    item_opinions: Mapped[dict | None] = mapped_column(JSON)
    comment: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(10))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    weight_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    weight_persons: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # Cast by a delegate of the household's owner (a verified `Delegation`).
    delegated: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BallotPick(db.Model):
    """An item a household picked in a needs survey (replaced whole with each ballot)."""

    __tablename__ = "ballot_picks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["consultation_id", "household_id"],
            ["electorate_entries.consultation_id", "electorate_entries.household_id"],
        ),
    )
    consultation_id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(primary_key=True)
    item: Mapped[str] = mapped_column(String(40), primary_key=True)


class BallotChange(db.Model):
    """The append-only audit trail: every ballot cast or changed, by whom and how.

    It holds the choice for audits of the count; no endpoint shows it to staff.
    """

    __tablename__ = "ballot_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    household_id: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(12))
    picks: Mapped[list | None] = mapped_column(JSON)
    channel: Mapped[str] = mapped_column(String(10))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    evidence_url: Mapped[str | None] = mapped_column(String(500))  # rows before uploads
    evidence_upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    evidence_note: Mapped[str | None] = mapped_column(String(200))
    assisted_by: Mapped[str | None] = mapped_column(String(100))
    delegated: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sql_text("false")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delegation(db.Model):
    """An owner's vote in an owners' decision entrusted to another verified member of the
    household (委托投票), with a photo of the signed power of attorney (委托书).

    Recorded by the owner, or by the committee for an owner without a phone; it counts once the
    committee has verified it, and the owner (or the committee) may revoke it until the close.
    One live (pending or verified) delegation per consultation and household.
    """

    __tablename__ = "delegations"
    __table_args__ = (
        choice_check("status", DELEGATION_STATUSES),
        ForeignKeyConstraint(
            ["consultation_id", "household_id"],
            ["electorate_entries.consultation_id", "electorate_entries.household_id"],
        ),
        Index(
            "uq_delegations_live",
            "consultation_id",
            "household_id",
            unique=True,
            postgresql_where=sql_text("status IN ('pending', 'verified')"),
            sqlite_where=sql_text("status IN ('pending', 'verified')"),
        ),
        Index("ix_delegations_delegate", "consultation_id", "delegate_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))  # None: no phone
    delegate_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    power_of_attorney_upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    recorded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpinionReply(db.Model):
    """An official reply (官方回复) of the committee or the project owner to a resident's comment
    on a ballot: the ballot's comment (`plan_item_id` None) or its comment on one plan item.

    The comment replied to is copied, since a household may change its ballot later. No
    household identity is shown with either.
    """

    __tablename__ = "opinion_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), index=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    plan_item_id: Mapped[int | None] = mapped_column(Integer)
    comment_text: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tally(db.Model):
    """The latest count of a consultation, derived from its ballots by the tally job.

    The freshness watermark is two counters on this row. `changes` counts the ballot changes
    (every upsert of a ballot, a first ballot or a change, adds 1 in the ballot's own
    transaction: `voting.service.ballots`), so it always equals the sum of the ballots'
    revisions. `changes_seen` is the value of `changes` that the count read in the same
    statement as its aggregate (one statement, one snapshot: every ballot the count saw had
    bumped it). The tally is stale when `changes != changes_seen`: a read of this row alone,
    whatever the number of ballots; the reconciler recomputes what is stale.
    """

    __tablename__ = "tallies"
    consultation_id: Mapped[int] = mapped_column(ForeignKey("consultations.id"), primary_key=True)
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    changes_seen: Mapped[int] = mapped_column(Integer, default=0)
    final: Mapped[bool] = mapped_column(default=False)
    passed: Mapped[bool] = mapped_column(default=False)
    satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    participation_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    counted: Mapped[int] = mapped_column(Integer, default=0)
    eligible: Mapped[int] = mapped_column(Integer, default=0)
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    runs: Mapped[int] = mapped_column(Integer, default=0)
