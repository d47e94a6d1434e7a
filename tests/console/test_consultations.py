"""The consultations page (征询) in a real browser, as the demo's committee clerk: a needs
survey on the first estate prepared, opened, followed building by building (participation, the
floor grid), a paper ballot entered with the photo of its form (its door turns `paper`), the
printable list of whom to visit (refreshed by the 10 s poll without its spinner), the survey
closed and its ranking; the second estate's closed plan satisfaction consultation with its
satisfaction gauge against 90%; a needs survey scheduled to open by itself, which says when; an
owners' decision with its art. 278 figures, per estate when the project bundles several.

The live demo is shared by the browser tests: this file adds needs surveys and an owners'
decision to the first project, never a plan satisfaction consultation, so the first project's
gate stays as the demo left it."""

from __future__ import annotations

import copy
import re
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser


def _sign_in_as_clerk(page, live) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill("clerk")
    page.locator("input[name=password]").fill(live.passwords["clerk"])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/console/registry$"))


def test_the_clerk_runs_a_survey_records_a_paper_ballot_and_reads_the_ranking(page, live):
    page.add_init_script("window.print = () => { window.__printed = (window.__printed || 0) + 1 }")
    _sign_in_as_clerk(page, live)
    page.goto(f"{live.console}consultations?project=1")

    # A refusal is shown with the API's reason: an owners' decision needs its matter.
    page.locator("[data-test=create-consultation]").click()
    dialog = page.locator("[data-test=create-dialog]")
    dialog.locator("[data-test=create-kind]").get_by_text("业主共同决定表决").click()
    dialog.locator("[data-test=create-submit]").click()
    expect(dialog.locator("[data-test=create-error]")).to_contain_text("所议事项")

    # Prepare a needs survey, then open it.
    dialog.locator("[data-test=create-kind]").get_by_text("改造需求调查").click()
    dialog.locator("input[name=title]").fill("浏览器测试需求调查")
    dialog.locator("[data-test=create-submit]").click()
    detail = page.locator("[data-test=consultation-detail]")
    expect(detail).to_contain_text("浏览器测试需求调查")
    expect(detail.locator("[data-test=consultation-status]")).to_have_text("未开始")
    expect(page).to_have_url(re.compile(r"consultations\?project=1&consultation=\d+$"))
    detail.locator("[data-test=open-consultation]").click()
    ui.confirm(page, "开始")
    expect(detail.locator("[data-test=consultation-status]")).to_have_text("进行中")

    # Participation, live: the first estate's 120 households, none voted yet.
    expect(detail.locator("[data-test=eligible-count]")).to_have_text("120")
    expect(detail.locator("[data-test=voted-count]")).to_have_text("0")
    expect(detail.locator("[data-test=participation-rate]")).to_have_text("0.0%")

    # The grid of the first building: 2 units × 5 floors × 2 doors, none voted.
    grid = detail.locator("[data-test=turnout-grid]")
    cells = grid.locator("[data-test=grid-cell]")
    expect(cells).to_have_count(20)
    expect(grid.locator("[data-test=grid-cell][data-status=not_voted]")).to_have_count(20)
    floors = grid.locator("[data-test=grid-unit]").first.locator("[data-test=grid-floor]")
    expect(floors.first).to_contain_text("5层")  # the top floor first, as a building is drawn
    detail.locator("[data-test=participation]").scroll_into_view_if_needed()
    shot(page, "consultations-live")

    # A paper ballot for 1单元 302, from its door in the grid, with the photo of the form.
    door = grid.locator("[data-test=grid-cell][data-unit='1单元'][data-room='302']")
    door.click()
    paper = page.locator("[data-test=paper-dialog]")
    expect(paper.locator("[data-test=paper-household]")).to_contain_text("1栋 1单元 302")
    paper.locator("[data-test=paper-submit]").click()
    expect(paper.locator("[data-test=paper-error]")).to_contain_text("请选择表决意见")
    paper.locator("[data-test=paper-items] .el-checkbox").first.click()
    paper.locator("[data-test=paper-items] .el-checkbox").nth(2).click()
    paper.locator("[data-test=paper-photo] input[type=file]").set_input_files(
        {"name": "form.png", "mimeType": "image/png", "buffer": ui.png()}
    )
    paper.locator("[data-test=paper-submit]").click()
    receipt = paper.locator("[data-test=paper-receipt-code]")
    expect(receipt).to_have_text(re.compile(r"^[0-9A-Z]{10}$"))
    paper.locator("[data-test=paper-done]").click()
    expect(door).to_have_attribute("data-status", "paper")
    expect(detail.locator("[data-test=voted-count]")).to_have_text("1")
    expect(detail.locator("[data-test=participation-rate]")).to_have_text("0.8%")
    grid.scroll_into_view_if_needed()
    shot(page, "consultations-grid")

    # Whom to visit: 119 households, printable (only the list is printed).
    detail.locator("[data-test=consultation-tabs]").get_by_text("未表决住户").click()
    table = detail.locator("[data-test=non-voters-table]")
    expect(detail.locator("[data-test=non-voters]")).to_contain_text("未表决 119 户")
    expect(detail.locator("[data-test=non-voters-building]")).to_contain_text("全部楼栋")
    expect(table.locator(".el-table__body tr").first).to_contain_text("1栋 1单元 101")
    expect(table).not_to_contain_text("1栋 1单元 302")
    detail.locator("[data-test=consultation-tabs]").evaluate("e => e.scrollIntoView()")
    shot(page, "consultations-nonvoters")

    page.locator("[data-test=print-non-voters]").click()
    printed = page.locator("[data-test=non-voters-print]")
    expect(printed.locator("tbody tr")).to_have_count(119)
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    expect(printed).to_be_visible()
    expect(page.locator("[data-test=consultations]")).to_be_hidden()
    shot(page, "consultations-nonvoters-print")
    page.emulate_media(media="screen")

    # The 10 s poll refreshes the list silently: no spinner, the rows kept. (The watcher counts
    # every loading mask that appears in the detail; a user's action still shows one.)
    detail.evaluate(
        """e => {
          window.__spinners = 0
          new MutationObserver((changes) => {
            for (const c of changes)
              for (const n of c.addedNodes)
                if (n.classList?.contains('el-loading-mask')) window.__spinners += 1
          }).observe(e, { childList: true, subtree: true })
        }"""
    )
    with page.expect_response(lambda r: "/non-voters?" in r.url, timeout=15_000):
        pass  # the next poll
    page.wait_for_timeout(300)
    expect(table.locator(".el-table__body tr").first).to_contain_text("1栋 1单元 101")
    assert page.evaluate("window.__spinners") == 0
    detail.locator("[data-test=non-voters-building]").click()
    page.get_by_role("option", name=re.compile(r"2栋")).first.click()
    expect(table.locator(".el-table__body tr").first).to_contain_text("2栋")
    assert page.evaluate("window.__spinners") > 0

    # While it is open with few ballots, the result is not out: the export says why.
    detail.locator("[data-test=download-result]").click()
    expect(page.locator(".el-message--error")).to_be_visible()

    # Close it (a survey has no minimum period) and read the ranking.
    detail.locator("[data-test=close-consultation]").click()
    ui.confirm(page, "结束")
    expect(detail.locator("[data-test=consultation-status]")).to_have_text("已结束")
    ranking = detail.locator("[data-test=ranking]")
    expect(ranking.locator("canvas")).to_be_visible()
    ranking.evaluate("e => e.scrollIntoView()")
    page.wait_for_timeout(300)  # the chart's first frame
    shot(page, "consultations-ranking")
    expect(detail.locator("[data-test=download-turnout]")).to_be_visible()

    # The exports come with the token.
    with page.expect_download() as download:
        detail.locator("[data-test=download-turnout]").click()
    assert download.value.suggested_filename.endswith("投票名单.xlsx")


def test_the_closed_plan_consultation_shows_satisfaction_against_90_percent(page, live):
    token = live_api.staff(live, "clerk")
    closed = [
        c
        for c in live_api.call(live, "GET", "/projects/2/consultations", token=token)["items"]
        if c["kind"] == "plan_satisfaction" and c["status"] == "closed"
    ]
    assert closed, "the demo's second project has been through its vote"
    cid = closed[0]["id"]
    tally = live_api.call(live, "GET", f"/consultations/{cid}/tally", token=token)

    _sign_in_as_clerk(page, live)
    page.goto(f"{live.console}consultations?project=2&consultation={cid}")
    detail = page.locator("[data-test=consultation-detail]")
    expect(detail.locator("[data-test=consultation-status]")).to_have_text("已结束")
    gauge = detail.locator("[data-test=satisfaction-gauge]")
    expect(gauge.locator("canvas")).to_be_visible()
    rate = f"{tally['satisfaction_rate'] * 100:.1f}%"
    expect(detail.locator("[data-test=satisfaction-rate]")).to_contain_text(rate)
    expect(detail.locator("[data-test=result-passed]")).to_have_text("通过")
    expect(detail.locator("[data-test=opinions]")).to_be_visible()
    # The demo's residents gave no item opinions (they are optional): said, not a row of zeros.
    expect(detail.locator("[data-test=opinions-none]")).to_be_visible()
    # Every door of a closed vote: the grid still tells who voted and how.
    detail.locator("[data-test=consultation-tabs]").get_by_text("楼栋网格").click()
    expect(detail.locator("[data-test=grid-cell][data-status=wechat]").first).to_be_visible()
    detail.locator("[data-test=consultation-tabs]").get_by_text("结果").click()
    expect(gauge.locator("canvas")).to_be_visible()
    detail.locator("[data-test=opinions]").scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the gauge's first frame
    shot(page, "consultations-result")

    with page.expect_download() as download:
        detail.locator("[data-test=download-publicity]").click()
    assert download.value.suggested_filename.endswith("结果公示.pdf")


def test_comments_are_read_a_page_at_a_time(page, live):
    """Every comment, a page at a time as the API pages them (`page`, `per_page` ≤ 100, `total`)
    rather than the first 100. The demo's residents wrote none: the comments' replies are
    stood in for (45 comments on the whole plan, answered as the API pages them), the rest of
    the page is the demo's closed consultation."""
    token = live_api.staff(live, "clerk")
    cid = next(
        c["id"]
        for c in live_api.call(live, "GET", "/projects/2/consultations", token=token)["items"]
        if c["kind"] == "plan_satisfaction" and c["status"] == "closed"
    )
    asked = []

    def comments(route):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(route.request.url).query))
        asked.append(query)
        number, size = int(query.get("page", 1)), int(query.get("per_page", 20))
        shown = range((number - 1) * size, min(45, number * size))
        items = [
            {"id": f"c{n}", "body": f"意见{n + 1}", "opinion": None, "opinion_label": None}
            | {"plan_item_id": None, "replies": []}
            for n in shown
        ]
        body = {"items": items, "page": number, "per_page": size, "total": 45}
        route.fulfill(status=200, json=body)

    page.route(re.compile(rf"/api/v1/consultations/{cid}/comments\?"), comments)
    _sign_in_as_clerk(page, live)
    page.goto(f"{live.console}consultations?project=2&consultation={cid}")
    listed = page.locator("[data-test=comments]")
    expect(listed.locator("[data-test=comment]")).to_have_count(20)
    expect(listed.locator("[data-test=comment]").first).to_contain_text("方案整体")
    expect(listed.locator("[data-test=comments-pager]")).to_contain_text("45")
    assert all(int(q["per_page"]) <= 100 and "plan_item_id" not in q for q in asked), asked
    listed.locator("[data-test=comments-pager] .btn-next").click()
    expect(listed.locator("[data-test=comment]").first).to_contain_text("意见21")
    assert asked[-1]["page"] == "2", asked
    listed.locator("[data-test=comments-pager] .btn-next").click()
    expect(listed.locator("[data-test=comment]")).to_have_count(5)
    listed.scroll_into_view_if_needed()
    shot(page, "consultations-comments-paged")


def _local(day: datetime) -> str:
    """How the date picker takes a time (the browser runs in Asia/Shanghai, UTC+8)."""
    return day.strftime("%Y-%m-%d %H:%M:%S")


def test_a_draft_scheduled_to_open_says_when(page, live):
    # A needs survey to open by itself in 30 days (at 09:00 in Shanghai, 01:00 UTC).
    at = (datetime.now(UTC) + timedelta(days=30)).replace(hour=1, minute=0, second=0, microsecond=0)
    shanghai = at + timedelta(hours=8)
    _sign_in_as_clerk(page, live)
    page.goto(f"{live.console}consultations?project=1")
    page.locator("[data-test=create-consultation]").click()
    dialog = page.locator("[data-test=create-dialog]")
    dialog.locator("[data-test=create-kind]").get_by_text("改造需求调查").click()
    dialog.locator("input[name=title]").fill("浏览器测试定时调查")
    opens = dialog.get_by_placeholder("可不填，在下方手动开始")
    opens.fill(_local(shanghai))
    opens.press("Enter")
    dialog.get_by_text("发起征询").click()  # the picker closes
    dialog.locator("[data-test=create-submit]").click()

    detail = page.locator("[data-test=consultation-detail]")
    expect(detail).to_contain_text("浏览器测试定时调查")
    expect(detail.locator("[data-test=consultation-status]")).to_have_text("未开始")
    cid = int(re.search(r"consultation=(\d+)", page.url).group(1))
    saved = live_api.call(live, "GET", f"/consultations/{cid}", token=live_api.staff(live, "clerk"))
    assert saved["status"] == "draft"
    assert datetime.fromisoformat(saved["opens_at"]) == at
    written = f"{shanghai.year}/{shanghai.month}/{shanghai.day} 09:00:00"
    expect(detail.locator("[data-test=opens-at]")).to_have_text(written)
    expect(detail).to_contain_text("定时开始")
    expect(detail.locator("[data-test=scheduled-opening]")).to_contain_text(
        f"定于 {written} 自动开始表决"
    )
    expect(detail.locator("[data-test=open-consultation]")).to_be_visible()  # or now, by hand
    row = page.locator("[data-test=consultation-list] tr", has_text="浏览器测试定时调查")
    expect(row).to_contain_text(re.compile(f"{written} ?（定时）"))
    shot(page, "consultations-scheduled")


def test_an_owners_decision_shows_art278_pooled_and_per_estate(page, live):
    """The demo has no bundled project: the owners' decision is held on the first estate, and
    the per-estate table is checked on its real tally with its one estate given twice (a
    second estate named and figured apart), as a bundled project's tally gives them."""
    token = live_api.staff(live, "clerk")
    made = live_api.call(
        live,
        "POST",
        "/projects/1/consultations",
        {"kind": "owners_decision", "matter": "rebuild", "title": "浏览器测试业主共同决定"},
        token,
    )
    cid = made["id"]
    live_api.call(live, "POST", f"/consultations/{cid}/open", token=token)
    live_api.call(live, "POST", f"/consultations/{cid}/close", token=token)
    tally = live_api.call(live, "GET", f"/consultations/{cid}/tally", token=token)
    (estate,) = tally["figures"]["estates"]
    assert estate["art278"]["rule"] == "three_quarters", estate

    _sign_in_as_clerk(page, live)
    page.goto(f"{live.console}consultations?project=1&consultation={cid}")
    detail = page.locator("[data-test=consultation-detail]")
    expect(detail.locator("[data-test=consultation-status]")).to_have_text("已结束")
    art278 = detail.locator("[data-test=art278]")
    expect(art278).to_contain_text("改建、重建建筑物及其附属设施（四分之三以上同意）")
    expect(art278).to_contain_text("参与表决（须均达到三分之二）")
    # One estate: its figures are the pooled ones, not repeated.
    expect(art278.locator("[data-test=art278-estates]")).to_have_count(0)

    def bundled(route):
        reply = route.fetch()
        body = reply.json()
        second = copy.deepcopy(body["figures"]["estates"][0])
        second |= {"estate_id": second["estate_id"] + 1000, "name": "第二小区", "passed": True}
        second["art278"] |= {
            "participation_area": 0.8,
            "participation_owners": 0.75,
            "agree_area_share": 0.9,
            "agree_owner_share": 0.85,
        }
        body["figures"]["estates"].append(second)
        route.fulfill(response=reply, json=body)

    page.route(f"**/api/v1/consultations/{cid}/tally", bundled)
    page.reload()
    estates = detail.locator("[data-test=art278-estates]")
    expect(estates).to_be_visible()
    rows = estates.locator(".el-table__body tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(estate["name"])
    expect(rows.nth(0)).to_contain_text("未通过")
    expect(rows.nth(1)).to_contain_text("第二小区")
    expect(rows.nth(1)).to_contain_text("80.0%75.0%90.0%85.0%通过")
    estates.scroll_into_view_if_needed()
    shot(page, "consultations-art278-estates")
