"""How a membership of a household ends: the resident leaves it, or a roster re-import that
changes the household's owner revokes the claims verified against the previous owner.

A membership that ends keeps its row, as `left` or `revoked` with `ended_at` (and, when revoked,
the reason the resident reads): who belonged to a household, and until when, stays on record,
and a new claim on the same household may follow (the live-claim index holds pending and
verified claims only). Either end is announced as `membership_ended`, which voting hears (the
resident no longer votes for the household in a consultation still open); a revocation also as
`membership_revoked`, which notices publishes to that resident alone.

Functions flush, never commit: the request (or the command) commits once.
"""

from __future__ import annotations

from sqlalchemy import select

from api.core import Conflict, NotFound, db, emit, utcnow
from api.core.fields import mask_address
from participation.models import Building, Estate, Household, HouseholdClaim, Resident
from participation.models.registry import LIVE_CLAIM_STATUSES

# The relations a change of owner ends. A family member belongs to the owner's family, and the
# roster verifies them by the owner's name and phone digits: a new owner's family is not the old
# one's. A tenant's claim stays: a sale does not end a lease (Civil Code art. 725, 买卖不破租赁),
# and the roster, which records owners only, says nothing of a lease.
REVOKED_RELATIONS = ("owner", "family")
REVOKED_REASON = (
    "社区居委会更新了花名册，该房屋登记的业主姓名或手机后四位已与您认证时填写的不一致，"
    "住户认证已撤销"
)
# Households a re-import changed, looked up this many at a time (SQLite's bound parameters).
_CHUNK = 500


def _end(claim: HouseholdClaim, status: str, reason: str | None = None) -> None:
    """End a verified membership as `status` (`left` or `revoked`) and announce it."""
    claim.status, claim.ended_at = status, utcnow()
    if reason is not None:
        claim.reason = reason
    db.session.flush()
    emit(
        "membership_ended",
        claim_id=claim.id,
        household_id=claim.household_id,
        resident_id=claim.resident_id,
        cause=status,
    )


def leave_household(resident: Resident, household_id: int) -> HouseholdClaim:
    """The resident leaves a household they are a verified member of; the claim, now `left`.

    A household they do not belong to (someone else's, one that does not exist, or one they left
    already) is a 404 `membership_not_found`, the same answer for each, so that ids tell nothing.
    A claim still pending is a 409 `claim_pending` naming it: that is withdrawn, not left
    (`DELETE /me/claims/{claim_id}`).
    """
    # Locked: a second leave (or a revocation) at the same moment waits, then finds the
    # membership ended (PostgreSQL reads the row again) instead of ending it a second time.
    claim = db.session.scalar(
        select(HouseholdClaim)
        .where(
            HouseholdClaim.resident_id == resident.id,
            HouseholdClaim.household_id == household_id,
            HouseholdClaim.status.in_(LIVE_CLAIM_STATUSES),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if claim is None:
        raise NotFound("您不是该房屋的认证住户", code="membership_not_found")
    if claim.status == "pending":
        raise Conflict(
            "您对该房屋的申请尚在审核中，如需取消请撤回申请",
            code="claim_pending",
            details={"claim_id": claim.id},
        )
    _end(claim, "left")
    return claim


def revoke_superseded(estate: Estate, owners: dict[int, tuple[str, str]]) -> int:
    """Revoke the verified owner and family claims that a roster re-import superseded; how many.

    `owners` maps each household of `estate` whose owner of record the import changed (their
    name or phone digits differ from the roster's before) to its new (name, phone digits). A
    claim is revoked when what its resident typed (and the roster or the committee verified) is
    not the new owner's: the previous owner and their family. A claim that already names the new
    owner stays (a buyer the committee verified before the roster caught up), as does every
    tenant's. Each resident revoked is told why (`membership_revoked`).
    """
    if not owners:
        return 0
    ids = sorted(owners)
    revoked = 0
    for start in range(0, len(ids), _CHUNK):
        rows = db.session.execute(
            select(HouseholdClaim, Building.name, Household.unit, Household.room)
            .join(Household, Household.id == HouseholdClaim.household_id)
            .join(Building, Building.id == Household.building_id)
            .where(
                HouseholdClaim.household_id.in_(ids[start : start + _CHUNK]),
                HouseholdClaim.status == "verified",
                HouseholdClaim.relation.in_(REVOKED_RELATIONS),
            )
            .order_by(HouseholdClaim.id)
            # Locked, as a leave locks it: a claim its resident left meanwhile is not revoked.
            .with_for_update(of=HouseholdClaim)
            .execution_options(populate_existing=True)
        ).all()
        for claim, building, unit, room in rows:
            if (claim.claimed_name, claim.claimed_phone_last4) == owners[claim.household_id]:
                continue
            _end(claim, "revoked", REVOKED_REASON)
            emit(
                "membership_revoked",
                claim_id=claim.id,
                household_id=claim.household_id,
                resident_id=claim.resident_id,
                estate_id=estate.id,
                address=f"{estate.name}{mask_address(building, unit, room)}",
                reason=REVOKED_REASON,
            )
            revoked += 1
    return revoked
