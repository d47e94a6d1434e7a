"""Delegations of an owner's vote in an owners' decision (委托投票): candidates, recording,
the committee's verification or rejection, revocation."""

from api import auth
from api.core import commit, db
from api.http import Blueprint, PageArgs, page_schema
from api.routes.projects import hidden_as, load_project, visible_project
from api.routes.voting import visible_consultation
from participation.models import Resident
from voting import policy
from voting.models import Consultation, Delegation
from voting.policy import DelegationNotFound
from voting.queries import delegations as queries
from voting.schemas.delegations import (
    CandidateSchema,
    DelegationArgs,
    DelegationSchema,
    RejectionArgs,
)
from voting.service import delegations
from voting.service.ballots import ConsultationNotFound

blp = Blueprint(
    "delegations",
    __name__,
    url_prefix="/api/v1",
    description="Delegations of an owner's vote in an owners' decision",
)


def _delegation(delegation_id: int) -> tuple[Delegation, Consultation]:
    delegation = db.session.get(Delegation, delegation_id)
    if delegation is None:
        raise DelegationNotFound()
    return delegation, db.session.get(Consultation, delegation.consultation_id)


def _kept_by_staff(delegation: Delegation, consultation: Consultation) -> None:
    with hidden_as(DelegationNotFound):
        policy.require_keeps_household_delegation(
            auth.current_staff(), load_project(consultation.project_id), delegation.household_id
        )


@blp.get("/consultations/<int:consultation_id>/delegation-candidates")
@auth.resident_required
@blp.response(200, CandidateSchema(many=True))
@blp.errors(401, 403, 404, 422)
def delegation_candidates(consultation_id):
    """For an owner (at the opening): the other members of their households whom they may name
    as delegate (tenants and family, masked). 403 `not_an_owner` to anyone else."""
    consultation, _ = visible_consultation(consultation_id)
    delegations.require_applicable(consultation)
    owned = delegations.owner_households(consultation, auth.current_resident())
    return queries.candidates(consultation, owned)


@blp.post("/consultations/<int:consultation_id>/delegations")
@auth.login_required
@blp.arguments(DelegationArgs)
@blp.response(201, DelegationSchema)
@blp.errors(401, 403, 404, 409, 422)
def record_delegation(args, consultation_id):
    """An owner entrusts the household's vote to another member, with a photo of the signed
    power of attorney (pending until the committee verifies it); or the committee of the
    household's community (or the county, the prefecture) records one for an owner without a
    phone (verified at once)."""
    consultation, project = visible_consultation(consultation_id)
    caller = auth.current_caller()
    if isinstance(caller, Resident):
        delegation = delegations.record_by_owner(consultation, caller, args)
    else:
        with hidden_as(ConsultationNotFound):
            policy.require_keeps_delegations(caller, project)
        delegations.check_accepting(consultation)
        household_id = delegations.household_in_electorate(consultation, args.get("household_id"))
        policy.require_keeps_household_delegation(caller, project, household_id)
        delegation = delegations.record_by_committee(consultation, caller, args)
    commit()
    return queries.describe(delegation)


@blp.get("/consultations/<int:consultation_id>/delegations")
@auth.login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(DelegationSchema, "DelegationPage"))
@blp.errors(401, 403, 404, 422)
def list_delegations(args, consultation_id):
    """The delegations of an owners' decision, newest first, masked, a page at a time: a
    resident's own households', the committee's own community's, every one for the county and
    the prefecture. Never the project owner's to see."""
    consultation, project = visible_consultation(consultation_id)
    caller = auth.current_caller()
    if isinstance(caller, Resident):
        households = queries.member_households(consultation, caller.id)
        return queries.delegations_page(consultation, args, households=households)
    with hidden_as(ConsultationNotFound):
        communities = policy.require_keeps_delegations(caller, project)
    return queries.delegations_page(consultation, args, communities=communities)


@blp.post("/delegations/<int:delegation_id>/verify")
@auth.staff_required
@blp.response(200, DelegationSchema)
@blp.errors(401, 403, 404, 409)
def verify_delegation(delegation_id):
    """The committee has seen the signed power of attorney: the delegate's ballot now counts as
    the owner's (marked delegated)."""
    delegation, consultation = _delegation(delegation_id)
    _kept_by_staff(delegation, consultation)
    delegations.verify(delegation, auth.current_staff())
    commit()
    return queries.describe(delegation)


@blp.post("/delegations/<int:delegation_id>/reject")
@auth.staff_required
@blp.arguments(RejectionArgs)
@blp.response(200, DelegationSchema)
@blp.errors(401, 403, 404, 409, 422)
def reject_delegation(args, delegation_id):
    """The committee refuses a pending delegation, with the reason the owner reads."""
    delegation, consultation = _delegation(delegation_id)
    _kept_by_staff(delegation, consultation)
    delegations.reject(delegation, auth.current_staff(), args["reason"])
    commit()
    return queries.describe(delegation)


@blp.post("/delegations/<int:delegation_id>/revoke")
@auth.login_required
@blp.response(200, DelegationSchema)
@blp.errors(401, 403, 404, 409)
def revoke_delegation(delegation_id):
    """The owner who recorded it, or the committee, withdraws a delegation until the close."""
    delegation, consultation = _delegation(delegation_id)
    caller = auth.current_caller()
    if isinstance(caller, Resident):
        with hidden_as(DelegationNotFound):
            visible_project(consultation.project_id)
        households = queries.member_households(consultation, caller.id)
        policy.require_delegation_owner(caller, delegation, households)
    else:
        _kept_by_staff(delegation, consultation)
    delegations.revoke(delegation)
    commit()
    return queries.describe(delegation)
