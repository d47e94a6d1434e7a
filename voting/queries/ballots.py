"""Who may vote in a consultation, and a household's ballot as its members see it."""

from __future__ import annotations

from sqlalchemy import and_, select

from api.core import db
from participation.models import Household, HouseholdClaim, project_estates
from voting.models import Ballot, BallotPick, Consultation, Delegation, ElectorMember

# Reasons that mean the resident is outside the project's estates: to them the consultation is
# answered as a missing one (`voting.service.ballots.ConsultationNotFound`), not refused.
OUT_OF_SIGHT = frozenset({"other_estate", "not_verified"})


def may_vote_for(kind: str, relation: str, delegation_id: int | None) -> bool:
    """A frozen member votes for the household, except in an owners' decision (art. 278),
    where only its owners do, and a member holding the owner's verified delegation."""
    return kind != "owners_decision" or relation == "owner" or delegation_id is not None


def verified_delegation_join(resident_id):
    """The ON clause that finds the verified delegation of an `ElectorMember` row's household to
    `resident_id` (a value or a bind parameter): at most one, by the unique live index."""
    return and_(
        Delegation.consultation_id == ElectorMember.consultation_id,
        Delegation.household_id == ElectorMember.household_id,
        Delegation.delegate_id == resident_id,
        Delegation.status == "verified",
    )


def eligibility(consultation: Consultation, resident_id: int) -> dict:
    """Whether the resident may vote here, for which households, and if not, why: `other_estate`
    or `not_verified` (out of sight: no verified household in the project's estates) before
    `consultation_not_open` and `joined_after_opening`; in an owners' decision, `not_an_owner`
    for a member who is neither an owner nor the delegate of a verified delegation.
    `delegated` lists the households the resident votes for as the owner's delegate."""
    rows = db.session.execute(
        select(ElectorMember.household_id, ElectorMember.relation, Delegation.id)
        .outerjoin(Delegation, verified_delegation_join(resident_id))
        .where(
            ElectorMember.consultation_id == consultation.id,
            ElectorMember.resident_id == resident_id,
        )
        .order_by(ElectorMember.household_id)
    ).all()
    households = [row[0] for row in rows if may_vote_for(consultation.kind, row[1], row[2])]
    delegated = [row[0] for row in rows if row[1] != "owner" and row[2] is not None]
    if households:
        return {"eligible": True, "reason": None, "households": households, "delegated": delegated}
    if rows:
        return {"eligible": False, "reason": "not_an_owner", "households": [], "delegated": []}
    project_estate_ids = select(project_estates.c.estate_id).where(
        project_estates.c.project_id == consultation.project_id
    )
    statuses = set(
        db.session.scalars(
            select(HouseholdClaim.status)
            .join(Household, Household.id == HouseholdClaim.household_id)
            .where(
                HouseholdClaim.resident_id == resident_id,
                Household.estate_id.in_(project_estate_ids),
            )
        )
    )
    if "verified" in statuses:
        draft = consultation.status == "draft"
        reason = "consultation_not_open" if draft else "joined_after_opening"
    elif "pending" in statuses:
        reason = "not_verified"
    else:
        reason = "other_estate"
    return {"eligible": False, "reason": reason, "households": [], "delegated": []}


def household_ballot(consultation: Consultation, household_id: int) -> Ballot | None:
    """The household's current ballot, if it has voted."""
    return db.session.scalar(
        select(Ballot).where(
            Ballot.consultation_id == consultation.id, Ballot.household_id == household_id
        )
    )


def first_ballot(consultation: Consultation, household_ids: list[int]) -> Ballot | None:
    """The ballot of the first of these households that has voted, with its picked `items`
    (what `GET …/ballot` shows a member); None if none has voted."""
    for household_id in household_ids:
        ballot = household_ballot(consultation, household_id)
        if ballot is not None:
            ballot.items = db.session.scalars(
                select(BallotPick.item)
                .where(
                    BallotPick.consultation_id == consultation.id,
                    BallotPick.household_id == household_id,
                )
                .order_by(BallotPick.item)
            ).all()
            return ballot
    return None
