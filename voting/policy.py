"""Who may run a consultation, record a paper ballot or see a ballot, and the rule that guards
construction: the satisfaction gate (满意度门槛).

The permission rules read a staff member's grants through `participation.policy`. The gate rule
is registered before the project step `construction` by `api.app.wire_domains`, so every caller
of `participation.service.projects.transition` runs it.
"""

from __future__ import annotations

from api.core import Conflict, Forbidden, db
from participation.models import Household, Project, Staff
from participation.policy import (
    covers_county,
    is_prefecture,
    manages_project,
    project_community_ids,
    require_sees_project,
    scope_ids,
)
from voting.jobs import catch_up
from voting.models import Consultation, Tally
from voting.queries.ballots import eligibility
from voting.queries.gate import gate_consultation, is_stale
from voting.service.ballots import refuse_ineligible

# --- running a consultation and recording its ballots ----------------------------------------


def runs_consultations(staff: Staff, project: Project) -> bool:
    """The owner, the county, the prefecture; a committee only when it covers every community
    the project reaches: one committee does not open or close the vote of a bundled project's
    other communities."""
    if manages_project(staff, project):
        return True
    communities = project_community_ids(project)
    return bool(communities) and communities <= scope_ids(staff, "committee")


def require_runs_consultations(staff: Staff, project: Project) -> None:
    require_sees_project(staff, project)
    if not runs_consultations(staff, project):
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


REASONS = {
    "no_consultation": "当前方案尚未征询居民意见",
    "consultation_open": "满意度征询尚未结束",
    "not_passed": "居民满意度或参与率未达到要求",
    "tally_pending": "最终计票尚未完成，请稍后再试",
}


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
