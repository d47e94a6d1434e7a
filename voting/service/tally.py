"""The tally written down: the count of a consultation's ballots, and the project's gate fields.

The database is the source of truth and the tally is derived: recomputing changes nothing
unless the ballots changed, so it is safe to run twice and from anywhere (the tally job, the
reconciler, the demo).
"""

from __future__ import annotations

from sqlalchemy import select

from api.core import db, emit, rounded, utcnow
from participation.models import Project
from voting.models import Consultation, Tally
from voting.queries.rules import evaluate
from voting.queries.tally import count_ballots

RATE_PLACES = "0.000001"  # the tally's and the project's rate columns: Numeric(7, 6)


def recompute(consultation_id: int) -> Tally | None:
    """Count the consultation's ballots, estate by estate, and write the tally (and the
    project's gate fields: the pooled rates, and passed only when every estate passes).

    Tallies of one consultation are serialised by a row lock on its tally row, so a slower,
    older count never overwrites a newer one. The first final count of a project's gate
    consultation emits `gate_final`. Flushes; the caller commits.
    """
    tally = db.session.scalar(
        select(Tally)
        .where(Tally.consultation_id == consultation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if tally is None:  # never opened
        return None
    consultation = db.session.scalar(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .execution_options(populate_existing=True)
    )
    # The status is read before the ballots: if it says closed, every ballot is in the count.
    final = consultation.status == "closed"
    became_final = final and not tally.final
    count = count_ballots(consultation_id, consultation.kind)
    result = evaluate(consultation, count)
    now = utcnow()
    tally.computed_at = now
    tally.changes_seen = count.changes
    tally.final = final
    tally.passed = result.passed
    tally.satisfaction_rate = rounded(result.satisfaction_rate, RATE_PLACES)
    tally.participation_rate = rounded(result.participation_rate, RATE_PLACES)
    tally.counted = result.counted
    tally.eligible = result.eligible
    tally.figures = result.figures
    tally.runs = (tally.runs or 0) + 1
    project = db.session.get(Project, consultation.project_id)
    if project.gate_consultation_id == consultation_id:
        project.plan_satisfaction_rate = tally.satisfaction_rate
        project.participation_rate = tally.participation_rate
        project.gate_passed = result.passed
        project.gate_final = final
        project.gate_computed_at = now
    db.session.flush()
    if became_final and project.gate_consultation_id == consultation_id:
        emit(
            "gate_final",
            project_id=project.id,
            consultation_id=consultation_id,
            title=consultation.title,
            threshold=rounded(consultation.threshold, RATE_PLACES),
            quorum=rounded(consultation.quorum, RATE_PLACES),
            passed=result.passed,
            satisfaction_rate=tally.satisfaction_rate,
            participation_rate=tally.participation_rate,
        )
    return tally
