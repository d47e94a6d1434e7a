"""Delegations of an owner's vote in an owners' decision (委托投票): recorded by the owner (then
verified or rejected by the committee) or by the committee for an owner without a phone
(verified at once), revoked by the owner or the committee until the close.

Every write takes the consultation's shared lock, like a ballot, so it is ordered against the
close: it commits before the close, or it sees the consultation closed and is refused.
Functions flush, never commit.
"""

from __future__ import annotations

from api.core import Conflict, InvalidInput, db, utcnow
from feedback.service.uploads import evidence_upload
from participation.models import Project, Resident, Staff
from voting.models import Consultation, Delegation
from voting.queries import delegations as queries
from voting.queries.ballots import eligibility
from voting.service.ballots import refuse_ineligible
from voting.service.consultations import lock


class DelegationNotApplicable(InvalidInput):
    code = "delegation_not_applicable"
    message = "只有业主共同决定可以委托投票"


class DelegationExists(Conflict):
    code = "delegation_exists"
    message = "该户已有待核实或已核实的委托，请先撤销"


class ConsultationNotOpen(Conflict):
    code = "consultation_not_open"
    message = "表决开始（表决名单冻结）后方可登记委托"


class ConsultationClosed(Conflict):
    code = "consultation_closed"
    message = "表决已结束，委托不能再登记、核实或撤销"


def require_applicable(consultation: Consultation) -> None:
    """Delegations exist in owners' decisions only (422 `delegation_not_applicable`)."""
    if consultation.kind != "owners_decision":
        raise DelegationNotApplicable(details={"kind": consultation.kind})


def check_accepting(consultation: Consultation) -> None:
    """An owners' decision (422 `delegation_not_applicable`) that is open (409
    `consultation_not_open` for a draft, whose electorate is not frozen yet;
    `consultation_closed` after the close)."""
    require_applicable(consultation)
    if consultation.status == "draft":
        raise ConsultationNotOpen()
    if not consultation.accepts_ballots(utcnow()):
        raise ConsultationClosed()


def _locked_open(consultation: Consultation) -> Consultation:
    """The consultation share-locked, if it is an owners' decision still taking ballots."""
    require_applicable(consultation)
    consultation = lock(consultation.id, shared=True)
    check_accepting(consultation)
    return consultation


def owner_households(consultation: Consultation, resident: Resident) -> list[int]:
    """The households the resident owned at the opening; if none, what a resident who may not
    vote is told (403 `not_an_owner` for a member who is not an owner, a delegate included)."""
    owned = queries.owned_households(consultation, resident.id)
    if not owned:
        refuse_ineligible(eligibility(consultation, resident.id)["reason"] or "not_an_owner")
    return owned


def _check_delegate(consultation: Consultation, household_id: int, delegate_id: int) -> None:
    relation = queries.frozen_relation(consultation.id, household_id, delegate_id)
    if relation is None:
        raise InvalidInput(
            "受托人须是本户在表决名单中的已认证成员",
            code="delegate_not_in_household",
            details={"delegate_id": delegate_id, "household_id": household_id},
        )
    if relation == "owner":
        raise InvalidInput(
            "受托人不能是本户的业主（业主本人可直接投票）",
            code="delegate_is_owner",
            details={"delegate_id": delegate_id},
        )


def _check_upload(consultation: Consultation, caller: Resident | Staff, upload_id: int) -> None:
    evidence_upload(
        db.session.get(Project, consultation.project_id),
        caller,
        upload_id,
        field="power_of_attorney_upload_id",
        message="委托书照片须是您本人为本项目上传的图片",
    )


def _check_free(consultation: Consultation, household_id: int) -> None:
    live = queries.live_delegation(consultation.id, household_id)
    if live is not None:
        raise DelegationExists(details={"delegation_id": live.id, "status": live.status})


def _add(consultation: Consultation, household_id: int, args: dict, **fields) -> Delegation:
    delegation = Delegation(
        consultation_id=consultation.id,
        household_id=household_id,
        delegate_id=args["delegate_id"],
        power_of_attorney_upload_id=args["power_of_attorney_upload_id"],
        note=args.get("note"),
        created_at=utcnow(),
        **fields,
    )
    db.session.add(delegation)
    db.session.flush()
    return delegation


def record_by_owner(consultation: Consultation, resident: Resident, args: dict) -> Delegation:
    """An owner (at the opening) entrusts the household's vote to another member, with a photo
    of the signed power of attorney they uploaded: `pending` until the committee verifies it.

    Refuses another kind (422), a consultation not open (409), a resident who is not the
    household's owner (403 `not_an_owner`), a delegate who is not a non-owner member of the
    household at the opening (422), an upload not theirs for this project (422), and a
    household that already has a live delegation (409 `delegation_exists`)."""
    consultation = _locked_open(consultation)
    owned = owner_households(consultation, resident)
    household_id = args.get("household_id")
    if household_id is None:
        if len(owned) > 1:
            raise InvalidInput(
                "您是多户的业主，请指定为哪一户委托",
                code="household_required",
                details={"households": owned},
            )
        household_id = owned[0]
    elif household_id not in owned:
        refuse_ineligible("not_an_owner")
    _check_delegate(consultation, household_id, args["delegate_id"])
    _check_upload(consultation, resident, args["power_of_attorney_upload_id"])
    _check_free(consultation, household_id)
    return _add(consultation, household_id, args, owner_id=resident.id, status="pending")


def household_in_electorate(consultation: Consultation, household_id: int | None) -> int:
    """The household named by a committee, if it is in the frozen electorate (else 422)."""
    if household_id is None or not queries.in_electorate(consultation.id, household_id):
        raise InvalidInput(
            "请指定本次表决名单中的一户",
            code="household_not_in_electorate",
            details={"household_id": household_id},
        )
    return household_id


def record_by_committee(consultation: Consultation, staff: Staff, args: dict) -> Delegation:
    """The committee records an owner's delegation brought to its desk (an owner without a
    phone, `owner_id` null), with its own photo of the power of attorney: verified at once,
    with the clerk as reviewer. The same checks as `record_by_owner` for the delegate, the
    upload and the live delegation."""
    consultation = _locked_open(consultation)
    household_id = household_in_electorate(consultation, args.get("household_id"))
    _check_delegate(consultation, household_id, args["delegate_id"])
    _check_upload(consultation, staff, args["power_of_attorney_upload_id"])
    _check_free(consultation, household_id)
    now = utcnow()
    return _add(
        consultation,
        household_id,
        args,
        owner_id=None,
        status="verified",
        recorded_by_staff_id=staff.id,
        reviewed_by_id=staff.id,
        reviewed_at=now,
    )


def _locked_delegation(delegation: Delegation) -> Delegation:
    consultation = db.session.get(Consultation, delegation.consultation_id)
    _locked_open(consultation)
    db.session.refresh(delegation, with_for_update=True)
    return delegation


def _require_pending(delegation: Delegation) -> None:
    if delegation.status != "pending":
        raise Conflict(
            "该委托不在待核实状态",
            code="delegation_not_pending",
            details={"status": delegation.status},
        )


def verify(delegation: Delegation, staff: Staff) -> Delegation:
    """The committee has seen the signed power of attorney: the delegate's ballot now counts as
    the owner's. Only a pending delegation (409), only while the vote is open (409)."""
    delegation = _locked_delegation(delegation)
    _require_pending(delegation)
    delegation.status = "verified"
    delegation.reviewed_by_id, delegation.reviewed_at = staff.id, utcnow()
    delegation.reason = None
    db.session.flush()
    return delegation


def reject(delegation: Delegation, staff: Staff, reason: str) -> Delegation:
    """The committee refuses a pending delegation, saying why (the owner may record another)."""
    delegation = _locked_delegation(delegation)
    _require_pending(delegation)
    delegation.status = "rejected"
    delegation.reviewed_by_id, delegation.reviewed_at = staff.id, utcnow()
    delegation.reason = reason
    db.session.flush()
    return delegation


def revoke(delegation: Delegation) -> Delegation:
    """The owner (or the committee) withdraws a pending or verified delegation until the close
    (after it 409 `consultation_closed`). From then on the delegate may not vote for the
    household; a ballot the delegate already cast stays until the owner casts another."""
    delegation = _locked_delegation(delegation)
    if delegation.status not in queries.LIVE:
        raise Conflict(
            "该委托已撤销或未通过核实",
            code="delegation_not_live",
            details={"status": delegation.status},
        )
    delegation.status, delegation.revoked_at = "revoked", utcnow()
    db.session.flush()
    return delegation
