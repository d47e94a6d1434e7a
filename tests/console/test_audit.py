"""The audit trail's page (操作日志, issue 14 page 7) in a real browser, on the live demo: the
committee clerk enters a paper ballot (through the API, as the clerk: the browser's own entry
of one is test_whole_flow's and test_consultations'), and the page finds it by its object and
its action, shows the ballot's fields before → after (its content hidden), and exports the
search as Excel, which reads back with that row. The county officer reads the clerk's entry
too; the project owner is refused.

The demo has one county, so a second county's officer (who must not see it) is left to the
API's matrix (tests/shell/test_audit_log.py), rather than adding a county to the shared demo
that the overview's tests count."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from io import BytesIO

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.console import live_api, ui
from tests.console.conftest import shot

pytestmark = pytest.mark.browser


def _upload(live, token: str, project_id: int) -> int:
    """The clerk's photo of a signed paper form, uploaded to the project: its id."""
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="form.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + ui.png()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{live.demo.api}/projects/{project_id}/uploads",
        method="POST",
        data=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": f"Bearer {token}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())["id"]


def _paper_ballot(live) -> tuple[int, int]:
    """A needs survey of the first project, opened, and one household's paper ballot entered
    by the clerk with the photo of its form: (the consultation's id, the household's id)."""
    clerk = live_api.staff(live, "clerk")
    created = live_api.call(
        live,
        "POST",
        "/projects/1/consultations",
        {"kind": "needs_survey", "title": "操作日志测试调查"},
        clerk,
    )
    cid = created["id"]
    opened = live_api.call(live, "POST", f"/consultations/{cid}/open", {}, clerk)
    assert opened.get("status") == "open", opened
    [household] = live_api.call(
        live, "GET", f"/consultations/{cid}/non-voters?per_page=1", None, clerk
    )["items"]
    receipt = live_api.call(
        live,
        "POST",
        f"/consultations/{cid}/paper-ballots",
        {
            "household_id": household["household_id"],
            "items": ["lighting"],
            "evidence_upload_id": _upload(live, clerk, 1),
        },
        clerk,
    )
    assert receipt.get("receipt"), receipt
    return cid, household["household_id"]


def _sign_in(page, live, username: str) -> None:
    page.goto(live.console)
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(live.passwords[username])
    page.get_by_role("button", name="登录").click()
    expect(page.locator("input[name=username]")).to_have_count(0)


def test_the_audit_page_finds_the_clerks_paper_ballot_and_exports_it(page, live, tmp_path):
    cid, household_id = _paper_ballot(live)

    _sign_in(page, live, "clerk")
    page.get_by_role("menuitem", name="操作日志").click()
    expect(page).to_have_url(re.compile(r"/console/audit$"))
    audit = page.locator("[data-test=audit-page]")
    rows = audit.locator("[data-test=audit-table] .el-table__body > tbody > tr.el-table__row")
    expect(rows.first).to_be_visible()

    # By its object: the consultation, opened and then given the paper ballot, newest first.
    ui.choose(page, "[data-test=audit-object-type]", "征询")
    ui.number(page, "[data-test=audit-object-id]", str(cid))
    audit.locator("[data-test=audit-search]").click()
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("[data-test=audit-action-label]")).to_have_text("录入纸质选票")
    expect(rows.nth(1).locator("[data-test=audit-action-label]")).to_have_text("开启征询")
    expect(rows.nth(0)).to_contain_text("clerk")
    expect(rows.nth(0)).to_contain_text("社区居委会")
    expect(rows.nth(0)).to_contain_text(f"征询 #{cid}")

    # And by its action: the one paper ballot of this consultation.
    ui.choose(page, "[data-test=audit-action]", "录入纸质选票")
    audit.locator("[data-test=audit-search]").click()
    expect(rows).to_have_count(1)

    # Opened: the ballot row's fields after its entry, its content never shown.
    rows.first.locator(".el-table__expand-icon").click()
    changes = audit.locator("[data-test=audit-changes]")
    expect(changes).to_contain_text(f"新增 选票 #{cid}/{household_id}")
    expect(changes).to_contain_text(f"POST /api/v1/consultations/{cid}/paper-ballots")
    ballot = changes.locator(".change", has_text="新增 选票 #").locator("tr", has_text="channel")
    expect(ballot.locator(".after")).to_have_text("paper")
    expect(changes.locator("tr", has_text="choice").locator(".after")).to_have_text("[不记录]")
    shot(page, "audit-paper-ballot")

    # The export: the same search as a workbook, with that row.
    with page.expect_download() as download:
        audit.locator("[data-test=audit-export]").click()
    saved = tmp_path / "audit.xlsx"
    download.value.save_as(saved)
    sheet = load_workbook(BytesIO(saved.read_bytes())).active
    assert sheet.title == "操作日志" and "共 1 条" in sheet["A1"].value
    [row] = list(sheet.iter_rows(min_row=3, values_only=True))
    assert (row[1], row[3], row[4], row[5]) == ("clerk", "录入纸质选票", "征询", cid)
    assert row[2].startswith("committee:")
    assert row[6] == f"POST /api/v1/consultations/{cid}/paper-ballots"
    assert "channel=paper" in row[8] and "choice=[不记录]" in row[8]

    # 重置 clears the search: every entry the clerk reads again, the ballot's first.
    audit.locator("[data-test=audit-reset]").click()
    expect(audit.locator(".el-pagination__total")).not_to_have_text("共 1 条")

    # A refusal is the API's message as it comes: nobody of that name in the clerk's trail.
    audit.locator("input[data-test=audit-staff]").fill("nobody-here")
    audit.locator("[data-test=audit-search]").click()
    expect(audit.locator("[data-test=audit-error]")).to_contain_text(
        "操作日志中没有该工作人员的记录"
    )
    audit.locator("input[data-test=audit-staff]").fill("clerk")
    audit.locator("[data-test=audit-search]").click()
    expect(audit.locator("[data-test=audit-error]")).to_have_count(0)
    expect(rows.first).to_contain_text("clerk")

    # On a tablet the search wraps and the table keeps its columns.
    page.set_viewport_size({"width": 1024, "height": 768})
    shot(page, "audit-tablet")

    # The county officer reads the clerk's entries; the project owner is refused.
    county = live_api.staff(live, "county")
    found = live_api.call(
        live, "GET", f"/audit?object_type=consultation&object_id={cid}", None, county
    )
    assert [item["action_label"] for item in found["items"]] == ["录入纸质选票", "开启征询"]
    owner = live_api.staff(live, "owner")
    refused = live_api.call(live, "GET", "/audit", None, owner)
    assert refused["error"]["code"] == "out_of_scope"
