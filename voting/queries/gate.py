"""The satisfaction gate (满意度门槛) as people read it: may the project's current plan go to
construction, by which numbers, computed when, and is that final?

The policy lets a plan start only when at least 90% of residents are satisfied with it. The gate
reads the tally of the current plan's satisfaction consultation; it never counts by itself. The
rule that refuses construction is `voting.policy.require_gate_passed`.

The reply's keys are stable, whatever the project (a later step may hide some of them from
readers before the close): the pooled numbers, `gate_basis` (the reading of satisfaction),
`figures` (the pooled totals), `estates` (each estate's figures and whether it passes) and
`held_by` (the ids of the estates that hold the gate shut).
"""

from __future__ import annotations

from flask import current_app

from api.core import db
from participation.models import Project
from voting.models import Consultation, Tally
from voting.queries.rules import split_figures
from voting.queries.tally import changes_now

RULE = (
    "满意度按本次征询创建时冻结的读法计算：按票（ballots，默认）为满意票/全部有效票"
    "（弃权计入分母，不算满意），按户（households，更严格）为满意票/全部应参与；"
    "参与率=已投票/应参与（按户、人数或专有面积，以本次征询的计票基准为准）；"
    "满意度达到门槛（不低于90%）且参与率达到参与门槛（不低于2/3）方可通过，按精确分数比较；"
    "项目涉及多个小区（建筑区划）的，各小区分别计票，每个小区都通过方可通过，"
    "未通过的小区列于held_by；"
    "表决结束后的最终计票方为定论，其后如有未计入的选票须重新计票。"
)


def gate_consultation(project: Project) -> Consultation | None:
    """The satisfaction consultation on the project's current plan, if there is one."""
    plan = project.current_plan
    if plan is None or project.gate_consultation_id is None:
        return None
    consultation = db.session.get(Consultation, project.gate_consultation_id)
    if consultation is None or consultation.plan_id != plan.id:
        return None
    return consultation


def is_stale(consultation: Consultation, tally: Tally) -> bool:
    """Ballots changed since the tally counted (or it never counted)."""
    return tally.computed_at is None or changes_now(consultation.id) != tally.changes_seen


def gate_view(project: Project) -> dict:
    """What `GET /projects/{id}/gate` answers: the numbers used, when, whether final, each
    estate's figures and which estates hold the gate shut. Reads the tally row; never counts."""
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
            # The reading a consultation created now would freeze.
            "gate_basis": current_app.config.get("GATE_BASIS", "ballots"),
            "figures": {},
            "estates": [],
            "held_by": [],
            "rule": RULE,
        }
    tally = db.session.get(Tally, consultation.id)
    stale = is_stale(consultation, tally)
    figures, estates, held_by = split_figures(tally.figures)
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
        "gate_basis": consultation.gate_basis,
        "figures": figures,
        "estates": estates,
        "held_by": held_by,
        "rule": RULE,
    }
