"""Which consultations: a project's, and those whose time has come."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from api.core import db
from voting.models import Consultation


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
