"""The registry page (住户登记) in a real browser, as the demo's committee clerk: the claims
queue (approve, reject with a reason, the API's refusal shown as it came), the roster import's
bad rows, and the roster browsed down to one household.

Residents file their claims through the API as the mini-program would (the fake WeChat signs in
any `demo-<name>` code); the live demo is shared by the browser tests, so each test uses
addresses and names of its own and leaves the roster as it found it."""

from __future__ import annotations

import csv
import io
import re
import secrets

import pytest
from playwright.sync_api import expect

from tests.console import live_api
from tests.console.conftest import shot

pytestmark = pytest.mark.browser


def _pending_claim(live, name: str, building: str, room: str, claimed: str) -> int:
    """A claim that does not match the roster (its phone digits), so it waits for the clerk."""
    reply = live_api.call(
        live,
        "POST",
        "/me/households",
        {
            "estate_id": 1,
            "building": building,
            "unit": "2单元",
            "room": room,
            "name": claimed,
            "phone_last4": "0000",
            "relation": "tenant",
        },
        live_api.resident(live, name),
    )
    assert reply.get("status") == "pending", reply
    return reply["id"]


def _sign_in_as_clerk(page, live) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill("clerk")
    page.locator("input[name=password]").fill(live.passwords["clerk"])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/console/registry$"))


def _row(page, text: str):
    return page.locator("[data-test=claims-table] .el-table__body tr", has_text=text)


def test_the_clerk_approves_one_claim_and_rejects_another_with_a_reason(page, live):
    _pending_claim(live, "registry-a", "3栋", "401", "钱多多")
    _pending_claim(live, "registry-b", "3栋", "402", "孙小小")
    _sign_in_as_clerk(page, live)

    # The queue shows pending claims (the API's order), masked, with whether each detail matches.
    first, second = _row(page, "3栋 2单元 401"), _row(page, "3栋 2单元 402")
    expect(first).to_contain_text("待审核")
    expect(first).to_contain_text("钱*")  # the claimed name, masked by the API
    expect(first).to_contain_text("不符")  # the phone digits do not match the roster
    expect(second).to_be_visible()
    shot(page, "registry-claims")

    first.locator("[data-test=approve]").click()
    page.get_by_role("dialog").get_by_role("button", name="通过").click()
    expect(page.locator(".el-message--success", has_text="已通过")).to_be_visible()
    expect(first).to_have_count(0)  # gone from the pending queue

    second.locator("[data-test=reject]").click()
    dialog = page.locator(".el-dialog", has_text="驳回认领申请")
    dialog.locator("[data-test=reject-submit]").click()
    expect(dialog).to_contain_text("请填写驳回理由")  # the reason is required
    dialog.locator("textarea[name=reason]").fill("手机后四位与名册不符，请核对后重新申请")
    shot(page, "registry-reject-dialog")
    dialog.locator("[data-test=reject-submit]").click()
    expect(page.locator(".el-message--success", has_text="已驳回")).to_be_visible()
    expect(second).to_have_count(0)

    # The rejected ones, with the reason the resident will read; nothing left to do on them.
    page.locator("[data-test=claim-status]").get_by_text("未通过").click()
    rejected = _row(page, "3栋 2单元 402")
    expect(rejected).to_contain_text("未通过")  # the API's label
    expect(rejected).to_contain_text("手机后四位与名册不符")
    expect(rejected.locator("[data-test=approve]")).to_have_count(0)
    staff = live_api.staff(live, "clerk")
    rooms = {
        status: {
            (c["address"]["building"], c["address"]["unit"], c["address"]["room"])
            for c in live_api.call(
                live, "GET", f"/communities/1/claims?status={status}&per_page=100", token=staff
            )["items"]
        }
        for status in ("pending", "rejected")
    }
    assert ("3栋", "2单元", "401") not in rooms["pending"] | rooms["rejected"]  # approved
    assert ("3栋", "2单元", "402") in rooms["rejected"]
    shot(page, "registry-claims-rejected")


def test_a_claim_reviewed_meanwhile_shows_the_apis_refusal(page, live):
    claim = _pending_claim(live, "registry-c", "3栋", "501", "周全")
    _sign_in_as_clerk(page, live)
    row = _row(page, "3栋 2单元 501")
    expect(row).to_be_visible()

    # Another clerk's session approves it first.
    staff = live_api.staff(live, "clerk")
    assert (
        live_api.call(live, "POST", f"/claims/{claim}/approve", token=staff)["status"] == "verified"
    )

    row.locator("[data-test=approve]").click()
    page.get_by_role("dialog").get_by_role("button", name="通过").click()
    # The API's 409 claim_not_pending, as it came; the queue reloads without it.
    expect(page.locator("[data-test=claims-action-error]")).to_contain_text("该申请已处理")
    expect(row).to_have_count(0)
    shot(page, "registry-claim-already-reviewed")


def _roster_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_a_roster_with_a_bad_row_shows_it_in_the_bad_rows_table(page, live):
    _sign_in_as_clerk(page, live)
    page.get_by_role("tab", name="导入名册").click()
    page.locator("[data-test=import-estate]").click()
    page.get_by_role("option", name=re.compile(".")).first.click()
    data = _roster_csv(
        [
            ["30栋", "1单元", "101", "陈一", "1111", "80.5"],
            ["30栋", "1单元", "102", "陈二", "12a4", "81"],  # row 3: the phone digits
            ["30栋", "1单元", "103", "陈三", "3333", "82"],
        ]
    )
    page.locator("[data-test=import-file] input[type=file]").set_input_files(
        {"name": "花名册.csv", "mimeType": "text/csv", "buffer": data}
    )
    page.locator("[data-test=import-submit]").click()

    expect(page.locator("[data-test=import-error]")).to_contain_text(
        "花名册有1行有误，未导入任何数据"
    )
    bad = page.locator("[data-test=bad-rows] .el-table__body tr")
    expect(bad).to_have_count(1)
    expect(bad.locator("td")).to_have_text(["3", "手机后四位", "手机后四位应为4位数字"])
    expect(page.locator("[data-test=import-progress]")).to_have_attribute("aria-valuenow", "100")
    shot(page, "registry-import-bad-rows")

    # Nothing was imported: the estate has no 30栋.
    page.get_by_role("tab", name="住户名册").click()
    tree = page.locator("[data-test=place-tree]")
    tree.locator(".el-tree-node__content").first.locator(".el-tree-node__expand-icon").click()
    expect(tree.get_by_text("1栋", exact=True)).to_be_visible()
    expect(tree.get_by_text("30栋", exact=True)).to_have_count(0)


def test_the_clerk_browses_the_roster_down_to_a_household(page, live):
    _sign_in_as_clerk(page, live)
    page.get_by_role("tab", name="住户名册").click()
    expect(page.locator("[data-test=roster]")).to_contain_text("在左侧选择小区或楼栋")

    tree = page.locator("[data-test=place-tree]")
    estate = tree.locator(".el-tree-node").first
    estate.locator(".el-tree-node__content").first.click()  # the whole estate
    rows = page.locator("[data-test=households-table] .el-table__body tr")
    expect(rows.first).to_be_visible()
    expect(page.locator("[data-test=roster] .el-pagination")).to_contain_text(
        re.compile(r"共 \d{3} 条")  # the demo's first estate: its 120 households
    )

    estate.locator(".el-tree-node__expand-icon").first.click()
    tree.get_by_text("2栋", exact=True).click()  # one building: 2 units × 5 floors × 2 rooms
    expect(page.locator("[data-test=roster-title]")).to_have_text("2栋")
    expect(page.locator("[data-test=roster] .el-pagination")).to_contain_text("共 20 条")

    page.locator("input[name=room]").fill("30")
    page.locator("[data-test=room-search]").click()
    expect(rows).to_have_count(4)  # 301 and 302 of its two units
    expect(rows.first).to_contain_text("2栋")
    expect(rows.first).to_contain_text("301")
    shot(page, "registry-roster")

    rows.first.click()
    drawer = page.locator("[data-test=household]")
    expect(drawer).to_contain_text("住户信息")
    expect(drawer).to_contain_text("301")
    expect(drawer).to_contain_text("*")  # the owner's name is masked by the API
    shot(page, "registry-household")


def test_the_clerk_corrects_one_household_in_a_dialog(page, live):
    """The picker names the clerk's community; a household's floor area and room are corrected
    in the edit dialog and the roster shows them; a clash with another room is the API's 409,
    shown as it came. The household is put back as it was (the demo is shared)."""
    token = live_api.staff(live, "clerk")
    _sign_in_as_clerk(page, live)
    expect(page.locator("[data-test=community]")).to_contain_text("勐焕社区")

    page.get_by_role("tab", name="住户名册").click()
    tree = page.locator("[data-test=place-tree]")
    estate = tree.locator(".el-tree-node").first
    estate.locator(".el-tree-node__expand-icon").first.click()
    tree.get_by_text("4栋", exact=True).click()
    page.locator("input[name=room]").fill("501")
    page.locator("[data-test=room-search]").click()
    rows = page.locator("[data-test=households-table] .el-table__body tr")
    expect(rows).to_have_count(2)  # 501 of its two units
    row = rows.first
    expect(row).to_contain_text("501")
    unit = row.locator("td").nth(1).inner_text().strip()
    before = live_api.call(live, "GET", "/estates/1/households?room=501&per_page=100", token=token)[
        "items"
    ]
    household = next(h for h in before if h["building"] == "4栋" and h["unit"] == unit)

    row.locator("[data-test=household-edit-open]").click()
    dialog = page.locator("[data-test=household-edit]")
    expect(dialog).to_contain_text("修改住户信息")
    # A room another household of the building holds: the API's 409, as it came.
    dialog.locator("input[name=room]").fill("502")
    dialog.locator("[data-test=household-save]").click()
    expect(page.locator("[data-test=household-edit-error]")).to_contain_text(
        "该小区已有同一楼栋、单元、房号的住户"
    )
    dialog.locator("input[name=room]").fill("501A")
    dialog.locator("[data-test=floor-area] input").fill("123.45")
    dialog.locator("input[name=owner_name]").fill("林更正")
    expect(dialog.locator("[data-test=owner-change]")).to_be_visible()
    dialog.locator("[data-test=owner-change]").get_by_text("更正录入错误").click()
    shot(page, "registry-household-edit")
    dialog.locator("[data-test=household-save]").click()
    expect(page.locator(".el-message--success", has_text="已保存住户信息")).to_be_visible()
    expect(dialog).to_be_hidden()

    page.locator("input[name=room]").fill("501A")
    page.locator("[data-test=room-search]").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("501A")
    expect(rows.first).to_contain_text("123.45")
    expect(rows.first).to_contain_text("林*")  # the new name, masked by the API
    shot(page, "registry-household-edited")

    # Back as it was, through the API: the owner's name as the demo's roster has it (the API
    # shows it masked only).
    from api.demo import DEMO_ESTATES, _demo_rows

    seeded = next(r for r in _demo_rows(0, DEMO_ESTATES[0][2]) if r.key == ("4栋", unit, "501"))
    restored = live_api.call(
        live,
        "PATCH",
        f"/households/{household['id']}",
        {
            "room": "501",
            "floor_area": household["floor_area"],
            "owner_name": seeded.owner_name,
            "owner_change": "correction",
        },
        token,
    )
    assert (restored["room"], restored["floor_area"]) == ("501", household["floor_area"]), restored


def test_a_clerk_of_two_communities_picks_one_by_its_name(page, live):
    admin = live_api.staff(live, "admin")
    suffix = secrets.token_hex(3)
    second = live_api.call(
        live, "POST", "/communities", {"county_id": 1, "name": f"曼峦社区{suffix}"}, admin
    )
    assert second.get("id"), second
    password = secrets.token_urlsafe(12)
    staff = live_api.call(
        live,
        "POST",
        "/staff",
        {
            "username": f"clerk2-{suffix}",
            "password": password,
            "grants": [
                {"role": "committee", "scope_id": 1},
                {"role": "committee", "scope_id": second["id"]},
            ],
        },
        admin,
    )
    assert staff.get("id"), staff

    page.goto(live.console)
    page.locator("input[name=username]").fill(f"clerk2-{suffix}")
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/console/registry$"))
    picker = page.locator("[data-test=community-picker]")
    expect(picker).to_contain_text("勐焕社区")
    picker.click()
    expect(page.get_by_role("option", name="勐焕社区")).to_be_visible()
    page.get_by_role("option", name=f"曼峦社区{suffix}").click()
    expect(picker).to_contain_text(f"曼峦社区{suffix}")
    # The new community has no estates yet: its roster says so.
    page.get_by_role("tab", name="住户名册").click()
    expect(page.locator("[data-test=roster]")).to_contain_text("本社区还没有小区")
    shot(page, "registry-community-picker")
