"""Residents' household claims and their review; staff accounts and role grants."""

from flask import after_this_request

from api import auth
from api.core import NotFound, commit, get_or_404
from api.http import Blueprint, PageArgs, page_schema, paginate
from participation import accounts, policy, queries
from participation.models import Community, Estate, HouseholdClaim, Staff
from participation.schemas.accounts import (
    SCOPE_KINDS,
    GrantOptionsSchema,
    ManagedStaffSchema,
    PasswordResetSchema,
    StaffFilter,
)
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
from participation.service import accounts as account_service
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


class StaffQuery(PageArgs, StaffFilter):
    pass


def _managed_item(actor: Staff, staff: Staff, names: dict) -> dict:
    """An account of the list with what `actor` may do with it (it is in `actor`'s remit)."""
    other = staff.id != actor.id
    return {
        "id": staff.id,
        "username": staff.username,
        "display_name": staff.display_name,
        "active": staff.active,
        "created_at": staff.created_at,
        "is_self": not other,
        "may_deactivate": other and staff.active,
        "may_activate": other and not staff.active,
        "may_reset_password": other,
        "may_grant": True,
        "roles": [
            {
                "id": g.id,
                "role": g.role,
                "scope_id": g.scope_id,
                "scope_name": names.get((g.role, g.scope_id)),
                "revocable": other,
            }
            for g in staff.grants
        ],
    }


@blp.get("/staff")
@auth.staff_required
@blp.arguments(StaffQuery, location="query")
@blp.response(200, page_schema(ManagedStaffSchema, "StaffPage"))
@blp.errors(401, 403, 422)
def list_staff(args):
    """The staff accounts the caller manages, in id order, with what the caller may do with
    each: the prefecture every account; a county officer the accounts whose grants all lie in
    their county (the county, its communities' committees, its projects' owners); a committee
    clerk the committee accounts of their own community. `?q=` part of the username,
    `?active=true|false`. Project owners manage no accounts (403)."""
    actor = auth.current_staff()
    policy.require_manages_accounts(actor)
    remit = policy.staff_remit(actor)
    page = paginate(accounts.managed_staff(remit, args.get("q"), args.get("active")), args)
    names = accounts.scope_names([g for s in page["items"] for g in s.grants])
    page["items"] = [_managed_item(actor, s, names) for s in page["items"]]
    return page


@blp.get("/staff/grant-options")
@auth.staff_required
@blp.response(200, GrantOptionsSchema)
@blp.errors(401, 403)
def grant_options():
    """The roles the caller may grant, and the counties and communities they may grant them in
    (an `owner` role's project is picked from `GET /projects`): what the account page offers."""
    actor = auth.current_staff()
    policy.require_manages_accounts(actor)
    counties, communities = accounts.grantable_places(policy.staff_remit(actor))
    return {
        "roles": [
            {"role": role, "scope_kind": SCOPE_KINDS[role]}
            for role in policy.grantable_roles(actor)
        ],
        "counties": counties,
        "communities": communities,
    }


@blp.post("/staff")
@auth.staff_required
@blp.arguments(StaffArgs)
@blp.response(201, StaffSchema)
@blp.errors(401, 403, 409, 422)
def create_staff(args):
    """Create a staff account with its grants (prefecture; a county officer within the county;
    a committee clerk with the committee role of their own community)."""
    actor = auth.current_staff()
    policy.require_may_create_staff(actor)
    staff = service.create_staff(actor, args, auth.hash_password(args["password"]))
    commit()
    return staff


def _staff(staff_id: int) -> Staff:
    return get_or_404(Staff, staff_id, "staff_not_found", "找不到该工作人员")


@blp.post("/staff/<int:staff_id>/grants")
@auth.staff_required
@blp.arguments(GrantArgs)
@blp.response(201, GrantSchema)
@blp.errors(401, 403, 404, 409, 422)
def add_grant(args, staff_id):
    """Grant a role within a scope (prefecture; a county officer within the county; a committee
    clerk the committee role of their own community) to an account in the caller's remit or one
    without grants."""
    staff = _staff(staff_id)
    grant = service.grant_role(auth.current_staff(), staff, args["role"], args["scope_id"])
    commit()
    return grant


@blp.delete("/staff/<int:staff_id>/grants/<int:grant_id>")
@auth.staff_required
@blp.response(204)
@blp.errors(401, 403, 404)
def revoke_grant(staff_id, grant_id):
    """Revoke one of an account's grants (the prefecture; a county officer or a committee clerk
    for an account in their remit, as `GET /staff` lists them; never the caller's own: 403
    `own_account`). The account answers to its remaining grants from its next request on; an
    account left without grants is the prefecture's to manage. 404 `grant_not_found` for a
    grant the account does not hold."""
    account_service.revoke_grant(auth.current_staff(), _staff(staff_id), grant_id)
    commit()


@blp.post("/staff/<int:staff_id>/deactivate")
@auth.staff_required
@blp.response(200, StaffSchema)
@blp.errors(401, 403, 404)
def deactivate_staff(staff_id):
    """Deactivate a staff account in the caller's remit (never their own: 403 `own_account`):
    it can no longer sign in and its tokens are refused at once (401 `token_invalid`), also
    after a reactivation. An account already deactivated stays so."""
    staff = account_service.deactivate(auth.current_staff(), _staff(staff_id))
    commit()
    return staff


@blp.post("/staff/<int:staff_id>/activate")
@auth.staff_required
@blp.response(200, StaffSchema)
@blp.errors(401, 403, 404)
def activate_staff(staff_id):
    """Reactivate a deactivated staff account in the caller's remit: it signs in again with its
    password (the tokens it held before stay ended). An active account stays so."""
    staff = account_service.activate(auth.current_staff(), _staff(staff_id))
    commit()
    return staff


def _no_store(response):
    # The one-time password must not be kept by a cache between the server and the browser.
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.post("/staff/<int:staff_id>/password-reset")
@auth.staff_required
@blp.response(200, PasswordResetSchema)
@blp.errors(401, 403, 404)
def reset_staff_password(staff_id):
    """Reset the password of a staff account in the caller's remit (never their own: 403
    `own_account`): the server generates the new password, replies it this once (never stored
    but as a hash, never logged) and ends every token the account holds."""
    after_this_request(_no_store)
    password = auth.generate_password()
    staff = account_service.reset_password(
        auth.current_staff(), _staff(staff_id), auth.hash_password(password)
    )
    commit()
    return {"password": password, "staff": staff}
