"""Writes of the registry. Functions flush, never commit: the request commits once."""

from __future__ import annotations

from sqlalchemy import select

from api.core import Conflict, InvalidInput, NotFound, db, utcnow
from participation import policy, queries
from participation.models import (
    Community,
    County,
    Estate,
    HouseholdClaim,
    Project,
    Resident,
    RoleGrant,
    Staff,
)

# Where a grant's scope_id points, per role.
SCOPE_MODELS: dict[str, type] = {"county": County, "committee": Community, "owner": Project}


def _unique_name(model, message: str, **where):
    if db.session.scalar(select(model.id).filter_by(**where)) is not None:
        raise Conflict(message, code="name_taken")


def create_county(name: str) -> County:
    _unique_name(County, "已有同名县市", name=name)
    county = County(name=name)
    db.session.add(county)
    db.session.flush()
    return county


def create_community(county: County, name: str) -> Community:
    _unique_name(Community, "该县市已有同名社区", county_id=county.id, name=name)
    community = Community(county_id=county.id, name=name)
    db.session.add(community)
    db.session.flush()
    return community


def create_estate(community: Community, name: str, address: str | None) -> Estate:
    _unique_name(Estate, "该社区已有同名小区", community_id=community.id, name=name)
    estate = Estate(community_id=community.id, name=name, address=address)
    db.session.add(estate)
    db.session.flush()
    return estate


# --- residents and their households --------------------------------------------------------


def sign_in_resident(openid: str, unionid: str | None, nickname: str | None):
    """The resident with this openid, created on first sign-in."""
    resident = db.session.scalar(select(Resident).where(Resident.openid == openid))
    if resident is None:
        resident = Resident(openid=openid)
        db.session.add(resident)
    resident.unionid = unionid or resident.unionid
    if nickname:
        resident.nickname = nickname
    resident.last_login_at = utcnow()
    db.session.flush()
    return resident


def claim_household(resident: Resident, estate: Estate, args: dict) -> HouseholdClaim:
    """File the resident's claim to a household of the roster.

    Verified at once when the owner's name and phone digits match the roster; otherwise it
    waits for the community's committee. A second live claim on the same household is a 409.

    An `owner` claim on a household that already has a verified owner waits for the committee
    even when it matches: the roster's name and digits are known to the whole family, and only
    owners vote in an owners' decision (Civil Code art. 278), so a second owner is a clerk's
    call, not a typed word.
    """
    household = queries.find_household(estate, args["building"], args["unit"], args["room"])
    if household is None:
        raise NotFound(
            "花名册中没有这个房屋，请核对楼栋、单元和房号，或联系社区居委会",
            code="household_not_in_roster",
        )
    live = queries.live_claim(resident, household)
    if live is not None:
        message = "您已是该房屋的认证住户" if live.status == "verified" else "您的申请正在审核中"
        raise Conflict(message, code="claim_exists", details={"claim_id": live.id})
    matches = (
        args["name"] == household.owner_name and args["phone_last4"] == household.owner_phone_last4
    )
    if matches and args["relation"] == "owner":
        matches = not _has_verified_owner(household.id)
    now = utcnow()
    claim = HouseholdClaim(
        resident_id=resident.id,
        household_id=household.id,
        community_id=estate.community_id,
        relation=args["relation"],
        claimed_name=args["name"],
        claimed_phone_last4=args["phone_last4"],
        status="verified" if matches else "pending",
        verified_at=now if matches else None,
        created_at=now,
    )
    db.session.add(claim)
    db.session.flush()
    return claim


def _has_verified_owner(household_id: int) -> bool:
    return (
        db.session.scalar(
            select(HouseholdClaim.id)
            .where(
                HouseholdClaim.household_id == household_id,
                HouseholdClaim.status == "verified",
                HouseholdClaim.relation == "owner",
            )
            .limit(1)
        )
        is not None
    )


def lock_claim(claim_id: int) -> HouseholdClaim | None:
    """The claim, locked FOR UPDATE (PostgreSQL) and read afresh, or None. A review, a
    withdrawal and an erasure (`participation.service.erasure`) lock the claim before they
    change it: the second waits, then finds it reviewed, or gone (a 409 or a 404, not an update
    of a row that no longer exists, nor a withdrawal of a claim just verified)."""
    return db.session.get(HouseholdClaim, claim_id, with_for_update=True, populate_existing=True)


def _require_pending(claim: HouseholdClaim) -> None:
    if claim.status != "pending":
        raise Conflict("该申请已处理", code="claim_not_pending", details={"status": claim.status})


def approve_claim(staff: Staff, claim: HouseholdClaim) -> HouseholdClaim:
    _require_pending(claim)
    now = utcnow()
    claim.status, claim.reviewed_by_id, claim.reviewed_at, claim.verified_at = (
        "verified",
        staff.id,
        now,
        now,
    )
    db.session.flush()
    return claim


def reject_claim(staff: Staff, claim: HouseholdClaim, reason: str) -> HouseholdClaim:
    _require_pending(claim)
    claim.status, claim.reason = "rejected", reason
    claim.reviewed_by_id, claim.reviewed_at = staff.id, utcnow()
    db.session.flush()
    return claim


def withdraw_claim(resident: Resident, claim_id: int) -> None:
    """The resident takes back their own pending claim, so that a corrected one can be filed.

    The claim is deleted: nobody reviewed it, and what the resident typed is not kept once they
    take it back. Someone else's claim is answered as a missing one (404); a verified or
    rejected claim is a 409.
    """
    claim = lock_claim(claim_id)
    if claim is None or claim.resident_id != resident.id:
        raise NotFound("找不到该申请", code="claim_not_found")
    _require_pending(claim)
    db.session.delete(claim)
    db.session.flush()


# --- staff ----------------------------------------------------------------------------------


def scope_county_id(role: str, scope_id: int | None) -> int | None:
    """The county a grant's scope lies in (None for prefecture); 422 if the scope is unknown."""
    if role == "prefecture":
        return None
    model = SCOPE_MODELS.get(role)
    target = db.session.get(model, scope_id) if model else None
    if target is None:
        raise InvalidInput(
            "授权范围不存在", code="unknown_scope", details={"role": role, "scope_id": scope_id}
        )
    if isinstance(target, County):
        return target.id
    if isinstance(target, Community):
        return target.county_id
    return target.county_id_for_scope()


def grant_role(
    actor: Staff | None, staff: Staff, role: str, scope_id: int | None, *, new: bool = False
) -> RoleGrant:
    """Grant `staff` a role within a scope: 422 for an unknown scope, 403 when `actor` may not
    grant it or `staff` is outside `actor`'s remit, 409 when the grant is held already.
    `actor` None is the command line and the demo, which no grant limits; `new`: `staff` is
    the account `actor` is creating."""
    county_id = scope_county_id(role, scope_id)
    if actor is not None:
        policy.require_may_grant(actor, role, scope_id, county_id)
        policy.require_may_grant_to(actor, staff, new=new)
    if policy.holds_grant(staff, role, scope_id):
        raise Conflict("该工作人员已有此授权", code="grant_exists")
    grant = RoleGrant(
        staff=staff, role=role, scope_id=scope_id, granted_by_id=actor.id if actor else None
    )
    db.session.add(grant)
    db.session.flush()
    return grant


def create_staff(actor: Staff | None, args: dict, password_hash: str) -> Staff:
    """A new staff account with its grants; `actor` None is the command line (no checks)."""
    if queries.staff_by_username(args["username"]) is not None:
        raise Conflict("用户名已被使用", code="username_taken")
    staff = Staff(
        username=args["username"],
        display_name=args.get("display_name"),
        password_hash=password_hash,
    )
    db.session.add(staff)
    db.session.flush()
    for grant in args.get("grants", []):
        grant_role(actor, staff, grant["role"], grant["scope_id"], new=True)
    db.session.flush()
    if actor is not None and not staff.grants and not policy.is_prefecture(actor):
        # A county officer may only create staff they can reach through a grant.
        raise InvalidInput("请为新账号指定至少一个授权", code="grant_required")
    return staff
