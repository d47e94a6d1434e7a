"""Who may run a consultation, record a paper ballot or see a ballot, and the rule that guards
construction: the satisfaction gate (满意度门槛).

The permission rules read a staff member's grants through `participation.policy`. The gate rule
is registered before the project step `construction` by `api.app.wire_domains`, so every caller
of `participation.service.projects.transition` runs it.
"""

from __future__ import annotations

from api.core import Conflict, Forbidden, NotFound, db, labels
from participation.models import Household, Project, Resident, Staff
from participation.policy import (
    covers_county,
    is_prefecture,
    manages_project,
    project_community_ids,
    require_sees_project,
    scope_ids,
)
from voting.jobs import catch_up
from voting.models import Consultation, Delegation, Tally
from voting.queries.ballots import eligibility
from voting.queries.gate import gate_consultation, is_stale
from voting.service.ballots import NotOpenYet, refuse_ineligible

# --- running a consultation and recording its ballots ----------------------------------------


# The kinds whose vote the community organises (社区党组织统筹协调，社区居委会配合): the project
# owner, whose plan or whose request is voted on, drafts them but never opens or closes them.
ORGANISED_KINDS = ("plan_satisfaction", "owners_decision")


def organises_votes(staff: Staff, project: Project) -> bool:
    """The county, the prefecture; a committee only when it covers every community the project
    reaches: one committee does not open or close the vote of a bundled project's other
    communities. Never the project owner as such."""
    if is_prefecture(staff) or covers_county(staff, project.county_id):
        return True
    communities = project_community_ids(project)
    return bool(communities) and communities <= scope_ids(staff, "committee")


def drafts_consultations(staff: Staff, project: Project) -> bool:
    """Who prepares a consultation (a draft): the owner, and those who organise the vote."""
    return manages_project(staff, project) or organises_votes(staff, project)


def runs_consultation(staff: Staff, project: Project, kind: str) -> bool:
    """Who opens and closes a consultation of `kind`: for a plan satisfaction consultation or an
    owners' decision, those who organise the vote; a needs survey, also the owner."""
    if kind in ORGANISED_KINDS:
        return organises_votes(staff, project)
    return drafts_consultations(staff, project)


def require_drafts_consultations(staff: Staff, project: Project) -> None:
    require_sees_project(staff, project)
    if not drafts_consultations(staff, project):
        raise Forbidden("您无权为该项目准备表决", code="out_of_scope")


def require_runs_consultation(staff: Staff, project: Project, kind: str) -> None:
    """403 `organised_by_community` for the owner of a plan satisfaction consultation or an
    owners' decision, 403 `out_of_scope` for other staff who see the project, 404 (as a missing
    project) for those who do not."""
    require_sees_project(staff, project)
    if runs_consultation(staff, project, kind):
        return
    if kind in ORGANISED_KINDS and drafts_consultations(staff, project):
        raise Forbidden(
            "满意度征询和业主共同决定由社区（或县、州）组织开始和结束，建设单位可以准备草稿、查看结果，"
            "但不能自行开始或结束表决",
            code="organised_by_community",
        )
    raise Forbidden("您无权组织该项目的表决", code="out_of_scope")


def require_paper_scope(staff_communities: set[int] | None, household_id: int) -> None:
    """A committee clerk records paper ballots of their own community's households only."""
    if staff_communities is None:
        return
    household = db.session.get(Household, household_id)
    if household is None or household.estate.community_id not in staff_communities:
        raise Forbidden("该户不属于您管理的社区", code="out_of_scope")


def require_records_paper_ballot(staff: Staff, project: Project, household_id: int) -> None:
    """Paper and assisted ballots are recorded by the prefecture, the project's county, or a
    committee for its own community's households, also in a bundled project whose
    consultation it does not run."""
    require_sees_project(staff, project)
    if is_prefecture(staff) or covers_county(staff, project.county_id):
        return
    committees = scope_ids(staff, "committee")
    if not committees:
        raise Forbidden("纸质选票由社区居委会录入", code="out_of_scope")
    require_paper_scope(committees, household_id)


def canvassed_communities(staff: Staff, project: Project) -> set[int] | None:
    """The communities whose households who have not voted the staff member may list, for
    door-to-door visits: None (every one) for the prefecture and the project's county; else the
    project's communities the staff member is the committee of. Raises 404 (as a missing
    project) for staff who do not see the project, 403 `out_of_scope` for those who see it but
    canvass none (the project owner: the interested party does not knock on doors)."""
    require_sees_project(staff, project)
    if is_prefecture(staff) or covers_county(staff, project.county_id):
        return None
    communities = project_community_ids(project) & scope_ids(staff, "committee")
    if not communities:
        raise Forbidden("未投票住户名单仅供项目所在社区的居委会上门走访", code="out_of_scope")
    return communities


def require_eligible(consultation: Consultation, resident_id: int) -> list[int]:
    """The households the resident votes for here; if there are none, 404 for a resident outside
    the project's estates (as for a missing consultation), else 403 `not_eligible` with the
    reason."""
    allowed = eligibility(consultation, resident_id)
    if not allowed["eligible"]:
        refuse_ineligible(allowed["reason"])
    return allowed["households"]


# --- the satisfaction gate before construction ----------------------------------------------


class GateNotPassed(Conflict):
    code = "gate_not_passed"
    message = "居民满意度未达到要求，项目不能开工"


REASONS = labels.GATE_REASONS  # also the gate reply's `reason_label`


def require_gate_passed(project: Project) -> None:
    """Refuse (409 `gate_not_passed`) unless the current plan's consultation is closed, its
    final tally passed, and no ballot is newer than that tally."""
    consultation = gate_consultation(project)
    if consultation is None:
        reason = "no_consultation"
    elif consultation.status != "closed":
        reason = "consultation_open"
    else:
        tally = db.session.get(Tally, consultation.id)
        if not tally.final or is_stale(consultation, tally):
            reason = "tally_pending"
        elif not tally.passed:
            reason = "not_passed"
        else:
            return
    raise GateNotPassed(f"居民满意度门槛未通过：{REASONS[reason]}", details={"reason": reason})


def guard_construction(project: Project) -> None:
    """The rule registered before `construction`: a consultation whose close time has passed is
    closed and counted first (so the gate does not answer "still open" for want of a scheduler,
    as in the embedded default), then the gate must have passed."""
    consultation = gate_consultation(project)
    if consultation is not None:
        catch_up(consultation)
    require_gate_passed(project)


# --- delegations of an owner's vote in an owners' decision (委托投票) -------------------------


class DelegationNotFound(NotFound):
    """A delegation that does not exist, or of a project the caller may not know of."""

    code = "delegation_not_found"
    message = "找不到该委托"


def delegation_communities(staff: Staff, project: Project) -> set[int] | None:
    """The communities whose households' delegations the staff member records, verifies and
    lists: None (every one) for the prefecture and the project's county; else the project's
    communities the staff member is the committee of (empty for the project's owner, the
    interested party)."""
    if is_prefecture(staff) or covers_county(staff, project.county_id):
        return None
    return project_community_ids(project) & scope_ids(staff, "committee")


def require_keeps_delegations(staff: Staff, project: Project) -> set[int] | None:
    """`delegation_communities`, or 404 (as a missing project) for staff who do not see the
    project and 403 `out_of_scope` for those who keep none of its delegations."""
    require_sees_project(staff, project)
    communities = delegation_communities(staff, project)
    if communities is not None and not communities:
        raise Forbidden("委托投票由住户所在社区的居委会登记和核实", code="out_of_scope")
    return communities


def require_keeps_household_delegation(staff: Staff, project: Project, household_id: int) -> None:
    """The committee of the household's community, the county, the prefecture (403 else)."""
    require_paper_scope(require_keeps_delegations(staff, project), household_id)


def require_delegation_owner(resident: Resident, delegation: Delegation, households) -> None:
    """Of residents, only the owner who recorded a delegation revokes it: 403 to the other
    members of its household (`households`: the caller's in the electorate), 404 to anyone
    else, to whom it does not exist."""
    if delegation.owner_id == resident.id:
        return
    if delegation.household_id in households:
        raise Forbidden("只有委托的业主本人或居委会可以撤销该委托", code="not_delegation_owner")
    raise DelegationNotFound()


# --- the staff's downloads (issue 13, exports) ------------------------------------------------


def require_opened(consultation: Consultation) -> None:
    """A draft has no frozen electorate and no count: 409 `consultation_not_open`."""
    if consultation.status == "draft":
        raise NotOpenYet()


def require_result_shown(view: dict) -> None:
    """An export never shows what the API hides: a result the caller may not see now
    (`voting.queries.visibility`: too few ballots while the vote is open, a bundled project's
    estate below that number) is 409 `results_hidden`, with the reason."""
    reason = view.get("results_hidden")
    if reason is not None:
        raise Conflict(
            f"暂不能导出计票结果：{labels.RESULTS_HIDDEN[reason]}",
            code="results_hidden",
            details={"results_hidden": reason},
        )


def require_final_result(consultation: Consultation, tally: Tally) -> None:
    """A publicity sheet (公示) states a consultation's final result, of any kind: 409
    `consultation_not_closed` while the vote is open, `tally_pending` until the final count
    has every ballot."""
    if consultation.status != "closed":
        raise Conflict("表决结束后才能生成结果公示", code="consultation_not_closed")
    if not tally.final or is_stale(consultation, tally):
        raise Conflict(labels.GATE_REASONS["tally_pending"], code="tally_pending")
