"""Who may see and do what with places, rosters, claims and staff.

Every check the registry makes goes through here. A staff member's reach is the union of
their grants: `prefecture` covers everything, `county` a county's communities, `committee` one
community, `owner` one project (which gives no say over rosters or claims). This module is the
one place that reads `staff.grants`: other domains' policies and queries ask `scope_ids`,
`is_prefecture`, `covers_county` and `covers_community` instead of scanning grants themselves.

A project out of a caller's sight is answered exactly as a project that does not exist
(`ProjectNotFound`), to residents as to staff, so that ids cannot be enumerated.
"""

from __future__ import annotations

from typing import NamedTuple

from api.core import Conflict, Forbidden, NotFound
from participation.accounts import managed_staff_id
from participation.models import (
    ROLES,
    Community,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Resident,
    Staff,
)
from participation.queries import (
    privacy_notice,
    verified_estate_ids,
    verified_household_ids,
)

# --- a staff member's grants: the one place that reads them ----------------------------------


def scope_ids(staff: Staff, role: str) -> set[int]:
    """The scopes the staff member holds `role` in: county ids for `county`, community ids for
    `committee`, project ids for `owner` (empty for `prefecture`, which has no scope)."""
    return {g.scope_id for g in staff.grants if g.role == role}


def holds_grant(staff: Staff, role: str, scope_id: int | None) -> bool:
    """The staff member already holds exactly this grant."""
    return any(g.role == role and g.scope_id == scope_id for g in staff.grants)


def is_prefecture(staff: Staff) -> bool:
    """The staff member holds the prefecture role, which covers everything."""
    return any(g.role == "prefecture" for g in staff.grants)


def covers_county(staff: Staff, county_id: int) -> bool:
    """The prefecture, or an officer of this county."""
    return is_prefecture(staff) or county_id in scope_ids(staff, "county")


def covers_community(staff: Staff, community: Community) -> bool:
    """Prefecture, the community's county, or the community's own committee."""
    return covers_county(staff, community.county_id) or community.id in scope_ids(
        staff, "committee"
    )


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


# --- staff accounts -----------------------------------------------------------------------


class StaffRemit(NamedTuple):
    """The staff accounts a staff member manages (`manages_staff`), as a list reads them: every
    account (`everything`, the prefecture), else the accounts with at least one grant whose
    grants all lie in these counties (a county, its communities' committees, its projects'
    owners) or are committee grants of these communities (a committee clerk's own)."""

    everything: bool
    county_ids: frozenset[int]
    community_ids: frozenset[int]

    @property
    def any(self) -> bool:
        return self.everything or bool(self.county_ids or self.community_ids)


def staff_remit(staff: Staff) -> StaffRemit:
    """Whom `staff` manages: the prefecture everyone, a county officer the accounts of their
    county, a committee clerk the committee accounts of their own community."""
    return StaffRemit(
        everything=is_prefecture(staff),
        county_ids=frozenset(scope_ids(staff, "county")),
        community_ids=frozenset(scope_ids(staff, "committee")),
    )


def may_grant(staff: Staff, role: str, scope_id: int | None, scope_county_id: int | None) -> bool:
    """Prefecture grants anything; a county officer grants committee, owner and county roles
    within their own county; a committee clerk the committee role of their own community.
    Nobody else grants the prefecture role."""
    if is_prefecture(staff):
        return True
    if role == "prefecture" or scope_county_id is None:
        return False
    if scope_county_id in scope_ids(staff, "county"):
        return True
    return role == "committee" and scope_id in scope_ids(staff, "committee")


def grantable_roles(staff: Staff) -> list[str]:
    """The roles `staff` may grant somewhere (`may_grant`), in the order of `ROLES`."""
    if is_prefecture(staff):
        return list(ROLES)
    roles = []
    if scope_ids(staff, "county"):
        roles += ["county", "committee", "owner"]
    elif scope_ids(staff, "committee"):
        roles.append("committee")
    return [role for role in ROLES if role in roles]


def require_may_grant(
    staff: Staff, role: str, scope_id: int | None, scope_county_id: int | None
) -> None:
    if not may_grant(staff, role, scope_id, scope_county_id):
        raise Forbidden("您无权授予该角色", code="out_of_scope")


def may_create_staff(staff: Staff) -> bool:
    """The prefecture, a county officer or a committee clerk (who must then grant within their
    own remit)."""
    return staff_remit(staff).any


def require_may_create_staff(staff: Staff) -> None:
    if not may_create_staff(staff):
        raise Forbidden("您无权创建工作人员账号", code="out_of_scope")


def require_manages_accounts(staff: Staff) -> None:
    """The caller manages some accounts (prefecture, county officer, committee clerk)."""
    if not staff_remit(staff).any:
        raise Forbidden("您无权管理工作人员账号", code="out_of_scope")


def manages_staff(actor: Staff, target: Staff) -> bool:
    """`target` lies within `actor`'s remit (`StaffRemit`): the prefecture manages everyone;
    anyone else an account with grants, all of them theirs to grant. One statement at most."""
    remit = staff_remit(actor)
    if remit.everything:
        return True
    return remit.any and managed_staff_id(remit, target.id)


def require_manages_staff(actor: Staff, target: Staff, *, not_self: bool = True) -> None:
    """403 `out_of_scope` for an account outside the caller's remit; 403 `own_account` for the
    caller's own (nobody deactivates, resets or revokes themselves) unless `not_self` is off."""
    if not_self and actor.id == target.id:
        raise Forbidden("不能对自己的账号进行此操作", code="own_account")
    if not manages_staff(actor, target):
        raise Forbidden("该账号不在您的管理范围内", code="out_of_scope")


def require_may_grant_to(actor: Staff, target: Staff, *, new: bool = False) -> None:
    """A grant goes to an account the caller manages, or to the account the caller is creating
    (`new`: its first grants bring it into the caller's remit). An existing account without
    any grant is the prefecture's alone: otherwise any clerk could grant it their role, then
    reactivate it, reset its password and sign in as it."""
    if target.grants:
        require_manages_staff(actor, target, not_self=False)
    elif not new and not is_prefecture(actor):
        raise Forbidden("该账号没有任何授权，只能由市级主管部门管理", code="out_of_scope")


def require_member(resident: Resident, household: Household) -> None:
    """The resident is a verified member of the household."""
    if household.id not in verified_household_ids(resident):
        raise Forbidden("您不是该房屋的已认证住户", code="not_household_member")


# --- the privacy notice ---------------------------------------------------------------------


def require_privacy_consent(consented_version: str | None) -> None:
    """The resident accepted the privacy notice in force (PIPL art. 14): until they do, nothing
    but sign-in, the notice and their rights over their data is served. `consented_version` is
    the version their bearer token carries, so that the check reads nothing from the database;
    a token of an older version is refused as one without consent."""
    current = privacy_notice().version
    if consented_version != current:
        raise Forbidden(
            "请先阅读并同意隐私政策", code="consent_required", details={"version": current}
        )


def require_current_privacy_version(version: str) -> None:
    """`version` names the notice in force: consent is given to a text the resident has read,
    so accepting another version (an outdated screen) is a conflict that names the current one."""
    current = privacy_notice().version
    if version != current:
        raise Conflict(
            "隐私政策已更新，请阅读最新版本后再同意",
            code="privacy_version_outdated",
            details={"version": current},
        )


# --- projects -------------------------------------------------------------------------------


class ProjectNotFound(NotFound):
    """A project that does not exist, or that the caller may not know of: the same answer."""

    code = "project_not_found"
    message = "找不到该项目"


class PlanNotFound(NotFound):
    """A plan version that does not exist, or whose project the caller may not know of."""

    code = "plan_not_found"
    message = "找不到该方案"


def project_community_ids(project) -> set[int]:
    """The communities of the estates the project covers."""
    return {estate.community_id for estate in project.estates}


def manages_project(staff: Staff, project) -> bool:
    """The project's owner, its county, or the prefecture: plans, milestones, lifecycle."""
    return covers_county(staff, project.county_id) or project.id in scope_ids(staff, "owner")


def sees_project(staff: Staff, project) -> bool:
    """Those who manage it, and the committees of the communities it covers."""
    return manages_project(staff, project) or bool(
        project_community_ids(project) & scope_ids(staff, "committee")
    )


class ProjectScope(NamedTuple):
    """Which projects a staff member sees (`sees_project`), as a list reads it: every project
    (`everything`, the prefecture), else those of these counties, these projects (owner) and
    those covering an estate of these communities (committee)."""

    everything: bool
    county_ids: frozenset[int]
    project_ids: frozenset[int]
    community_ids: frozenset[int]


def project_scope(staff: Staff) -> ProjectScope:
    """The projects `sees_project` lets the staff member see, for a list of them."""
    return ProjectScope(
        everything=is_prefecture(staff),
        county_ids=frozenset(scope_ids(staff, "county")),
        project_ids=frozenset(scope_ids(staff, "owner")),
        community_ids=frozenset(scope_ids(staff, "committee")),
    )


def require_sees_project(staff: Staff, project) -> None:
    if not sees_project(staff, project):
        raise ProjectNotFound()


def require_manages_project(staff: Staff, project) -> None:
    require_sees_project(staff, project)
    if not manages_project(staff, project):
        raise Forbidden("仅项目建设单位或县市主管部门可进行此操作", code="out_of_scope")


def resident_sees_project(resident: Resident, project) -> bool:
    """A verified member of a household in one of the project's estates. The screens residents
    open most ask the same rule in SQL, with the caller and the project in one statement
    (`participation.queries.sees_project`, read by `caller_reading`): change both together."""
    return bool(verified_estate_ids(resident) & {e.id for e in project.estates})


def require_resident_sees_estate(resident: Resident, estate_id: int) -> None:
    if estate_id not in verified_estate_ids(resident):
        raise Forbidden("您不是该小区的已认证住户", code="not_resident_of_estate")


def require_staff_sees_estate(staff: Staff, estate: Estate) -> None:
    """The estate's community's committee, its county, the prefecture."""
    if not covers_community(staff, estate.community):
        raise Forbidden("您没有该小区的查看权限", code="out_of_scope")


def require_resident_sees_project(resident: Resident, project) -> None:
    """A resident outside the project's estates gets the answer of a missing project (404), not
    a refusal (403) that would confirm the id exists."""
    if not resident_sees_project(resident, project):
        raise ProjectNotFound()
