"""The overview (issue 13, the console's 概览): a county's figures, filtered by plan year, and the
prefecture's roll-up of every county side by side (`GET /overview`). Who may call them is in
the permission matrix (tests/voting/test_permissions.py); here: what they count, bad input, and
a statement count that does not grow with the counties and projects."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from api.core import db, local_today
from devtools import factory
from tests.support.statements import count_statements


def _county(prefix: str, year: int, *, n: int = 1) -> dict:
    """A county whose `n` estates each hold: a `year` project that passed its gate and was rated
    (completion 80%), a `year` project whose gate is shut, with a milestone overdue for 10 days,
    and a `year + 1` project in reserve."""
    today = local_today()
    county = factory.county(f"{prefix}县")
    community = factory.community(county, f"{prefix}社区")
    for k in range(n):
        estate = factory.estate(community, f"{prefix}小区{k}")
        factory.project(
            county,
            [estate],
            f"{prefix}通过{k}",
            status="completed",
            category="basic",
            plan_year=year,
            gate_final=True,
            gate_passed=True,
            completion_satisfaction_rate=Decimal("0.8"),
            completion_ratings=40,
        )
        shut = factory.project(
            county,
            [estate],
            f"{prefix}未通过{k}",
            status="consulting",
            category="improvement",
            plan_year=year,
            gate_final=True,
            gate_passed=False,
        )
        factory.milestones(
            shut,
            {
                "preparation": today - timedelta(days=10),
                "approval_and_start": today + timedelta(days=30),
            },
        )
        factory.project(
            county,
            [estate],
            f"{prefix}储备{k}",
            status="reserve",
            category="enhancement",
            plan_year=year + 1,
        )
    return {"county": county}


@pytest.fixture
def counties(app):
    with app.app_context():
        one = _county("甲", 2026)
        two = _county("乙", 2026, n=2)
        prefecture = factory.staff("ov-prefecture", ("prefecture", None))
        officer = factory.staff("ov-officer", ("county", one["county"]))
        db.session.commit()
        with app.test_request_context():
            return {
                "one": one["county"].id,
                "two": two["county"].id,
                "prefecture": factory.headers(prefecture),
                "officer": factory.headers(officer),
            }


def test_a_county_overview_counts_by_status_category_gate_and_completion(client, counties):
    reply = client.get(f"/api/v1/counties/{counties['one']}/overview", headers=counties["officer"])
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert body["county_name"] == "甲县"
    assert body["plan_year"] is None
    assert body["plan_years"] == [2027, 2026]
    assert body["projects_total"] == 3
    assert body["by_status"]["completed"] == 1 and body["by_status"]["reserve"] == 1
    assert body["by_status_labels"]["reserve"] == "项目储备"
    assert body["by_category"] == {"basic": 1, "improvement": 1, "enhancement": 1}
    assert body["by_category_labels"]["improvement"] == "完善类"
    assert body["gates"] == {"passed": 1, "shut": 1, "pending": 1}
    assert body["completion_satisfaction_rate"] == pytest.approx(0.8)
    assert body["completion_rated_projects"] == 1 and body["completion_ratings"] == 40
    assert body["overdue_count"] == 1
    [late] = body["overdue_milestones"]
    assert late["project_name"] == "甲未通过0" and late["days_late"] == 10
    assert late["kind_label"]
    names = {p["name"]: p for p in body["projects"]}
    assert names["甲通过0"]["category_label"] == "基础类"
    assert names["甲通过0"]["completion_satisfaction_rate"] == pytest.approx(0.8)


def test_the_plan_year_filters_the_county_overview(client, counties):
    url = f"/api/v1/counties/{counties['one']}/overview"
    later = client.get(url, query_string={"plan_year": 2027}, headers=counties["officer"]).json
    assert later["plan_year"] == 2027
    assert later["projects_total"] == 1 and [p["name"] for p in later["projects"]] == ["甲储备0"]
    assert later["gates"] == {"passed": 0, "shut": 0, "pending": 1}
    assert later["overdue_milestones"] == [] and later["overdue_count"] == 0
    assert later["completion_satisfaction_rate"] is None
    assert later["plan_years"] == [2027, 2026]  # every year, to choose from
    none = client.get(url, query_string={"plan_year": 2030}, headers=counties["officer"]).json
    assert none["projects_total"] == 0 and none["projects"] == []


def test_the_prefecture_sees_every_county_side_by_side(client, counties):
    reply = client.get("/api/v1/overview", headers=counties["prefecture"])
    assert reply.status_code == 200, reply.json
    body = reply.json
    rows = {row["county_id"]: row for row in body["items"]}
    assert body["total"] == len(body["items"]) >= 2
    assert rows[counties["one"]]["projects_total"] == 3
    assert rows[counties["two"]]["county_name"] == "乙县"
    assert rows[counties["two"]]["projects_total"] == 6
    assert rows[counties["two"]]["gates"] == {"passed": 2, "shut": 2, "pending": 2}
    assert rows[counties["two"]]["overdue_count"] == 2
    filtered = client.get(
        "/api/v1/overview", query_string={"plan_year": 2027}, headers=counties["prefecture"]
    ).json
    rows = {row["county_id"]: row for row in filtered["items"]}
    assert filtered["plan_year"] == 2027
    assert rows[counties["two"]]["projects_total"] == 2
    assert rows[counties["two"]]["by_category"]["enhancement"] == 2


def test_a_county_officer_is_sent_to_their_own_county(client, counties):
    reply = client.get("/api/v1/overview", headers=counties["officer"])
    assert reply.status_code == 403
    assert reply.json["error"]["code"] == "out_of_scope"
    other = client.get(f"/api/v1/counties/{counties['two']}/overview", headers=counties["officer"])
    assert other.status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        {"plan_year": "abc"},
        {"plan_year": "1999"},
        {"plan_year": "2101"},
        {"plan_year": ""},
        {"page": "0"},
        {"per_page": "101"},
        {"per_page": "x"},
    ],
)
def test_bad_input_is_refused_in_chinese(client, counties, query):
    reply = client.get("/api/v1/overview", query_string=query, headers=counties["prefecture"])
    assert reply.status_code == 422, reply.json
    assert reply.json["error"]["message"]
    if "plan_year" in query:
        county = client.get(
            f"/api/v1/counties/{counties['one']}/overview",
            query_string=query,
            headers=counties["officer"],
        )
        assert county.status_code == 422, county.json


def test_a_missing_county_is_404(client, counties):
    reply = client.get("/api/v1/counties/999999/overview", headers=counties["prefecture"])
    assert reply.status_code == 404
    assert reply.json["error"]["code"] == "county_not_found"


def _statements(app, client, url, headers):
    with count_statements(app) as statements:
        reply = client.get(url, headers=headers)
    assert reply.status_code == 200, reply.json
    return statements.count


def test_the_statements_do_not_grow_with_counties_and_projects(app, client, counties):
    roll_up = _statements(app, client, "/api/v1/overview", counties["prefecture"])
    one = _statements(
        app, client, f"/api/v1/counties/{counties['one']}/overview", counties["prefecture"]
    )
    two = _statements(
        app, client, f"/api/v1/counties/{counties['two']}/overview", counties["prefecture"]
    )
    with app.app_context():
        _county("丙", 2025, n=3)
        db.session.commit()
    assert _statements(app, client, "/api/v1/overview", counties["prefecture"]) == roll_up
    assert one == two  # twice the projects, the same statements
    assert roll_up <= 8 and one <= 12, (roll_up, one)


def test_days_late_counts_until_a_late_milestone_was_met(app, client, counties):
    with app.app_context():
        county = factory.county("丁县")
        estate = factory.estate(factory.community(county, "丁社区"), "丁小区")
        project = factory.project(county, [estate], "丁项目", plan_year=2026)
        factory.milestones(project, {"preparation": date(2026, 3, 1)})
        project.milestones[0].done_on = date(2026, 3, 6)
        db.session.commit()
        county_id = county.id
    body = client.get(f"/api/v1/counties/{county_id}/overview", headers=counties["prefecture"]).json
    [late] = body["overdue_milestones"]
    assert late["done_on"] == "2026-03-06" and late["days_late"] == 5
