"""Who may see and do what with places, rosters, claims and staff.

Every check the registry makes goes through here. A staff member's reach is the union of
their grants: `prefecture` covers everything, `county` a county's communities, `committee` one
community, `owner` one project (which gives no say over rosters or claims).
"""

from __future__ import annotations

from api.core import Forbidden, NotFound
from participation.models import Community, County, Household, HouseholdClaim, Resident, Staff
from participation.queries import verified_household_ids


def _roles(staff: Staff, role: str) -> set:
    return {g.scope_id for g in staff.grants if g.role == role}


def is_prefecture(staff: Staff) -> bool:
    return any(g.role == "prefecture" for g in staff.grants)


def covers_county(staff: Staff, county_id: int) -> bool:
    return is_prefecture(staff) or county_id in _roles(staff, "county")


def covers_community(staff: Staff, community: Community) -> bool:
    """Prefecture, the community's county, or the community's own committee."""
    return covers_county(staff, community.county_id) or community.id in _roles(staff, "committee")


def require_county(staff: Staff, county: County) -> None:
    if not covers_county(staff, county.id):
        raise Forbidden("您没有该县市的管理权限", code="out_of_scope")


def require_community(staff: Staff, community: Community) -> None:
    if not covers_community(staff, community):
        raise Forbidden("您没有该社区的管理权限", code="out_of_scope")


def require_prefecture(staff: Staff) -> None:
    if not is_prefecture(staff):
        raise Forbidden("仅州级管理员可进行此操作", code="out_of_scope")


def require_claim_reviewer(staff: Staff, claim: HouseholdClaim) -> None:
    """Claims are reviewed by the community's committee (or its county, or the prefecture)."""
    community = claim.household.estate.community
    if not covers_community(staff, community):
        # Do not confirm that a claim of another community exists.
        raise NotFound("找不到该申请", code="claim_not_found")


def may_grant(staff: Staff, role: str, scope_county_id: int | None) -> bool:
    """Prefecture grants anything; a county officer grants committee, owner and county roles
    within their own county."""
    if is_prefecture(staff):
        return True
    if role == "prefecture" or scope_county_id is None:
        return False
    return scope_county_id in _roles(staff, "county")


def require_member(resident: Resident, household: Household) -> None:
    """The resident is a verified member of the household."""
    if household.id not in verified_household_ids(resident):
        raise Forbidden("您不是该房屋的已认证住户", code="not_household_member")
