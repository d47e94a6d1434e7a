"""A world for the registry tests (permissions, bad input): two counties, each with a community
and an estate, and one caller of every kind; and the checks those tests share (the error shape,
nothing written).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from api.core import db
from devtools import factory
from tests.support.database import every_row

PASSWORD = "correct-horse-1"  # every staff account's: the matrix signs each one in

ACTORS = (
    "anonymous",
    "resident_other_estate",  # a verified member of a household in another county's estate
    "resident_unverified",  # holds only a pending claim in the world's estate
    "resident_member",  # a verified member of a household in the world's estate
    "clerk_other_community",  # committee clerk of the other community
    "owner",  # a project owner: no say over places, rosters, claims or staff
    "clerk",  # committee clerk of the world's community
    "county_officer",  # officer of the world's county
    "prefecture",
)

CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class World:
    """Two counties, each with a community and an estate, and one caller of every kind."""

    county: int = 0
    community: int = 0
    estate: int = 0
    household: int = 0  # 1栋 1单元 101, 张三 1234: resident_member's, resident_unverified claims it
    free_household: int = 0  # 1栋 1单元 102, 李四 5678: nobody's yet
    building: int = 0  # 1栋 of the world's estate, which holds `household` and `free_household`
    pending_claim: int = 0  # resident_unverified's claim on `household`
    other_county: int = 0
    other_community: int = 0
    other_estate: int = 0
    other_household: int = 0
    target_staff: int = 0  # a staff account without grants, to be granted a role
    clerk_grant: int = 0  # the clerk's committee grant on `community`
    callers: dict = field(default_factory=dict)  # actor -> Resident | Staff | None
    headers: dict = field(default_factory=dict)  # actor -> request headers


def _staff(username, *grants):
    return factory.staff(username, *grants, display_name="工作人员", password=PASSWORD)


def build_world(app) -> World:
    w = World()
    with app.app_context():
        county, other_county = factory.county("甲县"), factory.county("乙县")
        community = factory.community(county, "甲社区")
        other_community = factory.community(other_county, "乙社区")
        estate = factory.estate(community, "甲小区")
        other_estate = factory.estate(other_community, "乙小区")
        household = factory.household(estate, "101", owner_name="张三", phone="1234")
        free = factory.household(estate, "102", owner_name="李四", phone="5678")
        other_household = factory.household(other_estate, "101", owner_name="王五", phone="4321")

        member = factory.resident("openid-member", "成员")
        unverified = factory.resident("openid-unverified", "待审")
        outsider = factory.resident("openid-outsider", "外人")
        factory.claim(member, household)
        pending = factory.claim(unverified, household, status="pending", claimed_name="张叁")
        factory.claim(outsider, other_household)

        callers = {
            "anonymous": None,
            "resident_other_estate": outsider,
            "resident_unverified": unverified,
            "resident_member": member,
            "clerk_other_community": _staff("clerk-b", ("committee", other_community)),
            "owner": _staff("owner-1", ("owner", 1)),
            "clerk": _staff("clerk-a", ("committee", community)),
            "county_officer": _staff("county-a", ("county", county)),
            "prefecture": _staff("prefecture", ("prefecture", None)),
        }
        target = _staff("target")
        db.session.commit()

        w.county, w.community, w.estate = county.id, community.id, estate.id
        w.household, w.free_household, w.pending_claim = household.id, free.id, pending.id
        w.building = household.building_id
        w.other_county, w.other_community = other_county.id, other_community.id
        w.other_estate, w.other_household = other_estate.id, other_household.id
        w.target_staff = target.id
        w.clerk_grant = callers["clerk"].grants[0].id
        with app.test_request_context():
            w.headers = {actor: factory.headers(who) for actor, who in callers.items()}
        w.callers = {actor: (who.id if who else None) for actor, who in callers.items()}
        db.session.remove()
    return w


# --- the checks ----------------------------------------------------------------------------------


def assert_error_shape(reply, status: int | None = None) -> dict:
    """The reply is the one JSON error shape with a stable code and a Chinese message."""
    if status is not None:
        assert reply.status_code == status, reply.get_data(as_text=True)[:500]
    assert reply.mimetype == "application/json", reply.get_data(as_text=True)[:200]
    text = reply.get_data(as_text=True)
    assert "<html" not in text.lower() and "<!doctype" not in text.lower()
    body = reply.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and CJK.search(error["message"]), error
    assert isinstance(error["details"], dict)
    return error


def snapshot(app) -> dict:
    """Every row of every table, so a refused call can be shown to have written nothing."""
    return every_row(app)


def roster_csv(
    rows, header=("楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积")
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
