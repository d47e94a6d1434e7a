"""Who took part: the published turnout list (receipts and masked addresses, channels and days,
never a choice or a time), and the households of the electorate that have not voted (the
committee's door-to-door list, and the audience of the closing reminder)."""

from __future__ import annotations

import re

from sqlalchemy import and_, exists, func, select

from api.core import LOCAL, InvalidInput, db
from api.core.fields import mask_address
from participation.models import Building, Estate, Household
from participation.queries import natural_key
from voting.models import Ballot, Consultation, ElectorateEntry


def turnout_page(
    consultation: Consultation, page: int, per_page: int, receipt: str | None = None
) -> dict:
    """One page of the households that voted, by receipt code, with the counts: what
    `GET /consultations/{id}/turnout` answers. Each row shows the channel, whether a delegate
    cast it and the local day of the last ballot, never a time or a choice. With `receipt`
    (upper case), only the row of that receipt in this consultation, if any: `total` is 1 or 0,
    while `voted` stays the count of every household that voted."""
    statement = (
        select(
            Ballot.receipt,
            Ballot.channel,
            Ballot.delegated,
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
    voted = total = db.session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    if receipt is not None:
        statement = statement.where(Ballot.receipt == receipt)
        total = db.session.scalar(
            select(func.count()).select_from(statement.order_by(None).subquery())
        )
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "consultation_id": consultation.id,
        "eligible": consultation.eligible_households,
        "voted": voted,
        "items": [
            {
                "receipt": r.receipt,
                "household": mask_address(r.name, r.unit, r.room),
                "channel": r.channel,
                "delegated": r.delegated,
                # The day only: with a few voters, a time would match a row to the count
                # that moved when it came in.
                "voted_on": r.updated_at.astimezone(LOCAL).date(),
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


# --- whom to visit: the committee's door-to-door list ----------------------------------------


def _in_scope(consultation_id: int, communities: set[int] | None):
    """The WHERE of the electorate's households a caller canvasses: every one (None), or those
    of the estates of `communities` (a committee of some of a bundled project's communities)."""
    where = [ElectorateEntry.consultation_id == consultation_id]
    if communities is not None:
        where.append(
            ElectorateEntry.estate_id.in_(
                select(Estate.id).where(Estate.community_id.in_(sorted(communities)))
            )
        )
    return where


def _with_ballot():
    return and_(
        Ballot.consultation_id == ElectorateEntry.consultation_id,
        Ballot.household_id == ElectorateEntry.household_id,
    )


def non_voter_buildings(consultation_id: int, communities: set[int] | None) -> list[dict]:
    """Per building of the electorate in scope: its eligible households and those that have
    not voted, in the order of the list (estate, then building)."""
    rows = db.session.execute(
        select(
            Building.id,
            Building.name,
            Estate.name.label("estate"),
            func.count().label("eligible"),
            func.count(Ballot.id).label("voted"),
        )
        .select_from(ElectorateEntry)
        .join(Household, Household.id == ElectorateEntry.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .outerjoin(Ballot, _with_ballot())
        .where(*_in_scope(consultation_id, communities))
        .group_by(Estate.id, Estate.name, Building.id, Building.name)
        .order_by(Estate.id, func.length(Building.name), Building.name, Building.id)
    ).all()
    return [
        {
            "building_id": r.id,
            "name": r.name,
            "estate": r.estate,
            "eligible": r.eligible,
            "not_voted": r.eligible - r.voted,
        }
        for r in rows
    ]


def non_voters_page(
    consultation: Consultation,
    communities: set[int] | None,
    building_id: int | None,
    page: int,
    per_page: int,
) -> dict:
    """One page of the electorate's households (in scope, of one building if given) that have
    not voted, by estate, building, unit and room (numbers in their natural order: 2 before
    10), with the counts per building: what `GET /consultations/{id}/non-voters` answers.
    The owner's name is masked by the schema."""
    buildings = non_voter_buildings(consultation.id, communities)
    if building_id is not None and building_id not in {b["building_id"] for b in buildings}:
        raise InvalidInput(
            "该楼栋不在您可查看的表决名单中",
            code="building_not_in_list",
            details={"building_id": building_id},
        )
    where = [*_in_scope(consultation.id, communities), ~exists().where(_with_ballot())]
    if building_id is not None:
        where.append(Household.building_id == building_id)
    statement = (
        select(
            Household.id.label("household_id"),
            Building.id.label("building_id"),
            Building.name.label("building"),
            Estate.name.label("estate"),
            Household.unit,
            Household.room,
            Household.owner_name,
        )
        .select_from(ElectorateEntry)
        .join(Household, Household.id == ElectorateEntry.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .where(*where)
        .order_by(
            Estate.id,
            func.length(Building.name),
            Building.name,
            Building.id,
            func.length(Household.unit),
            Household.unit,
            func.length(Household.room),
            Household.room,
            Household.id,
        )
    )
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "consultation_id": consultation.id,
        "eligible": sum(b["eligible"] for b in buildings),
        "not_voted": sum(b["not_voted"] for b in buildings),
        "buildings": buildings,
        "items": [r._asdict() for r in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
    }


# --- the floor grid: which doors voted, by building ------------------------------------------


def room_floor(room: str) -> int | None:
    """The floor a room number names, as buildings number doors: the digits before the last two
    of its last run of digits (1203 → 12, 301 → 3, A-1203 → 12); None when the number does not
    say (a room "2", "00001", "商铺")."""
    digits = re.findall(r"\d+", room)
    if not digits or len(digits[-1]) < 3:
        return None
    floor = int(digits[-1][:-2])
    return floor or None


# A door's status in the grid: the channel of its household's ballot, or why there is none.
GRID_STATUSES = ("wechat", "paper", "assisted", "not_voted", "not_in_electorate")


def _grid_status(in_electorate: bool, channel: str | None) -> str:
    if not in_electorate:
        return "not_in_electorate"
    return channel or "not_voted"


def turnout_grid(
    consultation: Consultation, communities: set[int] | None, building_id: int | None
) -> dict:
    """One building of the electorate in scope as a floor grid: its households by unit and floor
    (floors from the room numbers, `room_floor`; units, floors and rooms in their natural
    order), each with its status: `wechat`, `paper`, `assisted` (the channel of its ballot),
    `not_voted`, or `not_in_electorate` (on the roster, not in the frozen electorate). Room
    numbers only: no name, no choice, no receipt. The building is the first of the list when
    `building_id` is not given; 422 `building_not_in_list` for one outside the caller's list.
    What `GET /consultations/{id}/turnout/grid` answers."""
    buildings = non_voter_buildings(consultation.id, communities)
    known = {b["building_id"]: b for b in buildings}
    if building_id is not None and building_id not in known:
        raise InvalidInput(
            "该楼栋不在您可查看的表决名单中",
            code="building_not_in_list",
            details={"building_id": building_id},
        )
    counts = dict.fromkeys(GRID_STATUSES, 0)
    reply = {
        "consultation_id": consultation.id,
        "buildings": buildings,
        "building": None,
        "units": [],
        "counts": counts,
    }
    if not buildings:
        return reply
    building = known[building_id] if building_id is not None else buildings[0]
    rows = db.session.execute(
        select(
            Household.id,
            Household.unit,
            Household.room,
            ElectorateEntry.household_id.label("entry"),
            Ballot.channel,
        )
        .outerjoin(
            ElectorateEntry,
            and_(
                ElectorateEntry.household_id == Household.id,
                ElectorateEntry.consultation_id == consultation.id,
            ),
        )
        .outerjoin(
            Ballot,
            and_(Ballot.household_id == Household.id, Ballot.consultation_id == consultation.id),
        )
        .where(Household.building_id == building["building_id"])
    ).all()
    units: dict[str, dict[int | None, list[dict]]] = {}
    for row in rows:
        floor = room_floor(row.room)
        units.setdefault(row.unit, {}).setdefault(floor, []).append(
            {
                "household_id": row.id,
                "room": row.room,
                "status": _grid_status(row.entry is not None, row.channel),
            }
        )
    reply["building"] = building
    reply["units"] = [
        {
            "unit": unit,
            "floors": [
                {
                    "floor": floor,
                    "rooms": sorted(
                        rooms[floor], key=lambda r: (natural_key(r["room"]), r["household_id"])
                    ),
                }
                for floor in sorted(rooms, key=lambda f: (f is None, f or 0))
            ],
        }
        for unit, rooms in sorted(units.items(), key=lambda item: natural_key(item[0]))
    ]
    for unit in reply["units"]:
        for floor in unit["floors"]:
            for room in floor["rooms"]:
                counts[room["status"]] += 1
    return reply
