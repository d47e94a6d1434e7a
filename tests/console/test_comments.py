"""The comments' moderation page (评论管理) in a real browser, on the demo's project under
construction (建设小区…): the demo's queue (a comment hidden by three residents' reports, one
reported once, one WeChat held for review); a resident's comment reported through the API
appears in the queue; the committee clerk hides it with a reason and restores it with another;
the clerk answers it officially, and a resident reads the answer through the API, marked as the
committee's, without the clerk's name. The county officer moderates but is offered no reply;
the project owner replies but is offered no hiding.

The live demo is shared by the browser tests: this file moderates and answers only the comment
it posts itself."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console import live_api
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

SITE = "建设小区老旧小区改造项目"
ESTATE = "建设小区"
BODY = "浏览器测试：希望施工围挡每天冲洗，灰太大了"


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


def _neighbour(live) -> str:
    """A verified resident of 建设小区 other than demo-wang (the demo's second household)."""
    clerk = live_api.staff(live, "clerk")
    estates = live_api.call(live, "GET", "/estates?per_page=100", token=clerk)["items"]
    [estate] = [e for e in estates if e["name"] == ESTATE]
    rows = live_api.call(
        live, "GET", f"/estates/{estate['id']}/households?per_page=2", token=clerk
    )["items"]
    second = sorted(row["id"] for row in rows)[1]
    return live_api.resident(live, f"e{estate['id']}-{second}")


def _row(page, comment_id: int):
    return page.locator(f"[data-test=cm-row][data-id='{comment_id}']").locator(
        "xpath=ancestor::tr[1]"
    )


def _act(page, row, button: str, text: str) -> None:
    row.locator(f"[data-test={button}]").click()
    dialog = page.locator("[data-test=cm-dialog]")
    expect(dialog).to_be_visible()
    dialog.locator("textarea[data-test=cm-text]").fill(text)
    dialog.locator("[data-test=cm-submit]").click()
    expect(dialog).to_be_hidden()


def test_a_reported_comment_is_hidden_restored_and_answered(page, live):
    site = _site_id(live)
    wang = live_api.resident(live, "wang")
    posted = live_api.call(live, "POST", f"/projects/{site}/comments", {"body": BODY}, wang)
    assert posted["status"] == "visible", posted
    neighbour = _neighbour(live)
    reported = live_api.call(
        live, "POST", f"/comments/{posted['id']}/report", {"reason": "浏览器测试举报"}, neighbour
    )
    assert reported["reported"] is True, reported

    _sign_in(page, live, "clerk")
    page.goto(f"{live.console}comments")
    table = page.locator("[data-test=cm-table]")
    # The demo's queue: hidden by reports, held for review, and now the resident's comment.
    expect(table).to_contain_text("专业疏通下水道")
    expect(table).to_contain_text("被举报待处理")
    expect(table).to_contain_text("待复核")
    row = _row(page, posted["id"])
    expect(row.locator("[data-test=cm-body]")).to_have_text(BODY)
    expect(row.locator("[data-test=cm-state]")).to_have_text("已公开")
    expect(row.locator("[data-test=cm-reports]")).to_have_text("1")
    expect(row).to_contain_text("王*")  # the author's masked nickname (王芳)
    expect(row.locator("[data-test=cm-restore]")).to_have_count(0)
    shot(page, "comments-queue")

    # Hide with a reason: a reason is required, then the row says so.
    row.locator("[data-test=cm-hide]").click()
    dialog = page.locator("[data-test=cm-dialog]")
    dialog.locator("[data-test=cm-submit]").click()
    expect(dialog.locator("[data-test=cm-action-error]")).to_contain_text("请填写原因")
    dialog.locator("textarea[data-test=cm-text]").fill("浏览器测试：涉及邻里纠纷，暂时隐藏")
    dialog.locator("[data-test=cm-submit]").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("[data-test=cm-state]")).to_have_text("已隐藏")
    expect(row.locator("[data-test=cm-reason]")).to_have_text("浏览器测试：涉及邻里纠纷，暂时隐藏")
    expect(row.locator("[data-test=cm-reply-open]")).to_have_count(0)
    # Hidden from the residents: the reporter no longer sees it.
    seen = live_api.call(live, "GET", f"/projects/{site}/comments?per_page=100", token=neighbour)
    assert posted["id"] not in [c["id"] for c in seen["items"]]
    shot(page, "comments-hidden")

    # The hidden ones alone, by the filter; then restore with a reason.
    page.locator("[data-test=cm-status]").click()
    page.get_by_role("option", name="已隐藏", exact=True).click()
    expect(table.locator("[data-test=cm-state]").first).to_have_text("已隐藏")
    expect(table).not_to_contain_text("专业疏通下水道")  # reported, not hidden
    _act(page, row, "cm-restore", "浏览器测试：核实后无不当内容，恢复显示")
    expect(row).to_have_count(0)  # no longer hidden: gone from this filter
    page.locator("[data-test=cm-status]").click()
    page.get_by_role("option", name="待处理（全部）", exact=True).click()
    expect(row.locator("[data-test=cm-state]")).to_have_text("已公开")
    expect(row.locator("[data-test=cm-reason]")).to_have_text(
        "浏览器测试：核实后无不当内容，恢复显示"
    )

    # An official reply, which the resident reads through the API.
    answer = "浏览器测试：已要求施工方每天早晚冲洗围挡"
    _act(page, row, "cm-reply-open", answer)
    expect(row.locator("[data-test=cm-reply]")).to_contain_text("社区居委会回复")
    expect(row.locator("[data-test=cm-reply]")).to_contain_text(answer)
    shot(page, "comments-answered")
    seen = live_api.call(live, "GET", f"/projects/{site}/comments?per_page=100", token=neighbour)
    [comment] = [c for c in seen["items"] if c["id"] == posted["id"]]
    assert comment["status"] == "visible"
    assert [(r["role_label"], r["body"]) for r in comment["official_replies"]] == [
        ("社区居委会", answer)
    ]
    assert "clerk" not in str(comment["official_replies"])

    # The county officer moderates, and is offered no reply; on a tablet too.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.evaluate("sessionStorage.clear()")  # signed out: the token lives there
    _sign_in(page, live, "county")
    page.goto(f"{live.console}comments")
    row = _row(page, posted["id"])
    expect(row.locator("[data-test=cm-hide]")).to_be_visible()
    expect(row.locator("[data-test=cm-reply-open]")).to_have_count(0)
    shot(page, "comments-county-tablet")


def test_the_owner_answers_but_is_not_offered_moderation(page, live):
    _sign_in(page, live, "owner")
    page.goto(f"{live.console}comments")
    table = page.locator("[data-test=cm-table]")
    expect(table).to_contain_text("专业疏通下水道")
    expect(table.locator("[data-test=cm-hide]")).to_have_count(0)
    expect(table.locator("[data-test=cm-restore]")).to_have_count(0)
    # The comment reported once is visible: the owner may answer it.
    row = table.locator("tr", has_text="楼下那家人天天占消防通道停车")
    expect(row.locator("[data-test=cm-reply-open]")).to_be_visible()
