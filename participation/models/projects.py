"""Renovation projects (改造项目), their funding, milestones and plan versions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import UTCDateTime, choice_check, db, labels, utcnow
from participation.models.registry import Estate

# The enumerations are the keys of the kernel's label tables (so none lacks its Chinese label),
# in their order: the lifecycle's for the statuses.
CATEGORIES = tuple(labels.PROJECT_CATEGORIES)  # 基础类、完善类、提升类
STATUSES = tuple(labels.PROJECT_STATUSES)
FUNDING_SOURCES = tuple(labels.FUNDING_SOURCES)
PLAN_ITEM_CATEGORIES = tuple(labels.PLAN_ITEM_CATEGORIES)
# kind -> (month, day, years relative to the plan year): the policy's deadlines.
_DEADLINES = {
    "preparation": (12, 30, -1),  # reserve, feasibility, design, drawings: Dec 30 the year before
    "approval_and_start": (4, 30, 0),  # approvals done and works started by Apr 30
    "works_finished": (10, 30, 0),  # works finished by Oct 30
    "completion_acceptance": (12, 30, 0),  # completion acceptance by Dec 30
}
# The milestone kinds are those the kernel's labels name (so none lacks its Chinese label), in
# their order, each with its deadline.
MILESTONES = {kind: _DEADLINES[kind] for kind in labels.MILESTONES}


project_estates = db.Table(
    "project_estates",
    db.Column("project_id", ForeignKey("projects.id"), primary_key=True),
    db.Column("estate_id", ForeignKey("estates.id"), primary_key=True, index=True),
)


class Project(db.Model):
    """A renovation project (改造项目) covering one estate or several bundled ones (捆绑打包).

    The satisfaction fields are written only by the tally job, from the current plan's
    consultation; they are a cache of what the ballots say, never the source.
    """

    __tablename__ = "projects"
    __table_args__ = (
        choice_check("category", CATEGORIES),
        choice_check("status", STATUSES),
        CheckConstraint("warranty_years BETWEEN 0 AND 10", name="warranty_years_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("counties.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    plan_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="reserve")
    supervisor_cap: Mapped[int] = mapped_column(Integer, default=10)
    plan_satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    participation_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    gate_passed: Mapped[bool] = mapped_column(default=False)
    gate_final: Mapped[bool] = mapped_column(default=False)
    gate_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gate_consultation_id: Mapped[int | None] = mapped_column(Integer)
    # Completion satisfaction, written by the feedback domain's job from the ratings.
    rating_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_satisfaction_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    completion_means: Mapped[dict | None] = mapped_column(JSON)
    completion_ratings: Mapped[int] = mapped_column(Integer, default=0)
    completion_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The warranty period (保修期) after acceptance, in which residents still report defects of
    # the works; `warranty_ends_on` is set when the project is accepted (and follows a change of
    # `warranty_years` after that).
    warranty_years: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    warranty_ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    estates: Mapped[list[Estate]] = relationship(secondary=project_estates, order_by=Estate.id)
    funding: Mapped[list[FundingLine]] = relationship(
        cascade="all, delete-orphan", order_by="FundingLine.id"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        cascade="all, delete-orphan", order_by="Milestone.due_on"
    )
    plans: Mapped[list[Plan]] = relationship(order_by="Plan.version", viewonly=True)
    transitions: Mapped[list[ProjectTransition]] = relationship(
        order_by="(ProjectTransition.at, ProjectTransition.id)", viewonly=True
    )

    def county_id_for_scope(self) -> int:
        """The county an `owner` grant on this project lies in."""
        return self.county_id

    @property
    def current_plan(self) -> Plan | None:
        return self.plans[-1] if self.plans else None


class FundingLine(db.Model):
    """One source of a project's money (资金来源)."""

    __tablename__ = "funding_lines"
    __table_args__ = (
        choice_check("source", FUNDING_SOURCES),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    source: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(String(200))


class Milestone(db.Model):
    """A deadline of the policy for one project, and the date it was actually met."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("project_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    due_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)

    def overdue(self, today: date) -> bool:
        """Not met by its due date: still open after it, or met late."""
        if self.done_on is not None:
            return self.done_on > self.due_on
        return today > self.due_on


class ProjectTransition(db.Model):
    """The audit trail of a project's lifecycle."""

    __tablename__ = "project_transitions"
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Plan(db.Model):
    """A numbered version of a project's renovation plan (改造方案).

    A version never changes once written; a change is a new version. `put_to_residents_at`
    records when a consultation first opened on it.
    """

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("project_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    put_to_residents_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[PlanItem]] = relationship(
        cascade="all, delete-orphan", order_by="PlanItem.position"
    )

    @property
    def total_cost(self) -> Decimal:
        return sum((i.estimated_cost for i in self.items), Decimal("0"))


class PlanItem(db.Model):
    """One piece of work in a plan version."""

    __tablename__ = "plan_items"
    __table_args__ = (
        UniqueConstraint("plan_id", "position"),
        choice_check("category", PLAN_ITEM_CATEGORIES),
        CheckConstraint("estimated_cost >= 0", name="cost_not_negative"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    estimated_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    attachments: Mapped[list] = mapped_column(JSON, default=list)
