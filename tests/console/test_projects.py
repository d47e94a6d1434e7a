"""The projects page (项目, issue 13 item 4) in a real browser, on the demo's data: the county
officer sees the county's projects, enters a new one, writes its plan (two items), writes a
second version, compares the two, records a milestone date, moves it along its lifecycle until
the satisfaction gate refuses construction, and reads the API's reason; the owner sees only
their own projects and cannot enter new ones.

The demo county has two projects (团结小区…, in consultation; 建设小区…, under construction);
other browser tests may add more, so the list is checked for those two, not for a count."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

DEMO_PROJECTS = ("团结小区老旧小区改造项目", "建设小区老旧小区改造项目")


def _sign_in(page, live, username: str, lands_on: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(rf"/console/{lands_on}$"))


def _quiet(page) -> None:
    """Wait until the success messages are gone, so that a screenshot shows the page."""
    expect(page.locator(".el-message")).to_have_count(0, timeout=8000)


def _step(page, to_label: str) -> None:
    button = page.locator("[data-test=transition-next]")
    expect(button).to_contain_text(to_label)
    button.click()
    page.locator(".el-message-box").get_by_role("button", name="确定").click()


def test_the_county_officer_enters_a_project_and_writes_its_plans(page, live):
    _sign_in(page, live, "county", "overview")
    page.goto(f"{live.console}projects")
    table = page.locator("[data-test=projects-table]")
    for name in DEMO_PROJECTS:
        expect(table).to_contain_text(name)
    expect(table).to_contain_text("征求居民意见")
    shot(page, "projects-list")

    # The filters narrow the list (the API's q and plan_year).
    page.locator("input[data-test=project-search]").fill("建设小区")
    page.locator("input[data-test=project-search]").press("Enter")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text(DEMO_PROJECTS[1])
    page.locator("input[data-test=project-search]").fill("")
    page.locator("input[data-test=project-search]").press("Enter")
    expect(table).to_contain_text(DEMO_PROJECTS[0])

    # A new project of the county: one estate, one funding line.
    name = "浏览器测试项目"
    page.locator("[data-test=create-project]").click()
    form = page.locator("[data-test=project-form]")
    expect(form).to_be_visible()
    form.locator("input[data-test=pf-name]").fill(name)
    form.locator("[data-test=pf-category]").get_by_text("完善类").click()
    ui.number(page, "[data-test=pf-plan-year]", "2028")
    ui.choose(page, "[data-test=pf-estates]", "建设小区")
    form.locator("[data-test=pf-add-funding]").click()
    ui.choose(page, "[data-test=pf-funding-source]", "政府补助")
    ui.number(page, "[data-test=pf-funding-amount]", "500000")
    form.locator("[data-test=pf-save]").click()

    detail = page.locator("[data-test=project-detail]")
    expect(page).to_have_url(re.compile(r"/console/projects\?project=\d+$"))
    expect(detail.locator("[data-test=project-name]")).to_have_text(name)
    expect(detail.locator("[data-test=project-status]").first).to_have_text("项目储备")
    expect(detail).to_contain_text("政府补助")
    expect(detail).to_contain_text("¥500,000.00")

    # Its first plan: two items.
    page.locator("[data-test=new-plan]").click()
    expect(page.locator("[data-test=plan-editor]")).to_be_visible()
    page.locator("textarea[data-test=pe-summary]").fill("第一版：雨污分流与照明")
    ui.plan_item(page, 0, "雨污分流", "小区主干道雨污分流改造", "120000")
    page.locator("[data-test=pe-add-item]").click()
    ui.plan_item(page, 1, "照明设施", "更换楼道感应灯", "30000")
    expect(page.locator("[data-test=pe-total]")).to_contain_text("¥150,000.00")
    page.locator("[data-test=pe-upload] input[type=file]").set_input_files(
        {"name": "总平面图.png", "mimeType": "image/png", "buffer": ui.png()}
    )
    expect(page.locator("[data-test=pe-attachment]")).to_contain_text("已上传")
    expect(page.locator("input[data-test=pe-attachment-title]")).to_have_value("总平面图")
    page.locator("[data-test=pe-save]").click()
    expect(page.locator("[data-test=plan-editor]")).to_be_hidden()
    items = page.locator("[data-test=plan-items] tbody tr")
    expect(items).to_have_count(2)
    expect(page.locator("[data-test=plan-total]")).to_contain_text("¥150,000.00")
    expect(page.locator("[data-test=plan-attachment]")).to_contain_text("总平面图")
    with page.expect_download() as download:
        page.locator("[data-test=plan-attachment]").click()
    assert download.value.suggested_filename == "总平面图.png"

    # The second version, from the first: a cost changed, an item removed, one added.
    page.locator("[data-test=new-plan]").click()
    editor = page.locator("[data-test=plan-editor]")
    expect(editor).to_contain_text("基于第 1 版")
    expect(editor.locator("input[data-test=pe-item-description]")).to_have_count(2)
    expect(editor.locator("[data-test=pe-attachment]")).to_contain_text("沿用第 1 版")
    cost = editor.locator("[data-test=pe-item-cost] input").nth(0)
    cost.fill("135000")
    cost.press("Tab")
    editor.locator("[data-test=pe-remove-item]").nth(1).click()
    page.locator("[data-test=pe-add-item]").click()
    ui.plan_item(page, 1, "停车设施", "新增停车位 20 个", "80000")
    page.locator("[data-test=pe-save]").click()
    expect(editor).to_be_hidden()
    expect(page.locator("[data-test=plan-version-pick]")).to_contain_text("第 2 版")
    expect(page.locator("[data-test=plan-total]")).to_contain_text("¥215,000.00")
    expect(page.locator("[data-test=plan-attachment]")).to_contain_text("总平面图")
    _quiet(page)
    page.locator("[data-test=plan-items]").scroll_into_view_if_needed()
    shot(page, "projects-detail")

    # Side by side: one changed, one removed, one added; totals and their difference.
    page.locator("[data-test=compare-plans]").click()
    compare = page.locator("[data-test=plan-compare]")
    expect(compare.locator("[data-test=compare-counts]")).to_contain_text(
        "新增 1 项，删除 1 项，修改 1 项"
    )
    rows = compare.locator("[data-test=compare-table] tbody tr")
    expect(rows).to_have_count(3)
    expect(compare.locator("[data-test=compare-table]")).to_contain_text("+¥15,000.00")
    expect(compare.locator("[data-test=compare-table]")).to_contain_text("−¥30,000.00")
    expect(compare.locator("[data-test=compare-totals]")).to_contain_text("+¥65,000.00")
    _quiet(page)
    shot(page, "projects-compare")
    compare.get_by_role("button", name="关闭", exact=True).click()

    # The milestones: overdue ones flagged; a date met is recorded.
    page.locator("[data-test=project-tabs]").get_by_text("节点时间轴").click()
    milestones = page.locator("[data-test=milestone-table] tbody tr")
    expect(milestones).to_have_count(4)
    picker = page.locator("[data-test=milestone-done-preparation] input")
    picker.fill("2027-12-01")
    picker.press("Enter")
    page.locator("[data-test=milestone-save]").click()
    expect(page.locator(".el-message--success", has_text="节点日期已保存")).to_be_visible()
    expect(milestones.first).to_contain_text("已完成")

    # Along the lifecycle until the satisfaction gate refuses construction, with its reason.
    _step(page, "列入年度计划")
    expect(detail.locator("[data-test=project-status]").first).to_have_text("列入年度计划")
    _step(page, "征求居民意见")
    expect(detail.locator("[data-test=project-status]").first).to_have_text("征求居民意见")
    _step(page, "已审批")
    expect(detail.locator("[data-test=project-status]").first).to_have_text("已审批")
    expect(page.locator("[data-test=gate-panel]")).to_contain_text("满意度门槛")
    _step(page, "施工中")
    refusal = page.locator("[data-test=transition-error]")
    expect(refusal).to_contain_text("居民满意度门槛未通过")
    expect(refusal.locator("[data-test=transition-error-code]")).to_have_text(
        "代码：gate_not_passed"
    )
    expect(detail.locator("[data-test=project-status]").first).to_have_text("已审批")
    refusal.scroll_into_view_if_needed()
    _quiet(page)
    shot(page, "projects-transition-refused")

    # Editing the project's details (PATCH) keeps its plan versions.
    page.locator("[data-test=edit-project]").click()
    form = page.locator("[data-test=project-form]")
    form.locator("input[data-test=pf-name]").fill(name + "（改）")
    form.locator("[data-test=pf-save]").click()
    expect(detail.locator("[data-test=project-name]")).to_have_text(name + "（改）")


def test_the_owner_sees_only_their_projects(page, live):
    # The demo's owner account owns the four demo projects (the third completed and rated, the
    # fourth accepted and in its warranty period), and no project another test enters.
    _sign_in(page, live, "owner", "projects")
    table = page.locator("[data-test=projects-table]")
    expect(table.locator("tbody tr")).to_have_count(4)
    for name in DEMO_PROJECTS:
        expect(table).to_contain_text(name)
    expect(page.locator("[data-test=create-project]")).to_have_count(0)
    table.locator("[data-test=project-link]").get_by_text(DEMO_PROJECTS[0]).click()
    expect(page.locator("[data-test=project-name]")).to_have_text(DEMO_PROJECTS[0])
    expect(page.locator("[data-test=plan-items] tbody tr").first).to_be_visible()


def test_overdue_milestones_are_flagged(page, live):
    """The milestones of the demo's project under construction, flagged as the API flags them
    (2026's deadlines: some may have passed by the time the test runs)."""
    token = live_api.staff(live, "owner")
    listed = live_api.call(live, "GET", f"/projects?q={quote('建设小区')}", token=token)["items"]
    project = live_api.call(live, "GET", f"/projects/{listed[0]['id']}", token=token)
    overdue = sum(1 for m in project["milestones"] if m["overdue"])
    _sign_in(page, live, "owner", "projects")
    page.goto(f"{live.console}projects?project={project['id']}")
    page.locator("[data-test=project-tabs]").get_by_text("节点时间轴").click()
    expect(page.locator("[data-test=milestone-table] tbody tr")).to_have_count(
        len(project["milestones"])
    )
    expect(page.locator("[data-test=milestone-overdue]")).to_have_count(overdue)
    expect(page.locator("[data-test=project-timeline]")).to_contain_text("施工中")
    shot(page, "projects-milestones")


def test_a_project_out_of_sight_is_the_apis_not_found(page, live):
    token = live_api.staff(live, "owner")
    reply = live_api.call(live, "GET", "/projects", token=token)
    other = 999999
    assert all(item["id"] != other for item in reply["items"])
    _sign_in(page, live, "owner", "projects")
    page.goto(f"{live.console}projects?project={other}")
    expect(page.locator("[data-test=project-error]")).to_contain_text("找不到该项目")
