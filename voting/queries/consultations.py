"""Which consultations: a project's, and those whose time has come."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, or_, select

from api.core import db
from voting.models import Consultation, Tally


def project_consultations(project_id: int) -> list[Consultation]:
    """The project's consultations, newest first."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.project_id == project_id)
            .order_by(Consultation.id.desc())
        )
    )


def open_consultations(project_id: int) -> list[Consultation]:
    """The project's consultations open now, oldest first (a project's reply lists them)."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(Consultation.project_id == project_id, Consultation.status == "open")
            .order_by(Consultation.id)
        )
    )


# Built once, run with bound values; a project without a gate consultation binds gate_id NULL.
_OPEN_AND_GATE = (
    select(Consultation, Tally.counted)
    .outerjoin(Tally, Tally.consultation_id == Consultation.id)
    .where(
        or_(
            and_(
                Consultation.project_id == bindparam("project_id"),
                Consultation.status == "open",
            ),
            Consultation.id == bindparam("gate_id"),
        )
    )
    .order_by(Consultation.id)
)


def open_and_gate(project_id: int, gate_consultation_id: int | None) -> tuple[list, dict]:
    """In one statement, what a project's reply needs of its consultations: those open now,
    oldest first (`open_consultations`), and its gate consultation's status and counted
    ballots (id -> row with `status` and `counted`: `visibility.project_reasons` reads it)."""
    values = {"project_id": project_id, "gate_id": gate_consultation_id}
    rows = db.session.execute(_OPEN_AND_GATE, values).all()
    open_now = [c for c, _ in rows if c.project_id == project_id and c.status == "open"]
    gates = {
        c.id: SimpleNamespace(id=c.id, status=c.status, counted=counted)
        for c, counted in rows
        if c.id == gate_consultation_id
    }
    return open_now, gates


def due_to_open(now: datetime) -> list[int]:
    """Drafts whose open time has come."""
    return list(
        db.session.scalars(
            select(Consultation.id).where(
                Consultation.status == "draft", Consultation.opens_at <= now
            )
        )
    )


def due_to_close(now: datetime) -> list[int]:
    """Open consultations whose close time has passed."""
    return list(
        db.session.scalars(
            select(Consultation.id).where(
                Consultation.status == "open", Consultation.closes_at <= now
            )
        )
    )


def closing_within(now: datetime, window) -> list[Consultation]:
    """Open consultations that close after `now` and within `window` of it, by id."""
    return list(
        db.session.scalars(
            select(Consultation)
            .where(
                Consultation.status == "open",
                Consultation.closes_at > now,
                Consultation.closes_at <= now + window,
            )
            .order_by(Consultation.id)
        )
    )
