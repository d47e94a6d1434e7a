"""The 居民出资 page (issue 15) in a real browser, on the demo's building site (建设小区…), whose
demo scheme (api/demo_contributions.py) is adopted with pledges and payments:

- the committee clerk opens the scheme: the rounding rule in words, the figures and the chart
  per building, the publicity with owners masked, the Excel export; records a payment through the dialog (amount in yuan, bank transfer, a receipt
  number and a photo; the save button clicked twice), and the household's paid amount and the
  scheme's totals move by exactly that amount, with one entry recorded (the idempotency key is
  made once per opening of the dialog); the household's pledge is recorded at the desk; the
  page stays usable at 1024×768;
- the project owner drafts a scheme (按户, a rate typed in yuan, the 居民出资 funding line): its
  sum is shown against the funding line with the difference, to the fen; adopting it is refused
  with the API's own message while no owners' decision has passed; linking the demo's passed
  decision is refused too (it adopted the demo's scheme: one decision adopts one scheme), and
  the draft is cancelled; in 支出 the owner records an expense (a double click
  is one) and the line's spent amount moves by exactly that.

The live demo is shared by the browser tests: this file adds one payment to the demo scheme and
one draft scheme, which it cancels."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
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


def _fen(text: str) -> int:
    """The fen of an amount as the page writes it (¥1,234.50, -¥3.00), exactly."""
    cleaned = text.strip().replace(",", "").replace("¥", "")
    return int(Decimal(cleaned) * 100)


def _adopted_scheme(live, site: int, token: str) -> dict:
    schemes = live_api.call(live, "GET", f"/projects/{site}/contribution-schemes", token=token)
    adopted = [s for s in schemes if s["status"] == "adopted"]
    assert adopted, f"the demo has no adopted scheme on the building site: {schemes}"
    return adopted[0]


def test_the_clerk_sees_the_demo_scheme_and_records_a_payment(page, live):
    site = _site_id(live)
    clerk = live_api.staff(live, "clerk")
    scheme = _adopted_scheme(live, site, clerk)

    _sign_in(page, live, "clerk")
    page.get_by_role("menuitem", name="居民出资").click()
    expect(page.locator("[data-test=contributions]")).to_be_visible()
    # The building site is the project picked first (a project under construction).
    page.goto(f"{live.console}contributions?project={site}")
    row = page.locator("[data-test=scheme-table] tbody tr").filter(has_text=scheme["title"])
    expect(row.locator("[data-test=scheme-status]")).to_have_text("已通过")
    expect(row.locator("[data-test=scheme-total]")).to_contain_text("¥")
    # The clerk reads schemes but does not make them.
    expect(page.locator("[data-test=scheme-new]")).to_have_count(0)
    shot(page, "contributions-list")
    row.locator("[data-test=scheme-open]").click()

    # 方案: the basis and the rounding rule in words, the decision that adopted it.
    detail = page.locator("[data-test=scheme-detail]")
    expect(detail.locator("[data-test=scheme-detail-status]")).to_have_text("已通过")
    panel = detail.locator("[data-test=scheme-panel]")
    expect(panel.locator("[data-test=scheme-rounding]")).to_contain_text("四舍五入")
    expect(panel.locator("[data-test=scheme-basis]")).to_contain_text("元/")
    expect(panel.locator("[data-test=scheme-decision-state]")).to_have_text("已通过")
    expect(panel.locator("[data-test=scheme-adopt]")).to_have_count(0)
    shot(page, "contributions-scheme")

    # 统计: the totals as cards and a chart per building.
    tabs = detail.locator("[data-test=scheme-tabs]")
    tabs.get_by_role("tab", name="统计").click()
    figures = detail.locator("[data-test=figures]")
    expect(figures.locator("[data-test=fig-chart] canvas")).to_have_count(1)
    expect(figures.locator("[data-test=fig-buildings] tbody tr").first).to_be_visible()
    paid_before = _fen(figures.locator("[data-test=fig-paid-value]").inner_text())
    owed_before = _fen(figures.locator("[data-test=fig-outstanding-value]").inner_text())
    api_figures = live_api.call(
        live, "GET", f"/contribution-schemes/{scheme['id']}/figures", token=clerk
    )
    assert paid_before == api_figures["totals"]["paid_fen"], api_figures["totals"]
    assert paid_before > 0, "the demo scheme has payments"
    shot(page, "contributions-figures")

    # 住户: an unpaid household, paid through the dialog.
    tabs.get_by_role("tab", name="住户").click()
    households = detail.locator("[data-test=households]")
    ui.choose(page, "[data-test=hh-state]", "未缴")
    first = households.locator("[data-test=hh-table] .el-table__body-wrapper tbody tr").first
    expect(first.locator("[data-test=hh-paid]")).to_have_text("¥0.00")
    place = first.locator("[data-test=hh-place]").inner_text()
    due = _fen(first.locator("[data-test=hh-amount]").inner_text())
    assert due > 12345, due
    first.locator("[data-test=hh-pay]").click()
    dialog = page.locator("[data-test=entry-dialog]")
    amount = dialog.locator("[data-test=entry-amount] input")
    # Three decimals are not an amount: said under the field, nothing sent.
    amount.fill("123.456")
    amount.blur()
    expect(dialog.locator("[data-test=yuan-wrong]")).to_be_visible()
    amount.fill("123.45")
    amount.blur()
    expect(dialog.locator("[data-test=yuan-wrong]")).to_have_count(0)
    dialog.locator("[data-test=entry-channel]").get_by_text("银行转账").click()
    dialog.locator("input[data-test=entry-receipt]").fill("YH-2026-0001")
    dialog.locator("[data-test=photo-input]").set_input_files(
        files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": ui.png()}]
    )
    expect(dialog.locator("[data-test=photo]")).to_have_count(1)
    shot(page, "contributions-payment")
    dialog.locator("[data-test=entry-save]").dblclick()
    expect(dialog).to_be_hidden()

    # The household's row: paid 123.45, outstanding the rest, found again by its place.
    ui.choose(page, "[data-test=hh-state]", "部分缴纳")
    paid_row = households.locator("[data-test=hh-table] .el-table__body-wrapper tbody tr").filter(
        has=page.locator("[data-test=hh-place]", has_text=re.compile(f"^{re.escape(place)}$"))
    )
    expect(paid_row.locator("[data-test=hh-paid]")).to_have_text("¥123.45")
    assert _fen(paid_row.locator("[data-test=hh-outstanding]").inner_text()) == due - 12345

    # Its entries: one payment of ¥123.45 (a double click is one entry), by bank transfer.
    paid_row.locator("[data-test=hh-entries]").click()
    drawer = page.locator("[data-test=entries-drawer]")
    entries = drawer.locator("[data-test=entries-table] .el-table__body-wrapper tbody tr")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("银行转账")
    expect(entries.first.locator("[data-test=entry-amount]")).to_have_text("¥123.45")
    expect(entries.first).to_contain_text("YH-2026-0001")
    expect(entries.first.locator("img")).to_have_count(1)
    shot(page, "contributions-entries")
    # The household answers at the desk: it pledges the rest.
    drawer.locator("[data-test=drawer-pledged]").click()
    expect(drawer.locator("[data-test=drawer-pledge]")).to_have_text("承诺出资")
    drawer.get_by_role("button", name=re.compile("关闭|Close")).click()

    # 统计 again: the totals moved by exactly the payment.
    tabs.get_by_role("tab", name="统计").click()
    figures = detail.locator("[data-test=figures]")
    expect(figures.locator("[data-test=fig-paid-value]")).to_have_text(
        "¥" + f"{Decimal(paid_before + 12345) / 100:,.2f}"
    )
    expect(figures.locator("[data-test=fig-outstanding-value]")).to_have_text(
        "¥" + f"{Decimal(owed_before - 12345) / 100:,.2f}"
    )

    # On a tablet the page still fits: no sideways scrolling, the chart drawn.
    page.set_viewport_size({"width": 1024, "height": 768})
    expect(figures.locator("[data-test=fig-chart] canvas")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(page, "contributions-figures-tablet")
    page.set_viewport_size({"width": 1366, "height": 768})

    # 公示: owners masked, spending against the funding lines.
    tabs.get_by_role("tab", name="公示").click()
    publicity = detail.locator("[data-test=publicity]")
    expect(publicity.locator("[data-test=pub-spending] tbody tr").first).to_be_visible()
    owner = publicity.locator("[data-test=pub-owner]").first.inner_text()
    assert "*" in owner, owner
    shot(page, "contributions-publicity")

    # 导出 Excel: the workbook (fetched with the token) lists the payment just recorded.
    with page.expect_download() as download:
        detail.locator("[data-test=scheme-export]").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames == ["户", "缴退款记录", "楼栋统计"], book.sheetnames
    cells = [str(c) for row in book["缴退款记录"].iter_rows(values_only=True) for c in row]
    assert "YH-2026-0001" in cells, cells[-20:]


def test_the_owner_drafts_a_scheme_and_adoption_waits_for_the_decision(page, live):
    site = _site_id(live)
    _sign_in(page, live, "owner")
    page.goto(f"{live.console}contributions?project={site}")
    page.locator("[data-test=scheme-new]").click()
    form = page.locator("[data-test=scheme-form]")
    form.locator("input[data-test=sf-title]").fill("浏览器测试：单元门禁按户出资")
    form.locator("[data-test=sf-basis]").get_by_text("按户").click()
    rate = form.locator("[data-test=sf-rate] input")
    rate.fill("200.5")
    rate.press("Tab")
    ui.choose(page, "[data-test=sf-funding-line]", "居民出资（居民出资）")
    due = form.locator("[data-test=sf-due-on] input")
    due.fill((date.today() + timedelta(days=60)).isoformat())
    due.press("Enter")
    expect(form.locator("[data-test=sf-rule]")).to_contain_text("四分之三")
    shot(page, "contributions-new-scheme")
    form.locator("[data-test=sf-save]").click()

    # The draft opens: its households each pay ¥200.50; the sum against the 180,000 line.
    detail = page.locator("[data-test=scheme-detail]")
    expect(detail.locator("[data-test=scheme-detail-status]")).to_have_text("草案")
    panel = detail.locator("[data-test=scheme-panel]")
    expect(panel.locator("[data-test=scheme-households]")).not_to_have_text("—")
    households = int(panel.locator("[data-test=scheme-households]").inner_text())
    assert households > 0
    total = households * 20050
    expect(panel.locator("[data-test=scheme-sum]")).to_have_text(
        "¥" + f"{Decimal(total) / 100:,.2f}"
    )
    expect(panel.locator("[data-test=scheme-funding-line]")).to_contain_text("¥180,000.00")
    difference = total - 18_000_000
    words = "多" if difference > 0 else "少"
    expect(panel.locator("[data-test=scheme-difference]")).to_have_text(
        f"比资金来源{words} ¥{Decimal(abs(difference)) / 100:,.2f}"
    )
    expect(panel.locator("[data-test=scheme-rule]")).to_have_text("四分之三以上同意")
    expect(panel.locator("[data-test=scheme-decision]")).to_have_text("尚未关联业主共同决定")

    # Adoption is refused while no owners' decision has passed: the API's message, as it came.
    scheme_id = int(re.search(r"scheme=(\d+)", page.url).group(1))
    owner = live_api.staff(live, "owner")
    refused = live_api.call(live, "POST", f"/contribution-schemes/{scheme_id}/adopt", {}, owner)
    assert refused["error"]["code"] == "decision_not_passed", refused
    panel.locator("[data-test=scheme-adopt]").click()
    expect(panel.locator("[data-test=scheme-error]")).to_contain_text(refused["error"]["message"])
    expect(panel.locator("[data-test=scheme-error]")).to_contain_text("尚未关联业主共同决定")
    expect(detail.locator("[data-test=scheme-detail-status]")).to_have_text("草案")
    shot(page, "contributions-adopt-refused")

    # The demo's passed owners' decision on raising the fund adopted the demo's scheme; one
    # decision adopts one scheme, so linking it to this draft is refused with the API's message.
    page.locator("[data-test=scheme-decision-picker]").click()
    page.get_by_role("option").filter(
        has_text="筹集建筑物及其附属设施的维修资金 · 已结束"
    ).first.click()
    panel.locator("[data-test=scheme-decision-save]").click()
    expect(panel.locator("[data-test=scheme-error]")).to_contain_text(
        "该业主共同决定已用于通过另一个出资方案"
    )
    expect(detail.locator("[data-test=scheme-detail-status]")).to_have_text("草案")
    shot(page, "contributions-decision-used")

    # It is cancelled to leave the demo as it was, and the list shows it.
    panel.locator("[data-test=scheme-cancel]").click()
    box = page.locator(".el-message-box")
    box.locator("input").fill("浏览器测试结束")
    ui.confirm(page, "确定取消")
    expect(detail.locator("[data-test=scheme-detail-status]")).to_have_text("已取消")
    detail.locator("[data-test=scheme-back]").click()
    row = page.locator("[data-test=scheme-table] tbody tr").filter(
        has_text="浏览器测试：单元门禁按户出资"
    )
    expect(row.locator("[data-test=scheme-status]")).to_have_text("已取消")

    # 支出: an expense from the government line, its spent amount up by exactly that.
    page.locator("[data-test=contributions-sections]").get_by_role("tab", name="支出").click()
    line = page.locator("[data-test=spending-table] tbody tr").filter(has_text="政府补助")
    spent = _fen(line.locator("[data-test=spending-spent]").inner_text())
    page.locator("[data-test=expense-new]").click()
    expense = page.locator("[data-test=expense-form]")
    expense.locator("[data-test=ef-line]").click()
    page.get_by_role("option").filter(has_text="政府补助").last.click()
    amount = expense.locator("[data-test=ef-amount] input")
    amount.fill("1234.5")
    amount.blur()
    expense.locator("input[data-test=ef-description]").fill("浏览器测试：单元门禁设备款")
    expense.locator("[data-test=ef-save]").dblclick()
    expect(expense).to_be_hidden()
    expect(line.locator("[data-test=spending-spent]")).to_have_text(
        "¥" + f"{Decimal(spent + 123450) / 100:,.2f}"
    )
    rows = page.locator("[data-test=expense-table] tbody tr").filter(
        has_text="浏览器测试：单元门禁设备款"
    )
    expect(rows).to_have_count(1)
    expect(rows.locator("[data-test=expense-amount]")).to_have_text("¥1,234.50")
    shot(page, "contributions-expenses")
