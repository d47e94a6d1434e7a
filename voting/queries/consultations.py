"""Which consultations: a project's, and those whose time has come."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, exists, not_, or_, select

from api.core import db
from participation.models import HouseholdClaim, Project
from voting.models import Ballot, Consultation, ElectorMember, Tally
from voting.queries.ballots import verified_delegation_join


def consultations_of(project_id: int) -> Select:
    """A SELECT of the project's consultations, newest first (the list pages it)."""
    return (
        select(Consultation)
        .where(Consultation.project_id == project_id)
        .order_by(Consultation.id.desc())
    )


def project_consultations(project_id: int) -> list[Consultation]:
    """The project's consultations, newest first."""
    return list(db.session.scalars(consultations_of(project_id)))


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


class OpenToResident(NamedTuple):
    """An open consultation as a resident's home screen lists it (`open_to_resident`)."""

    consultation: Consultation
    project_name: str
    eligible: bool
    reason: str | None  # why not: `not_an_owner`, `joined_after_opening`
    voted: bool

    @property
    def eligibility(self) -> dict:
        return {"eligible": self.eligible, "reason": self.reason}


def open_to_resident(resident_id: int, project_ids: list[int], now: datetime) -> list:
    """The consultations of these projects that take ballots now (open, not past their close),
    the soonest to close first, each with the resident's eligibility (as
    `voting.queries.ballots.eligibility` judges it: a member of the frozen electorate votes,
    in an owners' decision only an owner or a verified delegate; `not_an_owner` for another
    member, `joined_after_opening` for one who is not in it) and `voted`: when eligible, every
    household they vote for has a ballot; when not, one of their verified households has one
    (another member voted). One statement, whatever the number of consultations and ballots.
    `project_ids` are projects of the resident's verified estates: no other is looked at."""
    if not project_ids:
        return []
    member = (
        ElectorMember.consultation_id == Consultation.id,
        ElectorMember.resident_id == resident_id,
    )
    votes_for = or_(
        Consultation.kind != "owners_decision",
        ElectorMember.relation == "owner",
        exists().where(verified_delegation_join(resident_id)),
    )
    has_ballot = exists().where(
        Ballot.consultation_id == ElectorMember.consultation_id,
        Ballot.household_id == ElectorMember.household_id,
    )
    verified_households = select(HouseholdClaim.household_id).where(
        HouseholdClaim.resident_id == resident_id, HouseholdClaim.status == "verified"
    )
    rows = db.session.execute(
        select(
            Consultation,
            Project.name,
            exists().where(*member).label("in_electorate"),
            exists().where(*member, votes_for).label("votes"),
            exists().where(*member, votes_for, not_(has_ballot)).label("to_vote"),
            exists()
            .where(
                Ballot.consultation_id == Consultation.id,
                Ballot.household_id.in_(verified_households),
            )
            .label("household_voted"),
        )
        .join(Project, Project.id == Consultation.project_id)
        .where(
            Consultation.project_id.in_(project_ids),
            Consultation.status == "open",
            or_(Consultation.closes_at.is_(None), Consultation.closes_at > now),
        )
        .order_by(Consultation.closes_at.is_(None), Consultation.closes_at, Consultation.id)
    ).all()
    found = []
    for consultation, project_name, in_electorate, votes, to_vote, household_voted in rows:
        if votes:
            reason, voted = None, not to_vote
        else:
            reason = "not_an_owner" if in_electorate else "joined_after_opening"
            voted = bool(household_voted)
        found.append(OpenToResident(consultation, project_name, bool(votes), reason, voted))
    return found


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
