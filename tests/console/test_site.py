"""The building site page (工地) in a real browser, on the demo's project under construction
(建设小区…): the committee clerk accepts a supervisor and declines another with a reason, the cap
shown; the supervisors' inspections show their photos (fetched with the token, as blobs); the
tickets stand on a board by state with the answer clock and the demo's overdue one flagged. And
a ticket answered in the console reaches the resident: demo-wang reports a problem through the
API, the project owner answers it in the browser with text and a photo, and the demo's fake
WeChat receives the subscribe message; the resident reads the answer and fetches its photo.

The live demo is shared by the browser tests: this file decides two of the demo's waiting
sign-ups and answers only the ticket it opens itself."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

SITE = "建设小区老旧小区改造项目"


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _site_id(live) -> int:
    token = live_api.staff(live, "county")
    listed = live_api.call(live, "GET", f"/projects?q={quote(SITE)}", token=token)["items"]
    return listed[0]["id"]


def _messages(live) -> list[dict]:
    """What the demo's fake WeChat has received (its read-only `GET /_fake/messages`)."""
    url = f"http://127.0.0.1:{live.demo.wechat_port}/_fake/messages"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())["messages"]


def test_the_clerk_reviews_supervisors_and_sees_the_inspections_and_the_board(page, live):
    site = _site_id(live)
    _sign_in(page, live, "clerk")
    page.goto(f"{live.console}site?project={site}")

    # The board: a column per state, the demo's tickets in each, the overdue one flagged.
    board = page.locator("[data-test=ticket-board]")
    for status in ("open", "reopened", "answered", "resolved"):
        expect(
            board.locator(f"[data-test=column-{status}] [data-test=ticket-card]").first
        ).to_be_visible()
    overdue = board.locator("[data-test=ticket-card]").filter(has_text="4栋外墙保温层有脱落")
    expect(overdue.locator("[data-test=ticket-overdue]")).to_have_text("超期")
    expect(overdue.locator("[data-test=ticket-clock]")).to_contain_text("已超期")
    expect(board.locator("[data-test=overdue-count]")).to_contain_text("已超期未答复")
    shot(page, "site-board")
    # On a tablet the four columns stay side by side.
    page.set_viewport_size({"width": 1024, "height": 768})
    columns = [board.locator(f"[data-test=column-{s}]") for s in ("open", "resolved")]
    assert columns[0].bounding_box()["y"] == columns[1].bounding_box()["y"]
    shot(page, "site-board-tablet")
    page.set_viewport_size({"width": 1366, "height": 768})
    # The committee reads the tickets; the owner answers them: no answer form for the clerk.
    overdue.click()
    detail = page.locator("[data-test=ticket-detail]")
    expect(detail.locator("[data-test=ticket-status]")).to_have_text("待答复")
    expect(detail.locator("[data-test=ticket-answer]")).to_have_count(0)
    detail.get_by_role("button", name=re.compile("关闭|Close")).click()

    # Supervisors: two accepted of a cap of five; accept the carpenter, decline the other.
    page.locator("[data-test=site-tabs]").get_by_text("监督员报名").click()
    panel = page.locator("[data-test=supervisors]")
    expect(panel.locator("[data-test=supervisor-cap]")).to_contain_text(
        "已通过监督员 2 / 名额上限 5 人"
    )
    rows = panel.locator("[data-test=signup-table] tbody tr")
    carpenter = rows.filter(has_text="木工")
    expect(carpenter).to_contain_text("待审核")
    shot(page, "site-supervisors")
    carpenter.locator("[data-test=signup-accept]").click()
    expect(carpenter).to_contain_text("已通过")
    expect(panel.locator("[data-test=supervisor-cap]")).to_contain_text(
        "已通过监督员 3 / 名额上限 5 人"
    )
    other = rows.filter(has=page.locator("[data-test=signup-decline]")).first
    other.locator("[data-test=signup-decline]").click()
    box = page.locator(".el-message-box")
    box.locator("input").fill("本周已安排足够监督员，欢迎下期报名")
    ui.confirm(page, "确定")
    declined = rows.filter(has_text="本周已安排足够监督员")
    expect(declined).to_contain_text("未通过")
    expect(panel.locator("[data-test=signup-decline]")).to_have_count(0)

    # Inspections: the demo's report with its photo, shown from the API through the token.
    page.locator("[data-test=site-tabs]").get_by_text("监督检查").click()
    report = page.locator("[data-test=inspection]").filter(has_text="脚手架防护网破损")
    image = report.locator("[data-test=inspection-photos] img")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 160", arg=image.element_handle()
    )
    expect(report).to_contain_text("已生成工单")
    shot(page, "site-inspections")


def test_a_ticket_answered_in_the_console_reaches_the_resident(page, live):
    site = _site_id(live)
    # demo-wang, a verified resident of the estate, accepts the notices' template and reports.
    wang = live_api.resident(live, "wang")
    recorded = live_api.call(
        live, "POST", "/me/subscriptions", {"results": {"notice-demo-template": "accept"}}, wang
    )
    assert recorded["recorded"] == {"notice-demo-template": 1}, recorded
    description = "浏览器测试：5栋楼道脚手架挡住了单元门"
    ticket = live_api.call(
        live,
        "POST",
        f"/projects/{site}/problems",
        {"description": description, "aspects": ["safety"], "severity": "major"},
        wang,
    )
    assert ticket["status"] == "open", ticket
    before = len([m for m in _messages(live) if m["touser"] == "demo-openid-wang"])

    _sign_in(page, live, "owner")
    page.goto(f"{live.console}site?project={site}")
    card = page.locator("[data-test=column-open] [data-test=ticket-card]").filter(
        has_text=description
    )
    expect(card.locator("[data-test=ticket-clock]")).to_contain_text("剩余")
    card.click()
    detail = page.locator("[data-test=ticket-detail]")
    expect(detail.locator("[data-test=ticket-status]")).to_have_text("待答复")

    # An empty answer is stopped in the console; then text and a photo.
    detail.locator("[data-test=answer-send]").click()
    expect(detail).to_contain_text("请填写答复内容")
    detail.locator("textarea[data-test=answer-text]").fill("已移开脚手架，单元门恢复通行。")
    detail.locator("[data-test=answer-photo-input]").set_input_files(
        files=[{"name": "fixed.png", "mimeType": "image/png", "buffer": ui.png()}]
    )
    expect(detail.locator("[data-test=ticket-answer] [data-test=photo]")).to_have_count(1)
    shot(page, "site-answer")
    detail.locator("[data-test=answer-send]").click()
    expect(detail.locator("[data-test=ticket-status]")).to_have_text("已答复")
    events = detail.locator("[data-test=ticket-events]")
    expect(events).to_contain_text("已移开脚手架")
    expect(events.locator("[data-test=event-photos] img")).to_have_count(1)
    shot(page, "site-answered")
    detail.get_by_role("button", name=re.compile("关闭|Close")).click()
    expect(
        page.locator("[data-test=column-answered] [data-test=ticket-card]").filter(
            has_text=description
        )
    ).to_be_visible()

    # The fake WeChat received the subscribe message for demo-wang.
    deadline = time.monotonic() + 15
    while True:
        mine = [m for m in _messages(live) if m["touser"] == "demo-openid-wang"]
        if len(mine) > before or time.monotonic() > deadline:
            break
        page.wait_for_timeout(200)
    assert len(mine) == before + 1, mine
    assert mine[-1]["template_id"] == "notice-demo-template"
    assert "问题已答复" in json.dumps(mine[-1], ensure_ascii=False)

    # The resident reads the answer with its photo, and may fetch the photo.
    read = live_api.call(live, "GET", f"/tickets/{ticket['id']}", token=wang)
    answer = read["events"][-1]
    assert (answer["kind"], answer["body"]) == ("answered", "已移开脚手架，单元门恢复通行。")
    [photo] = answer["photos"]
    request = urllib.request.Request(
        live.demo.api.removesuffix("/api/v1") + photo["url"],
        headers={"Authorization": f"Bearer {wang}"},
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200 and reply.read() == ui.png()
