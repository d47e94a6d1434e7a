"""Residents' household claims and their review; staff accounts and role grants."""

from api import auth
from api.core import NotFound, commit, get_or_404
from api.http import Blueprint, PageArgs, page_schema, paginate
from participation import policy, queries
from participation.models import Community, Estate, HouseholdClaim, Staff
from participation.schemas.registry import (
    ClaimArgs,
    ClaimFilter,
    ClaimSchema,
    GrantArgs,
    GrantSchema,
    MyClaimSchema,
    RejectArgs,
    StaffArgs,
    StaffSchema,
)
from participation.service import membership
from participation.service import registry as service

blp = Blueprint("registry", __name__, url_prefix="/api/v1", description="Claims and staff")


class ClaimQuery(PageArgs, ClaimFilter):
    pass


@blp.post("/me/households")
@auth.resident_required
@blp.arguments(ClaimArgs)
@blp.response(201, MyClaimSchema)
@blp.errors(401, 403, 404, 409)
def claim_household(args):
    """Claim a household of the roster: verified at once when name and phone digits match,
    otherwise pending until the community's committee reviews it."""
    estate = get_or_404(Estate, args["estate_id"], "estate_not_found", "找不到该小区")
    claim = service.claim_household(auth.current_resident(), estate, args)
    commit()
    return claim


@blp.get("/me/households")
@auth.resident_required
@blp.response(200, MyClaimSchema(many=True))
@blp.errors(401, 403)
def my_households():
    """The caller's claims: verified households, pending and rejected claims, and the
    memberships that ended (`left`, or `revoked` with the reason), each with `status_label`."""
    return queries.resident_claims(auth.current_resident())


@blp.delete("/me/households/<int:household_id>")
@auth.resident_required
@blp.response(204)
@blp.errors(401, 403, 404, 409)
def leave_household(household_id):
    """Leave a household the caller is a verified member of: the claim becomes `left` (kept for
    the record; a new claim on the household may follow), and the caller no longer votes for
    the household, in the consultations still open too; a ballot the household cast stays and
    counts. A household the caller does not belong to is a 404 `membership_not_found`; a claim
    still pending is a 409 `claim_pending` whose `details.claim_id` names the claim to withdraw
    with `DELETE /me/claims/{claim_id}`."""
    membership.leave_household(auth.current_resident(), household_id)
    commit()


@blp.delete("/me/claims/<int:claim_id>")
@auth.resident_required
@blp.response(204)
@blp.errors(401, 403, 404, 409)
def withdraw_claim(claim_id):
    """Withdraw the caller's own pending claim (a mistyped address or name), so that a corrected
    one can be filed; a verified or rejected claim is a 409 `claim_not_pending`, someone else's
    claim a 404."""
    service.withdraw_claim(auth.current_resident(), claim_id)
    commit()


@blp.get("/communities/<int:community_id>/claims")
@auth.staff_required
@blp.arguments(ClaimQuery, location="query")
@blp.response(200, page_schema(ClaimSchema, "ClaimPage"))
@blp.errors(401, 403, 404, 422)
def list_claims(args, community_id):
    """The community's claims, oldest pending first (the committee, its county, the prefecture).

    The pending claims come first, the oldest of them first, then the reviewed ones, oldest
    first; `?status=pending` (or `verified`, `rejected`, `left`, `revoked`) lists one status
    only."""
    community = get_or_404(Community, community_id, "community_not_found", "找不到该社区")
    policy.require_community(auth.current_staff(), community)
    return paginate(queries.community_claims(community, args.get("status")), args)


def _reviewable_claim(claim_id) -> HouseholdClaim:
    claim = service.lock_claim(claim_id)  # the resident may be taking it back right now
    if claim is None:
        raise NotFound("找不到该申请", code="claim_not_found")
    policy.require_claim_reviewer(auth.current_staff(), claim)
    return claim


@blp.post("/claims/<int:claim_id>/approve")
@auth.staff_required
@blp.response(200, ClaimSchema)
@blp.errors(401, 403, 404, 409)
def approve_claim(claim_id):
    """Approve a pending claim: the resident becomes a verified member of the household."""
    claim = service.approve_claim(auth.current_staff(), _reviewable_claim(claim_id))
    commit()
    return claim


@blp.post("/claims/<int:claim_id>/reject")
@auth.staff_required
@blp.arguments(RejectArgs)
@blp.response(200, ClaimSchema)
@blp.errors(401, 403, 404, 409, 422)
def reject_claim(args, claim_id):
    """Reject a pending claim with a reason the resident will read."""
    claim = service.reject_claim(auth.current_staff(), _reviewable_claim(claim_id), args["reason"])
    commit()
    return claim


@blp.get("/staff")
@auth.staff_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(StaffSchema, "StaffPage"))
@blp.errors(401, 403)
def list_staff(args):
    """Staff accounts (prefecture only)."""
    policy.require_prefecture(auth.current_staff())
    return paginate(queries.staff_accounts(), args)


@blp.post("/staff")
@auth.staff_required
@blp.arguments(StaffArgs)
@blp.response(201, StaffSchema)
@blp.errors(401, 403, 409, 422)
def create_staff(args):
    """Create a staff account with its grants (prefecture; a county officer within the county)."""
    actor = auth.current_staff()
    policy.require_may_create_staff(actor)
    staff = service.create_staff(actor, args, auth.hash_password(args["password"]))
    commit()
    return staff


@blp.post("/staff/<int:staff_id>/grants")
@auth.staff_required
@blp.arguments(GrantArgs)
@blp.response(201, GrantSchema)
@blp.errors(401, 403, 404, 409, 422)
def add_grant(args, staff_id):
    """Grant a role within a scope (prefecture; a county officer within the county)."""
    staff = get_or_404(Staff, staff_id, "staff_not_found", "找不到该工作人员")
    grant = service.grant_role(auth.current_staff(), staff, args["role"], args["scope_id"])
    commit()
    return grant
