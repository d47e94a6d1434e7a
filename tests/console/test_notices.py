"""The notices page (通知公告) in a real browser, as the demo's committee clerk: the demo's
pinned notice with its figures; a notice composed for one building of the second estate
(category, pinned) published and delivered (the live demo's in-process jobs and the fake
WeChat: residents who accepted the template get the message, the others count as no consent),
its read share moving and the not-reached list shrinking as residents read it through the API,
the list printed for visits, and its withdrawal with a reason, which residents see; a draft
saved, edited, then scheduled, which says when it goes out; and the project owner's composer,
which offers only the targets the API lets them publish to.

The live demo is shared by the browser tests: this file only adds notices (and the template
acceptances of a few residents of 建设小区 1栋)."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

ESTATE = "建设小区"
DEMO_NOTICE = "屋面防水施工期间临时停水通知"


def _shot(page, name: str) -> None:
    """The whole page (as test_tour's): the shell scrolls inside its main area, so the window is
    made as tall as that area's content for the screenshot, then put back."""
    viewport = page.viewport_size
    height = page.evaluate("document.querySelector('.el-main').scrollHeight + 60")
    if height > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": height})
        page.wait_for_timeout(400)  # the charts follow the new size
    shot(page, name)
    page.set_viewport_size(viewport)


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("[data-test=menu]")).to_contain_text("通知公告")
    page.goto(f"{live.console}notices")
    expect(page.locator("[data-test=notice-list]")).to_be_visible()


def _households_of(live, building: str) -> list[int]:
    """The household ids of `building` of 建设小区, in roster order."""
    clerk = live_api.staff(live, "clerk")
    estates = live_api.call(live, "GET", "/estates?per_page=100", token=clerk)["items"]
    [estate] = [e for e in estates if e["name"] == ESTATE]
    buildings = live_api.call(live, "GET", f"/estates/{estate['id']}/buildings", token=clerk)
    [found] = [b for b in buildings if b["name"] == building]
    rows = live_api.call(
        live,
        "GET",
        f"/estates/{estate['id']}/households?building_id={found['id']}&per_page=100",
        token=clerk,
    )["items"]
    return estate["id"], sorted(row["id"] for row in rows)


def _resident_of(live, estate_id: int, household_id: int, first: int) -> str:
    """The token of the demo's verified resident of the household (demo-wang has the first)."""
    name = "wang" if household_id == first else f"e{estate_id}-{household_id}"
    return live_api.resident(live, name)


def _compose(page, title: str) -> None:
    page.locator("[data-test=compose-notice]").click()
    dialog = page.locator("[data-test=notice-composer]")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=title]").fill(title)
    dialog.locator("textarea[name=body]").fill(f"{title}：浏览器测试的公告正文。")


def test_a_notice_composed_is_delivered_and_its_read_share_moves(page, live):
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1 }")
    estate_id, households = _households_of(live, "1栋")
    first = households[0]
    residents = {h: _resident_of(live, estate_id, h, first) for h in households[:8]}
    # Three residents accepted the notices' template in the mini-program.
    template = live_api.call(live, "GET", "/me/subscriptions", token=residents[households[1]])
    template_id = template["templates"][0]["template_id"]
    for h in households[1:4]:
        accepted = live_api.call(
            live, "POST", "/me/subscriptions", {"results": {template_id: "accept"}}, residents[h]
        )
        assert accepted["recorded"] == {template_id: 1}, accepted

    _sign_in(page, live, "clerk")

    # The demo's pinned notice, with its figures.
    page.locator("[data-test=notice-list] tr", has_text=DEMO_NOTICE).click()
    detail = page.locator("[data-test=notice-detail]")
    expect(detail.locator("[data-test=notice-pinned]")).to_be_visible()
    expect(detail.locator("[data-test=notice-target]")).to_have_text(f"小区：{ESTATE}")
    expect(detail.locator("[data-test=delivery-sent]")).to_contain_text("0")
    detail.get_by_role("tab", name="阅读情况").click()
    expect(detail.locator("[data-test=read-summary]")).to_contain_text("/ 80 户")
    expect(detail.locator("[data-test=read-chart] canvas")).to_be_visible()
    _shot(page, "notices-demo-read-share")

    # Compose: 建设小区 1栋, 停水停电, pinned, published now.
    title = "浏览器测试停水通知"
    _compose(page, title)
    dialog = page.locator("[data-test=notice-composer]")
    dialog.locator("[data-test=composer-kind]").get_by_text("楼栋").click()
    ui.choose(page, "[data-test=composer-estate]", ESTATE)
    ui.choose(page, "[data-test=composer-buildings]", "1栋")
    dialog.locator(".el-dialog__title").click()  # the dropdown closes
    ui.choose(page, "[data-test=composer-category]", "停水停电")
    dialog.locator("[data-test=composer-pinned]").click()
    _shot(page, "notices-composer")
    dialog.locator("[data-test=composer-submit]").click()
    expect(dialog).to_be_hidden()

    detail = page.locator("[data-test=notice-detail]")
    expect(detail.locator("[data-test=notice-title]")).to_contain_text(title)
    expect(detail.locator("[data-test=notice-status]")).to_have_text("已发布")
    expect(detail.locator("[data-test=notice-pinned]")).to_be_visible()
    expect(detail).to_contain_text("停水停电")
    notice_id = int(re.search(r"notice=(\d+)", page.url).group(1))
    expect(page.locator("[data-test=notice-list] tr", has_text=title)).to_contain_text("置顶")

    # Delivered: the three who accepted got the message through the fake WeChat.
    expect(detail.locator("[data-test=delivery-total]")).to_contain_text("20")
    expect(detail.locator("[data-test=delivery-sent]")).to_contain_text("3")
    expect(detail.locator("[data-test=delivery-no-consent]")).to_contain_text("17")
    expect(detail.locator("[data-test=delivery-reasons]")).to_contain_text("居民未订阅消息")
    expect(detail.locator("[data-test=notice-target]")).to_have_text(f"楼栋：{ESTATE}")
    expect(detail).to_contain_text("（1栋）")
    fake = f"http://127.0.0.1:{live.demo.wechat_port}/_fake/messages"
    with urllib.request.urlopen(fake, timeout=10) as reply:
        messages = json.loads(reply.read())["messages"]
    page_of_notice = f"pages/notices/detail?id={notice_id}"
    reached = sorted(m["touser"] for m in messages if m.get("page") == page_of_notice)
    assert reached == sorted(f"demo-openid-e{estate_id}-{h}" for h in households[1:4])
    _shot(page, "notices-delivery")

    detail.get_by_role("tab", name="阅读情况").click()
    expect(detail.locator("[data-test=read-summary]")).to_contain_text("已读 0 / 20 户（0.0%）")
    detail.get_by_role("tab", name="未读住户").click()
    expect(detail.locator("[data-test=unreached-count]")).to_have_text("未读 20 户")

    # Five households' residents read it in the mini-program (one of them twice).
    for h in households[:5]:
        read = live_api.call(live, "POST", f"/notices/{notice_id}/read", token=residents[h])
        assert read["notice_id"] == notice_id, read
    live_api.call(live, "POST", f"/notices/{notice_id}/read", token=residents[households[0]])
    detail.locator("[data-test=refresh-figures]").click()
    expect(detail.locator("[data-test=unreached-count]")).to_have_text("未读 15 户")
    table = detail.locator("[data-test=unreached-table]")
    expect(table.locator("tbody tr")).to_have_count(15)
    expect(table).not_to_contain_text("1单元 101")  # demo-wang's household read it
    expect(table.locator("tbody tr").first).to_contain_text("*")  # the owner's name masked
    detail.locator("[data-test=print-unreached]").click()
    expect(page.locator("[data-test=unreached-print] tbody tr")).to_have_count(15)
    assert page.evaluate("window.__printed") == 1
    _shot(page, "notices-unreached")
    detail.get_by_role("tab", name="阅读情况").click()
    expect(detail.locator("[data-test=read-summary]")).to_contain_text("已读 5 / 20 户（25.0%）")
    _shot(page, "notices-read-share")

    # Withdrawn with a reason: residents see the reason, not the text.
    detail.locator("[data-test=withdraw-notice]").click()
    withdraw = page.locator("[data-test=withdraw-dialog]")
    withdraw.locator("[data-test=withdraw-submit]").click()
    expect(withdraw).to_contain_text("请填写撤回原因")
    withdraw.locator("[data-test=withdraw-reason]").fill("停水时间调整，另行通知")
    withdraw.locator("[data-test=withdraw-submit]").click()
    expect(withdraw).to_be_hidden()
    expect(detail.locator("[data-test=notice-status]")).to_have_text("已撤回")
    expect(detail.locator("[data-test=notice-withdrawn]")).to_contain_text("停水时间调整，另行通知")
    expect(detail.locator("[data-test=withdraw-notice]")).to_have_count(0)
    seen = live_api.call(live, "GET", f"/notices/{notice_id}", token=residents[households[1]])
    assert (seen["status"], seen["withdraw_reason"], seen["body"]) == (
        "withdrawn",
        "停水时间调整，另行通知",
        None,
    )
    _shot(page, "notices-withdrawn")


def _local(day: datetime) -> str:
    """How the date picker takes a time (the browser runs in Asia/Shanghai, UTC+8)."""
    return day.strftime("%Y-%m-%d %H:%M:%S")


def test_a_draft_is_saved_edited_and_scheduled(page, live):
    _sign_in(page, live, "clerk")
    _compose(page, "浏览器测试草稿")
    dialog = page.locator("[data-test=notice-composer]")
    ui.choose(page, "[data-test=composer-estate]", ESTATE)
    dialog.locator("[data-test=composer-mode]").get_by_text("存为草稿").click()
    expect(dialog.locator("[data-test=composer-submit]")).to_have_text("保存草稿")
    dialog.locator("[data-test=composer-submit]").click()
    expect(dialog).to_be_hidden()
    detail = page.locator("[data-test=notice-detail]")
    expect(detail.locator("[data-test=notice-status]")).to_have_text("草稿")
    expect(detail.locator("[data-test=notice-tabs]")).to_have_count(0)  # nothing sent yet
    notice_id = int(re.search(r"notice=(\d+)", page.url).group(1))

    # Edited: the draft keeps its target and takes its new title.
    detail.locator("[data-test=edit-notice]").click()
    edit = detail.locator("[data-test=notice-composer]")
    expect(edit.locator("[data-test=composer-target]")).to_contain_text("小区")
    edit.locator("input[name=title]").fill("浏览器测试草稿（已修改）")
    ui.choose(page, "[data-test=notice-detail] [data-test=composer-category]", "施工通知")
    edit.locator("[data-test=composer-submit]").click()
    expect(edit).to_be_hidden()
    expect(detail.locator("[data-test=notice-title]")).to_contain_text("浏览器测试草稿（已修改）")
    expect(detail.locator("[data-test=notice-status]")).to_have_text("草稿")
    clerk = live_api.staff(live, "clerk")
    saved = live_api.call(live, "GET", f"/notices/{notice_id}", token=clerk)
    assert (saved["title"], saved["category"], saved["status"]) == (
        "浏览器测试草稿（已修改）",
        "construction",
        "draft",
    )

    # Scheduled for 09:00 in Shanghai in ten days: it says when it goes out by itself.
    at = (datetime.now(UTC) + timedelta(days=10)).replace(hour=1, minute=0, second=0, microsecond=0)
    shanghai = at + timedelta(hours=8)
    detail.locator("[data-test=edit-notice]").click()
    edit.locator("[data-test=composer-mode]").get_by_text("定时发布").click()
    picker = edit.get_by_placeholder("定时发布的时间")
    picker.fill(_local(shanghai))
    picker.press("Enter")
    edit.locator(".el-dialog__title").click()  # the picker closes
    edit.locator("[data-test=composer-submit]").click()
    expect(edit).to_be_hidden()
    expect(detail.locator("[data-test=notice-status]")).to_have_text("定时发布")
    written = f"{shanghai.year}/{shanghai.month}/{shanghai.day} 09:00:00"
    expect(detail.locator("[data-test=notice-publish-at]")).to_have_text(f"定于 {written} 自动发布")
    saved = live_api.call(live, "GET", f"/notices/{notice_id}", token=clerk)
    assert saved["status"] == "scheduled"
    assert datetime.fromisoformat(saved["publish_at"]) == at
    row = page.locator("[data-test=notice-list] tr", has_text="浏览器测试草稿（已修改）")
    expect(row).to_contain_text(re.compile(f"{written} ?（定时）"))
    # Only the scheduled ones, filtered.
    page.locator("[data-test=notice-status-filter]").get_by_text("定时发布").click()
    expect(page.locator("[data-test=notice-list] tbody tr")).to_have_count(1)
    _shot(page, "notices-scheduled")
    # On a tablet the detail and the composer keep their layout.
    page.set_viewport_size({"width": 1024, "height": 768})
    _shot(page, "notices-tablet")
    detail.locator("[data-test=edit-notice]").click()
    expect(edit).to_be_visible()
    shot(page, "notices-tablet-composer")


def test_the_owner_is_offered_only_the_targets_the_api_allows(page, live):
    _sign_in(page, live, "owner")
    page.locator("[data-test=compose-notice]").click()
    kinds = page.locator("[data-test=notice-composer] [data-test=composer-kind] label")
    expect(kinds).to_have_text(["小区", "项目"])
    # Its projects' estates, named.
    page.locator("[data-test=composer-estate]").click()
    expect(page.get_by_role("option", name=ESTATE, exact=True)).to_be_visible()
    _shot(page, "notices-owner-composer")
