"""Delegations of an owner's vote in an owners' decision (委托投票): who may be named, and the
delegations a caller sees (masked).

Nothing here writes.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from api.core import db, labels
from api.core.fields import mask_address, mask_name
from participation.models import Building, Estate, Household, Resident
from voting.models import Consultation, Delegation, ElectorateEntry, ElectorMember

LIVE = ("pending", "verified")

_Owner = aliased(Resident)
_Delegate = aliased(Resident)
_DelegateMember = aliased(ElectorMember)


def owned_households(consultation: Consultation, resident_id: int) -> list[int]:
    """The households of the frozen electorate whose owner the resident was at the opening."""
    return list(
        db.session.scalars(
            select(ElectorMember.household_id)
            .where(
                ElectorMember.consultation_id == consultation.id,
                ElectorMember.resident_id == resident_id,
                ElectorMember.relation == "owner",
            )
            .order_by(ElectorMember.household_id)
        )
    )


def member_households(consultation: Consultation, resident_id: int) -> list[int]:
    """The households of the frozen electorate the resident was a member of, whatever the
    relation."""
    return list(
        db.session.scalars(
            select(ElectorMember.household_id)
            .where(
                ElectorMember.consultation_id == consultation.id,
                ElectorMember.resident_id == resident_id,
            )
            .order_by(ElectorMember.household_id)
        )
    )


def in_electorate(consultation_id: int, household_id: int) -> bool:
    """The household is in the consultation's frozen electorate."""
    return db.session.get(ElectorateEntry, (consultation_id, household_id)) is not None


def frozen_relation(consultation_id: int, household_id: int, resident_id: int) -> str | None:
    """The resident's relation to the household at the opening, or None if not a member."""
    return db.session.scalar(
        select(ElectorMember.relation).where(
            ElectorMember.consultation_id == consultation_id,
            ElectorMember.household_id == household_id,
            ElectorMember.resident_id == resident_id,
        )
    )


def live_delegation(consultation_id: int, household_id: int) -> Delegation | None:
    """The household's pending or verified delegation (at most one: the unique live index)."""
    return db.session.scalar(
        select(Delegation).where(
            Delegation.consultation_id == consultation_id,
            Delegation.household_id == household_id,
            Delegation.status.in_(LIVE),
        )
    )


def candidates(consultation: Consultation, households: list[int]) -> list[dict]:
    """The members of these households an owner may name as delegate: frozen at the opening,
    not owners. Nicknames masked."""
    rows = db.session.execute(
        select(
            ElectorMember.household_id,
            ElectorMember.resident_id,
            ElectorMember.relation,
            Resident.nickname,
        )
        .join(Resident, Resident.id == ElectorMember.resident_id)
        .where(
            ElectorMember.consultation_id == consultation.id,
            ElectorMember.household_id.in_(households),
            ElectorMember.relation != "owner",
        )
        .order_by(ElectorMember.household_id, ElectorMember.resident_id)
    ).all()
    return [
        {
            "household_id": r.household_id,
            "resident_id": r.resident_id,
            "nickname": mask_name(r.nickname),
            "relation": r.relation,
        }
        for r in rows
    ]


def delegations_page(
    consultation: Consultation,
    args: dict,
    *,
    households: list[int] | None = None,
    communities: set[int] | None = None,
) -> dict:
    """One page (`args["page"]`, `args["per_page"]`) of the consultation's delegations, newest
    first, each as `DelegationSchema` dumps it: of these households only (a resident's), of
    these communities' households only (a committee's), or all (None, the county and the
    prefecture). Addresses and nicknames masked. The envelope of a page (items, page,
    per_page, total): the count, then the page."""
    statement = (
        select(
            Delegation,
            Building.name,
            Household.unit,
            Household.room,
            _Owner.nickname,
            _Delegate.nickname,
            _DelegateMember.relation,
        )
        .join(Household, Household.id == Delegation.household_id)
        .join(Building, Building.id == Household.building_id)
        .outerjoin(_Owner, _Owner.id == Delegation.owner_id)
        .join(_Delegate, _Delegate.id == Delegation.delegate_id)
        .outerjoin(
            _DelegateMember,
            (_DelegateMember.consultation_id == Delegation.consultation_id)
            & (_DelegateMember.household_id == Delegation.household_id)
            & (_DelegateMember.resident_id == Delegation.delegate_id),
        )
        .where(Delegation.consultation_id == consultation.id)
        .order_by(Delegation.id.desc())
    )
    if households is not None:
        statement = statement.where(Delegation.household_id.in_(households))
    if communities is not None:
        statement = statement.where(Household.estate_id.in_(estates_of(communities)))
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows = db.session.execute(statement.limit(per_page).offset((page - 1) * per_page))
    items = [
        described(delegation, (building, unit, room), owner, delegate, relation)
        for delegation, building, unit, room, owner, delegate, relation in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def estates_of(communities: set[int]):
    """A SELECT of the ids of the estates of these communities."""
    return select(Estate.id).where(Estate.community_id.in_(communities))


def described(delegation: Delegation, address, owner, delegate, relation) -> dict:
    """One delegation as `DelegationSchema` dumps it (names and room masked)."""
    return {
        "id": delegation.id,
        "consultation_id": delegation.consultation_id,
        "household_id": delegation.household_id,
        "household": mask_address(*address),
        "owner_id": delegation.owner_id,
        "owner": mask_name(owner) if delegation.owner_id is not None else None,
        "delegate_id": delegation.delegate_id,
        "delegate": mask_name(delegate),
        "delegate_relation": relation,
        "power_of_attorney_upload_id": delegation.power_of_attorney_upload_id,
        "note": delegation.note,
        "status": delegation.status,
        "status_label": labels.DELEGATION_STATUSES[delegation.status],
        "recorded_by_committee": delegation.recorded_by_staff_id is not None,
        "reason": delegation.reason,
        "reviewed_at": delegation.reviewed_at,
        "revoked_at": delegation.revoked_at,
        "created_at": delegation.created_at,
    }


def describe(delegation: Delegation) -> dict:
    """One delegation, looked up, as `delegations` gives it."""
    household = db.session.get(Household, delegation.household_id)
    owner = db.session.get(Resident, delegation.owner_id) if delegation.owner_id else None
    delegate = db.session.get(Resident, delegation.delegate_id)
    relation = frozen_relation(
        delegation.consultation_id, delegation.household_id, delegation.delegate_id
    )
    return described(
        delegation,
        (household.building.name, household.unit, household.room),
        owner.nickname if owner else None,
        delegate.nickname,
        relation,
    )
