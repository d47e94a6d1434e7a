"""Reads of the registry that other domains may use."""

from __future__ import annotations

from sqlalchemy import select

from api.core import NotFound, db
from participation.models import Household, HouseholdClaim, Resident


def get_or_404(model, object_id, code: str = "not_found", message: str = "找不到该记录"):
    """The row with this primary key, or a 404 in the error shape."""
    obj = db.session.get(model, object_id)
    if obj is None:
        raise NotFound(message, code=code)
    return obj


def verified_household_ids(resident: Resident) -> set[int]:
    """The households the resident is a verified member of."""
    return set(
        db.session.scalars(
            select(HouseholdClaim.household_id).where(
                HouseholdClaim.resident_id == resident.id, HouseholdClaim.status == "verified"
            )
        )
    )


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧**娜: the first character, and the last for names of 3+."""
    if not name:
        return name
    chars = list(name)
    if len(chars) == 1:
        return "*"
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def mask_phone_last4(digits: str | None) -> str | None:
    """The roster's last four phone digits are shown as **34."""
    if not digits:
        return digits
    return "**" + digits[-2:]


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
