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

    The count runs without any row lock: ballots keep bumping the tally row's change counter
    meanwhile (`voting.service.ballots`), and a count that held that row would hold every
    ballot of the consultation for as long as it counts. Only then are the rows locked, briefly:
    the project's row first (for a gate consultation) and the tally row last, so that the tally
    row is held from its lock to the commit with nothing to wait for in between. The count is
    written only if it is not older than the one stored: its watermark (`count.changes`, read
    in the aggregate's own snapshot) only grows, so a slower, older count, one that saw fewer
    changes, or saw the same changes before the close, never overwrites a newer one. The
    first final count of a project's gate consultation emits `gate_final`. Flushes; the
    caller commits.
    """
    consultation = db.session.scalar(
        select(Consultation)
        .where(Consultation.id == consultation_id)
        .execution_options(populate_existing=True)
    )
    if consultation is None:
        return None
    # The status is read before the ballots: if it says closed, every ballot is in the count.
    final = consultation.status == "closed"
    count = count_ballots(consultation_id, consultation.kind)
    if count.changes is None:  # no tally row: never opened
        return None
    result = evaluate(consultation, count)
    project = db.session.get(Project, consultation.project_id)
    gate = project.gate_consultation_id == consultation_id
    if gate:
        _lock(select(Project).where(Project.id == project.id))
        gate = project.gate_consultation_id == consultation_id  # as it stands, locked
    tally = _lock(select(Tally).where(Tally.consultation_id == consultation_id))
    if _older(count.changes, final, tally):
        return tally
    became_final = final and not tally.final
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
    if gate:
        project.plan_satisfaction_rate = tally.satisfaction_rate
        project.participation_rate = tally.participation_rate
        project.gate_passed = result.passed
        project.gate_final = final
        project.gate_computed_at = now
    db.session.flush()
    if became_final and gate:
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


def _lock(statement):
    """The row, locked FOR NO KEY UPDATE (what an UPDATE of it takes: foreign-key checks of
    other rows pointing at it do not wait), freshly read."""
    return db.session.scalar(
        statement.with_for_update(key_share=True).execution_options(populate_existing=True)
    )


def _older(changes: int, final: bool, tally: Tally) -> bool:
    """Whether a count that saw `changes` ballot changes (and the close, if `final`) is older
    than the one the locked tally row holds. The change counter only grows, so fewer changes
    means an older snapshot; with as many, a count made before the close is older than one
    made after it. An equal count is written again (it says the same)."""
    if tally.computed_at is None:
        return False
    if changes != tally.changes_seen:
        return changes < tally.changes_seen
    return tally.final and not final
