"""The demo data of `flask --app wsgi seed-demo`, which the README's walk-through relies on.

A county, a community and two estates (200 households) with their rosters; four staff accounts;
a project on the first estate with its first plan, put to the residents; and a second project,
already through its satisfaction gate and under construction, so that the demo shows what happens
on the building site (supervisors, inspections, tickets) and after it (ratings, acceptance)
without anyone casting 60 ballots by hand. The second estate's households get residents who claim
them, the projects move through their lifecycle and the residents vote, all through the same
services the API uses; the project passes the gate the way a real one would. Nothing here sets a
status or wires a rule by hand. The clerk's pinned notice to the second estate has been read in
some buildings more than in others (the console's 通知公告).

Issue 15 adds, each from its own module: residents' contributions on the building site
(`api.demo_contributions`: a scheme adopted by an owners' decision, pledges, payments, spending),
a fourth project accepted and in its warranty period with residents' warranty problems
(`api.demo_warranty`), and the second estate's management rules, version 1 adopted and version 2
out for comment (`api.demo_rules`).
"""

from __future__ import annotations

import io
import random
import secrets
import struct
import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from api import auth
from api.core import db, utcnow
from api.demo_contributions import seed_contributions
from api.demo_rules import seed_rules
from api.demo_warranty import seed_warranty
from feedback.models.comments import Comment
from feedback.models.ratings import DIMENSIONS
from feedback.service import comments, moderation, ratings, supervision, tickets, uploads
from feedback.service.ratings import recompute as count_completion
from notices import queries as notice_queries
from notices.models import Notice
from notices.service import publishing
from participation import queries
from participation.models import (
    Community,
    ContributionScheme,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Project,
    Resident,
    Staff,
)
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


# A finished project on the second estate: its completion ratings fill the 竣工验收 page.
COMPLETED_NAME = "勐焕社区2025年楼道照明提升工程"
COMPLETED_PLAN_ITEMS = (
    ("lighting", "楼道声控灯更换及线路改造，共4栋", "160000"),
    ("other", "单元门禁及信报箱更换", "90000"),
)
RATING_COMMENTS = (
    "楼道终于亮了，晚上回家安心多了",
    "施工队很负责，每天都打扫干净",
    "灯的亮度有点刺眼，希望调暗一些",
    "门禁卡发放太慢，等了一个星期",
    "整体满意，感谢社区",
    "施工期间噪音大，但结果不错",
)


@dataclass
class Seeded:
    """What `seed` built or found: the estates, the staff passwords it set (username ->
    (password, role, scope id)), the project put to the residents, the one under construction
    with its contribution scheme, the completed one, the accepted one in its warranty period,
    and the second estate's management rules."""

    estates: list[Estate]
    consulting: Project
    building_site: Project
    completed: Project | None = None
    in_warranty: Project | None = None
    scheme: ContributionScheme | None = None
    rules: list = field(default_factory=list)  # the second estate's EstateRules versions
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
    clerk, owner = queries.staff_by_username("clerk"), queries.staff_by_username("owner")
    building_site = _project_in_construction(estates[1], clerk, owner)
    completed = _completed_project(estates[1], clerk, owner)
    in_warranty = seed_warranty(estates[1], clerk, owner)
    _notice_with_reads(estates[1], clerk)
    _comments_to_moderate(building_site, estates[1], clerk)
    scheme = seed_contributions(building_site, clerk, owner)
    rules = seed_rules(estates[1], clerk, owner)
    return Seeded(
        estates=estates,
        consulting=project,
        building_site=building_site,
        completed=completed,
        in_warranty=in_warranty,
        scheme=scheme,
        rules=rules,
        passwords=passwords,
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
        staff.token_epoch += 1  # a new password ends the tokens of the old one
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
    """The second estate's project, through a consultation that passed the gate, with its
    building site under way: supervisors, inspections and tickets (idempotent)."""
    name = f"{estate.name}老旧小区改造项目"
    project = db.session.scalar(select(Project).where(Project.name == name))
    if project is not None:
        return project
    residents = _members(estate)
    project = _through_the_gate(
        residents,
        clerk,
        owner,
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
        },
        "经需求调查后形成的改造方案",
        SITE_PLAN_ITEMS,
    )
    _building_site(project, [db.session.get(Resident, r) for r in residents], clerk, owner)
    return project


def _through_the_gate(
    residents: list[int], clerk: Staff, owner: Staff, fields: dict, summary: str, items
) -> Project:
    """A project with its plan, through a satisfaction consultation that passed the gate and
    under construction; `owner` is granted it."""
    project = project_service.create_project(fields)
    for step in ("annual_plan", "consulting"):
        project_service.transition(project, owner, step)
    plan = project_service.create_plan(
        project,
        owner,
        {
            "summary": summary,
            "items": [
                {"category": c, "description": d, "estimated_cost": Decimal(cost)}
                for c, d, cost in items
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


def _demo_photo(rgb: tuple[int, int, int]) -> bytes:
    """A small plain PNG of one colour: the demo's site photos (the API reads a file's type
    from its bytes)."""
    width, height = 160, 120
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def _building_site(project: Project, residents: list[Resident], clerk: Staff, owner: Staff):
    """What the 工地 page shows: sign-ups accepted, declined and waiting (demo-wang, the first
    resident, is left to sign up himself), two inspections (one with a photo that opened a
    ticket), and residents' problem reports answered, reopened, resolved and overdue."""
    signups = [
        supervision.sign_up(project, resident, {"trade": trade, "days_available": days})
        for resident, (trade, days) in zip(
            residents[1:6],
            (
                ("电工", ["sat", "sun"]),
                ("退休工程师", ["mon", "wed", "fri"]),
                ("水暖工", ["sat"]),
                ("木工", ["tue", "thu"]),
                (None, ["sun"]),
            ),
            strict=True,
        )
    ]
    supervision.accept(signups[0], clerk)
    supervision.accept(signups[1], clerk)
    supervision.decline(signups[2], clerk, "该时段已有监督员，感谢您的支持")

    photo = uploads.store(project, residents[1], io.BytesIO(_demo_photo((200, 120, 60))))
    tickets.file_inspection(
        project,
        residents[1],
        {
            "aspects": ["safety", "site_cleanliness"],
            "findings": "3栋东侧脚手架防护网破损，建筑垃圾堆在消防通道上",
            "severity": "major",
            "location": "3栋东侧",
            "photo_ids": [photo.id],
        },
    )
    tickets.file_inspection(
        project,
        residents[2],
        {
            "aspects": ["materials"],
            "findings": "抽查屋面防水卷材，合格证齐全",
            "severity": "none",
            "location": "1栋屋面",
        },
    )

    def problem(resident, description, aspects, at=None):
        return tickets.report_problem(
            project,
            resident,
            {"description": description, "aspects": aspects, "severity": "minor"},
            at=at,
        )

    answered = problem(residents[6], "电梯井施工噪音持续到晚上十点", ["noise_dust"])
    tickets.answer(answered, owner, "已要求施工方晚上八点后停止高噪音作业。")
    reopened = problem(residents[7], "2栋门口堆放的材料挡住了轮椅通道", ["safety"])
    tickets.answer(reopened, owner, "材料已挪开。")
    tickets.reopen(reopened, residents[7], "材料又堆回来了，还是过不去")
    resolved = problem(residents[8], "充电棚选址离窗户太近", ["other"])
    tickets.answer(resolved, owner, "已与设计单位协商，充电棚向南移动5米。")
    tickets.confirm(resolved, residents[8], "谢谢，已经看到调整")
    problem(residents[9], "4栋外墙保温层有脱落", ["workmanship"], at=utcnow() - timedelta(days=8))
    problem(residents[10], "施工车辆占用小区消防通道", ["safety"])


def _completed_project(estate: Estate, clerk: Staff, owner: Staff) -> Project:
    """A finished project on the second estate, rated by its households (idempotent)."""
    project = db.session.scalar(select(Project).where(Project.name == COMPLETED_NAME))
    if project is not None:
        return project
    residents = _members(estate)
    project = _through_the_gate(
        residents,
        clerk,
        owner,
        {
            "name": COMPLETED_NAME,
            "description": "基础类改造：楼道照明、门禁和信报箱。",
            "estate_ids": [estate.id],
            "category": "basic",
            "plan_year": 2025,
            "supervisor_cap": 3,
            "funding": [
                {"source": "government", "amount": Decimal("250000"), "note": "县级补助"},
            ],
        },
        "楼道照明及门禁改造方案",
        COMPLETED_PLAN_ITEMS,
    )
    project_service.transition(project, owner, "completed")
    rng = random.Random(11)
    for index, resident_id in enumerate(residents[1:41]):
        overall = rng.choices((5, 4, 3, 2, 1), weights=(45, 35, 12, 5, 3))[0]
        scores = {d: max(1, min(5, overall + rng.choice((-1, 0, 0, 1)))) for d in DIMENSIONS}
        comment = RATING_COMMENTS[index % len(RATING_COMMENTS)] if index % 3 == 0 else None
        ratings.rate(
            project,
            db.session.get(Resident, resident_id),
            {**scores, "overall": overall, "comment": comment},
        )
    count_completion(project.id)
    return project


# --- comments for the console's 评论管理 -----------------------------------------------------------

# (text, status WeChat gave it, residents who report it, the committee's official reply)
DEMO_COMMENTS = (
    (
        "施工队晚上十点还在切割钢筋，能不能早点收工？",
        "visible",
        0,
        "已要求施工方晚上八点后停止高噪音作业。",
    ),
    ("专业疏通下水道、开锁换锁，电话见小区门口广告", "visible", 3, None),
    ("楼下那家人天天占消防通道停车，大家评评理", "visible", 1, None),
    ("外墙颜色选得太难看了，到底是谁定的？", "pending_review", 0, None),
    ("加装电梯的钱到底怎么分摊？低层住户也要出吗？", "visible", 0, None),
)


def _comments_to_moderate(project: Project, estate: Estate, clerk: Staff) -> None:
    """Residents' comments on the project under construction (idempotent): one answered by the
    committee, one hidden by three residents' reports, one reported once, one WeChat held for
    review, one waiting for an answer."""
    if db.session.scalar(select(Comment.id).where(Comment.project_id == project.id).limit(1)):
        return
    residents = [db.session.get(Resident, r) for r in _members(estate)]
    now = utcnow()
    for index, (body, status, reports, answer) in enumerate(DEMO_COMMENTS):
        at = now - timedelta(hours=5 * (len(DEMO_COMMENTS) - index))
        comment = Comment(
            project_id=project.id,
            author_id=residents[12 + index].id,
            body=body,
            status=status,
            check_attempts=1,
            checked_at=at,
            report_count=0,
            created_at=at,
            updated_at=at,
        )
        db.session.add(comment)
        db.session.flush()
        for reporter in residents[20 : 20 + reports]:
            comments.report(comment, reporter, "广告" if reports > 1 else "不实信息")
        if answer:
            moderation.reply(comment, clerk, "committee", answer)


# --- a notice the residents of the second estate have partly read ------------------------------

DEMO_NOTICE_TITLE = "屋面防水施工期间临时停水通知"
# The share of each building's households whose resident has read it (1栋 first).
DEMO_NOTICE_READS = (0.8, 0.55, 0.3, 0.1)


def _notice_with_reads(estate: Estate, clerk: Staff) -> Notice:
    """A pinned construction notice the clerk published to the second estate, read by some of
    each building's residents (fewer in the later buildings), so that the console's 通知公告
    shows delivery figures, a read share per building and households to visit (idempotent).
    The demo's residents accepted no message template: every delivery is `no_consent`, and the
    fake WeChat receives nothing from the demo's seeding."""
    notice = db.session.scalar(select(Notice).where(Notice.title == DEMO_NOTICE_TITLE))
    if notice is not None:
        return notice
    target = notice_queries.resolve_target({"estate_id": estate.id})
    notice = publishing.create_notice(
        clerk,
        target,
        {
            "category": "construction",
            "title": DEMO_NOTICE_TITLE,
            "body": "因屋面防水施工，下周二8:00至18:00各楼栋临时停水，请提前储水。",
            "pinned": True,
        },
    )
    rng = random.Random(14)
    members = db.session.execute(
        select(Resident, Household.building_id)
        .join(HouseholdClaim, HouseholdClaim.resident_id == Resident.id)
        .join(Household, Household.id == HouseholdClaim.household_id)
        .where(Household.estate_id == estate.id, HouseholdClaim.status == "verified")
        .order_by(Household.building_id, Household.id)
    ).all()
    buildings = sorted({building_id for _, building_id in members})
    for resident, building_id in members:
        share = DEMO_NOTICE_READS[min(buildings.index(building_id), len(DEMO_NOTICE_READS) - 1)]
        if rng.random() < share:
            publishing.mark_read(notice, resident)
    return notice
