"""The closing reminder: 24 h before a consultation closes, voting announces it
(`consultation_closing`) with the households that have not voted yet; notices writes to them.

The announcement is made by the job scheduled at the opening and again by every reconcile run
until the close, so a lost job is made good; the listeners act once per consultation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from api.core import db, emit, utcnow
from voting.models import Consultation
from voting.queries.consultations import closing_within
from voting.queries.turnout import not_voted

REMIND_BEFORE = timedelta(hours=24)
# The scheduler may run the job a moment before its time.
EARLY_BY = timedelta(minutes=1)


def reminder_at(consultation: Consultation) -> datetime | None:
    """24 h before the close, for consultations open longer than that (a shorter one has just
    been announced; a reminder at once would only repeat it)."""
    if consultation.closes_at is None or consultation.opened_at is None:
        return None
    at = consultation.closes_at - REMIND_BEFORE
    return at if at >= consultation.opened_at else None


def remind(consultation_id: int, now: datetime | None = None) -> bool:
    """Announce `consultation_closing` if the consultation is still open, was open longer than
    24 h and closes within 24 h of `now`; whether it was announced. Flushes."""
    now = now or utcnow()
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or consultation.status != "open":
        return False
    at = reminder_at(consultation)
    if at is None or not (at - EARLY_BY <= now < consultation.closes_at):
        return False
    emit(
        "consultation_closing",
        consultation_id=consultation.id,
        project_id=consultation.project_id,
        title=consultation.title,
        closes_at=consultation.closes_at,
        households=not_voted(consultation.id),
    )
    return True


def due_reminders(now: datetime) -> list[int]:
    """The consultations whose reminder is due at `now`: open longer than 24 h and closing
    within 24 h."""
    return [c.id for c in closing_within(now, REMIND_BEFORE) if reminder_at(c) is not None]
