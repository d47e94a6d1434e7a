"""A small town for notice tests: two communities of one county, three estates, buildings,
households with verified, pending and shared members, two projects and staff of every role."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from api.core import db
from devtools import factory
from notices.models import Delivery, Notice, NoticeRead, NoticeTarget, SubscriptionConsent
from participation.models import Building, Estate, Project, Resident

TEMPLATE = "notice-demo-template"


@dataclass
class Town:
    county: object
    community: object
    other_community: object
    estate: object  # in `community`, buildings 1栋 and 2栋, covered by `project`
    estate_b: object  # in `community`, 1栋, covered by `project`
    estate_c: object  # in `other_community`, covered by `project_c`
    project: object
    project_c: object
    buildings: dict = field(default_factory=dict)  # (estate name key, building name) -> id
    households: dict = field(default_factory=dict)  # key -> household
    residents: dict = field(default_factory=dict)  # key -> resident
    staff: dict = field(default_factory=dict)  # role key -> staff


def _project(app, county, estates, name) -> Project:
    with app.app_context():
        made = factory.project(county, [db.session.get(Estate, e.id) for e in estates], name)
        db.session.commit()
        return factory.detached(made)


def build_town(app, make) -> Town:
    """Households (h_*) and their residents (r_*):

    estate 1栋: a1 (r_a1, and r_shared), a2 (r_a2, r_a2b, and r_pending pending)
    estate 2栋: a3 (r_a3, and r_shared), a4 (no member)
    estate_b 1栋: b1 (r_b1)
    estate_c 1栋: c1 (r_c1)
    """
    county = make.county("州县")
    community = make.community(county, "甲社区")
    other = make.community(county, "乙社区")
    estate = make.estate(community, "团结小区")
    estate_b = make.estate(community, "建设小区")
    estate_c = make.estate(other, "和平小区")
    town = Town(
        county,
        community,
        other,
        estate,
        estate_b,
        estate_c,
        _project(app, county, [estate, estate_b], "甲社区改造项目"),
        _project(app, county, [estate_c], "乙社区改造项目"),
    )
    h = town.households
    h["a1"] = make.household(estate, building="1栋")
    h["a2"] = make.household(estate, building="1栋")
    h["a3"] = make.household(estate, building="2栋")
    h["a4"] = make.household(estate, building="2栋")
    h["b1"] = make.household(estate_b, building="1栋")
    h["c1"] = make.household(estate_c, building="1栋")
    r = town.residents
    for key in ("a1", "a2", "a3", "b1", "c1"):
        r[key] = make.member(h[key])
    r["a2b"] = make.member(h["a2"])
    r["shared"] = make.member(h["a1"])
    make.member(h["a3"], r["shared"])
    r["pending"] = make.member(h["a2"], status="pending")
    r["outsider"] = make.resident()
    with app.app_context():
        for building in db.session.scalars(select(Building)):
            town.buildings[(building.estate_id, building.name)] = building.id
    grants = {
        "clerk": ("committee", community.id),
        "other_clerk": ("committee", other.id),
        "owner": ("owner", town.project.id),
        "other_owner": ("owner", town.project_c.id),
        "county": ("county", county.id),
        "other_county": ("county", make.county("邻县").id),
        "prefecture": ("prefecture", None),
        "nobody": (None, None),
    }
    town.staff = staff_with_grants(app, grants)
    return town


def staff_with_grants(app, grants: dict) -> dict:
    """Staff accounts (no usable password: tests use tokens), one grant each."""
    with app.app_context():
        made = {
            key: factory.staff(
                f"notice-{key}", *([(role, scope_id)] if role else []), display_name=key
            )
            for key, (role, scope_id) in grants.items()
        }
        db.session.commit()
        for staff in made.values():
            factory.detached(staff)
        return made


def building_id(town: Town, estate, name: str) -> int:
    return town.buildings[(estate.id, name)]


def consent(app, resident, template=TEMPLATE, count=1) -> None:
    with app.app_context():
        for _ in range(count):
            db.session.add(SubscriptionConsent(resident_id=resident.id, template_id=template))
        db.session.commit()


def unspent(app, resident, template=TEMPLATE) -> int:
    with app.app_context():
        return (
            db.session.query(SubscriptionConsent)
            .filter_by(resident_id=resident.id, template_id=template, spent_at=None)
            .count()
        )


def deliveries(app, notice_id) -> dict[int, Delivery]:
    """resident id -> delivery row (detached)."""
    with app.app_context():
        rows = db.session.scalars(select(Delivery).where(Delivery.notice_id == notice_id)).all()
        db.session.expunge_all()
        return {row.resident_id: row for row in rows}


def targeted_households(app, notice_id) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(NoticeTarget.household_id).where(NoticeTarget.notice_id == notice_id)
            )
        )


def openids(app, resident_ids) -> set[str]:
    with app.app_context():
        return set(
            db.session.scalars(select(Resident.openid).where(Resident.id.in_(list(resident_ids))))
        )


def table_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: db.session.query(model).count()
            for model in (Notice, NoticeTarget, NoticeRead, SubscriptionConsent, Delivery)
        }


def post_notice(client, make, who, **body):
    payload = {"category": "general", "title": "停水通知", "body": "明日8:00至12:00停水。"}
    payload.update(body)
    return client.post("/api/v1/notices", json=payload, headers=make.headers(who))
