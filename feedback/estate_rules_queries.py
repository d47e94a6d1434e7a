"""Reads of an estate's management rules (小区管理办法) and who may read and write them.

Staff: the committee of the estate's community, its county and the prefecture
(`covers_estate`), who see every version. Residents: the estate's verified members (owners,
family members and tenants alike: the rules govern them all), who read the versions once
published and never a draft or a withdrawn version. To anyone else an estate's rules do not
exist (404), whether the id is out of sight or missing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from api.core import NotFound, db, utcnow
from feedback.models.estate_rules import EstateRules, RulesComment
from participation.models import Estate, Resident, Staff
from participation.policy import covers_community
from participation.queries import verified_estate_ids

# What the estate's residents read: every version once published, never a draft or a version
# the committee withdrew before the owners decided on it.
RESIDENT_STATUSES = ("published", "adopted", "rejected")


class EstateNotFound(NotFound):
    code = "estate_not_found"
    message = "找不到该小区"


class RulesNotFound(NotFound):
    code = "rules_not_found"
    message = "找不到该管理办法"


class RulesCommentNotFound(NotFound):
    code = "rules_comment_not_found"
    message = "找不到该意见"


class NoRulesInForce(NotFound):
    code = "no_rules_in_force"
    message = "该小区尚无经业主共同决定通过的管理办法"


# --- who may see and do what -----------------------------------------------------------------


def covers_estate(staff: Staff, estate: Estate) -> bool:
    """The committee of the estate's community, its county, the prefecture (not a project's
    owner)."""
    return covers_community(staff, estate.community)


def resident_of(resident: Resident, estate: Estate) -> bool:
    """A verified member of a household of the estate (owner, family member or tenant)."""
    return estate.id in verified_estate_ids(resident)


def sees_estate(caller: Resident | Staff, estate: Estate) -> bool:
    if isinstance(caller, Resident):
        return resident_of(caller, estate)
    return covers_estate(caller, estate)


def require_sees_estate(caller: Resident | Staff, estate: Estate) -> None:
    """Staff in scope and the estate's residents; to anyone else the estate does not exist."""
    if not sees_estate(caller, estate):
        raise EstateNotFound()


def require_covers_estate(staff: Staff, estate: Estate) -> None:
    if not covers_estate(staff, estate):
        raise EstateNotFound()


def sees_rules(caller: Resident | Staff, rules: EstateRules) -> bool:
    """Staff in scope see every version; the estate's residents those published (not drafts,
    not withdrawn ones)."""
    estate = db.session.get(Estate, rules.estate_id)
    if isinstance(caller, Resident):
        return rules.status in RESIDENT_STATUSES and resident_of(caller, estate)
    return covers_estate(caller, estate)


def require_sees_rules(caller: Resident | Staff, rules: EstateRules) -> None:
    if not sees_rules(caller, rules):
        raise RulesNotFound()


def require_manages_rules(staff: Staff, rules: EstateRules) -> None:
    """The estate's committee, its county, the prefecture; to other staff the version does
    not exist."""
    if not covers_estate(staff, db.session.get(Estate, rules.estate_id)):
        raise RulesNotFound()


# --- reads -----------------------------------------------------------------------------------


def versions(estate: Estate, *, staff: bool):
    """SELECT of the estate's versions, the newest first (residents: published ones only)."""
    statement = select(EstateRules).where(EstateRules.estate_id == estate.id)
    if not staff:
        statement = statement.where(EstateRules.status.in_(RESIDENT_STATUSES))
    return statement.order_by(EstateRules.version.desc())


def in_force(estate: Estate) -> EstateRules:
    """The adopted version in force: the estate's adopted version not superseded (404
    `no_rules_in_force` when there is none)."""
    rules = db.session.scalars(
        select(EstateRules)
        .where(
            EstateRules.estate_id == estate.id,
            EstateRules.status == "adopted",
            EstateRules.superseded_at.is_(None),
        )
        .order_by(EstateRules.version.desc())
    ).first()
    if rules is None:
        raise NoRulesInForce()
    return rules


def comments_of(rules: EstateRules, caller: Resident | Staff):
    """SELECT of the version's comments, oldest first: every one for staff; visible ones and
    the caller's own for a resident."""
    statement = select(RulesComment).where(RulesComment.rules_id == rules.id)
    if isinstance(caller, Resident):
        statement = statement.where(
            or_(RulesComment.status == "visible", RulesComment.author_id == caller.id)
        )
    return statement.order_by(RulesComment.id)


def comments_open(rules: EstateRules, now: datetime | None = None) -> bool:
    """Residents may comment now: the version is published and its comments have not closed."""
    now = now or utcnow()
    return rules.status == "published" and (
        rules.comments_close_at is None or now < rules.comments_close_at
    )


def waiting_for_check(limit: int = 100) -> list[int]:
    """Comments on rules still waiting for WeChat's check, longest waiting first."""
    return list(
        db.session.scalars(
            select(RulesComment.id)
            .where(RulesComment.status == "pending_check")
            .order_by(RulesComment.checked_at, RulesComment.id)
            .limit(limit)
        )
    )
