"""Reads of the registry that other domains may use."""

from __future__ import annotations

from sqlalchemy import select

from api.core import db
from participation.models import Household, HouseholdClaim, Resident


def verified_household_ids(resident: Resident) -> set[int]:
    """The households the resident is a verified member of."""
    return set(
        db.session.scalars(
            select(HouseholdClaim.household_id).where(
                HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified"
            )
        )
    )


def verified_estate_ids(resident: Resident) -> set[int]:
    """The estates in which the resident is a verified member of a household."""
    return set(
        db.session.scalars(
            select(Household.estate_id)
            .join(HouseholdClaim, HouseholdClaim.household_id == Household.id)
            .where(HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified")
        )
    )


def project_household_ids(resident: Resident, project) -> list[int]:
    """The households in the project's estates of which the resident is a verified member."""
    estate_ids = [estate.id for estate in project.estates]
    return list(
        db.session.scalars(
            select(Household.id)
            .join(HouseholdClaim, HouseholdClaim.household_id == Household.id)
            .where(
                HouseholdClaim.resident_id == resident.id,
                HouseholdClaim.status == "verified",
                Household.estate_id.in_(estate_ids),
            )
            .order_by(Household.id)
        )
    )
