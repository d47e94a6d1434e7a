"""The warranty period (保修期, issue 15) in a real browser, on the demo's accepted project
(勐焕社区雨污分流改造工程, `api.demo_warranty`): the project page shows its 3 years and
the end date; on the building site page it is marked in warranty in the picker, the board shows
the end date and a 保修期 tag on each of its tickets; the owner answers a problem demo-wang
reports through the API; the county overview's 保修期待处理问题 column counts the warranty
tickets not resolved, as the API does.

The live demo is shared by the browser tests: this file answers only the ticket it opens."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console import live_api
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

WARRANTY = "勐焕社区雨污分流改造工程"


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _project(live) -> dict:
    token = live_api.staff(live, "county")
    listed = live_api.call(live, "GET", f"/projects?q={quote(WARRANTY)}", token=token)["items"]
    assert len(listed) == 1, listed
    return listed[0]


def test_the_project_and_the_board_show_the_warranty(page, live):
    project = _project(live)
    assert project["status"] == "accepted" and project["in_warranty"] is True
    ends_on = project["warranty_ends_on"]
    _sign_in(page, live, "owner")

    page.goto(f"{live.console}projects?project={project['id']}")
    warranty = page.locator("[data-test=project-warranty]")
    expect(warranty).to_contain_text("3 年")
    expect(warranty).to_contain_text(f"至 {ends_on}")

    page.goto(f"{live.console}site?project={project['id']}")
    expect(page.locator("[data-test=site-warranty]")).to_contain_text(f"保修期至 {ends_on}")
    board = page.locator("[data-test=ticket-board]")
    expect(board.locator("[data-test=warranty-ends-on]")).to_contain_text(ends_on)
    # The demo's three warranty problems: open, answered, resolved; each tagged 保修期.
    for status, text in (
        ("open", "雨水篦子堵塞"),
        ("answered", "透水砖路面"),
        ("resolved", "检查井盖松动"),
    ):
        card = board.locator(f"[data-test=column-{status}] [data-test=ticket-card]").filter(
            has_text=text
        )
        expect(card.locator("[data-test=ticket-warranty]")).to_have_text("保修期")
    shot(page, "warranty-board")
    # The picker marks the accepted project in warranty.
    page.locator("[data-test=project-picker]").click()
    expect(page.get_by_role("option", name=re.compile(f"{WARRANTY}.*保修期内"))).to_be_visible()
    page.keyboard.press("Escape")

    # Construction tickets carry no such tag (the building site's project).
    site = live_api.call(
        live,
        "GET",
        f"/projects?q={quote('建设小区老旧小区改造项目')}",
        token=live_api.staff(live, "county"),
    )["items"][0]
    page.goto(f"{live.console}site?project={site['id']}")
    expect(page.locator("[data-test=ticket-card]").first).to_be_visible()
    expect(page.locator("[data-test=ticket-warranty]")).to_have_count(0)
    expect(page.locator("[data-test=site-warranty]")).to_have_count(0)


def test_the_owner_answers_a_warranty_ticket_and_the_overview_counts_them(page, live):
    project = _project(live)
    wang = live_api.resident(live, "wang")
    description = "浏览器测试：保修期内2栋屋面渗水"
    ticket = live_api.call(
        live,
        "POST",
        f"/projects/{project['id']}/problems",
        {"description": description, "aspects": ["workmanship"]},
        wang,
    )
    assert ticket["phase"] == "warranty" and ticket["status"] == "open", ticket

    _sign_in(page, live, "owner")
    page.goto(f"{live.console}site?project={project['id']}")
    card = page.locator("[data-test=column-open] [data-test=ticket-card]").filter(
        has_text=description
    )
    expect(card.locator("[data-test=ticket-warranty]")).to_have_text("保修期")
    expect(card.locator("[data-test=ticket-clock]")).to_contain_text("剩余")
    card.click()
    detail = page.locator("[data-test=ticket-detail]")
    expect(detail.locator("[data-test=ticket-status]")).to_have_text("待答复")
    detail.locator("textarea[data-test=answer-text]").fill(
        "已安排施工单位保修，本周内完成屋面修补。"
    )
    detail.locator("[data-test=answer-send]").click()
    expect(detail.locator("[data-test=ticket-status]")).to_have_text("已答复")
    detail.get_by_role("button", name=re.compile("关闭|Close")).click()
    answered = page.locator("[data-test=column-answered] [data-test=ticket-card]").filter(
        has_text=description
    )
    expect(answered.locator("[data-test=ticket-warranty]")).to_have_text("保修期")
    shot(page, "warranty-answered")

    # The county overview: the column counts what the API counts (not resolved).
    token = live_api.staff(live, "county")
    overview = live_api.call(live, "GET", f"/counties/{project['county_id']}/overview", token=token)
    row = next(p for p in overview["projects"] if p["id"] == project["id"])
    count = row["open_warranty_tickets"]
    assert count >= 3  # the demo's open and answered ones, and this test's
    page.evaluate("() => window.sessionStorage.clear()")  # the token lives there
    _sign_in(page, live, "county")
    table = page.locator("[data-test=projects-table]")
    expect(table).to_contain_text("保修期待处理问题")
    line = table.locator("tbody tr").filter(has_text=WARRANTY)
    expect(line.locator("[data-test=open-warranty-tickets]")).to_have_text(str(count))
    shot(page, "warranty-overview")
