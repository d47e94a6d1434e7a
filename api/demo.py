"""The demo data of `flask --app wsgi seed-demo`, which the README's walk-through relies on.

A county, a community and two estates (200 households) with their rosters; four staff accounts;
a project on the first estate with its first plan, put to the residents; and a second project,
already through its satisfaction gate and under construction, so that the demo shows what happens
on the building site (supervisors, inspections, tickets) and after it (ratings, acceptance)
without anyone casting 60 ballots by hand. The second estate's households get residents who claim
them, the projects move through their lifecycle and the residents vote, all through the same
services the API uses; the project passes the gate the way a real one would. Nothing here sets a
status or wires a rule by hand.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from api import auth
from api.core import db, utcnow
from participation import queries
from participation.models import Community, County, Estate, Household, Project, Resident, Staff
from participation.service import privacy, registry, roster
from participation.service import projects as project_service
from voting.service import ballots, consultations
from voting.service.tally import recompute

DEMO_COUNTY = "芒市"
DEMO_COMMUNITY = "勐焕社区"
DEMO_ESTATES = (("团结小区", "团结大街88号", 6), ("建设小区", "建设路12号", 4))
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "艳",
    "勇",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "志强",
    "玉兰",
    "德明",
)
# The first household of the first estate: the README's curl lines claim it.
DEMO_OWNER = {
    "building": "1栋",
    "unit": "1单元",
    "room": "101",
    "name": "张伟",
    "phone_last4": "1234",
}

# The first project's plan, put to the residents of the first estate.
FIRST_PLAN_ITEMS = (
    ("rain_sewage_separation", "小区雨污分流改造，新建污水管网约800米", "1200000"),
    ("lighting", "更换及新增路灯40盏", "180000"),
    ("barrier_free", "单元入口无障碍坡道12处", "96000"),
    ("greening", "中心绿地提升改造", "350000"),
)

SUPERVISOR_CODE = "demo-wang"  # the fake WeChat signs this code in as openid demo-openid-wang
# The plan of the second project, the one under construction.
SITE_PLAN_ITEMS = (
    ("roof_facade", "屋面防水及外墙保温改造，共4栋", "860000"),
    ("elevator", "加装电梯2部（2栋、3栋）", "1100000"),
    ("ev_charging", "新建电动自行车充电棚2处", "120000"),
)


@dataclass
class Seeded:
    """What `seed` built or found: the estates, the staff passwords it set (username ->
    (password, role, scope id)), the project put to the residents and the one under
    construction."""

    estates: list[Estate]
    consulting: Project
    building_site: Project
    passwords: dict = field(default_factory=dict)


def seed() -> Seeded:
    """Build the demo data, or find it and renew the staff passwords. Flushes; the caller
    commits. Safe to run again: the places and projects are kept."""
    county = db.session.scalar(select(County).where(County.name == DEMO_COUNTY))
    if county is None:
        county = registry.create_county(DEMO_COUNTY)
        community = registry.create_community(county, DEMO_COMMUNITY)
        for index, (name, address, buildings) in enumerate(DEMO_ESTATES):
            estate = registry.create_estate(community, name, address)
            roster.apply(estate, _demo_rows(index, buildings))
    community_id = _first_community_id(county)
    passwords: dict = {}
    _set_password("admin", "prefecture", None, passwords)
    _set_password("county", "county", county.id, passwords)
    _set_password("clerk", "committee", community_id, passwords)
    project = _project_in_consultation(county)
    _set_password("owner", "owner", project.id, passwords)
    estates = list(db.session.scalars(queries.estates()))
    building_site = _project_in_construction(
        estates[1],
        queries.staff_by_username("clerk"),
        queries.staff_by_username("owner"),
    )
    return Seeded(
        estates=estates, consulting=project, building_site=building_site, passwords=passwords
    )


# --- places and staff ------------------------------------------------------------------------


def _first_community_id(county: County) -> int:
    """The demo county's first community, whose committee the clerk serves."""
    return db.session.scalar(
        select(Community.id).where(Community.county_id == county.id).order_by(Community.id)
    )


def _demo_rows(estate_index: int, buildings: int) -> list[roster.RosterRow]:
    """A made-up roster, the same on every run; the first household is DEMO_OWNER's."""
    rng = random.Random(estate_index)
    rows = []
    for b in range(1, buildings + 1):
        for unit in (1, 2):
            for floor in range(1, 6):
                for door in (1, 2):
                    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                    rows.append(
                        roster.RosterRow(
                            len(rows) + 2,
                            f"{b}栋",
                            f"{unit}单元",
                            f"{floor}0{door}",
                            name,
                            f"{rng.randrange(10000):04d}",
                            Decimal(rng.randrange(4500, 13000)) / 100,
                        )
                    )
    if estate_index == 0:
        first = rows[0]
        first.owner_name, first.owner_phone_last4 = DEMO_OWNER["name"], DEMO_OWNER["phone_last4"]
    return rows


def _set_password(username: str, role: str, scope_id: int | None, passwords: dict):
    """Create the account with its one grant, or give it a new password; note the password."""
    password = secrets.token_urlsafe(9)
    staff = queries.staff_by_username(username)
    if staff is None:
        registry.create_staff(
            None,
            {"username": username, "grants": [{"role": role, "scope_id": scope_id}]},
            auth.hash_password(password),
        )
    else:
        staff.password_hash = auth.hash_password(password)
    passwords[username] = (password, role, scope_id)


# --- the first project: its plan put to the residents ----------------------------------------


def _project_in_consultation(county: County) -> Project:
    """A renovation project on the first estate, with its first plan version (idempotent)."""
    project = db.session.scalar(
        select(Project).where(Project.county_id == county.id).order_by(Project.id)
    )
    if project is not None:
        return project
    estate = db.session.scalar(select(Estate).order_by(Estate.id))
    project = project_service.create_project(
        {
            "name": f"{estate.name}老旧小区改造项目",
            "description": "基础类改造：雨污分流、照明、无障碍设施和绿化。",
            "estate_ids": [estate.id],
            "category": "basic",
            "plan_year": 2027,
            "supervisor_cap": 10,
            "funding": [
                {"source": "government", "amount": Decimal("1500000"), "note": "中央补助"},
                {"source": "residents", "amount": Decimal("326000"), "note": "居民出资"},
            ],
        }
    )
    admin = queries.staff_by_username("county")
    for step in ("annual_plan", "consulting"):
        project_service.transition(project, admin, step)
    project_service.create_plan(
        project,
        admin,
        {
            "summary": "第一版改造方案",
            "items": [
                {"category": c, "description": d, "estimated_cost": Decimal(cost)}
                for c, d, cost in FIRST_PLAN_ITEMS
            ],
        },
    )
    return project


# --- the second project: through its gate, under construction --------------------------------


def _members(estate: Estate) -> list[int]:
    """A verified resident for every household of the estate; the first is demo-wang's.

    Each has accepted the privacy notice in force and claims its household as a resident would,
    with the roster's name and phone digits, so the registry verifies it at once.
    """
    households = db.session.scalars(
        select(Household).where(Household.estate_id == estate.id).order_by(Household.id)
    ).all()
    residents = []
    for index, household in enumerate(households):
        openid = "demo-openid-wang" if index == 0 else f"demo-openid-e{estate.id}-{household.id}"
        resident = db.session.scalar(select(Resident).where(Resident.openid == openid))
        if resident is None:
            resident = Resident(openid=openid, nickname="王芳" if index == 0 else f"住户{index}")
            db.session.add(resident)
            db.session.flush()
            registry.claim_household(
                resident,
                estate,
                {
                    "building": household.building.name,
                    "unit": household.unit,
                    "room": household.room,
                    "name": household.owner_name,
                    "phone_last4": household.owner_phone_last4,
                    "relation": "owner",
                },
            )
        privacy.accept_privacy_notice(resident, queries.privacy_notice().version)
        residents.append(resident.id)
    return residents


def _project_in_construction(estate: Estate, clerk: Staff, owner: Staff) -> Project:
    """The second estate's project, through a consultation that passed the gate (idempotent)."""
    name = f"{estate.name}老旧小区改造项目"
    project = db.session.scalar(select(Project).where(Project.name == name))
    if project is not None:
        return project
    residents = _members(estate)
    project = project_service.create_project(
        {
            "name": name,
            "description": "完善类改造：屋面外墙、加装电梯、充电设施。",
            "estate_ids": [estate.id],
            "category": "improvement",
            "plan_year": 2026,
            "supervisor_cap": 5,
            "funding": [
                {"source": "government", "amount": Decimal("1500000"), "note": "省级补助"},
                {"source": "maintenance_fund", "amount": Decimal("400000"), "note": "专项维修资金"},
                {"source": "residents", "amount": Decimal("180000"), "note": "居民出资"},
            ],
        }
    )
    for step in ("annual_plan", "consulting"):
        project_service.transition(project, owner, step)
    plan = project_service.create_plan(
        project,
        owner,
        {
            "summary": "经需求调查后形成的改造方案",
            "items": [
                {"category": c, "description": d, "estimated_cost": Decimal(cost)}
                for c, d, cost in SITE_PLAN_ITEMS
            ],
        },
    )
    registry.grant_role(None, owner, "owner", project.id)

    consultation = consultations.create_consultation(
        project, clerk, {"kind": "plan_satisfaction", "plan_id": plan.id}
    )
    # The vote ran its minimum period (GATE_MIN_OPEN_DAYS) before the demo's day, so the
    # committee may close it although a few households never voted.
    opened_at = utcnow() - consultations.min_open_period() - timedelta(days=1)
    consultation.created_at = opened_at
    consultations.open_consultation(consultation, opened_at)
    rng = random.Random(7)
    voters = residents[1:]  # demo-wang has not voted: the demo can show a closed ballot box
    for resident_id in voters[: len(voters) - 3]:
        choice = "unsatisfied" if rng.random() < 0.04 else "satisfied"
        ballots.cast_ballot(consultation.id, resident_id, {"choice": choice})
    consultations.close_consultation(consultation)
    recompute(consultation.id)
    for step in ("approved", "construction"):
        project_service.transition(project, owner, step)
    return project
