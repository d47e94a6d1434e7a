"""The whole flow of issue 13 in a real browser, each person at their own desk: the committee
clerk imports the roster of a new estate and approves the one claim that did not match it; the
county officer enters the project and its plan; the clerk opens the satisfaction consultation;
residents vote through the API as the mini-program does; the clerk watches the floor grid and
the participation move, enters the last household's paper ballot with a photo of the form, and
closes; the gauge shows the result against 90%; the turnout and result workbooks and the
publicity sheet are downloaded and read.

The estate is made through the API (POST /estates): the console has no page to add one yet.
"""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.console import live_api
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
    clerk = live_api.staff(live, "clerk")
    estate = live_api.call(
        live, "POST", "/estates", {"community_id": 1, "name": ESTATE, "address": "流程路1号"}, clerk
    )
    assert estate.get("name") == ESTATE, estate

    # 1. The clerk imports the roster.
    _sign_in(page, live, "clerk")
    page.get_by_role("tab", name="导入名册").click()
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
