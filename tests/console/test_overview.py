"""The overview (概览, issue 13 page 2) in a real browser, on the demo's data: the county officer
sees their county's figures with the charts drawn, and the plan-year filter changes them; the
prefecture sees every county side by side (a table and a chart) above a county's own overview.

The demo county has two projects: one of plan year 2027 (basic, in consultation) and one of
2026 (improvement, under construction). Other browser tests add projects to it (of other plan
years), so the counts expected are the API's own at the time of the test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console import live_api
from tests.console.conftest import shot

pytestmark = pytest.mark.browser


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/console/overview$"))


def _choose_year(page, label: str) -> None:
    page.locator("[data-test=plan-year]").click()
    page.get_by_role("option", name=label, exact=True).click()


def _settled(page) -> None:
    """Let ECharts finish its entry animation (about a second) before a screenshot."""
    page.wait_for_timeout(1200)


def _drawn(page, chart: str) -> None:
    """The chart has its canvas (ECharts drew it)."""
    expect(page.locator(f"[data-test={chart}] canvas")).to_have_count(1)


def _projects(live, plan_year: int | None = None) -> int:
    """How many projects the demo county has (of `plan_year`), as the API counts them now."""
    query = f"?plan_year={plan_year}" if plan_year else ""
    token = live_api.staff(live, "admin")
    return live_api.call(live, "GET", f"/counties/1/overview{query}", token=token)["projects_total"]


def test_the_county_officer_sees_the_county_and_filters_by_plan_year(page, live):
    total = _projects(live)
    assert total >= 2  # the demo's two, and any other browser test's
    _sign_in(page, live, "county")
    county = page.locator("[data-test=county-overview]")
    expect(county).to_be_visible()
    expect(page.locator("[data-test=stat-total]")).to_contain_text(str(total))
    _drawn(page, "chart-status")
    _drawn(page, "chart-category")
    expect(page.locator("[data-test=projects-table] tbody tr")).to_have_count(total)
    expect(page.locator("[data-test=stat-gates]")).to_contain_text("通过")
    expect(page.locator("[data-test=stat-completion]")).to_contain_text("竣工满意度")
    expect(page.locator("[data-test=overdue-table]")).to_be_visible()
    # The officer has one county: no county to choose, and no roll-up of the prefecture's.
    expect(page.locator("[data-test=county-select]")).to_have_count(0)
    expect(page.locator("[data-test=counties-table]")).to_have_count(0)
    _settled(page)
    shot(page, "overview-county")
    page.locator("[data-test=projects-table]").scroll_into_view_if_needed()
    shot(page, "overview-county-tables")

    _choose_year(page, "2026 年")
    expect(page.locator("[data-test=overview-heading]")).to_have_text("2026 年度计划")
    of_2026 = _projects(live, 2026)
    expect(page.locator("[data-test=projects-table] tbody tr")).to_have_count(of_2026)
    expect(page.locator("[data-test=projects-table]")).to_contain_text("2026")
    expect(page.locator("[data-test=stat-total]")).to_contain_text(str(of_2026))
    _drawn(page, "chart-status")
    _settled(page)
    shot(page, "overview-county-2026")

    _choose_year(page, "2027 年")
    expect(page.locator("[data-test=projects-table] tbody tr")).to_have_count(_projects(live, 2027))
    expect(page.locator("[data-test=projects-table]")).to_contain_text("基础类")
    expect(page.locator("[data-test=overdue-table]")).to_contain_text("没有逾期的节点")


def test_the_prefecture_sees_every_county_side_by_side(page, live):
    total = _projects(live)
    _sign_in(page, live, "admin")
    counties = page.locator("[data-test=counties-table] tbody tr")
    expect(counties).to_have_count(1)  # the demo has one county
    first = counties.first
    expect(first.locator("td").nth(1)).to_have_text(str(total))  # its projects
    _drawn(page, "chart-counties")
    # The county's own overview below, for the county chosen (the first).
    expect(page.locator("[data-test=county-overview]")).to_be_visible()
    _drawn(page, "chart-status")
    _drawn(page, "chart-category")
    expect(page.locator("[data-test=county-select]")).to_be_visible()
    _settled(page)
    shot(page, "overview-prefecture")

    cells = first.locator("td")
    before = cells.nth(1).inner_text()
    _choose_year(page, "2027 年")
    expect(page.locator("[data-test=overview-heading]")).to_have_text("2027 年度计划")
    of_2027 = _projects(live, 2027)
    expect(cells.nth(1)).to_have_text(str(of_2027))
    assert before.strip() == str(total)
    expect(page.locator("[data-test=projects-table] tbody tr")).to_have_count(of_2027)
    _settled(page)
    shot(page, "overview-prefecture-2027")
