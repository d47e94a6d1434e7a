"""The satisfaction gate (满意度门槛): may the project's current plan go to construction?

The policy lets a plan start only when at least 90% of residents are satisfied with it. The gate
reads the tally of the current plan's satisfaction consultation; it never counts by itself.
"""

from __future__ import annotations

from api.core import Conflict, db
from participation.models import Project
from voting.jobs import catch_up
from voting.models import Consultation, Tally
from voting.tally import changes_now


class GateNotPassed(Conflict):
    code = "gate_not_passed"
    message = "居民满意度未达到要求，项目不能开工"


RULE = (
    "满意度=满意票/全部有效票（弃权计入分母，不算满意）；参与率=已投票/应参与"
    "（按户、人数或专有面积，以本次征询的计票基准为准）；"
    "满意度达到门槛（默认90%）且参与率达到参与门槛（默认2/3）方可通过，按精确分数比较；"
    "表决结束后的最终计票方为定论，其后如有未计入的选票须重新计票。"
)

REASONS = {
    "no_consultation": "当前方案尚未征询居民意见",
    "consultation_open": "满意度征询尚未结束",
    "not_passed": "居民满意度或参与率未达到要求",
    "tally_pending": "最终计票尚未完成，请稍后再试",
}


def gate_consultation(project: Project) -> Consultation | None:
    """The satisfaction consultation on the project's current plan, if there is one."""
    plan = project.current_plan
    if plan is None or project.gate_consultation_id is None:
        return None
    consultation = db.session.get(Consultation, project.gate_consultation_id)
    if consultation is None or consultation.plan_id != plan.id:
        return None
    return consultation


def gate_view(project: Project) -> dict:
    """What `GET /projects/{id}/gate` answers: the numbers used, when, and whether final."""
    consultation = gate_consultation(project)
    if consultation is None:
        return {
            "passed": False,
            "satisfaction_rate": None,
            "participation_rate": None,
            "threshold": 0.9,
            "quorum": 2 / 3,
            "basis": "households",
            "counted": 0,
            "eligible": 0,
            "final": False,
            "stale": False,
            "computed_at": None,
            "consultation_id": None,
            "plan_id": getattr(project.current_plan, "id", None),
            "plan_version": getattr(project.current_plan, "version", None),
            "reason": "no_consultation",
            "figures": {},
            "rule": RULE,
        }
    tally = db.session.get(Tally, consultation.id)
    stale = tally.computed_at is None or changes_now(consultation.id) != tally.changes_seen
    reason = None
    if not tally.passed:
        reason = "consultation_open" if consultation.status == "open" else "not_passed"
    return {
        "passed": bool(tally.passed),
        "satisfaction_rate": tally.satisfaction_rate,
        "participation_rate": tally.participation_rate,
        "threshold": float(consultation.threshold),
        "quorum": float(consultation.quorum),
        "basis": consultation.basis,
        "counted": tally.counted,
        "eligible": consultation.eligible_households,
        "final": bool(tally.final) and not stale,
        "stale": stale,
        "computed_at": tally.computed_at,
        "consultation_id": consultation.id,
        "plan_id": consultation.plan_id,
        "plan_version": project.current_plan.version,
        "reason": reason,
        "figures": tally.figures or {},
        "rule": RULE,
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
        if not tally.final or changes_now(consultation.id) != tally.changes_seen:
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
