"""Who took part: the published turnout list (receipts and masked addresses, never a choice),
and the households of the electorate that have not voted."""

from __future__ import annotations

from sqlalchemy import exists, func, select

from api.core import db
from participation.models import Building, Household
from voting.models import Ballot, Consultation, ElectorateEntry
from voting.schemas import mask_address


def turnout_page(consultation: Consultation, page: int, per_page: int) -> dict:
    """One page of the households that voted, by receipt code, with the counts: what
    `GET /consultations/{id}/turnout` answers."""
    statement = (
        select(
            Ballot.receipt,
            Ballot.channel,
            Ballot.updated_at,
            Building.name,
            Household.unit,
            Household.room,
        )
        .join(Household, Household.id == Ballot.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Ballot.consultation_id == consultation.id)
        .order_by(Ballot.receipt)
    )
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "consultation_id": consultation.id,
        "eligible": consultation.eligible_households,
        "voted": total,
        "items": [
            {
                "receipt": r.receipt,
                "household": mask_address(r.name, r.unit, r.room),
                "channel": r.channel,
                "voted_at": r.updated_at,
            }
            for r in rows
        ],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


def not_voted(consultation_id: int):
    """A SELECT of one column `id`: the electorate's households without a ballot (the audience
    of the closing reminder)."""
    voted = exists().where(
        Ballot.consultation_id == ElectorateEntry.consultation_id,
        Ballot.household_id == ElectorateEntry.household_id,
    )
    return select(ElectorateEntry.household_id.label("id")).where(
        ElectorateEntry.consultation_id == consultation_id, ~voted
    )
