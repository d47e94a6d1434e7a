"""Counting: SQL aggregates over the ballots, the rules that turn them into a result, and which
tallies are stale.

The rules (docs/gate.md says them for people):
- Every counted ballot is one the household cast last before the close; weights are frozen
  when the consultation opens: 1 per household, its verified members (persons), or its
  exclusive floor area.
- Plan satisfaction: satisfaction = satisfied / all ballots (abstentions count as ballots that
  are not satisfied); participation = ballots / eligible. It passes when satisfaction reaches
  the threshold (default 9/10) and participation reaches the quorum (default 2/3), compared as
  exact fractions. No ballots, or no eligible weight: not passed.
- Owners' decision (Civil Code art. 278): at least the quorum (2/3) of the area AND of the
  households must take part; `majority` needs more than half of the participating area AND
  households to agree, `three_quarters` at least 3/4 of both. Abstentions take part, but do not
  agree.
- Needs survey: items ranked by the number of households that picked them; it has no gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, or_, select

from api.core import db
from participation.models import STATUSES as PROJECT_STATUSES
from participation.models import Project
from voting.models import Ballot, BallotPick, Consultation, Tally

HALF, THREE_QUARTERS = Fraction(1, 2), Fraction(3, 4)


@dataclass
class Weights:
    households: int = 0
    persons: int = 0
    floor_area: Fraction = Fraction(0)

    def by(self, basis: str) -> Fraction:
        return Fraction(getattr(self, basis))

    def add(self, other: Weights) -> Weights:
        return Weights(
            self.households + other.households,
            self.persons + other.persons,
            self.floor_area + other.floor_area,
        )


@dataclass
class Count:
    """What the ballots of one consultation say, read in one statement (one snapshot)."""

    by_choice: dict[str, Weights] = field(default_factory=dict)
    changes: int = 0  # sum of ballot revisions: the freshness watermark

    def of(self, choice: str) -> Weights:
        return self.by_choice.get(choice, Weights())

    @property
    def voted(self) -> Weights:
        total = Weights()
        for weights in self.by_choice.values():
            total = total.add(weights)
        return total


def count_ballots(consultation_id: int) -> Count:
    """Aggregate the ballots with SQL: one row per choice, never a ballot in Python."""
    rows = db.session.execute(
        select(
            Ballot.choice,
            func.count(),
            func.coalesce(func.sum(Ballot.weight_persons), 0),
            func.coalesce(func.sum(Ballot.weight_area), 0),
            func.coalesce(func.sum(Ballot.revision), 0),
        )
        .where(Ballot.consultation_id == consultation_id)
        .group_by(Ballot.choice)
    ).all()
    count = Count()
    for choice, households, persons, area, revisions in rows:
        count.by_choice[choice] = Weights(
            int(households), int(persons), Fraction(Decimal(str(area)))
        )
        count.changes += int(revisions)
    return count


def changes_now(consultation_id: int) -> int:
    """The current watermark: how many ballot changes the consultation has had."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Ballot.revision), 0)).where(
                Ballot.consultation_id == consultation_id
            )
        )
    )


def rank_needs(consultation_id: int) -> list[dict]:
    """A needs survey's items, most picked first: `{"item", "households"}` each."""
    rows = db.session.execute(
        select(BallotPick.item, func.count())
        .where(BallotPick.consultation_id == consultation_id)
        .group_by(BallotPick.item)
        .order_by(func.count().desc(), BallotPick.item)
    ).all()
    return [{"item": item, "households": int(n)} for item, n in rows]


def _ratio(part: Fraction, whole: Fraction) -> Fraction | None:
    return None if whole == 0 else part / whole


@dataclass
class Result:
    passed: bool
    satisfaction_rate: Fraction | None
    participation_rate: Fraction | None
    counted: int
    eligible: int
    figures: dict


def eligible_weights(consultation: Consultation) -> Weights:
    """The weights frozen when the consultation opened."""
    return Weights(
        consultation.eligible_households,
        consultation.eligible_persons,
        Fraction(Decimal(str(consultation.eligible_area))),
    )


def evaluate(consultation: Consultation, count: Count) -> Result:
    """Apply the consultation's rule to a count (pure: no database)."""
    eligible = eligible_weights(consultation)
    voted = count.voted
    basis = consultation.basis
    participation = _ratio(voted.by(basis), eligible.by(basis))
    figures: dict = {
        "basis": basis,
        "by_choice": {
            choice: {
                "households": w.households,
                "persons": w.persons,
                "floor_area": float(w.floor_area),
            }
            for choice, w in sorted(count.by_choice.items())
        },
        "voted": {
            "households": voted.households,
            "persons": voted.persons,
            "floor_area": float(voted.floor_area),
        },
        "eligible": {
            "households": eligible.households,
            "persons": eligible.persons,
            "floor_area": float(eligible.floor_area),
        },
    }

    if consultation.kind == "plan_satisfaction":
        satisfaction = _ratio(count.of("satisfied").by(basis), voted.by(basis))
        passed = (
            satisfaction is not None
            and participation is not None
            and satisfaction >= consultation.threshold
            and participation >= consultation.quorum
        )
    elif consultation.kind == "owners_decision":
        area_part = _ratio(voted.floor_area, eligible.floor_area)
        heads_part = _ratio(Fraction(voted.households), Fraction(eligible.households))
        agree = count.of("agree")
        area_yes = _ratio(agree.floor_area, voted.floor_area)
        heads_yes = _ratio(Fraction(agree.households), Fraction(voted.households))
        quorum_met = (
            area_part is not None
            and heads_part is not None
            and area_part >= consultation.quorum
            and heads_part >= consultation.quorum
        )
        if area_yes is None or heads_yes is None:
            agreed = False
        elif consultation.rule == "three_quarters":
            agreed = area_yes >= THREE_QUARTERS and heads_yes >= THREE_QUARTERS
        else:
            agreed = area_yes > HALF and heads_yes > HALF
        passed = quorum_met and agreed
        satisfaction = heads_yes
        figures["art278"] = {
            "rule": consultation.rule or "majority",
            "participation_area": float(area_part) if area_part is not None else None,
            "participation_households": float(heads_part) if heads_part is not None else None,
            "agree_area_share": float(area_yes) if area_yes is not None else None,
            "agree_household_share": float(heads_yes) if heads_yes is not None else None,
            "quorum_met": quorum_met,
            "agreed": agreed,
        }
    else:  # needs_survey
        satisfaction, passed = None, False
        figures["ranking"] = rank_needs(consultation.id)

    return Result(
        passed=passed,
        satisfaction_rate=satisfaction,
        participation_rate=participation,
        counted=voted.households,
        eligible=eligible.households,
        figures=figures,
    )


def stale_consultation_ids() -> list[int]:
    """Consultations whose tally misses ballots, or misses the close.

    Closed consultations with a final tally are left out (no ballot can reach them), except
    those a project's satisfaction gate still waits on: a final tally that somehow missed a
    ballot makes the gate refuse construction as `tally_pending`, and only a recount lifts it.
    """
    return list(db.session.scalars(_stale(Consultation.id)))


def stale_tallies() -> list[tuple[int, datetime]]:
    """(consultation id, when its tally was last computed) of each stale tally
    (`stale_consultation_ids`); a tally never computed counts from the opening."""
    since = func.coalesce(Tally.computed_at, Consultation.opened_at, Consultation.created_at)
    return [(row[0], row[1]) for row in db.session.execute(_stale(Consultation.id, since))]


def _stale(*columns):
    changes = (
        select(func.coalesce(func.sum(Ballot.revision), 0))
        .where(Ballot.consultation_id == Consultation.id)
        .scalar_subquery()
    )
    awaiting_gate = select(Project.gate_consultation_id).where(
        Project.gate_consultation_id.is_not(None),
        Project.status.in_(PROJECT_STATUSES[: PROJECT_STATUSES.index("construction")]),
    )
    return (
        select(*columns)
        .join(Tally, Tally.consultation_id == Consultation.id)
        .where(
            or_(
                Consultation.status == "open",
                Tally.final.is_(False),
                Tally.computed_at.is_(None),
                Consultation.id.in_(awaiting_gate),
            ),
            or_(
                Tally.computed_at.is_(None),
                Tally.final != (Consultation.status == "closed"),
                Tally.changes_seen != changes,
            ),
        )
        .order_by(Consultation.id)
    )
