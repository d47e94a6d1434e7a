"""The whole flow of issue 13 in a real browser, each person at their own desk: the committee
clerk adds a new estate, imports its roster and approves the one claim that did not match it; the
county officer enters the project and its plan; the clerk opens the satisfaction consultation;
residents vote through the API as the mini-program does; the clerk watches the floor grid and
the participation move, enters the last household's paper ballot with a photo of the form, and
closes; the gauge shows the result against 90%; the turnout and result workbooks and the
publicity sheet are downloaded and read.
"""

from __future__ import annotations

import csv
import io
import re
from io import BytesIO

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

ESTATE = "流程小区"
# Ten households (RESULTS_MIN_BALLOTS is 10): 1栋 1单元 101..502, two rooms a floor.
ROOMS = [f"{floor}0{door}" for floor in range(1, 6) for door in (1, 2)]
OWNERS = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八", "冯九", "陈十"]


def _roster() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积"])
    for index, (room, name) in enumerate(zip(ROOMS, OWNERS, strict=True)):
        writer.writerow(["1栋", "1单元", room, name, f"{index + 1:04d}", f"{80 + index}.5"])
    return out.getvalue().encode("utf-8-sig")


def _download(page, button) -> tuple[str, bytes]:
    """The file name and bytes of what `button` downloads."""
    with page.expect_download() as download:
        button.click()
    path = download.value.path()
    with open(path, "rb") as file:
        return download.value.suggested_filename, file.read()


def _sheet_rows(data: bytes) -> list[list]:
    book = load_workbook(BytesIO(data), read_only=True)
    return [
        [cell for cell in row]
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
    ]


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console + "login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("[data-test=menu]")).to_be_visible()


def _sign_out(page) -> None:
    page.evaluate("sessionStorage.clear()")


def _claim(live, estate_id: int, index: int, *, matching: bool = True) -> tuple[str, dict]:
    """Resident `flow-<index>` claims room ROOMS[index] as its owner; the phone digits match the
    roster (verified at once) unless `matching` is false (pending, for the clerk)."""
    token = live_api.resident(live, f"flow-{index}")
    reply = live_api.call(
        live,
        "POST",
        "/me/households",
        {
            "estate_id": estate_id,
            "building": "1栋",
            "unit": "1单元",
            "room": ROOMS[index],
            "name": OWNERS[index],
            "phone_last4": f"{index + 1:04d}" if matching else "9999",
            "relation": "owner",
        },
        token,
    )
    return token, reply


def test_import_approve_project_consult_vote_close_and_export(page, live):
    # 1. The clerk adds the estate and imports its roster.
    _sign_in(page, live, "clerk")
    page.locator("[data-test=estate-create]").click()
    dialog = page.locator("[data-test=estate-dialog]")
    dialog.locator("input[name=estate-name]").fill(ESTATE)
    dialog.locator("input[name=estate-address]").fill("流程路1号")
    dialog.locator("[data-test=estate-save]").click()
    expect(page.locator(".el-message--success", has_text=ESTATE)).to_be_visible()
    estates = live_api.call(
        live, "GET", "/estates?community_id=1&per_page=100", token=live_api.staff(live, "clerk")
    )["items"]
    estate = next(e for e in estates if e["name"] == ESTATE)
    assert estate["address"] == "流程路1号", estate
    # The import is the next step: its tab is open.
    expect(page.get_by_role("tab", name="导入名册")).to_have_attribute("aria-selected", "true")
    page.locator("[data-test=import-estate]").click()
    page.get_by_role("option", name=ESTATE).click()
    page.locator("[data-test=import-file] input[type=file]").set_input_files(
        {"name": "流程小区花名册.csv", "mimeType": "text/csv", "buffer": _roster()}
    )
    page.locator("[data-test=import-submit]").click()
    expect(page.locator("[data-test=import-result]")).to_contain_text("新增 10 户")
    shot(page, "flow-1-roster-imported")

    # 2. Nine residents claim their homes and are verified at once; the tenth's phone digits do
    # not match, and the clerk approves the claim in the queue.
    tokens = []
    for index in range(9):
        token, reply = _claim(live, estate["id"], index)
        assert reply.get("status") == "verified", reply
        tokens.append(token)
    last, reply = _claim(live, estate["id"], 9, matching=False)
    assert reply.get("status") == "pending", reply
    tokens.append(last)
    page.reload()  # the queue as it is now
    page.get_by_role("tab", name="认领审核").click()
    row = page.locator("[data-test=claims-table] .el-table__body tr", has_text="1栋 1单元 502")
    expect(row).to_contain_text("待审核")
    row.locator("[data-test=approve]").click()
    page.get_by_role("dialog").get_by_role("button", name="通过").click()
    expect(page.locator(".el-message--success", has_text="已通过")).to_be_visible()
    mine = live_api.call(live, "GET", "/me/households", token=last)
    assert [h["status"] for h in mine] == ["verified"], mine
    shot(page, "flow-2-claim-approved")
    _sign_out(page)

    # 3. The county officer enters the project on the new estate and writes its plan.
    _sign_in(page, live, "county")
    page.goto(f"{live.console}projects")
    page.locator("[data-test=create-project]").click()
    form = page.locator("[data-test=project-form]")
    form.locator("input[data-test=pf-name]").fill("流程小区改造项目")
    form.locator("[data-test=pf-category]").get_by_text("基础类").click()
    ui.number(page, "[data-test=pf-plan-year]", "2029")
    ui.choose(page, "[data-test=pf-estates]", ESTATE)
    form.locator("[data-test=pf-save]").click()
    detail = page.locator("[data-test=project-detail]")
    expect(detail.locator("[data-test=project-name]")).to_have_text("流程小区改造项目")
    project_id = int(re.search(r"project=(\d+)", page.url).group(1))
    page.locator("[data-test=new-plan]").click()
    page.locator("textarea[data-test=pe-summary]").fill("雨污分流与楼道照明")
    ui.plan_item(page, 0, "雨污分流", "小区雨污分流改造", "300000")
    page.locator("[data-test=pe-add-item]").click()
    ui.plan_item(page, 1, "照明设施", "更换楼道感应灯", "40000")
    page.locator("[data-test=pe-save]").click()
    expect(page.locator("[data-test=plan-items] tbody tr")).to_have_count(2)
    expect(page.locator("[data-test=plan-total]")).to_contain_text("¥340,000.00")
    for step in ("列入年度计划", "征求居民意见"):
        button = page.locator("[data-test=transition-next]")
        expect(button).to_contain_text(step)
        button.click()
        ui.confirm(page, "确定")
        expect(detail.locator("[data-test=project-status]").first).to_have_text(step)
    shot(page, "flow-3-project-and-plan")
    _sign_out(page)

    # 4. The clerk prepares the satisfaction consultation on the plan and opens it.
    _sign_in(page, live, "clerk")
    page.goto(f"{live.console}consultations?project={project_id}")
    page.locator("[data-test=create-consultation]").click()
    dialog = page.locator("[data-test=create-dialog]")
    dialog.locator("[data-test=create-kind]").get_by_text("改造方案满意度征询").click()
    dialog.locator("input[name=title]").fill("流程小区改造方案满意度征询")
    dialog.locator("[data-test=create-submit]").click()
    consultation = page.locator("[data-test=consultation-detail]")
    expect(consultation.locator("[data-test=consultation-status]")).to_have_text("未开始")
    consultation.locator("[data-test=open-consultation]").click()
    ui.confirm(page, "开始")
    expect(consultation.locator("[data-test=consultation-status]")).to_have_text("进行中")
    expect(consultation.locator("[data-test=eligible-count]")).to_have_text("10")
    expect(consultation.locator("[data-test=voted-count]")).to_have_text("0")
    consultation_id = int(re.search(r"consultation=(\d+)", page.url).group(1))

    # 5. Nine residents vote in the mini-program: eight satisfied, one not, who opposes the
    # plan's first item and says why.
    plan = live_api.call(live, "GET", f"/projects/{project_id}/plans/current", token=tokens[0])
    first_item = plan["items"][0]["id"]
    for index, token in enumerate(tokens[:9]):
        ballot = {"choice": "satisfied"}
        if index == 8:
            ballot = {
                "choice": "unsatisfied",
                "item_opinions": {str(first_item): {"opinion": "oppose", "comment": "管网太旧"}},
            }
        reply = live_api.call(
            live, "PUT", f"/consultations/{consultation_id}/ballot", ballot, token
        )
        assert reply.get("receipt"), reply

    # 6. The participation and the floor grid follow (the page polls while it is open).
    expect(consultation.locator("[data-test=voted-count]")).to_have_text("9", timeout=20_000)
    grid = consultation.locator("[data-test=turnout-grid]")
    expect(grid.locator("[data-test=grid-cell][data-status=wechat]")).to_have_count(9)
    door = grid.locator("[data-test=grid-cell][data-room='502']")
    expect(door).to_have_attribute("data-status", "not_voted")
    grid.scroll_into_view_if_needed()
    shot(page, "flow-4-grid-nine-voted")

    # 7. The tenth household votes on paper: the clerk enters it with the photo of the form.
    door.click()
    paper = page.locator("[data-test=paper-dialog]")
    expect(paper.locator("[data-test=paper-household]")).to_contain_text("1栋 1单元 502")
    paper.locator("[data-test=paper-choice]").get_by_text("满意", exact=True).click()
    paper.locator("[data-test=paper-photo] input[type=file]").set_input_files(
        {"name": "表决票.png", "mimeType": "image/png", "buffer": ui.png()}
    )
    paper.locator("[data-test=paper-submit]").click()
    expect(paper.locator("[data-test=paper-receipt-code]")).to_have_text(
        re.compile(r"^[0-9A-Z]{10}$")
    )
    paper.locator("[data-test=paper-done]").click()
    expect(door).to_have_attribute("data-status", "paper")
    expect(consultation.locator("[data-test=voted-count]")).to_have_text("10")
    expect(consultation.locator("[data-test=participation-rate]")).to_have_text("100.0%")

    # 8. Every household has voted, so it may close before the minimum period; the gauge shows
    # 9 satisfied of 10 against 90%.
    consultation.locator("[data-test=close-consultation]").click()
    ui.confirm(page, "结束")
    expect(consultation.locator("[data-test=consultation-status]")).to_have_text("已结束")
    expect(consultation.locator("[data-test=satisfaction-gauge] canvas")).to_be_visible()
    expect(consultation.locator("[data-test=satisfaction-rate]")).to_contain_text("90.0%")
    expect(consultation.locator("[data-test=result-passed]")).to_have_text("通过")
    # The residents' reasons per plan item: the first item opposed once.
    reasons = consultation.locator("[data-test=opinions]")
    expect(reasons.locator("[data-test=opinions-none]")).to_have_count(0)
    first_row = reasons.locator(".el-table__body tr").first
    expect(first_row).to_contain_text("小区雨污分流改造")
    expect(first_row.locator("td").nth(5)).to_have_text("1")  # 反对
    page.wait_for_timeout(1200)  # the gauge's entry animation
    shot(page, "flow-5-result-gauge")

    # 9. The exports, downloaded from the page and read back.
    name, data = _download(page, consultation.locator("[data-test=download-turnout]"))
    assert name.endswith(".xlsx"), name
    rows = _sheet_rows(data)
    assert "应参与10户，已投票10户" in str(rows[0][0]), rows[0]
    households = [row for row in rows if row and row[0] == ESTATE]
    assert len(households) == 10, rows
    assert all(row[4] == "已投票" for row in households), households
    assert sorted(row[5] for row in households) == ["微信投票"] * 9 + ["纸质选票"], households
    assert all("**" in row[3] for row in households), households  # rooms masked
    name, data = _download(page, consultation.locator("[data-test=download-result]"))
    assert name.endswith(".xlsx"), name
    text = "\n".join(" ".join(str(c) for c in row if c is not None) for row in _sheet_rows(data))
    assert ESTATE in text and "满意" in text, text[:2000]
    name, data = _download(page, consultation.locator("[data-test=download-publicity]"))
    assert name.endswith(".pdf"), name
    pdf = "".join(page_.extract_text() for page_ in PdfReader(BytesIO(data)).pages)
    compact = pdf.replace("\n", "")
    assert "流程小区改造项目改造方案满意度征询结果公示" in compact, pdf
    assert "满意9户，不满意1户" in compact, pdf
    assert "征询结果通过" in compact, pdf
