"""The completion page (竣工验收) in a real browser, on the demo's third project (completed,
rated by 40 households of 建设小区): the completion satisfaction with its five dimensions as a
radar, the distribution of scores, the rating window's dates and the residents' comments a page
at a time; a project without ratings says so; the tab 联合验收 holds the acceptance panel.

Read only: nothing here changes the shared live demo."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console import live_api
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

COMPLETED = "勐焕社区2025年楼道照明提升工程"
SITE = "建设小区老旧小区改造项目"


def _project(live, token: str, name: str) -> dict:
    return live_api.call(live, "GET", f"/projects?q={quote(name)}", token=token)["items"][0]


def test_the_completion_satisfaction_of_a_rated_project(page, live):
    token = live_api.staff(live, "county")
    completed = _project(live, token, COMPLETED)
    figures = live_api.call(live, "GET", f"/projects/{completed['id']}/completion", token=token)
    commented = live_api.call(
        live, "GET", f"/projects/{completed['id']}/ratings?commented=true&per_page=1", token=token
    )["total"]
    assert figures["ratings"] == 40 and commented > 10

    page.goto(live.console)
    page.locator("input[name=username]").fill("county")
    page.locator("input[name=password]").fill(live.passwords["county"])
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.locator(".el-menu").get_by_text("竣工验收").click()
    # A finished project (completed or accepted: the demo has both, and the acceptance test may
    # have accepted the completed one) is picked first and kept in the address.
    expect(page).to_have_url(re.compile(r"completion\?project=\d+$"))
    picked = int(page.url.rsplit("=", 1)[1])
    status = live_api.call(live, "GET", f"/projects/{picked}", token=token)["status"]
    assert status in ("completed", "accepted"), status
    page.goto(f"{live.console}completion?project={completed['id']}")

    panel = page.locator("[data-test=satisfaction]")
    rate = f"{figures['satisfaction_rate'] * 100:.1f}%"
    expect(panel.locator("[data-test=satisfaction-rate]")).to_contain_text(rate)
    expect(panel.locator("[data-test=rating-count]")).to_contain_text("40")
    window = panel.locator("[data-test=rating-window]")
    expect(window).to_contain_text("评价进行中")
    expect(window).to_contain_text(re.compile(r"\d{4}/\d{1,2}/\d{1,2} 至 \d{4}/\d{1,2}/\d{1,2}"))
    expect(panel.locator("[data-test=radar] canvas")).to_have_count(1)
    expect(panel.locator("[data-test=distribution] canvas")).to_have_count(1)

    comments = panel.locator("[data-test=rating-comments]")
    rows = comments.locator("tbody tr")
    expect(rows).to_have_count(10)
    expect(comments.locator("[data-test=comments-pager]")).to_contain_text(f"共 {commented} 条")
    shot(page, "completion-satisfaction")
    page.set_viewport_size({"width": 1024, "height": 768})
    expect(panel.locator("[data-test=radar] canvas")).to_be_visible()
    shot(page, "completion-satisfaction-tablet")
    page.set_viewport_size({"width": 1366, "height": 768})
    comments.locator("[data-test=comments-pager] .el-pager li").get_by_text("2", exact=True).click()
    expect(rows).to_have_count(commented - 10)
    expect(rows.first).not_to_have_text("")

    # The joint acceptance is the other tab, in the address too.
    page.locator("[data-test=completion-tabs]").get_by_text("联合验收").click()
    expect(page).to_have_url(re.compile(r"tab=acceptance"))
    expect(panel).to_have_count(0)

    # A project under construction has no ratings yet: the page says so.
    site = _project(live, token, SITE)
    page.goto(f"{live.console}completion?project={site['id']}")
    expect(page.locator("[data-test=satisfaction]")).to_contain_text("尚无居民竣工评价")
    expect(page.locator("[data-test=satisfaction] [data-test=rating-window]")).to_contain_text(
        "未开放评价"
    )
    shot(page, "completion-unrated")
