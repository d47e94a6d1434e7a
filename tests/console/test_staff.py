"""账号管理 in a real browser (issue 14, page 6), as the demo's county officer: create an account
with a committee role, grant it a project's owner role and revoke that again, reset its password
(the new one shown once), sign in as it in a second browser, then deactivate it in the first:
the second browser is signed out on its next request, back to the sign-in page with the API's
message. And the committee clerk sees only the committee accounts of their community, with no
button for their own account."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.sync_api import expect

from api.demo import DEMO_COMMUNITY, DEMO_COUNTY
from tests.console import live_api
from tests.console.conftest import VIEWPORT, shot
from tests.console.ui import choose, confirm

pytestmark = pytest.mark.browser

ROW = "[data-test=staff-table] .el-table__body-wrapper tr"


def _sign_in(page, live, username: str, password: str) -> None:
    page.goto(live.console)
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(re.compile(r"/console/login"))


def _row(page, username: str):
    return page.locator(ROW).filter(
        has=page.locator("[data-test=staff-username]", has_text=re.compile(f"^{username}$"))
    )


def test_a_county_officer_manages_an_account_and_its_deactivation_signs_it_out(
    page, chromium, live
):
    username = f"clerk-{secrets.token_hex(3)}"
    county = live_api.staff(live, "county")
    _sign_in(page, live, "county", live.passwords["county"])
    page.goto(live.console + "staff")
    expect(page.locator(ROW).first).to_be_visible()
    # The officer's own account is listed, with no button to deactivate or reset it.
    own = _row(page, "county")
    expect(own).to_contain_text("本人")
    expect(own.locator("[data-test=staff-deactivate]")).to_have_count(0)
    expect(own.locator("[data-test=staff-reset]")).to_have_count(0)
    # The prefecture's account is out of the county's remit.
    expect(_row(page, "admin")).to_have_count(0)
    shot(page, "staff-county-list")

    # A new account with the committee role of the demo's community.
    page.locator("[data-test=staff-create]").click()
    dialog = page.locator("[data-test=staff-create-dialog]")
    dialog.locator("input[name=new-username]").fill(username)
    dialog.locator("input[name=new-display-name]").fill("岩温")
    dialog.locator("input[name=new-password]").fill("first-password-123")
    choose(page, "[data-test=staff-create-dialog] [data-test=grant-role]", "社区居委会")
    choose(
        page,
        "[data-test=staff-create-dialog] [data-test=grant-scope]",
        f"{DEMO_COUNTY}·{DEMO_COMMUNITY}",
    )
    shot(page, "staff-create")
    dialog.locator("[data-test=staff-create-submit]").click()
    expect(dialog).to_be_hidden()
    row = _row(page, username)
    expect(row.locator("[data-test=staff-grant]")).to_have_text(
        [f"社区居委会 · {DEMO_COUNTY}·{DEMO_COMMUNITY}"]
    )
    expect(row.locator("[data-test=staff-active]")).to_have_text("启用")
    expect(row).to_contain_text("岩*")  # the name masked, as the API gives it

    # Grant a project's owner role, then revoke it.
    row.locator("[data-test=staff-grant-open]").click()
    grant = page.locator("[data-test=staff-grant-dialog]")
    choose(page, "[data-test=staff-grant-dialog] [data-test=grant-role]", "建设单位")
    projects = live_api.call(live, "GET", "/projects?per_page=1", None, county)
    project = projects["items"][0]["name"]
    choose(page, "[data-test=staff-grant-dialog] [data-test=grant-scope]", project)
    grant.locator("[data-test=staff-grant-submit]").click()
    expect(grant).to_be_hidden()
    grants = row.locator("[data-test=staff-grant]")
    expect(grants).to_have_count(2)
    expect(grants.nth(1)).to_have_text(f"建设单位 · {project}")
    shot(page, "staff-granted")
    grants.nth(1).locator(".el-tag__close").click()
    confirm(page, "撤销")
    expect(grants).to_have_count(1)
    expect(grants).to_have_text([f"社区居委会 · {DEMO_COUNTY}·{DEMO_COMMUNITY}"])

    # A password reset: the server's new password, shown once.
    row.locator("[data-test=staff-reset]").click()
    confirm(page, "重置")
    shown = page.locator("[data-test=staff-new-password]")
    expect(shown).to_have_text(re.compile(r"^[A-Za-z0-9]{12,}$"))
    password = shown.inner_text()
    shot(page, "staff-password-once")
    page.locator("[data-test=staff-password-close]").click()
    expect(page.locator("[data-test=staff-password-dialog]")).to_be_hidden()
    expect(page.locator("[data-test=staff-new-password]")).to_have_count(0)
    # The password the account was created with no longer signs in.
    refused = live_api.call(
        live,
        "POST",
        "/auth/staff-login",
        {"username": username, "password": "first-password-123"},
    )
    assert refused["error"]["code"] == "invalid_credentials", refused

    # The account signs in with it in a second browser, as a committee clerk.
    other = chromium.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    other.set_default_timeout(10_000)
    try:
        second = other.new_page()
        _sign_in(second, live, username, password)
        expect(second).to_have_url(re.compile(r"/console/registry"))
        expect(second.locator("[data-test=user-menu]")).to_have_text(username)

        # Deactivated in the first browser...
        row.locator("[data-test=staff-deactivate]").click()
        confirm(page, "停用")
        expect(row.locator("[data-test=staff-active]")).to_have_text("已停用")
        expect(row.locator("[data-test=staff-activate]")).to_be_visible()
        shot(page, "staff-deactivated")

        # ... the second is signed out on its next request, with the API's message.
        second.locator("[data-test=menu] [role=menuitem]", has_text="项目").click()
        expect(second).to_have_url(re.compile(r"/console/login\?redirect=/projects"))
        expect(second.locator("[data-test=login-notice]")).to_have_text("账号不存在或已停用")
        assert second.evaluate("sessionStorage.getItem('console.token')") is None
        shot(second, "staff-signed-out")
    finally:
        other.close()

    # Reactivated, the account signs in again; its old token stays ended.
    row.locator("[data-test=staff-activate]").click()
    expect(row.locator("[data-test=staff-active]")).to_have_text("启用")
    assert live_api.staff(live, username, password)


def test_the_clerk_sees_the_committee_accounts_of_their_community(page, live):
    _sign_in(page, live, "clerk", live.passwords["clerk"])
    page.goto(live.console + "staff")
    own = _row(page, "clerk")
    expect(own).to_contain_text("本人")
    expect(own.locator("[data-test=staff-grant] .el-tag__close")).to_have_count(0)
    # Only committee accounts of the clerk's own community: not the county's, not the owner's.
    for other in ("county", "owner", "admin"):
        expect(_row(page, other)).to_have_count(0)
    # The clerk grants only the committee role of their community.
    page.locator("[data-test=staff-create]").click()
    page.locator("[data-test=staff-create-dialog] [data-test=grant-role]").click()
    expect(page.get_by_role("option")).to_have_text(["社区居委会"])
    shot(page, "staff-clerk-create")
    page.keyboard.press("Escape")  # the dropdown
    dialog = page.locator("[data-test=staff-create-dialog]")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    shot(page, "staff-clerk")

    # On a tablet the toolbar wraps and the actions stay in their column.
    page.set_viewport_size({"width": 1024, "height": 768})
    expect(page.locator("[data-test=staff-create]")).to_be_in_viewport()
    shot(page, "staff-clerk-tablet")
