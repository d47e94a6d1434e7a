"""Counting: SQL aggregates over the ballots, per estate (建筑区划), and which tallies are stale.

The rules that turn a count into a result are `voting.queries.rules` (pure, no database);
docs/gate.md says them for people.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import and_, case, func, literal, or_, select, true

from api.core import db
from participation.models import STATUSES as PROJECT_STATUSES
from participation.models import Estate, Project
from voting.models import Ballot, BallotPick, Consultation, ElectorateEntry, Tally
from voting.queries.rules import Count, EstateCount, Owners, Weights


def _area(value) -> Fraction:
    return Fraction(Decimal(str(value)))


def count_ballots(consultation_id: int, kind: str = "plan_satisfaction") -> Count:
    """Aggregate the ballots with SQL, per estate: never a ballot in Python.

    The ballots are read in one statement: one row per estate and choice, with, for an
    owners' decision, the owners who took part and agreed, and the consultation's change
    counter (`Tally.changes`) read by that same statement. Under READ COMMITTED one statement
    is one snapshot, and a ballot bumps the counter in its own transaction, so `count.changes`
    is exactly the number of ballot changes this count saw: the watermark the tally stores as
    `changes_seen`. It is None when the consultation has no tally row (never opened). The
    estates' eligible weights come from the frozen electorate; a needs survey's picks are
    ranked per estate.
    """
    estates = _eligible_by_estate(consultation_id)
    count = Count()
    count.changes = None
    for changes, estate_id, choice, weights, owners in _ballots_by_estate(
        consultation_id, owners=kind == "owners_decision"
    ):
        count.changes = changes
        if estate_id is None:  # the tally row alone: no ballot yet
            continue
        estate = estates[estate_id]
        estate.by_choice[choice] = weights
        estate.owners = estate.owners.add(owners)
        count.by_choice[choice] = count.of(choice).add(weights)
    if kind == "needs_survey":
        count.ranking = _rank_needs(consultation_id, estates)
    count.estates = list(estates.values())
    return count


def _eligible_by_estate(consultation_id: int) -> dict[int, EstateCount]:
    """Each estate of the frozen electorate with its eligible weights and owners."""
    entry = ElectorateEntry
    rows = db.session.execute(
        select(
            entry.estate_id,
            Estate.name,
            func.count(),
            func.coalesce(func.sum(entry.members), 0),
            func.coalesce(func.sum(entry.floor_area), 0),
            func.count(func.distinct(func.coalesce(entry.owner_key, entry.household_id))),
        )
        .join(Estate, Estate.id == entry.estate_id)
        .where(entry.consultation_id == consultation_id)
        .group_by(entry.estate_id, Estate.name)
        .order_by(entry.estate_id)
    ).all()
    return {
        estate_id: EstateCount(
            estate_id,
            name,
            Weights(int(households), int(persons), _area(area)),
            owners=Owners(eligible=int(owners)),
        )
        for estate_id, name, households, persons, area, owners in rows
    }


def _ballots_by_estate(consultation_id: int, *, owners: bool):
    """(changes, estate id, choice, weights, owners) per estate and choice, in one statement.

    The aggregate is outer-joined to the consultation's tally row, so the statement reads the
    change counter in the snapshot of the aggregate, and still answers one row (estate None)
    when there is no ballot yet; no row at all when there is no tally row.

    For an owners' decision each ballot is first seen with its owner's other units (window
    functions over the owner's units in the estate): the owner's first unit (by household id)
    carries the owner once into the head count, so summing over the choices of an estate gives
    each owner once; the owner agrees when the least and the greatest choice of their units
    are both `agree`, and is split when they differ.
    """
    entry = ElectorateEntry
    of_entry = and_(
        entry.consultation_id == Ballot.consultation_id,
        entry.household_id == Ballot.household_id,
    )
    if owners:
        owner = func.coalesce(entry.owner_key, entry.household_id)
        units = {"partition_by": (entry.estate_id, owner)}
        per_unit = (
            select(
                entry.estate_id.label("estate_id"),
                Ballot.choice.label("choice"),
                Ballot.weight_persons.label("persons"),
                Ballot.weight_area.label("area"),
                func.row_number().over(**units, order_by=Ballot.household_id).label("nth"),
                func.min(Ballot.choice).over(**units).label("least"),
                func.max(Ballot.choice).over(**units).label("greatest"),
            )
            .join(entry, of_entry)
            .where(Ballot.consultation_id == consultation_id)
            .subquery()
        )
        first = per_unit.c.nth == 1
        agrees = and_(first, per_unit.c.least == "agree", per_unit.c.greatest == "agree")
        split = and_(first, per_unit.c.least != per_unit.c.greatest)
        source, estate_id, choice = per_unit, per_unit.c.estate_id, per_unit.c.choice
        persons, area = per_unit.c.persons, per_unit.c.area
        heads = [
            func.sum(case((first, 1), else_=0)),
            func.sum(case((agrees, 1), else_=0)),
            func.sum(case((split, 1), else_=0)),
        ]
        mine = []  # the subquery picked the consultation's ballots
    else:
        source = Ballot.__table__.join(entry.__table__, of_entry)
        estate_id, choice = entry.estate_id, Ballot.choice
        persons, area = Ballot.weight_persons, Ballot.weight_area
        heads = [literal(0), literal(0), literal(0)]
        mine = [Ballot.consultation_id == consultation_id]
    aggregate = (
        select(
            estate_id.label("estate_id"),
            choice.label("choice"),
            func.count().label("households"),
            func.coalesce(func.sum(persons), 0).label("persons"),
            func.coalesce(func.sum(area), 0).label("area"),
            *(head.label(f"head_{i}") for i, head in enumerate(heads)),
        )
        .select_from(source)
        .where(*mine)
        .group_by(estate_id, choice)
        .subquery()
    )
    rows = db.session.execute(
        select(Tally.changes, *aggregate.c)
        .select_from(Tally)
        .outerjoin(aggregate, true())
        .where(Tally.consultation_id == consultation_id)
    ).all()
    for changes, estate, choice_, households, persons_, area_, voted, agreeing, split_ in rows:
        if estate is None:
            yield int(changes), None, None, None, None
            continue
        yield (
            int(changes),
            estate,
            choice_,
            Weights(int(households), int(persons_), _area(area_)),
            Owners(voted=int(voted or 0), agreeing=int(agreeing or 0), split=int(split_ or 0)),
        )


def revisions_sum(consultation_id: int) -> int:
    """The sum of the consultation's ballot revisions, counted from the ballots: what the
    change counter `Tally.changes` must equal. Grows with the ballots, so no hot path reads
    it; it is the audit's cross-check (the tally stays recomputable from the ballots alone)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Ballot.revision), 0)).where(
                Ballot.consultation_id == consultation_id
            )
        )
    )


def _rank_needs(consultation_id: int, estates: dict[int, EstateCount]) -> list[dict]:
    """A needs survey's items per estate (into `estates`) and pooled, most picked first:
    `{"item", "households"}` each, ties by item."""
    rows = db.session.execute(
        select(ElectorateEntry.estate_id, BallotPick.item, func.count())
        .join(
            ElectorateEntry,
            and_(
                ElectorateEntry.consultation_id == BallotPick.consultation_id,
                ElectorateEntry.household_id == BallotPick.household_id,
            ),
        )
        .where(BallotPick.consultation_id == consultation_id)
        .group_by(ElectorateEntry.estate_id, BallotPick.item)
    ).all()
    pooled: dict[str, int] = {}
    per_estate: dict[int, dict[str, int]] = {}
    for estate_id, item, n in rows:
        pooled[item] = pooled.get(item, 0) + int(n)
        per_estate.setdefault(estate_id, {})[item] = int(n)
    for estate_id, items in per_estate.items():
        estates[estate_id].ranking = _ranked(items)
    return _ranked(pooled)


def _ranked(households_by_item: dict[str, int]) -> list[dict]:
    return [
        {"item": item, "households": n}
        for item, n in sorted(households_by_item.items(), key=lambda pair: (-pair[1], pair[0]))
    ]


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
    """Stale by the tally row alone: its change counter moved past what the count saw (no
    sum over the ballots: the reconciler's scan costs the same at any number of ballots)."""
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
                Tally.changes_seen != Tally.changes,
            ),
        )
        .order_by(Consultation.id)
    )
