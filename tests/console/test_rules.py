"""The 小区管理办法 page in a real browser, as the demo's committee clerk: the second estate's
rules in force (version 1, adopted by the owners' decision on 管理规约, with its date and
result) head the page; the clerk drafts a new version, edits and publishes it; a resident's
comment (through the API, as the mini-program sends it) shows on the page and the clerk
answers it; the answer is what residents then read.

The demo's rules come from api/demo_rules.py (`seed_rules`, on 建设小区). This file adds one
published version to 建设小区; no other browser test reads the estates' rules."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.console import live_api
from tests.console.conftest import shot
from tests.console.ui import confirm

pytestmark = pytest.mark.browser

ESTATE = "建设小区"


def _sign_in(page, live, username: str = "clerk") -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _estate_id(live, token: str) -> int:
    estates = live_api.call(live, "GET", "/estates?per_page=100", token=token)["items"]
    return next(e["id"] for e in estates if e["name"] == ESTATE)


def test_rules_in_force_draft_publish_comment_and_reply(page, live):
    token = live_api.staff(live, "clerk")
    estate = _estate_id(live, token)
    current = live_api.call(live, "GET", f"/estates/{estate}/rules/current", token=token)
    assert current.get("version") == 1 and current["result"]["passed"] is True, current

    _sign_in(page, live)
    page.locator(".el-menu").get_by_text("小区管理办法").click()
    # The first estate of the clerk's community is picked: it has no rules in force yet.
    expect(page).to_have_url(re.compile(r"rules\?estate=\d+$"))
    forced = page.locator("[data-test=rules-in-force]")
    expect(forced).to_contain_text("尚无经业主共同决定通过的管理办法")

    page.locator("[data-test=estate-picker]").click()
    page.get_by_role("option", name=ESTATE).click()
    expect(page).to_have_url(re.compile(rf"rules\?estate={estate}$"))
    expect(forced.locator("[data-test=in-force-title]")).to_have_text(current["title"])
    expect(forced.locator("[data-test=in-force-date]")).to_contain_text(current["adopted_on"])
    agree = f"{current['result']['agree_area_share'] * 100:.1f}%"
    expect(forced.locator("[data-test=agree-area]")).to_have_text(agree)
    expect(forced.locator("[data-test=in-force-result]")).to_contain_text("过半数同意")
    versions = page.locator("[data-test=rules-versions]")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("已通过")
    expect(versions).to_contain_text("公示征求意见")
    shot(page, "rules-in-force")

    # A new draft: it opens in the editor.
    page.locator("[data-test=new-rules]").click()
    dialog = page.locator("[data-test=new-rules-dialog]")
    dialog.locator("[data-test=new-rules-title]").fill("建设小区管理办法（2027年修订草案）")
    dialog.locator("[data-test=new-rules-body]").fill("第一条 总则。")
    dialog.locator("[data-test=create-rules]").click()
    expect(page).to_have_url(re.compile(rf"rules\?estate={estate}&rules=\d+$"))
    rules_id = int(re.search(r"rules=(\d+)$", page.url).group(1))
    detail = page.locator("[data-test=rules-detail]")
    expect(detail.locator("[data-test=detail-status]")).to_have_text("草稿")
    expect(versions.locator("tbody tr")).to_have_count(3)

    body = detail.locator("[data-test=rules-body]")
    body.fill("第一条 总则。\n第二条 电动自行车统一在充电棚停放充电。")
    detail.locator("[data-test=save-rules]").click()
    expect(detail.locator("[data-test=rules-error]")).to_have_count(0)
    shot(page, "rules-draft")
    detail.locator("[data-test=publish-rules]").click()
    confirm(page, "公示")
    expect(detail.locator("[data-test=detail-status]")).to_have_text("公示征求意见")
    expect(detail.locator("[data-test=detail-body]")).to_contain_text("第二条 电动自行车")
    expect(detail.locator("[data-test=rules-editor]")).to_have_count(0)
    expect(detail.locator("[data-test=rules-comments]")).to_contain_text("暂无意见")

    # A resident of the estate comments in the mini-program.
    wang = live_api.resident(live, "wang")
    comment = live_api.call(
        live,
        "POST",
        f"/estate-rules/{rules_id}/comments",
        {"body": "建议写明充电棚的开放时间"},
        wang,
    )
    assert comment["status"] == "visible", comment
    page.reload()
    comments = detail.locator("[data-test=rules-comment]")
    expect(comments).to_have_count(1)
    expect(comments.first.locator("[data-test=comment-body]")).to_have_text(
        "建议写明充电棚的开放时间"
    )
    comments.first.locator("[data-test=reply-input]").fill("已采纳，将在第三条写明")
    comments.first.locator("[data-test=reply-comment]").click()
    expect(comments.first.locator("[data-test=comment-reply]")).to_contain_text(
        "已采纳，将在第三条写明"
    )
    shot(page, "rules-comments")

    # The resident reads the answer; the rules in force are as they were.
    seen = live_api.call(live, "GET", f"/estate-rules/{rules_id}/comments", token=wang)
    assert seen["items"][0]["reply"] == "已采纳，将在第三条写明"
    again = live_api.call(live, "GET", f"/estates/{estate}/rules/current", token=wang)
    assert again["id"] == current["id"]


def test_a_published_version_links_the_owners_decision(page, live):
    """The demo's version 2 of 建设小区: the owners' decision on 管理规约 of the project covering
    it is offered, and linking it shows it (already used by version 1: the API says so)."""
    token = live_api.staff(live, "clerk")
    estate = _estate_id(live, token)
    listed = live_api.call(live, "GET", f"/estates/{estate}/rules", token=token)["items"]
    v2 = next(r for r in listed if r["version"] == 2)
    _sign_in(page, live)
    page.goto(f"{live.console}rules?estate={estate}&rules={v2['id']}")
    detail = page.locator("[data-test=rules-detail]")
    expect(detail.locator("[data-test=detail-status]")).to_have_text("公示征求意见")
    expect(detail.locator("[data-test=rules-comment]")).to_have_count(2)
    detail.locator("[data-test=decision-picker]").click()
    option = page.get_by_role("option", name=re.compile("管理办法》的业主共同决定"))
    expect(option).to_have_count(1)
    option.click()
    detail.locator("[data-test=link-decision]").click()
    expect(detail.locator("[data-test=rules-error]")).to_contain_text("已用于本小区的其他版本")
    shot(page, "rules-decision")
