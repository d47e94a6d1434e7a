"""Residents' contributions (居民出资, 谁受益、谁出资): a project's contribution schemes, each
household's frozen amount, its pledge, its account of payments, and the project's spending.

Money is integer fen (分) throughout: no float ever holds an amount.

    draft ──(a passed owners' decision on the scheme's art. 278 matter)──► adopted ──► cancelled
      └──────────────────────────────────────────────────────────────────────────────► cancelled

A draft collects nothing. Adoption freezes every household's amount (`ContributionDue`); the
pledges and the entries of the households' accounts point at those frozen rows with composite
foreign keys, so no pledge or payment can be written for a scheme that was never adopted, even
if the Python check were skipped. Entries are never changed: a correction or a refund is a new
entry (the table is append-only, enforced here and by a trigger on PostgreSQL).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from api.core import UTCDateTime, choice_check, db, labels, utcnow

BASES = tuple(labels.CONTRIBUTION_BASES)
SCHEME_STATUSES = tuple(labels.CONTRIBUTION_STATUSES)
SCHEME_MATTERS = tuple(labels.CONTRIBUTION_MATTERS)
PLEDGE_CHOICES = tuple(labels.PLEDGE_CHOICES)
ENTRY_KINDS = tuple(labels.CONTRIBUTION_ENTRY_KINDS)
PAYMENT_CHANNELS = tuple(labels.PAYMENT_CHANNELS)
PAYMENT_SOURCES = tuple(labels.PAYMENT_SOURCES)
ROUNDING = "half_up"


class ContributionScheme(db.Model):
    """A contribution scheme (居民出资方案) of a project, proposed by staff.

    `rate_fen` is fen per m² of the roster's floor area (`floor_area`) or fen per household
    (`household`). The households are those of the project's estates, or of `building_ids` only
    when given (an elevator is paid by its building). `plan_item_id` names the plan item the
    money is for; None: the whole plan. `funding_line_id` is the project's funding line the
    scheme's total is shown against.
    """

    __tablename__ = "contribution_schemes"
    __table_args__ = (
        choice_check("basis", BASES),
        choice_check("status", SCHEME_STATUSES),
        choice_check("matter", SCHEME_MATTERS),
        CheckConstraint("rate_fen > 0", name="rate_positive"),
        CheckConstraint(
            "status = 'draft' OR adopted_at IS NOT NULL OR cancelled_at IS NOT NULL", name="dated"
        ),
        CheckConstraint("status != 'cancelled' OR cancelled_at IS NOT NULL", name="cancel_dated"),
        # One owners' decision adopts one scheme.
        Index(
            "uq_contribution_schemes_adopting_decision",
            "decision_id",
            unique=True,
            postgresql_where=sql_text("adopted_at IS NOT NULL"),
            sqlite_where=sql_text("adopted_at IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(String(12))
    rate_fen: Mapped[int] = mapped_column(BigInteger)
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("plan_items.id"))
    building_ids: Mapped[list] = mapped_column(JSON, default=list)
    funding_line_id: Mapped[int | None] = mapped_column(ForeignKey("funding_lines.id"))
    due_on: Mapped[date] = mapped_column(Date)
    matter: Mapped[str] = mapped_column(String(30), default="raise_maintenance_fund")
    # The owners' decision (an `owners_decision` consultation on `matter`) that adopts it.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("consultations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # When the terms the owners decide on (basis, rate, households, item, line, due date,
    # matter) were last set: the adopting decision must have been drawn up after it.
    terms_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ContributionDue(db.Model):
    """A household's amount under an adopted scheme, frozen at the adoption with the floor area
    it was computed from (the roster may change later; what was decided does not)."""

    __tablename__ = "contribution_dues"
    __table_args__ = (
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        Index("ix_contribution_dues_scheme_building", "scheme_id", "building_id"),
    )
    scheme_id: Mapped[int] = mapped_column(ForeignKey("contribution_schemes.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estates.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"))
    floor_area: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class ContributionPledge(db.Model):
    """A household's answer to an adopted scheme: it pledges (承诺) to pay, or declines with a
    reason. One per household and scheme; the latest answer stands."""

    __tablename__ = "contribution_pledges"
    __table_args__ = (
        ForeignKeyConstraint(
            ["scheme_id", "household_id"],
            ["contribution_dues.scheme_id", "contribution_dues.household_id"],
        ),
        choice_check("choice", PLEDGE_CHOICES),
        CheckConstraint("choice = 'pledged' OR reason IS NOT NULL", name="decline_has_reason"),
    )
    scheme_id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(primary_key=True)
    choice: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # recorded at the desk
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContributionEntry(db.Model):
    """One entry of a household's contribution account (append-only).

    `payment` (> 0) money received; `refund` (< 0) money paid back (a cancelled scheme, or an
    overpayment); `correction` (≠ 0) mends an earlier entry (`corrects_id`), never by editing it.
    The household's paid amount is the sum of its entries. `idempotency_key` is the entry's
    identity given by whoever records it (the console makes one per form; an adapter its
    transaction id): the same key twice is one entry, so two clerks submitting the same payment
    at once record it once.
    """

    __tablename__ = "contribution_entries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["scheme_id", "household_id"],
            ["contribution_dues.scheme_id", "contribution_dues.household_id"],
        ),
        UniqueConstraint("scheme_id", "idempotency_key"),
        choice_check("kind", ENTRY_KINDS),
        choice_check("channel", PAYMENT_CHANNELS),
        choice_check("source", PAYMENT_SOURCES),
        CheckConstraint(
            "(kind = 'payment' AND amount_fen > 0) OR (kind = 'refund' AND amount_fen < 0)"
            " OR (kind = 'correction' AND amount_fen <> 0 AND corrects_id IS NOT NULL)",
            name="amount_sign",
        ),
        Index("ix_contribution_entries_scheme_household", "scheme_id", "household_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    receipt_no: Mapped[str | None] = mapped_column(String(40))
    photo_upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("contribution_entries.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10), default="clerk")
    external_ref: Mapped[str | None] = mapped_column(String(64))  # an adapter's transaction id
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectExpense(db.Model):
    """Money a project spent from one of its funding lines (支出), for the publicity of spending
    against the lines. Append-only: a correction is a new entry with a negative amount that
    names the entry it corrects."""

    __tablename__ = "project_expenses"
    __table_args__ = (
        CheckConstraint(
            "amount_fen > 0 OR (amount_fen < 0 AND corrects_id IS NOT NULL)", name="amount_sign"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    funding_line_id: Mapped[int] = mapped_column(ForeignKey("funding_lines.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    spent_on: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200))
    voucher_upload_id: Mapped[int | None] = mapped_column(ForeignKey("uploads.id"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("project_expenses.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(ContributionEntry, "before_update")
@event.listens_for(ContributionEntry, "before_delete")
@event.listens_for(ProjectExpense, "before_update")
@event.listens_for(ProjectExpense, "before_delete")
def _entries_are_history(mapper, connection, target):
    raise RuntimeError("contribution entries and expenses are append-only")
