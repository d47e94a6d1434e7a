"""Inspection reports, problem tickets and their append-only history; the answer clock.

A supervisor's inspection (监督检查记录) that finds a problem, and any resident's problem report
(问题反映), open a ticket (问题工单) that the project owner must answer within 3 working days:

    open → answered → resolved          (the reporter confirms)
                    ↘ reopened → answered → …   (the reporter is not satisfied)

Every step is a `TicketEvent`; events are never changed or deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.core import LOCAL, UTCDateTime, choice_check, db, labels, utcnow
from feedback.models.uploads import Upload

ANSWER_WORKING_DAYS = 3

ASPECTS = tuple(labels.ASPECTS)
SEVERITIES = tuple(labels.SEVERITIES)
SOURCES = tuple(labels.TICKET_SOURCES)
TICKET_STATUSES = tuple(labels.TICKET_STATUSES)
AWAITING_ANSWER = ("open", "reopened")
EVENT_KINDS = tuple(labels.TICKET_EVENT_KINDS)
PHASES = tuple(labels.TICKET_PHASES)


def add_working_days(start: datetime, days: int = ANSWER_WORKING_DAYS) -> datetime:
    """`start` plus `days` working days (Monday to Friday) on the prefecture's clock, in UTC.

    Opened on a working day, the due time is the same time of day `days` working days later
    (Friday 10:00 → Wednesday 10:00). Opened at a weekend, the clock starts on Monday at 00:00
    (Saturday → Thursday 00:00, the end of Wednesday). Public holidays and the weekend days
    worked in exchange for them (调休) are not modelled: a ticket opened before the Spring
    Festival is due as if the holiday were working days.
    """
    local = start.astimezone(LOCAL)
    if local.weekday() >= 5:
        monday = local + timedelta(days=7 - local.weekday())
        local = monday.replace(hour=0, minute=0, second=0, microsecond=0)
    remaining = days
    while remaining:
        local += timedelta(days=1)
        if local.weekday() < 5:
            remaining -= 1
    return local.astimezone(UTC)


inspection_photos = Table(
    "inspection_photos",
    db.metadata,
    Column("inspection_id", ForeignKey("inspections.id"), primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True),
)

ticket_photos = Table(
    "ticket_photos",
    db.metadata,
    Column("ticket_id", ForeignKey("tickets.id"), primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True),
)

# The owner's photos of an answer (the repaired wall): shown to the ticket's reporter.
ticket_event_photos = Table(
    "ticket_event_photos",
    db.metadata,
    Column("ticket_event_id", ForeignKey("ticket_events.id"), primary_key=True),
    Column("upload_id", ForeignKey("uploads.id"), primary_key=True, index=True),
)


class Inspection(db.Model):
    """An accepted supervisor's inspection report (监督检查记录)."""

    __tablename__ = "inspections"
    __table_args__ = (choice_check("severity", SEVERITIES),)
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    signup_id: Mapped[int] = mapped_column(ForeignKey("supervisor_signups.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    aspects: Mapped[list] = mapped_column(JSON)
    findings: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    location: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    photos: Mapped[list[Upload]] = relationship(secondary=inspection_photos, order_by=Upload.id)
    ticket: Mapped[Ticket | None] = relationship(viewonly=True, uselist=False)

    @property
    def has_problem(self) -> bool:
        return self.severity != "none"


class Ticket(db.Model):
    """A problem ticket (问题工单) the project owner answers and the reporter closes."""

    __tablename__ = "tickets"
    __table_args__ = (
        choice_check("status", TICKET_STATUSES),
        choice_check("source", SOURCES),
        choice_check("severity", SEVERITIES),
        choice_check("phase", PHASES),
        Index("ix_tickets_project_status", "project_id", "status"),
        Index("ix_tickets_reporter", "reporter_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[str] = mapped_column(String(12))
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspections.id"), unique=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    aspects: Mapped[list] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="open")
    # Raised during the works, or in the warranty period after acceptance (保修期).
    phase: Mapped[str] = mapped_column(
        String(12), default="construction", server_default="construction"
    )
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    photos: Mapped[list[Upload]] = relationship(secondary=ticket_photos, order_by=Upload.id)
    events: Mapped[list[TicketEvent]] = relationship(order_by="TicketEvent.id", viewonly=True)

    def overdue(self, now: datetime) -> bool:
        """Waiting for the owner's answer past its due time."""
        return self.status in AWAITING_ANSWER and now > self.due_at


class TicketEvent(db.Model):
    """One step of a ticket, as it happened (append-only)."""

    __tablename__ = "ticket_events"
    __table_args__ = (choice_check("kind", EVENT_KINDS),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    body: Mapped[str | None] = mapped_column(Text)
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # an answer after the due time
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the clock this step set
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Written with the step, never changed after (an answer's photos).
    # Loaded with the steps in one statement (a ticket's detail lists every step's photos).
    photos: Mapped[list[Upload]] = relationship(
        secondary=ticket_event_photos, order_by=Upload.id, lazy="selectin"
    )


@event.listens_for(TicketEvent, "before_update")
@event.listens_for(TicketEvent, "before_delete")
def _events_are_history(mapper, connection, target):
    raise RuntimeError("ticket events are append-only")
