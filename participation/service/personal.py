"""What participation holds about a resident: what `GET /me/export` shows of it (`export`) and
what erasing the resident does to it (`erase`), side by side so that no table is shown and
forgotten, or erased and not shown.

`SOURCES` names, for each section of the export, the columns pointing at the resident that it
is read from; tests/registry/test_personal_data.py holds every such column of the schema to
one section of some domain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from api.core import db
from participation.models import (
    Building,
    ContributionPledge,
    ContributionScheme,
    Estate,
    Household,
    HouseholdClaim,
    PrivacyConsent,
    Resident,
)

SOURCES = {
    "privacy_consents": ("privacy_consents.resident_id",),
    "household_claims": ("household_claims.resident_id",),
    "memberships": ("household_claims.resident_id",),
    "contribution_pledges": ("contribution_pledges.resident_id",),
}


def tombstone(resident_id: int) -> str:
    """What replaces an erased resident's openid: unique, and no WeChat openid ever (WeChat's
    have no `~`), so the same WeChat user signing in again is a new resident."""
    return f"~erased~{resident_id}"


def export(resident: Resident) -> dict:
    """The resident's row, consents to the privacy notice, claims as typed and memberships."""
    claims = list(
        db.session.execute(
            select(HouseholdClaim, Estate.id, Estate.name, Building.name, Household)
            .join(Household, Household.id == HouseholdClaim.household_id)
            .join(Building, Building.id == Household.building_id)
            .join(Estate, Estate.id == Household.estate_id)
            .where(HouseholdClaim.resident_id == resident.id)
            .order_by(HouseholdClaim.id)
        )
    )
    consents = db.session.scalars(
        select(PrivacyConsent)
        .where(PrivacyConsent.resident_id == resident.id)
        .order_by(PrivacyConsent.id)
    )
    pledges = db.session.execute(
        select(ContributionPledge, ContributionScheme.title, ContributionScheme.project_id)
        .join(ContributionScheme, ContributionScheme.id == ContributionPledge.scheme_id)
        .where(ContributionPledge.resident_id == resident.id)
        .order_by(ContributionPledge.scheme_id, ContributionPledge.household_id)
    )
    return {
        "resident": {
            "id": resident.id,
            "openid": resident.openid,
            "unionid": resident.unionid,
            "nickname": resident.nickname,
            "created_at": resident.created_at,
            "last_login_at": resident.last_login_at,
        },
        "privacy_consents": [
            {"version": c.version, "accepted_at": c.accepted_at} for c in consents
        ],
        "household_claims": [
            {
                "id": claim.id,
                "household_id": claim.household_id,
                "estate_id": estate_id,
                "relation": claim.relation,
                "claimed_name": claim.claimed_name,
                "claimed_phone_last4": claim.claimed_phone_last4,
                "status": claim.status,
                "reason": claim.reason,
                "created_at": claim.created_at,
                "reviewed_at": claim.reviewed_at,
                "verified_at": claim.verified_at,
                "ended_at": claim.ended_at,
            }
            for claim, estate_id, _, _, _ in claims
        ],
        "memberships": [
            {
                "household_id": household.id,
                "estate_id": estate_id,
                "estate": estate,
                "building": building,
                "unit": household.unit,
                "room": household.room,
                "relation": claim.relation,
                "verified_at": claim.verified_at,
            }
            for claim, estate_id, estate, building, household in claims
            if claim.status == "verified"
        ],
        "contribution_pledges": [
            {
                "scheme_id": pledge.scheme_id,
                "scheme": title,
                "project_id": project_id,
                "household_id": pledge.household_id,
                "choice": pledge.choice,
                "reason": pledge.reason,
                "created_at": pledge.created_at,
                "updated_at": pledge.updated_at,
            }
            for pledge, title, project_id in pledges
        ],
    }


def erase(resident: Resident, now: datetime) -> None:
    """Participation's part of an erasure (`participation.service.erasure.erase_resident`):
    the openid replaced by a tombstone, unionid and nickname gone, `erased_at` set; every claim
    (what was typed, and the memberships) and every consent deleted; the household's pledges
    to contribution schemes stay (they are the household's answer) without naming the
    resident. The row stays: ballots, counts and audit trails name its id, which no longer
    leads to a person."""
    db.session.execute(delete(HouseholdClaim).where(HouseholdClaim.resident_id == resident.id))
    db.session.execute(
        update(ContributionPledge)
        .where(ContributionPledge.resident_id == resident.id)
        .values(resident_id=None)
    )
    db.session.execute(delete(PrivacyConsent).where(PrivacyConsent.resident_id == resident.id))
    resident.openid = tombstone(resident.id)
    resident.unionid = None
    resident.nickname = None
    resident.erased_at = now
    db.session.flush()
