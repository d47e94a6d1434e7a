"""The joint acceptance (竣工验收 › 联合验收) in a real browser, on the demo's completed project
(勐焕社区2025年楼道照明提升工程), as its owner: the step to `accepted` refused with the API's
reason while nothing is recorded; the acceptance form filled — the three companies with their
verdicts, a residents' representative found by searching a room (the name masked), an
acceptance document uploaded — and recorded; then the step allowed. The committee clerk reads
the record and is offered neither the form nor the step.

The live demo is shared by the browser tests: this file records the acceptance of the demo's
completed project and moves it to `accepted` (its ratings stay readable: an accepted project
keeps its completion satisfaction)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser

COMPLETED = "勐焕社区2025年楼道照明提升工程"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_the_owner_records_the_acceptance_and_the_project_is_accepted(page, live):
    owner = live_api.staff(live, "owner")
    listed = live_api.call(live, "GET", f"/projects?q={quote(COMPLETED)}", token=owner)["items"]
    project = listed[0]["id"]
    assert listed[0]["status"] == "completed", listed
    # The representative the clerk will pick: the first verified resident of a room 101.
    [candidate, *_] = live_api.call(
        live, "GET", f"/projects/{project}/acceptance/candidates?q=101", token=owner
    )["items"]

    _sign_in(page, live, "owner")
    page.goto(f"{live.console}completion?project={project}&tab=acceptance")
    panel = page.locator("[data-test=acceptance-panel]")
    expect(panel.locator("[data-test=acceptance-form]")).to_be_visible()

    # The step first: refused with the API's reason while nothing is recorded.
    panel.locator("[data-test=acceptance-accept]").click()
    ui.confirm(page, "确定")
    refusal = panel.locator("[data-test=acceptance-refusal]")
    expect(refusal).to_contain_text("尚未登记竣工联合验收记录，项目不能转为已验收")
    expect(panel.locator("[data-test=acceptance-refusal-code]")).to_have_text(
        "代码：acceptance_missing"
    )
    expect(panel.locator("[data-test=acceptance-status]")).to_have_text("已完工")
    shot(page, "acceptance-refused")

    # A document, uploaded (a PDF) and listed.
    documents = panel.locator("[data-test=acceptance-documents]")
    documents.locator("input[data-test=ad-title]").fill("竣工验收报告")
    documents.locator("[data-test=ad-upload] input[type=file]").set_input_files(
        {"name": "report.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    link = documents.locator("[data-test=ad-link]")
    expect(link).to_have_text("竣工验收报告")
    expect(documents.locator("[data-test=ad-list]")).to_contain_text("PDF")

    # The form: a date, the three companies, a representative found by room.
    form = panel.locator("[data-test=acceptance-form]")
    form.locator("[data-test=af-save]").click()
    expect(form.locator("[data-test=af-error]")).to_contain_text("请选择验收日期")
    held_on = (date.today() - timedelta(days=1)).isoformat()
    day = form.locator("[data-test=af-held-on] input")
    day.fill(held_on)
    day.press("Enter")
    for role, name in (
        ("design", "州建筑设计研究院"),
        ("construction", "勐焕建筑工程有限公司"),
        ("supervision", "州建设监理有限公司"),
    ):
        form.locator(f"[data-test=af-party-{role}] input[data-test=af-party-name]").fill(name)
    ui.choose(page, "[data-test=af-party-construction] [data-test=af-party-verdict]", "整改后合格")

    search = form.locator("[data-test=af-rep-search]")
    search.click()
    search.locator("input").fill("101")
    label = (
        f"{candidate['nickname']}（{candidate['estate']} {candidate['building']}-"
        f"{candidate['unit']}-{candidate['room']}，登记姓名 {candidate['name']}）"
    )
    assert "*" in candidate["name"] and "*" in candidate["nickname"]
    page.get_by_role("option", name=label, exact=True).first.click()
    representative = form.locator("[data-test=af-rep]")
    expect(representative).to_have_count(1)
    # The form is complete: the alert of the first save has gone.
    expect(form.locator("[data-test=af-error]")).to_have_count(0)
    expect(representative).to_contain_text(candidate["nickname"])
    form.evaluate("e => e.scrollIntoView()")
    shot(page, "acceptance-form")

    form.locator("[data-test=af-save]").click()
    record = panel.locator("[data-test=acceptance-record]")
    expect(record).to_contain_text(f"联合验收记录（{held_on}）")
    expect(record.locator("[data-test=acceptance-passed]")).to_have_text("通过")
    expect(record.locator("[data-test=acceptance-parties]")).to_contain_text("整改后合格")
    expect(record.locator("[data-test=acceptance-parties]")).to_contain_text("勐焕建筑工程有限公司")
    expect(record.locator("[data-test=acceptance-representatives]")).to_contain_text(
        candidate["nickname"]
    )
    expect(panel.locator("[data-test=acceptance-form]")).to_have_count(0)

    # Now the step is allowed.
    panel.locator("[data-test=acceptance-accept]").click()
    ui.confirm(page, "确定")
    expect(panel.locator("[data-test=acceptance-status]")).to_have_text("已竣工验收")
    expect(panel.locator("[data-test=acceptance-accept]")).to_have_count(0)
    expect(panel.locator("[data-test=ad-remove]")).to_have_count(0)  # the record is closed
    shot(page, "acceptance-accepted")
    after = live_api.call(live, "GET", f"/projects/{project}", token=owner)
    assert after["status"] == "accepted", after
    kept = live_api.call(live, "GET", f"/projects/{project}/acceptance/documents", token=owner)
    assert [d["title"] for d in kept["items"]] == ["竣工验收报告"]

    # The committee clerk reads the record, on a tablet, and is offered nothing to change.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.evaluate("sessionStorage.clear()")
    _sign_in(page, live, "clerk")
    page.goto(f"{live.console}completion?project={project}&tab=acceptance")
    expect(panel.locator("[data-test=acceptance-record]")).to_be_visible()
    expect(panel.locator("[data-test=acceptance-accept]")).to_have_count(0)
    expect(panel.locator("[data-test=ad-upload]")).to_have_count(0)
    expect(panel.locator("[data-test=ad-link]")).to_have_text("竣工验收报告")
    shot(page, "acceptance-clerk-tablet")
