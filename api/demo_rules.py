"""The demo's estate management rules (小区管理办法, issue 15): on the estate given, version 1
adopted by an owners' decision on 管理规约 (of a project covering the estate, most owners
agreeing), and version 2 published for comment with two residents' comments, one answered by
the committee. Built through the services the API uses; safe to run again (an estate that
already has rules is left as it is).
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from api.core import db, utcnow
from feedback.models.estate_rules import EstateRules, RulesComment
from feedback.service import estate_rules
from participation import queries
from participation.models import Estate, Household, HouseholdClaim, Project, Staff
from voting.service import ballots, consultations
from voting.service.tally import recompute

RULES_V1 = (
    "第一条 为加强本小区的物业管理，维护全体业主和物业使用人的合法权益，根据《中华人民共和国民法典》"
    "和《物业管理条例》，制定本办法。\n"
    "第二条 业主应当按时交纳物业服务费用，合理使用共有部分，不得擅自改变房屋用途。\n"
    "第三条 小区内机动车按划定车位停放，电动自行车应在充电棚集中停放充电，禁止入户充电。\n"
    "第四条 生活垃圾分类投放，装修垃圾按指定地点堆放并及时清运。\n"
    "第五条 本办法经业主共同决定通过后施行。"
)
RULES_V2 = RULES_V1.replace(
    "第五条 本办法经业主共同决定通过后施行。",
    "第五条 加装电梯的运行维护费用由使用电梯的单元业主按建筑面积分摊。\n"
    "第六条 本办法经业主共同决定通过后施行。",
)
DEMO_RULES_COMMENTS = (
    (
        "建议明确电梯维护费用按楼层分摊的比例，高层多分担一些比较公平。",
        "已记录，将在表决前召开单元议事会讨论分摊比例。",
    ),
    ("充电棚的开放时间能否写进办法里？晚上十点以后经常没电。", None),
)


def _owners(estate: Estate) -> list[int]:
    """The estate's residents verified as owners, one per household, in the roster's order."""
    rows = db.session.execute(
        select(HouseholdClaim.resident_id, Household.id)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .where(
            Household.estate_id == estate.id,
            HouseholdClaim.status == "verified",
            HouseholdClaim.relation == "owner",
        )
        .order_by(Household.id, HouseholdClaim.id)
    ).all()
    seen, owners = set(), []
    for resident_id, household_id in rows:
        if household_id not in seen:
            seen.add(household_id)
            owners.append(resident_id)
    return owners


def _statute_decision(project: Project, clerk: Staff, estate: Estate, owners: list[int]) -> int:
    """An owners' decision on 管理规约, closed and counted: about nine in ten owners agree."""
    consultation = consultations.create_consultation(
        project,
        clerk,
        {
            "kind": "owners_decision",
            "matter": estate_rules.MATTER,
            "title": f"关于制定《{estate.name}管理办法》的业主共同决定",
            "description": "依据《民法典》第二百七十八条，由专有部分面积和人数均占比三分之二以上的业主参与表决。",
        },
    )
    consultations.open_consultation(consultation, utcnow() - timedelta(days=10))
    rng = random.Random(278)
    for resident_id in owners[: len(owners) - 4]:  # a few owners never voted
        draw = rng.random()
        choice = "agree" if draw < 0.88 else "disagree" if draw < 0.96 else "abstain"
        ballots.cast_ballot(consultation.id, resident_id, {"choice": choice})
    consultations.close_consultation(consultation)
    recompute(consultation.id)
    return consultation.id


def seed_rules(estate: Estate, clerk: Staff, owner: Staff) -> list[EstateRules]:
    """Version 1 adopted and version 2 published with two comments, on `estate` (which needs
    verified owners and a project covering it); the estate's versions. `owner` is not needed
    by the rules (a project's owner has no say over them) and is taken for the seeding's one
    calling convention. Flushes; the caller commits."""
    existing = list(
        db.session.scalars(
            select(EstateRules)
            .where(EstateRules.estate_id == estate.id)
            .order_by(EstateRules.version)
        )
    )
    if existing:
        return existing
    project = db.session.scalars(queries.estate_projects(estate)).first()
    owners = _owners(estate)
    if project is None or len(owners) < 6:
        return []
    decision = _statute_decision(project, clerk, estate, owners)

    v1 = estate_rules.create(estate, clerk, {"title": f"{estate.name}管理办法", "body": RULES_V1})
    estate_rules.publish(v1, None)
    v1.published_at = utcnow() - timedelta(days=40)
    estate_rules.link_decision(v1, decision)
    estate_rules.record_result(v1)

    v2 = estate_rules.create(
        estate, clerk, {"title": f"{estate.name}管理办法（修订草案）", "body": RULES_V2}
    )
    estate_rules.publish(v2, utcnow() + timedelta(days=30))
    now = utcnow()
    for index, (body, answer) in enumerate(DEMO_RULES_COMMENTS):
        at = now - timedelta(hours=6 * (len(DEMO_RULES_COMMENTS) - index))
        comment = RulesComment(
            rules_id=v2.id,
            author_id=owners[2 + index],
            body=body,
            status="visible",
            check_attempts=1,
            checked_at=at,
            created_at=at,
        )
        db.session.add(comment)
        db.session.flush()
        if answer:
            estate_rules.reply(comment, clerk, answer)
    db.session.flush()
    return [v1, v2]
