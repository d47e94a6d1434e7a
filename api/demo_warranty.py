"""The demo's warranty period (保修期, issue 15): a fourth project, on the estate `api.demo`
gives, that went through its satisfaction gate and its works (every milestone met), was accepted
half a year ago with its joint acceptance record, and is now in its 3-year warranty period; residents have reported three
defects since: one waiting for the owner's answer, one answered, one resolved. Everything goes
through the services the API uses (the gate, the lifecycle's guards and effects, the tickets).

`api.demo.seed` calls `seed_warranty(estate, clerk, owner)` after the building site's project,
whose seeding gives the estate's households their verified residents.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from api.core import db, local_today, utcnow
from feedback.service import acceptance, tickets
from participation.models import Household, HouseholdClaim, Project, Resident, Staff
from participation.models.registry import Estate
from participation.service import projects as project_service
from participation.service import registry
from voting.service import ballots, consultations
from voting.service.tally import recompute

WARRANTY_NAME = "勐焕社区雨污分流改造工程"
WARRANTY_PLAN_ITEMS = (
    ("rain_sewage_separation", "小区雨污分流管网改造，新建检查井12座", "380000"),
    ("other", "破损路面修复及透水铺装", "150000"),
)
ACCEPTED_DAYS_AGO = 180
WARRANTY_PROBLEMS = (
    # (what the resident reports, days ago, the owner's answer or None, confirmed)
    ("3栋东侧新修检查井盖松动，走上去有响声", 20, "已安排施工单位更换井盖并加固井座。", True),
    ("透水砖路面下雨后有两处积水", 6, "已与施工单位现场查看，本周内返修。", False),
    ("1栋单元门口雨水篦子堵塞，排水不畅", 1, None, False),
)


def seed_warranty(estate: Estate, clerk: Staff, owner: Staff) -> Project:
    """The accepted project in its warranty period with its tickets (idempotent: found by name
    and returned as it is). `owner` is granted it. Flushes; the caller commits."""
    project = db.session.scalar(select(Project).where(Project.name == WARRANTY_NAME))
    if project is not None:
        return project
    residents = _verified_residents(estate)
    held_on = local_today() - timedelta(days=ACCEPTED_DAYS_AGO)
    project = _through_the_gate(estate, residents, clerk, owner, plan_year=held_on.year)
    project_service.transition(project, owner, "completed")
    # Every milestone met on time, the acceptance on the day it was held.
    project_service.update_project(
        project, {"milestones": {m.kind: min(m.due_on, held_on) for m in project.milestones}}
    )
    acceptance.record(
        project,
        owner,
        {
            "held_on": held_on,
            "remarks": "管网闭水试验合格，路面平整度符合要求",
            "parties": [
                {"role": "design", "name": "德宏州市政设计院", "verdict": "pass"},
                {"role": "construction", "name": "芒市市政工程公司", "verdict": "pass"},
                {"role": "supervision", "name": "滇西工程监理", "verdict": "conditional"},
            ],
            "representatives": [
                {"resident_id": residents[11].id, "verdict": "pass", "remarks": "排水明显改善"},
                {"resident_id": residents[12].id, "verdict": "pass", "remarks": None},
            ],
        },
    )
    # The lifecycle's effect sets the warranty end: held_on + warranty_years (3 here).
    project_service.transition(project, owner, "accepted")
    for (description, days_ago, answer, confirmed), resident in zip(
        WARRANTY_PROBLEMS, residents[13:16], strict=True
    ):
        ticket = tickets.report_problem(
            project,
            resident,
            {"description": description, "aspects": ["workmanship"], "severity": "minor"},
            at=utcnow() - timedelta(days=days_ago),
        )
        if answer is not None:
            tickets.answer(ticket, owner, answer)
        if confirmed:
            tickets.confirm(ticket, resident, "已修好，谢谢")
    return project


def _verified_residents(estate: Estate) -> list[Resident]:
    """The estate's verified residents, one a household, in household order (api.demo's)."""
    rows = db.session.execute(
        select(HouseholdClaim.household_id, Resident)
        .join(Resident, Resident.id == HouseholdClaim.resident_id)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .where(Household.estate_id == estate.id, HouseholdClaim.status == "verified")
        .order_by(Household.id, HouseholdClaim.id)
    ).all()
    first: dict[int, Resident] = {}
    for household_id, resident in rows:
        first.setdefault(household_id, resident)
    return list(first.values())


def _through_the_gate(
    estate: Estate, residents: list[Resident], clerk: Staff, owner: Staff, *, plan_year: int
) -> Project:
    """The project with its plan, through a satisfaction consultation that passed the gate,
    under construction (as `api.demo` brings its own projects there)."""
    project = project_service.create_project(
        {
            "name": WARRANTY_NAME,
            "description": "基础类改造：雨污分流管网和路面修复。",
            "estate_ids": [estate.id],
            "category": "basic",
            "plan_year": plan_year,
            "supervisor_cap": 3,
            "warranty_years": 3,
            "funding": [
                {"source": "government", "amount": Decimal("480000"), "note": "中央补助"},
                {"source": "maintenance_fund", "amount": Decimal("50000"), "note": "专项维修资金"},
            ],
        }
    )
    for step in ("annual_plan", "consulting"):
        project_service.transition(project, owner, step)
    plan = project_service.create_plan(
        project,
        owner,
        {
            "summary": "雨污分流及路面修复方案",
            "items": [
                {"category": c, "description": d, "estimated_cost": Decimal(cost)}
                for c, d, cost in WARRANTY_PLAN_ITEMS
            ],
        },
    )
    registry.grant_role(None, owner, "owner", project.id)
    consultation = consultations.create_consultation(
        project, clerk, {"kind": "plan_satisfaction", "plan_id": plan.id}
    )
    opened_at = utcnow() - consultations.min_open_period() - timedelta(days=1)
    consultation.created_at = opened_at
    consultations.open_consultation(consultation, opened_at)
    rng = random.Random(15)
    voters = residents[1:]
    for resident in voters[: len(voters) - 2]:
        choice = "unsatisfied" if rng.random() < 0.03 else "satisfied"
        ballots.cast_ballot(consultation.id, resident.id, {"choice": choice})
    consultations.close_consultation(consultation)
    recompute(consultation.id)
    for step in ("approved", "construction"):
        project_service.transition(project, owner, step)
    return project
