"""What an owners' decision (业主共同决定, Civil Code art. 278) decided, estate by estate: the
answer voting gives the domains whose records a decision adopts (participation's contribution
schemes, feedback's estate rules), provided to them as `decision_outcome` (`api.core.provide`).

A decision has decided only once it is closed and its tally is final; each estate (建筑区划)
decides on its own, so an outcome names the estates that passed.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from api.core import db
from voting.models import Consultation, Tally


class DecisionOutcome(NamedTuple):
    consultation_id: int
    project_id: int
    title: str
    matter: str | None  # None: not an owners' decision
    rule: str | None
    status: str  # the consultation's: draft, open, closed
    final: bool  # closed and finally counted: what it decided stands
    passed: bool  # every estate passed (the final count's verdict; False until final)
    passed_estate_ids: frozenset[int]
    closed_at: datetime | None
    estates: list[dict]  # each estate's figures of the final count (estate_id, passed, rates)
    # When the decision was drawn up: a record it adopts must not have changed since.
    created_at: datetime | None = None


def outcome(consultation_id: int) -> DecisionOutcome | None:
    """The decision's outcome as its final tally states it; None when no such consultation.
    Before the final count `final` and `passed` are False and no estate has passed."""
    row = db.session.execute(
        select(Consultation, Tally)
        .outerjoin(Tally, Tally.consultation_id == Consultation.id)
        .where(Consultation.id == consultation_id)
    ).first()
    if row is None:
        return None
    consultation, tally = row
    final = consultation.status == "closed" and tally is not None and tally.final
    estates = list((tally.figures or {}).get("estates", [])) if final else []
    return DecisionOutcome(
        consultation_id=consultation.id,
        project_id=consultation.project_id,
        title=consultation.title,
        matter=consultation.matter,
        rule=consultation.rule,
        status=consultation.status,
        final=final,
        passed=final and bool(tally.passed),
        passed_estate_ids=frozenset(e["estate_id"] for e in estates if e.get("passed")),
        closed_at=consultation.closed_at,
        estates=estates,
        created_at=consultation.created_at,
    )
