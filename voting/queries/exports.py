"""What the staff's downloads are made of (issue 13, exports): the frozen electorate with each
household's turnout, and the facts a result sheet names (the project, its estates and their
communities, the plan version). Reads only; `voting.exports` turns them into files.
"""

from __future__ import annotations

from sqlalchemy import and_, select

from api.core import LOCAL, db
from api.core.fields import mask_room
from participation.models import Building, Community, Estate, Household, Plan, Project
from participation.queries import natural_key
from voting.models import Ballot, Consultation, ElectorateEntry


def electorate_turnout(
    consultation: Consultation, communities: set[int] | None = None
) -> list[dict]:
    """One row per household of the frozen electorate (of these communities' estates, when
    given: a committee's part of a bundled project), in one statement: estate, building,
    unit, the room masked as the turnout list masks it, whether it voted, and for those that
    did the channel, whether a delegate cast it, the local day (never a time) and the receipt.

    Rows are sorted by estate, building and unit, then by the *masked* room, households that
    voted before those that did not, and by receipt: sorting by the real room would tell which
    masked row is which room (the third `1**` of a unit of 101-109 is 103), and the receipt is
    random, as the turnout list's own order is."""
    rows = db.session.execute(
        select(
            Estate.id.label("estate_id"),
            Estate.name.label("estate"),
            Building.name.label("building"),
            Household.unit,
            Household.room,
            Ballot.receipt,
            Ballot.channel,
            Ballot.delegated,
            Ballot.updated_at,
        )
        .select_from(ElectorateEntry)
        .join(Household, Household.id == ElectorateEntry.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == ElectorateEntry.estate_id)
        .outerjoin(
            Ballot,
            and_(
                Ballot.consultation_id == ElectorateEntry.consultation_id,
                Ballot.household_id == ElectorateEntry.household_id,
            ),
        )
        .where(
            ElectorateEntry.consultation_id == consultation.id,
            *([] if communities is None else [Estate.community_id.in_(sorted(communities))]),
        )
    ).all()
    shown = [
        {
            "estate_id": r.estate_id,
            "estate": r.estate,
            "building": r.building,
            "unit": r.unit,
            "room": mask_room(r.room),
            "voted": r.receipt is not None,
            "channel": r.channel,
            "delegated": bool(r.delegated) if r.receipt is not None else None,
            "voted_on": r.updated_at.astimezone(LOCAL).date() if r.updated_at else None,
            "receipt": r.receipt,
        }
        for r in rows
    ]
    shown.sort(
        key=lambda row: (
            row["estate_id"],
            natural_key(row["building"]),
            natural_key(row["unit"]),
            natural_key(row["room"]),
            not row["voted"],
            row["receipt"] or "",
        )
    )
    return shown


def subject(consultation: Consultation) -> dict:
    """What a result sheet is about, in two statements: the project's name, its estates (by
    id) each with its community, and the plan version consulted (None for a survey on no
    plan)."""
    project = db.session.get(Project, consultation.project_id)
    estates = db.session.execute(
        select(Estate.id, Estate.name, Community.name.label("community"))
        .join(Community, Community.id == Estate.community_id)
        .where(Estate.id.in_([estate.id for estate in project.estates]))
        .order_by(Estate.id)
    ).all()
    version = None
    if consultation.plan_id is not None:
        version = db.session.scalar(select(Plan.version).where(Plan.id == consultation.plan_id))
    return {
        "project": project.name,
        "estates": [{"id": e.id, "name": e.name, "community": e.community} for e in estates],
        "plan_version": version,
    }
