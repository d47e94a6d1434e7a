"""The resident's home screen, `GET /me/home` (issue 12, screen 1): everything it shows in one
reply, only the caller's own, and who may ask. The world: tests/support/home_world.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api import auth
from api.core import db, local_today
from devtools import factory
from notices.models import NoticeRead
from participation.models import HouseholdClaim, Milestone
from tests.support.database import every_row
from tests.support.home_world import STAFF, build_home_world

HOME = "/api/v1/me/home"


@pytest.fixture(scope="module")
def world(app, module_make):
    """The world, built once for the module; each test rolls back to it."""
    return build_home_world(app, app.test_client())


def _home(client, world, who="me"):
    reply = client.get(HOME, headers=world.headers[who])
    assert reply.status_code == 200, reply.json
    return reply.json


def test_my_households_masked_verified_and_pending(client, world):
    households = _home(client, world)["households"]
    assert households == [
        {
            "claim_id": world.claims["A101"],
            "household_id": world.households["A101"],
            "status": "verified",
            "status_label": "已认证",
            "relation": "owner",
            "relation_label": "业主",
            "estate_id": world.estates["A"],
            "address": "甲小区 1栋1单元1**",
        },
        {
            "claim_id": world.claims["B201"],
            "household_id": world.households["B201"],
            "status": "verified",
            "status_label": "已认证",
            "relation": "tenant",
            "relation_label": "租户",
            "estate_id": world.estates["B"],
            "address": "乙小区 2栋1单元2**",
        },
        {
            "claim_id": world.claims["D301"],
            "household_id": world.households["D301"],
            "status": "pending",
            "status_label": "待审核",
            "relation": "owner",
            "relation_label": "业主",
            "estate_id": None,
            "address": "丁小区 3栋1单元3**",
        },
    ]


def test_the_projects_of_my_verified_estates_with_their_next_milestone(client, world):
    estates = _home(client, world)["estates"]
    p = world.projects
    assert [(e["id"], e["name"]) for e in estates] == [
        (world.estates["A"], "甲小区"),
        (world.estates["B"], "乙小区"),
    ]
    a, b = estates
    # The latest plan year first; a bundled project under each of its estates.
    assert [x["id"] for x in a["projects"]] == [p["renovation"], p["pipes"]]
    assert [x["id"] for x in b["projects"]] == [p["lift"], p["pipes"]]
    renovation = a["projects"][0]
    assert renovation == {
        "id": p["renovation"],
        "name": "甲小区综合整治",
        "status": "consulting",
        "status_label": "征求居民意见",
        "category": "basic",
        "category_label": "基础类",
        "plan_year": 2027,
        "next_milestone": {
            "kind": "approval_and_start",
            "kind_label": "审批完成并开工",
            "due_on": (local_today() - timedelta(days=10)).isoformat(),
            "overdue": True,
        },
    }
    pipes = a["projects"][1]
    assert (pipes["status_label"], pipes["category_label"]) == ("施工中", "完善类")
    assert pipes["next_milestone"] is None
    assert b["projects"][0]["category_label"] == "提升类"


def test_the_next_milestone_is_the_earliest_not_met_and_not_overdue_before_its_day(
    app, client, world
):
    with app.app_context():
        late = db.session.scalar(
            select(Milestone).where(
                Milestone.project_id == world.projects["renovation"],
                Milestone.kind == "approval_and_start",
            )
        )
        late.done_on = local_today()
        db.session.commit()
    renovation = _home(client, world)["estates"][0]["projects"][0]
    assert renovation["next_milestone"] == {
        "kind": "works_finished",
        "kind_label": "完工",
        "due_on": (local_today() + timedelta(days=90)).isoformat(),
        "overdue": False,
    }


def test_the_consultations_open_to_my_household_with_my_eligibility(client, world):
    consultations = _home(client, world)["consultations"]
    c, p = world.consultations, world.projects
    # Soonest to close first; never a draft, a closed one, one past its close, one of the
    # pending claim's estate or of another estate.
    assert [x["id"] for x in consultations] == [c["vote"], c["decision"], c["survey"]]
    vote, decision, survey = consultations
    assert vote["project_id"] == p["renovation"] and vote["project_name"] == "甲小区综合整治"
    assert (vote["kind"], vote["kind_label"]) == ("plan_satisfaction", "改造方案满意度征询")
    assert vote["title"] and vote["closes_at"]
    assert vote["voted"] is True
    assert vote["eligibility"] == {"eligible": True, "reason": None, "reason_label": None}
    assert survey["voted"] is False and survey["eligibility"]["eligible"] is True
    # A tenant in an owners' decision: owners (and their delegates) vote.
    assert decision["project_name"] == "乙小区加装电梯"
    assert decision["kind_label"] == "业主共同决定表决"
    assert decision["voted"] is False
    assert decision["eligibility"] == {
        "eligible": False,
        "reason": "not_an_owner",
        "reason_label": "业主共同决定仅由业主或其委托人表决",
    }


def test_a_member_verified_after_the_opening_sees_that_the_household_voted(client, world):
    consultations = {x["id"]: x for x in _home(client, world, "late")["consultations"]}
    vote = consultations[world.consultations["vote"]]
    assert vote["voted"] is True  # `me` voted for the household
    assert vote["eligibility"] == {
        "eligible": False,
        "reason": "joined_after_opening",
        "reason_label": "征询开始后才完成住户认证",
    }
    # Not in B: the owners' decision on the lift is not theirs to see.
    assert world.consultations["decision"] not in consultations


def test_an_eligible_owner_who_has_not_voted(client, world):
    [decision] = _home(client, world, "landlord")["consultations"]
    assert decision["id"] == world.consultations["decision"]
    assert decision["voted"] is False
    assert decision["eligibility"]["eligible"] is True


def test_unread_notices_count_my_read_receipts_only(app, client, world):
    assert _home(client, world)["unread_notices"] == 1  # to A, not read; the neighbour's read
    read = client.post(
        f"/api/v1/notices/{world.notices['unread']}/read", headers=world.headers["me"]
    )
    assert read.status_code == 200
    assert _home(client, world)["unread_notices"] == 0
    # The neighbour read the one to A, not the one to the community.
    assert _home(client, world, "neighbour")["unread_notices"] == 1
    # Someone outside: only their own estate's notice.
    assert _home(client, world, "outsider")["unread_notices"] == 1
    assert _home(client, world, "stranger")["unread_notices"] == 0


def test_my_supervisor_sign_ups_and_open_tickets(client, world):
    home = _home(client, world)
    s, t, p = world.signups, world.tickets, world.projects
    assert [x["id"] for x in home["supervision"]] == [s["declined"], s["accepted"]]
    declined, accepted = home["supervision"]
    assert declined["project_id"] == p["lift"] and declined["project_name"] == "乙小区加装电梯"
    assert (declined["status"], declined["status_label"]) == ("declined", "未通过")
    assert declined["reason"] == "本期名额已满"
    assert (accepted["status"], accepted["status_label"]) == ("accepted", "已通过")
    assert accepted["reason"] is None

    assert [x["id"] for x in home["tickets"]] == [t["answered"], t["open"]]
    answered, opened = home["tickets"]
    # Which problem each is: two tickets of one project differ by what was reported.
    assert (answered["description"], opened["description"]) == ("管道漏水", "夜间施工噪音大")
    assert answered["project_name"] == "甲乙小区管网改造"
    assert (answered["status"], answered["status_label"]) == ("answered", "已答复")
    assert (opened["status"], opened["status_label"]) == ("open", "待答复")
    assert opened["project_id"] == p["renovation"] and opened["created_at"]
    assert opened["overdue"] is False


def test_another_resident_sees_only_their_own(client, world):
    outsider = _home(client, world, "outsider")
    assert [h["address"] for h in outsider["households"]] == ["丙小区 1栋1单元1**"]
    assert [e["id"] for e in outsider["estates"]] == [world.estates["C"]]
    assert [x["id"] for x in outsider["estates"][0]["projects"]] == [world.projects["faraway"]]
    assert [x["id"] for x in outsider["consultations"]] == [world.consultations["faraway"]]
    assert outsider["supervision"] == [] and outsider["tickets"] == []

    neighbour = _home(client, world, "neighbour")
    assert [x["id"] for x in neighbour["supervision"]] == [world.signups["neighbour"]]
    assert [x["id"] for x in neighbour["tickets"]] == [world.tickets["neighbour"]]
    assert [h["household_id"] for h in neighbour["households"]] == [world.households["A102"]]


def test_a_resident_with_nothing_gets_empty_lists(client, world):
    assert _home(client, world, "stranger") == {
        "households": [],
        "estates": [],
        "consultations": [],
        "unread_notices": 0,
        "supervision": [],
        "tickets": [],
        "contributions": [],
    }


def test_a_pending_claim_shows_nothing_of_its_estate(app, client, world):
    """Only the masked address of a pending claim: its estate's projects, consultations and
    notices stay hidden until the committee verifies it; then they show."""
    home = _home(client, world)
    assert world.estates["D"] not in [e["id"] for e in home["estates"]]
    assert world.consultations["elsewhere"] not in [c["id"] for c in home["consultations"]]
    with app.app_context():
        claim = db.session.get(HouseholdClaim, world.claims["D301"])
        claim.status = "verified"
        db.session.commit()
    home = _home(client, world)
    assert home["households"][2]["estate_id"] == world.estates["D"]
    assert world.estates["D"] in [e["id"] for e in home["estates"]]
    assert world.consultations["elsewhere"] in [c["id"] for c in home["consultations"]]
    # The notice to D was published before the claim was verified: it targeted the households
    # of D as they stood, and this one's verified member now reads it.
    assert home["unread_notices"] == 2


# --- who may ask --------------------------------------------------------------------------------


def _assert_error(reply, status: int, code: str | None = None):
    assert reply.status_code == status, reply.json
    assert reply.mimetype == "application/json"
    error = reply.json["error"]
    assert error["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])
    if code is not None:
        assert error["code"] == code


def test_anonymous_is_401(client, world):
    _assert_error(client.get(HOME), 401, "unauthorized")


@pytest.mark.parametrize("who", STAFF)
def test_staff_are_403(client, world, who):
    _assert_error(client.get(HOME, headers=world.headers[who]), 403, "residents_only")


def test_a_resident_without_consent_is_403(app, client, world):
    with app.test_request_context():
        token = auth.issue_token(auth.RESIDENT, world.residents["me"])
    reply = client.get(HOME, headers={"Authorization": f"Bearer {token}"})
    _assert_error(reply, 403, "consent_required")


def test_bad_tokens_are_401(app, client, world):
    _assert_error(client.get(HOME, headers={"Authorization": "Bearer nonsense"}), 401)
    _assert_error(client.get(HOME, headers={"Authorization": "Basic abc"}), 401)
    with app.test_request_context():
        gone = factory.resident_token(2**31 - 1)
    _assert_error(client.get(HOME, headers={"Authorization": f"Bearer {gone}"}), 401)


def test_odd_requests_change_nothing(app, client, world):
    """The screen takes no input: a body, a query string or another method changes neither
    the reply nor the database."""
    before = every_row(app)
    expected = _home(client, world)
    headers = world.headers["me"]
    odd = client.get(
        HOME,
        query_string={"page": "x", "per_page": 10**30, "estate_id": world.estates["C"]},
        data=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert odd.status_code == 200 and odd.json == expected
    for method in ("post", "put", "patch", "delete"):
        reply = getattr(client, method)(HOME, json={"x": 1}, headers=headers)
        _assert_error(reply, 405, "method_not_allowed")
    _assert_error(client.get(HOME + "/1", headers=headers), 404)
    _assert_error(client.get(HOME + "?" + "x" * 5000, headers=headers), 414)
    assert every_row(app) == before


def test_reading_the_screen_marks_nothing_read(app, client, world):
    with app.app_context():
        before = db.session.scalars(select(NoticeRead.id).order_by(NoticeRead.id)).all()
    _home(client, world)
    with app.app_context():
        assert db.session.scalars(select(NoticeRead.id).order_by(NoticeRead.id)).all() == before
