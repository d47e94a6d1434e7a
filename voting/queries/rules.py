"""The counting rules: what a count of ballots decides, estate by estate (pure: no database).

`voting.queries.tally` reads the count with SQL; `evaluate` turns it into the result the tally
row keeps. The rules (docs/gate.md says them for people):
- Every counted ballot is one the household cast last before the close; weights are frozen
  when the consultation opens: 1 per household, its verified members (persons), or its
  exclusive floor area.
- Every kind is counted per estate (建筑区划), by the estate of the household's electorate
  entry, and a consultation passes only when every estate passes (a bundled project's estates
  each decide on their own; pooling them would let a large, content estate carry a small,
  discontent one). The pooled totals are kept beside the estates' for reading.
- Plan satisfaction: participation = ballots / eligible; satisfaction = satisfied / ballots
  cast (the `ballots` reading, abstentions count as ballots that are not satisfied) or
  satisfied / every eligible (the stricter `households` reading), as the consultation's frozen
  `gate_basis` says. It passes when satisfaction reaches the threshold (default 9/10) and
  participation reaches the quorum (default 2/3), compared as exact fractions. No ballots, or
  no eligible weight: not passed.
- Owners' decision (Civil Code art. 278): at least the quorum (2/3) of the area AND of the
  owners must take part; `majority` needs more than half of the participating area AND owners
  to agree, `three_quarters` at least 3/4 of both (the consultation's `rule`, which its matter
  decided). Owners are counted by head under 法释〔2009〕7号 art. 9: one exclusive unit is one
  owner, but one owner of several units in the estate counts once (`owner_key`); the area sums
  per unit. An owner takes part when any of their units voted, and agrees only when every unit
  of theirs that voted agreed. Abstentions take part, but do not agree.
- Needs survey: items ranked by the number of households that picked them; it has no gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from api.core import rounded
from voting.models import Consultation, rule_of

HALF, THREE_QUARTERS = Fraction(1, 2), Fraction(3, 4)
DISPLAY_PLACES = "0.000001"  # rates in the figures, for reading; decisions use exact fractions


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


def _total(weights) -> Weights:
    total = Weights()
    for w in weights:
        total = total.add(w)
    return total


@dataclass
class Owners:
    """Owners by head, under 法释〔2009〕7号 art. 9: one exclusive unit is one owner, except
    that one owner of several units in the estate counts once. Counted for owners' decisions.

    `voted`: owners with at least one unit that voted; `agreeing`: of those, owners whose every
    voted unit agreed; `split`: of those, owners whose units did not all vote alike (they take
    part but do not agree: one person cannot both agree and not agree).
    """

    eligible: int = 0
    voted: int = 0
    agreeing: int = 0
    split: int = 0

    def add(self, other: Owners) -> Owners:
        return Owners(
            self.eligible + other.eligible,
            self.voted + other.voted,
            self.agreeing + other.agreeing,
            self.split + other.split,
        )


@dataclass
class EstateCount:
    """One estate's part of a count: its frozen eligible weights and what its ballots say."""

    estate_id: int
    name: str
    eligible: Weights
    by_choice: dict[str, Weights] = field(default_factory=dict)
    owners: Owners = field(default_factory=Owners)
    ranking: list[dict] = field(default_factory=list)


@dataclass
class Count:
    """What the ballots of one consultation say, pooled by choice and per estate.

    A count made by hand may give `by_choice` alone (no `estates`): it is then judged as one
    estate whose eligible weights are the consultation's, each household its own owner.
    """

    by_choice: dict[str, Weights] = field(default_factory=dict)
    changes: int = 0  # sum of ballot revisions: the freshness watermark
    estates: list[EstateCount] = field(default_factory=list)
    ranking: list[dict] = field(default_factory=list)

    def of(self, choice: str) -> Weights:
        return self.by_choice.get(choice, Weights())

    @property
    def voted(self) -> Weights:
        return _total(self.by_choice.values())


def _ratio(part: Fraction, whole: Fraction) -> Fraction | None:
    return None if whole == 0 else part / whole


def _shown(value: Fraction | None) -> float | None:
    return None if value is None else float(rounded(value, DISPLAY_PLACES))


@dataclass
class Result:
    passed: bool
    satisfaction_rate: Fraction | None
    participation_rate: Fraction | None
    counted: int
    eligible: int
    figures: dict


@dataclass
class Verdict:
    """The rule applied to one part of a count (an estate, or the pooled totals)."""

    passed: bool
    satisfaction: Fraction | None
    participation: Fraction | None
    figures: dict


def eligible_weights(consultation: Consultation) -> Weights:
    """The weights frozen when the consultation opened."""
    return Weights(
        consultation.eligible_households,
        consultation.eligible_persons,
        Fraction(Decimal(str(consultation.eligible_area))),
    )


def evaluate(consultation: Consultation, count: Count) -> Result:
    """Apply the consultation's rule to a count, estate by estate and pooled (pure: no
    database). The consultation passes only when every estate passes; `figures` keeps the
    pooled totals, each estate's figures (`estates`) and the ids of those that fail
    (`held_by`)."""
    eligible = eligible_weights(consultation)
    if count.estates:
        pooled_owners = Owners()
        for estate in count.estates:
            pooled_owners = pooled_owners.add(estate.owners)
    else:  # a count made by hand: one estate, each household its own owner
        voted = count.voted
        pooled_owners = Owners(
            eligible=eligible.households,
            voted=voted.households,
            agreeing=count.of("agree").households,
        )
    pooled = judge(consultation, eligible, count.by_choice, pooled_owners, count.ranking)
    estates = [
        (
            estate,
            judge(consultation, estate.eligible, estate.by_choice, estate.owners, estate.ranking),
        )
        for estate in count.estates
    ]
    gated = consultation.kind != "needs_survey"
    passed = pooled.passed if not estates else gated and all(v.passed for _, v in estates)
    figures = {"basis": consultation.basis}
    if consultation.kind == "plan_satisfaction":
        figures["gate_basis"] = _gate_basis(consultation)
    figures.update(pooled.figures)
    figures["estates"] = [
        {
            "estate_id": estate.estate_id,
            "name": estate.name,
            "passed": verdict.passed,
            "satisfaction_rate": _shown(verdict.satisfaction),
            "participation_rate": _shown(verdict.participation),
            **verdict.figures,
        }
        for estate, verdict in estates
    ]
    figures["held_by"] = [e.estate_id for e, v in estates if gated and not v.passed]
    return Result(
        passed=passed,
        satisfaction_rate=pooled.satisfaction,
        participation_rate=pooled.participation,
        counted=count.voted.households,
        eligible=eligible.households,
        figures=figures,
    )


def _gate_basis(consultation: Consultation) -> str:
    return "households" if consultation.gate_basis == "households" else "ballots"


def _weights(w: Weights, owners: int | None = None) -> dict:
    shown = {"households": w.households, "persons": w.persons, "floor_area": float(w.floor_area)}
    if owners is not None:
        shown["owners"] = owners
    return shown


def judge(
    consultation: Consultation,
    eligible: Weights,
    by_choice: dict[str, Weights],
    owners: Owners,
    ranking: list[dict] = (),
) -> Verdict:
    """The consultation's rule on one part of its count: an estate's, or the pooled totals
    (pure). `owners` is read by an owners' decision only, `ranking` by a needs survey only."""
    voted = _total(by_choice.values())
    basis = consultation.basis
    participation = _ratio(voted.by(basis), eligible.by(basis))
    of_owners = consultation.kind == "owners_decision"
    figures: dict = {
        "by_choice": {choice: _weights(w) for choice, w in sorted(by_choice.items())},
        "voted": _weights(voted, owners.voted if of_owners else None),
        "eligible": _weights(eligible, owners.eligible if of_owners else None),
    }
    if consultation.kind == "plan_satisfaction":
        # The quorum is met by households too, whatever the basis: by persons, a household
        # with no verified member weighs nothing, and 3 registered households of 100 would
        # otherwise be a full turnout.
        households_part = _ratio(Fraction(voted.households), Fraction(eligible.households))
        figures["participation_households"] = _shown(households_part)
        satisfied = by_choice.get("satisfied", Weights()).by(basis)
        if _gate_basis(consultation) == "households":
            satisfaction = _ratio(satisfied, eligible.by(basis))
        else:
            satisfaction = _ratio(satisfied, voted.by(basis))
        passed = (
            satisfaction is not None
            and participation is not None
            and satisfaction >= consultation.threshold
            and participation >= consultation.quorum
            and households_part is not None
            and households_part >= consultation.quorum
        )
    elif of_owners:
        agree = by_choice.get("agree", Weights())
        area_part = _ratio(voted.floor_area, eligible.floor_area)
        heads_part = _ratio(Fraction(owners.voted), Fraction(owners.eligible))
        area_yes = _ratio(agree.floor_area, voted.floor_area)
        heads_yes = _ratio(Fraction(owners.agreeing), Fraction(owners.voted))
        rule = consultation.rule or rule_of(consultation.matter)
        quorum_met = (
            area_part is not None
            and heads_part is not None
            and area_part >= consultation.quorum
            and heads_part >= consultation.quorum
        )
        if area_yes is None or heads_yes is None:
            agreed = False
        elif rule == "three_quarters":
            agreed = area_yes >= THREE_QUARTERS and heads_yes >= THREE_QUARTERS
        else:
            agreed = area_yes > HALF and heads_yes > HALF
        passed = quorum_met and agreed
        satisfaction = heads_yes
        figures["art278"] = {
            "matter": consultation.matter,
            "rule": rule,
            "agreeing_owners": owners.agreeing,
            "split_owners": owners.split,
            "participation_area": _shown(area_part),
            "participation_owners": _shown(heads_part),
            "agree_area_share": _shown(area_yes),
            "agree_owner_share": _shown(heads_yes),
            "quorum_met": quorum_met,
            "agreed": agreed,
        }
    else:  # needs_survey
        satisfaction, passed = None, False
        figures["ranking"] = list(ranking)
    return Verdict(passed, satisfaction, participation, figures)


def split_figures(figures: dict | None) -> tuple[dict, list[dict], list[int]]:
    """A tally's stored figures as the replies show them: the pooled totals, the estates'
    figures, and the ids of the estates that fail (a tally counted before estates were
    counted apart has neither: both empty)."""
    pooled = dict(figures or {})
    return pooled, pooled.pop("estates", []), pooled.pop("held_by", [])
