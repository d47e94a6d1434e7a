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

from typing import NamedTuple

from flask import current_app
from sqlalchemy import and_, bindparam, func, select

from api.core import db
from participation.models import Plan, Project
from voting.models import Consultation, Tally
from voting.queries.rules import split_figures

RULE = (
    "满意度按本次征询创建时冻结的读法计算：按票（ballots，默认）为满意票/全部有效票"
    "（弃权计入分母，不算满意），按户（households，更严格）为满意票/全部应参与；"
    "参与率=已投票/应参与（按户、人数或专有面积，以本次征询的计票基准为准）；"
    "满意度达到门槛（不低于90%）且参与率达到参与门槛（不低于2/3）方可通过，"
    "无论计票基准为何，已投票户数也须达到参与门槛，按精确分数比较；"
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


class GateRead(NamedTuple):
    """The rows the gate reply is made of: the current plan's id and version (None: no plan),
    and its satisfaction consultation with the stored tally (None: none on this plan)."""

    plan_id: int | None
    plan_version: int | None
    consultation: Consultation | None
    tally: Tally | None


_LATEST_PLAN = (
    select(func.max(Plan.version))
    .where(Plan.project_id == bindparam("project_id"))
    .correlate(None)
    .scalar_subquery()
)
# Built once, run with bound values (building a statement costs about what running it does).
# A project without a gate consultation binds gate_id NULL, which joins no consultation.
_GATE_READ = (
    select(Plan.id, Plan.version, Consultation, Tally)
    .select_from(Plan)
    .outerjoin(
        Consultation,
        and_(Consultation.id == bindparam("gate_id"), Consultation.plan_id == Plan.id),
    )
    .outerjoin(Tally, Tally.consultation_id == Consultation.id)
    .where(Plan.project_id == bindparam("project_id"), Plan.version == _LATEST_PLAN)
)


def gate_read(project: Project, fresh: bool = False) -> GateRead:
    """In one statement: the project's current plan, the gate consultation if it is that
    plan's (as `gate_consultation` picks it) and its stored tally. Counts nothing: the cost is
    the same at 10 or 1,000,000 ballots. `fresh` reloads rows this session already holds."""
    values = {"project_id": project.id, "gate_id": project.gate_consultation_id}
    options = {"populate_existing": True} if fresh else {}
    row = db.session.execute(_GATE_READ, values, execution_options=options).one_or_none()
    if row is None:
        return GateRead(None, None, None, None)
    return GateRead(*row)


def is_stale(consultation: Consultation, tally: Tally) -> bool:
    """Ballots changed since the tally counted (or it never counted), read from the tally row
    alone: each ballot bumps `tally.changes` in its own transaction and the count stores the
    value it read with its aggregate (`Tally`), so this costs the same at any number of
    ballots."""
    return tally.computed_at is None or tally.changes != tally.changes_seen


def gate_view(project: Project, read: GateRead | None = None) -> dict:
    """What `GET /projects/{id}/gate` answers: the numbers used, when, whether final, each
    estate's figures and which estates hold the gate shut, from `read` (`gate_read`, read now
    when not given). Reads the tally row; never counts."""
    read = read if read is not None else gate_read(project)
    consultation, tally = read.consultation, read.tally
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
            "plan_id": read.plan_id,
            "plan_version": read.plan_version,
            "reason": "no_consultation",
            # The reading a consultation created now would freeze.
            "gate_basis": current_app.config.get("GATE_BASIS", "ballots"),
            "figures": {},
            "estates": [],
            "held_by": [],
            "rule": RULE,
        }
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
        "plan_version": read.plan_version,
        "reason": reason,
        "gate_basis": consultation.gate_basis,
        "figures": figures,
        "estates": estates,
        "held_by": held_by,
        "rule": RULE,
    }
