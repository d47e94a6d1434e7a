"""Reads of notices: a resident's list, a staff member's list, read receipts, delivery counts.
Every figure is an SQL aggregate; no list of residents or households is loaded to count it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, distinct, exists, false, func, or_, select, true

from api.core import db
from notices.models import Delivery, Notice, NoticeRead, NoticeTarget
from participation.models import (
    Building,
    Estate,
    Household,
    HouseholdClaim,
    Resident,
    Staff,
    project_estates,
)


def _read_by(resident_id: int):
    return (
        select(NoticeRead.id)
        .where(NoticeRead.notice_id == Notice.id, NoticeRead.resident_id == resident_id)
        .exists()
    )


def resident_notices(resident: Resident, now: datetime):
    """SELECT (Notice, read) of the resident's notices: published, not expired, to one of their
    verified households or to them; pinned first, then newest first."""
    households = select(HouseholdClaim.household_id).where(
        HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified"
    )
    targeted = exists().where(
        NoticeTarget.notice_id == Notice.id, NoticeTarget.household_id.in_(households)
    )
    return (
        select(Notice, _read_by(resident.id).label("read"))
        .where(
            Notice.status == "published",
            or_(Notice.expires_at.is_(None), Notice.expires_at > now),
            or_(Notice.recipient_id == resident.id, targeted),
        )
        .order_by(Notice.pinned.desc(), Notice.published_at.desc(), Notice.id.desc())
    )


def is_read(notice: Notice, resident: Resident) -> bool:
    return (
        db.session.scalar(
            select(NoticeRead.id).where(
                NoticeRead.notice_id == notice.id, NoticeRead.resident_id == resident.id
            )
        )
        is not None
    )


def _scopes(staff: Staff, role: str) -> list[int]:
    return [g.scope_id for g in staff.grants if g.role == role]


def staff_scope_condition(staff: Staff):
    """The notices a staff member sees, as one SQL condition (mirrors notices.policy)."""
    if any(g.role == "prefecture" for g in staff.grants):
        return true()
    conditions = []
    counties = _scopes(staff, "county")
    if counties:
        conditions.append(Notice.county_id.in_(counties))
    communities = _scopes(staff, "committee")
    if communities:
        projects_reaching = (
            select(project_estates.c.project_id)
            .join(Estate, Estate.id == project_estates.c.estate_id)
            .where(Estate.community_id.in_(communities))
        )
        conditions.append(Notice.community_id.in_(communities))
        conditions.append(Notice.project_id.in_(projects_reaching))
    owned = _scopes(staff, "owner")
    if owned:
        estates_worked = select(project_estates.c.estate_id).where(
            project_estates.c.project_id.in_(owned)
        )
        conditions.append(Notice.project_id.in_(owned))
        conditions.append(
            and_(
                Notice.target_kind.in_(("estate", "buildings")),
                Notice.estate_id.in_(estates_worked),
            )
        )
    return or_(*conditions) if conditions else false()


def staff_notices(staff: Staff, filters: dict):
    """SELECT of the notices in the staff member's scope, newest first, filtered."""
    statement = select(Notice).where(staff_scope_condition(staff))
    for name in ("status", "category", "community_id", "estate_id", "project_id"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(Notice, name) == filters[name])
    return statement.order_by(Notice.created_at.desc(), Notice.id.desc())


def delivery_counts(notice_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.notice_id == notice_id)
        .group_by(Delivery.status)
    ).all()
    counts = {
        status: 0 for status in ("pending", "sending", "sent", "no_consent", "failed", "retrying")
    }
    counts["cancelled"] = 0
    counts.update({status: int(n) for status, n in rows})
    counts["total"] = sum(counts.values())
    return counts


def receipts(notice: Notice, lowest: int = 10) -> dict:
    """Who has read it: the share of targeted households with at least one verified member who
    read it, per building the `lowest` shares first, and the residents' reads and deliveries."""
    household_read = (
        exists()
        .where(
            HouseholdClaim.household_id == NoticeTarget.household_id,
            HouseholdClaim.status == "verified",
            NoticeRead.resident_id == HouseholdClaim.resident_id,
            NoticeRead.notice_id == notice.id,
        )
        .correlate(NoticeTarget)
    )
    read_flag = case((household_read, 1), else_=0)
    targeted, read = db.session.execute(
        select(func.count(), func.coalesce(func.sum(read_flag), 0)).where(
            NoticeTarget.notice_id == notice.id
        )
    ).one()
    per_building = (
        select(
            Building.id,
            Building.name,
            Estate.name.label("estate"),
            func.count().label("targeted"),
            func.coalesce(func.sum(read_flag), 0).label("read"),
        )
        .select_from(NoticeTarget)
        .join(Household, Household.id == NoticeTarget.household_id)
        .join(Building, Building.id == Household.building_id)
        .join(Estate, Estate.id == Building.estate_id)
        .where(NoticeTarget.notice_id == notice.id)
        .group_by(Building.id, Building.name, Estate.name)
        .subquery()
    )
    share = per_building.c.read * 1.0 / per_building.c.targeted
    buildings = db.session.execute(
        select(per_building)
        .order_by(share, per_building.c.targeted.desc(), per_building.c.id)
        .limit(lowest)
    ).all()
    building_count = db.session.scalar(select(func.count()).select_from(per_building))
    residents_read = db.session.scalar(
        select(func.count(distinct(NoticeRead.resident_id))).where(
            NoticeRead.notice_id == notice.id
        )
    )
    return {
        "notice_id": notice.id,
        "status": notice.status,
        "households_targeted": int(targeted),
        "households_read": int(read),
        "read_share": round(int(read) / int(targeted), 4) if targeted else None,
        "residents_read": int(residents_read or 0),
        "buildings_total": int(building_count or 0),
        "lowest_buildings": [
            {
                "building_id": row.id,
                "building": row.name,
                "estate": row.estate,
                "households_targeted": int(row.targeted),
                "households_read": int(row.read),
                "read_share": round(int(row.read) / int(row.targeted), 4),
            }
            for row in buildings
        ],
        "deliveries": delivery_counts(notice.id),
    }
