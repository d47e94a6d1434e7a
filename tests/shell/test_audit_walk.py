"""The audit trail covers every staff write (issue 14): the walk over the OpenAPI document.

The staff write operations are the document's POST, PUT, PATCH and DELETE operations minus
those only residents (or nobody signed in) may call, listed in `NOT_STAFF` with why. For each
one, `CALLS` knows how to make a successful call with valid data in a world built by the
factory; the test makes it and finds exactly one new audit row naming the operation's
endpoint, with its method and path. A new write operation that is in neither `NOT_STAFF` nor
`CALLS` fails `test_the_walk_knows_every_staff_write_operation`: nobody adds one silently.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event, func, select

from api.core import audit_log, db
from api.core.audit import AuditEntry
from participation.models import FundingLine, HouseholdClaim, Plan, RoleGrant, Staff
from tests.support.acceptance_documents import add_acceptance_documents
from tests.support.feedback_world import JPEG, acceptance_body, build_world, multipart
from tests.support.registry_world import roster_csv
from tests.support.voting_helpers import (
    Scene,
    backdate_opening,
    build_scene,
    evidence_upload,
    resident,
    run_jobs,
)

WRITES = ("post", "put", "patch", "delete")

# Write operations no staff member can call: (method, path) → why.
NOT_STAFF = {
    ("post", "/api/v1/auth/wechat-login"): "a resident signs in (no caller yet)",
    ("post", "/api/v1/auth/staff-login"): "signing in (no caller yet; the login is logged)",
    ("delete", "/api/v1/me"): "a resident erases their own data",
    ("post", "/api/v1/me/privacy-consent"): "a resident accepts the privacy notice",
    ("post", "/api/v1/me/households"): "a resident claims a household",
    ("delete", "/api/v1/me/households/{household_id}"): "a resident leaves a household",
    ("delete", "/api/v1/me/claims/{claim_id}"): "a resident withdraws their claim",
    ("post", "/api/v1/me/subscriptions"): "a resident's WeChat subscriptions",
    ("put", "/api/v1/consultations/{consultation_id}/ballot"): (
        "a household's ballot (its own history: ballot_changes)"
    ),
    ("post", "/api/v1/projects/{project_id}/supervisors"): "a resident signs up to supervise",
    ("post", "/api/v1/supervisors/{signup_id}/withdraw"): "a resident withdraws their sign-up",
    ("post", "/api/v1/projects/{project_id}/inspections"): "a supervisor's inspection",
    ("post", "/api/v1/projects/{project_id}/problems"): "a resident reports a problem",
    ("post", "/api/v1/tickets/{ticket_id}/confirm"): "the reporter confirms an answer",
    ("post", "/api/v1/tickets/{ticket_id}/reopen"): "the reporter reopens a ticket",
    ("post", "/api/v1/projects/{project_id}/ratings"): "a household's completion rating",
    ("post", "/api/v1/projects/{project_id}/comments"): "a resident's comment",
    ("post", "/api/v1/plans/{plan_id}/comments"): "a resident's comment on a plan",
    ("post", "/api/v1/comments/{comment_id}/report"): "a resident reports a comment",
    ("put", "/api/v1/comments/{comment_id}/like"): "a resident's like",
    ("delete", "/api/v1/comments/{comment_id}/like"): "a resident takes a like back",
    ("post", "/api/v1/notices/{notice_id}/read"): "a resident reads a notice",
    # estate management rules (issue 15, H4)
    ("post", "/api/v1/estate-rules/{rules_id}/comments"): "a resident's comment on the rules",
}


def _served(app) -> dict:
    reply = app.test_client().get("/api/openapi.json")
    assert reply.status_code == 200
    return reply.get_json()


def _endpoint(app, method: str, path: str) -> str:
    """The Flask endpoint that serves `method path` of the document."""
    adapter = app.url_map.bind("localhost")
    concrete = re.sub(r"\{\w+\}", "1", path)
    endpoint, _ = adapter.match(concrete, method=method.upper())
    return endpoint


def staff_write_operations(app) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) of every write operation of the served document that staff
    may call (every write but `NOT_STAFF`)."""
    spec = _served(app)
    return sorted(
        (method, path, _endpoint(app, method, path))
        for path, item in spec["paths"].items()
        for method in item
        if method in WRITES and (method, path) not in NOT_STAFF
    )


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fw(app, module_transaction):
    """The feedback world (tests/support/feedback_world.py: a construction, a completed and
    an accepted project on one estate, a pending sign-up, an open ticket, a visible and a
    hidden comment, a caller of every kind) with its acceptance documents; each test rolls
    back to it."""
    return add_acceptance_documents(app, build_world(app))


@dataclass
class Ctx:
    app: object
    client: object
    make: object
    w: object  # the feedback world
    monkeypatch: object
    _scene: Scene | None = None

    @property
    def scene(self) -> Scene:
        """A voting scene (tests/support/voting_helpers.py: a project on its own estate with
        four households, a plan, a clerk and an owner), built on first use in this test."""
        if self._scene is None:
            self._scene = build_scene(self.app, households=4)
        return self._scene

    def h(self, actor: str) -> dict:
        return self.w.headers[actor]

    def clerk(self) -> dict:
        return self.make.headers(self.scene.clerk)

    def member(self, i: int) -> dict:
        return self.make.headers(resident(self.app, self.scene.resident_ids[i]))

    def ok(self, reply, *statuses):
        assert reply.status_code in (statuses or (200, 201, 204)), reply.get_json()
        return reply.get_json()

    def consultation(self, state="draft", **body) -> int:
        """A consultation of the scene's project, as its clerk: `draft`, `open`, `elapsed`."""
        s = self.scene
        body = {"kind": "plan_satisfaction", "plan_id": s.plan_id, **body}
        cid = self.ok(
            self.client.post(
                f"/api/v1/projects/{s.project_id}/consultations", json=body, headers=self.clerk()
            )
        )["id"]
        if state in ("open", "elapsed"):
            self.ok(self.client.post(f"/api/v1/consultations/{cid}/open", headers=self.clerk()))
        if state == "elapsed":
            backdate_opening(self.app, cid)
        return cid

    def pending_delegation(self) -> int:
        """An owners' decision, open, and a delegation household 0's owner asked for (to a
        tenant of the household), waiting for the committee's check: its id."""
        s = self.scene
        # The delegate is verified before the vote opens: the electorate is frozen then.
        tenant = self.make.member(SimpleNamespace(id=s.household_ids[0]), relation="tenant")
        cid = self.consultation("open", kind="owners_decision", matter="use_maintenance_fund")
        cid_path = f"/api/v1/consultations/{cid}/delegations"
        upload = evidence_upload(self.app, s.project_id, resident_id=s.resident_ids[0])
        body = {"delegate_id": tenant.id, "power_of_attorney_upload_id": upload}
        delegation = self.ok(self.client.post(cid_path, json=body, headers=self.member(0)))
        assert delegation["status"] == "pending", delegation
        return delegation["id"]

    def staff_row(self, username: str) -> Staff:
        with self.app.app_context():
            staff = db.session.scalars(select(Staff).where(Staff.username == username)).one()
            db.session.expunge(staff)
            return staff


@dataclass(frozen=True)
class Call:
    """A successful call: who makes it, where, with what (`client.open` keyword arguments)."""

    actor: str | None  # an actor of the feedback world, or None when `headers` is given
    path: str
    kwargs: dict
    headers: dict | None = None


# (method, path) → how to prepare and make a successful call of it.
CALLS: dict[tuple[str, str], Callable[[Ctx], Call]] = {}


def call(method: str, path: str):
    def register(prepare):
        CALLS[(method, f"/api/v1{path}")] = prepare
        return prepare

    return register


# --- places and the roster


@call("post", "/counties")
def _(c):
    return Call("prefecture", "/api/v1/counties", {"json": {"name": "审计县"}})


@call("post", "/communities")
def _(c):
    body = {"county_id": c.w.county, "name": "审计社区"}
    return Call("county_officer", "/api/v1/communities", {"json": body})


@call("post", "/estates")
def _(c):
    body = {"community_id": c.w.community, "name": "审计小区"}
    return Call("clerk", "/api/v1/estates", {"json": body})


@call("patch", "/households/{household_id}")
def _(c):
    path = f"/api/v1/households/{c.w.households['neighbour']}"
    return Call("clerk", path, {"json": {"floor_area": 66.5}})


@call("post", "/estates/{estate_id}/households:import")
def _(c):
    data = roster_csv([["9栋", "1单元", "901", "赵六", "2468", "70.2"]])
    return Call(
        "clerk",
        f"/api/v1/estates/{c.w.estate}/households:import",
        {"data": {"file": (io.BytesIO(data), "roster.csv")}, "content_type": "multipart/form-data"},
    )


# --- claims and staff accounts


def _pending_claim(c) -> int:
    with c.app.app_context():
        return db.session.scalar(
            select(HouseholdClaim.id).where(HouseholdClaim.status == "pending")
        )


@call("post", "/claims/{claim_id}/approve")
def _(c):
    return Call("clerk", f"/api/v1/claims/{_pending_claim(c)}/approve", {})


@call("post", "/claims/{claim_id}/reject")
def _(c):
    path = f"/api/v1/claims/{_pending_claim(c)}/reject"
    return Call("clerk", path, {"json": {"reason": "姓名与花名册不符"}})


@call("post", "/staff")
def _(c):
    body = {
        "username": "walk-new-clerk",
        "password": "a-long-password",
        "grants": [{"role": "committee", "scope_id": c.w.community}],
    }
    return Call("prefecture", "/api/v1/staff", {"json": body})


@call("post", "/staff/{staff_id}/grants")
def _(c):
    target = c.make.staff()  # without grants: the prefecture's alone
    body = {"role": "committee", "scope_id": c.w.community}
    return Call("prefecture", f"/api/v1/staff/{target.id}/grants", {"json": body})


@call("delete", "/staff/{staff_id}/grants/{grant_id}")
def _(c):
    clerk = c.w.callers["clerk"]
    with c.app.app_context():
        grant = db.session.scalar(select(RoleGrant.id).where(RoleGrant.staff_id == clerk))
    return Call("county_officer", f"/api/v1/staff/{clerk}/grants/{grant}", {})


@call("post", "/staff/{staff_id}/deactivate")
def _(c):
    return Call("county_officer", f"/api/v1/staff/{c.w.callers['clerk']}/deactivate", {})


@call("post", "/staff/{staff_id}/activate")
def _(c):
    clerk = c.w.callers["clerk"]
    with c.app.app_context():
        db.session.get(Staff, clerk).active = False
        db.session.commit()
    return Call("county_officer", f"/api/v1/staff/{clerk}/activate", {})


@call("post", "/staff/{staff_id}/password-reset")
def _(c):
    return Call("county_officer", f"/api/v1/staff/{c.w.callers['clerk']}/password-reset", {})


# --- projects


@call("post", "/projects")
def _(c):
    body = {"name": "审计项目", "estate_ids": [c.w.estate], "category": "basic", "plan_year": 2028}
    return Call("county_officer", "/api/v1/projects", {"json": body})


@call("patch", "/projects/{project_id}")
def _(c):
    return Call("county_officer", f"/api/v1/projects/{c.w.other}", {"json": {"name": "改名"}})


@call("post", "/projects/{project_id}/plans")
def _(c):
    body = {"items": [{"category": "parking", "description": "停车位", "estimated_cost": 2000}]}
    return Call("county_officer", f"/api/v1/projects/{c.w.other}/plans", {"json": body})


@call("post", "/projects/{project_id}/transitions")
def _(c):
    s = c.scene
    path = f"/api/v1/projects/{s.project_id}/transitions"
    return Call(None, path, {"json": {"to": "approved"}}, c.make.headers(s.owner))


@call("post", "/projects/{project_id}/progress")
def _(c):
    path = f"/api/v1/projects/{c.w.construction}/progress"
    return Call("owner", path, {"json": {"body": "外墙保温层施工完成"}})


# --- consultations


@call("post", "/projects/{project_id}/consultations")
def _(c):
    s = c.scene
    body = {"kind": "plan_satisfaction", "plan_id": s.plan_id}
    return Call(None, f"/api/v1/projects/{s.project_id}/consultations", {"json": body}, c.clerk())


@call("post", "/consultations/{consultation_id}/open")
def _(c):
    return Call(None, f"/api/v1/consultations/{c.consultation()}/open", {}, c.clerk())


@call("post", "/consultations/{consultation_id}/close")
def _(c):
    cid = c.consultation("elapsed")
    return Call(None, f"/api/v1/consultations/{cid}/close", {}, c.clerk())


@call("post", "/consultations/{consultation_id}/paper-ballots")
def _(c):
    s = c.scene
    cid = c.consultation("open")
    body = {
        "household_id": s.household_ids[3],
        "choice": "satisfied",
        "evidence_upload_id": evidence_upload(c.app, s.project_id, staff_id=s.clerk.id),
    }
    return Call(None, f"/api/v1/consultations/{cid}/paper-ballots", {"json": body}, c.clerk())


@call("post", "/consultations/{consultation_id}/delegations")
def _(c):
    s = c.scene
    family = c.make.member(SimpleNamespace(id=s.household_ids[1]), relation="family")
    cid = c.consultation("open", kind="owners_decision", matter="use_maintenance_fund")
    body = {
        "household_id": s.household_ids[1],
        "delegate_id": family.id,
        "power_of_attorney_upload_id": evidence_upload(c.app, s.project_id, staff_id=s.clerk.id),
        "note": "业主无智能手机，到居委会签署委托书",
    }
    return Call(None, f"/api/v1/consultations/{cid}/delegations", {"json": body}, c.clerk())


@call("post", "/delegations/{delegation_id}/verify")
def _(c):
    return Call(None, f"/api/v1/delegations/{c.pending_delegation()}/verify", {}, c.clerk())


@call("post", "/delegations/{delegation_id}/reject")
def _(c):
    path = f"/api/v1/delegations/{c.pending_delegation()}/reject"
    return Call(None, path, {"json": {"reason": "委托书无签名"}}, c.clerk())


@call("post", "/delegations/{delegation_id}/revoke")
def _(c):
    return Call(None, f"/api/v1/delegations/{c.pending_delegation()}/revoke", {}, c.clerk())


@call("post", "/consultations/{consultation_id}/comments/{comment_id}/replies")
def _(c):
    c.monkeypatch.setitem(c.app.config, "RESULTS_MIN_BALLOTS", 1)
    cid = c.consultation("open", kind="needs_survey", plan_id=None)
    ballot = c.client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"items": ["lighting"], "comment": "希望加装电梯"},
        headers=c.member(0),
    )
    c.ok(ballot)
    comments = c.ok(c.client.get(f"/api/v1/consultations/{cid}/comments", headers=c.clerk()))
    comment = comments["items"][0]["id"]
    path = f"/api/v1/consultations/{cid}/comments/{comment}/replies"
    return Call(None, path, {"json": {"body": "已纳入方案"}}, c.clerk())


# --- the building site and completion


@call("post", "/supervisors/{signup_id}/accept")
def _(c):
    return Call("clerk", f"/api/v1/supervisors/{c.w.signup_pending}/accept", {})


@call("post", "/supervisors/{signup_id}/decline")
def _(c):
    path = f"/api/v1/supervisors/{c.w.signup_pending}/decline"
    return Call("clerk", path, {"json": {"reason": "名额已满"}})


@call("post", "/projects/{project_id}/uploads")
def _(c):
    return Call("owner", f"/api/v1/projects/{c.w.construction}/uploads", multipart(JPEG))


@call("post", "/tickets/{ticket_id}/answer")
def _(c):
    path = f"/api/v1/tickets/{c.w.ticket_open}/answer"
    return Call("owner", path, {"json": {"answer": "已调整施工时间"}})


@call("post", "/projects/{project_id}/acceptance")
def _(c):
    path = f"/api/v1/projects/{c.w.completed}/acceptance"
    return Call("owner", path, {"json": acceptance_body([c.w.callers["resident_member"]])})


@call("post", "/projects/{project_id}/acceptance/documents")
def _(c):
    path = f"/api/v1/projects/{c.w.completed}/acceptance/documents"
    return Call("owner", path, {"json": {"upload_id": c.w.owner_pdf, "title": "竣工验收报告"}})


@call("delete", "/projects/{project_id}/acceptance/documents/{document_id}")
def _(c):
    path = f"/api/v1/projects/{c.w.completed}/acceptance/documents/{c.w.acceptance_document}"
    return Call("owner", path, {})


# --- comments and notices


@call("post", "/comments/{comment_id}/hide")
def _(c):
    return Call("clerk", f"/api/v1/comments/{c.w.comment}/hide", {"json": {"reason": "人身攻击"}})


@call("post", "/comments/{comment_id}/restore")
def _(c):
    path = f"/api/v1/comments/{c.w.hidden_comment}/restore"
    return Call("clerk", path, {"json": {"reason": "复核无问题"}})


@call("post", "/comments/{comment_id}/replies")
def _(c):
    path = f"/api/v1/comments/{c.w.comment}/replies"
    return Call("clerk", path, {"json": {"body": "周末不安排高噪音作业"}})


def _draft(c) -> int:
    body = {
        "community_id": c.w.community,
        "category": "general",
        "title": "停水通知",
        "body": "明日8:00至12:00停水。",
        "draft": True,
    }
    return c.ok(c.client.post("/api/v1/notices", json=body, headers=c.h("clerk")))["id"]


@call("post", "/notices")
def _(c):
    body = {"community_id": c.w.community, "category": "general", "title": "停电通知"}
    return Call("clerk", "/api/v1/notices", {"json": {**body, "body": "周六停电", "draft": True}})


@call("patch", "/notices/{notice_id}")
def _(c):
    return Call("clerk", f"/api/v1/notices/{_draft(c)}", {"json": {"pinned": True}})


@call("post", "/notices/{notice_id}/publish")
def _(c):
    return Call("clerk", f"/api/v1/notices/{_draft(c)}/publish", {})


@call("post", "/notices/{notice_id}/withdraw")
def _(c):
    notice = _draft(c)
    c.ok(c.client.post(f"/api/v1/notices/{notice}/publish", headers=c.h("clerk")))
    return Call("clerk", f"/api/v1/notices/{notice}/withdraw", {"json": {"reason": "时间有变"}})


# --- contribution schemes (issue 15, H1)


def _scheme(c, **body) -> int:
    """A draft contribution scheme of the scene's project, by its owner: its id."""
    s = c.scene
    body = {"title": "加装电梯出资", "basis": "floor_area", "rate_fen": 1250, **body}
    body.setdefault("due_on", "2100-12-31")
    path = f"/api/v1/projects/{s.project_id}/contribution-schemes"
    return c.ok(c.client.post(path, json=body, headers=c.make.headers(s.owner)))["id"]


def _passed_decision(c) -> int:
    """An owners' decision (raising the maintenance fund) of the scene's project that every
    owner agreed to, closed and counted: its id."""
    cid = c.consultation("open", kind="owners_decision", matter="raise_maintenance_fund")
    for i in range(4):
        ballot = c.client.put(
            f"/api/v1/consultations/{cid}/ballot", json={"choice": "agree"}, headers=c.member(i)
        )
        c.ok(ballot)
    backdate_opening(c.app, cid)
    c.ok(c.client.post(f"/api/v1/consultations/{cid}/close", headers=c.clerk()))
    run_jobs(c.app)
    return cid


def _linked_scheme(c) -> int:
    scheme = _scheme(c)
    path = f"/api/v1/contribution-schemes/{scheme}/decision"
    body = {"consultation_id": _passed_decision(c)}
    c.ok(c.client.put(path, json=body, headers=c.make.headers(c.scene.owner)))
    return scheme


@call("post", "/projects/{project_id}/contribution-schemes")
def _(c):
    s = c.scene
    body = {"title": "出资", "basis": "household", "rate_fen": 50000, "due_on": "2100-12-31"}
    path = f"/api/v1/projects/{s.project_id}/contribution-schemes"
    return Call(None, path, {"json": body}, c.make.headers(s.owner))


@call("patch", "/contribution-schemes/{scheme_id}")
def _(c):
    path = f"/api/v1/contribution-schemes/{_scheme(c)}"
    return Call(None, path, {"json": {"rate_fen": 1300}}, c.make.headers(c.scene.owner))


@call("put", "/contribution-schemes/{scheme_id}/decision")
def _(c):
    scheme, cid = _scheme(c), _passed_decision(c)
    path = f"/api/v1/contribution-schemes/{scheme}/decision"
    return Call(None, path, {"json": {"consultation_id": cid}}, c.make.headers(c.scene.owner))


@call("post", "/contribution-schemes/{scheme_id}/adopt")
def _(c):
    path = f"/api/v1/contribution-schemes/{_linked_scheme(c)}/adopt"
    return Call(None, path, {}, c.make.headers(c.scene.owner))


@call("post", "/contribution-schemes/{scheme_id}/cancel")
def _(c):
    path = f"/api/v1/contribution-schemes/{_scheme(c)}/cancel"
    return Call(None, path, {"json": {"reason": "改由财政出资"}}, c.make.headers(c.scene.owner))


@call("put", "/contribution-schemes/{scheme_id}/pledges/{household_id}")
def _(c):
    scheme = _linked_scheme(c)
    owner = c.make.headers(c.scene.owner)
    c.ok(c.client.post(f"/api/v1/contribution-schemes/{scheme}/adopt", headers=owner))
    path = f"/api/v1/contribution-schemes/{scheme}/pledges/{c.scene.household_ids[0]}"
    return Call(None, path, {"json": {"choice": "pledged"}}, c.clerk())


# --- contribution entries and expenses (issue 15, H2)


@call("post", "/contribution-schemes/{scheme_id}/entries")
def _(c):
    scheme = _linked_scheme(c)
    owner = c.make.headers(c.scene.owner)
    c.ok(c.client.post(f"/api/v1/contribution-schemes/{scheme}/adopt", headers=owner))
    body = {
        "household_id": c.scene.household_ids[0],
        "kind": "payment",
        "amount_fen": 50_000,
        "paid_on": "2026-01-05",
        "channel": "cash",
        "receipt_no": "No.0001",
        "idempotency_key": "audit-walk-entry-1",
    }
    path = f"/api/v1/contribution-schemes/{scheme}/entries"
    return Call(None, path, {"json": body}, c.clerk())


@call("post", "/projects/{project_id}/expenses")
def _(c):
    s = c.scene
    with c.app.app_context():
        line = FundingLine(project_id=s.project_id, source="government", amount=Decimal("9000"))
        db.session.add(line)
        db.session.commit()
        line_id = line.id
    body = {
        "funding_line_id": line_id,
        "amount_fen": 120_000,
        "spent_on": "2026-01-05",
        "description": "外墙保温材料款",
        "idempotency_key": "audit-walk-expense-1",
    }
    path = f"/api/v1/projects/{s.project_id}/expenses"
    return Call(None, path, {"json": body}, c.make.headers(s.owner))


# --- estate management rules (issue 15, H4)


def _rules(c, *, publish=False, estate=None, headers=None) -> int:
    """A version of the feedback world's estate (or `estate`) by its clerk: a draft, or
    published."""
    headers = headers or c.h("clerk")
    body = {"title": "小区管理办法", "body": "第一条 总则"}
    path = f"/api/v1/estates/{estate or c.w.estate}/rules"
    rules = c.ok(c.client.post(path, json=body, headers=headers))["id"]
    if publish:
        c.ok(c.client.post(f"/api/v1/estate-rules/{rules}/publish", json={}, headers=headers))
    return rules


def _rules_comment(c) -> int:
    """A visible comment of the world's resident on a published version."""
    path = f"/api/v1/estate-rules/{_rules(c, publish=True)}/comments"
    reply = c.client.post(path, json={"body": "建议增加停车条款"}, headers=c.h("resident_member"))
    return c.ok(reply)["id"]


def _statute_decision(c) -> tuple[int, int]:
    """A published version of the scene's estate and an owners' decision on 管理规约 of the
    scene's project that every household agreed to, closed and counted: (rules, decision)."""
    s = c.scene
    rules = _rules(c, publish=True, estate=s.estate_id, headers=c.clerk())
    cid = c.consultation("open", kind="owners_decision", matter="management_statute", plan_id=None)
    for i in range(len(s.household_ids)):
        ballot = c.client.put(
            f"/api/v1/consultations/{cid}/ballot", json={"choice": "agree"}, headers=c.member(i)
        )
        c.ok(ballot)
    c.ok(c.client.post(f"/api/v1/consultations/{cid}/close", headers=c.clerk()))
    run_jobs(c.app)
    return rules, cid


@call("post", "/estates/{estate_id}/rules")
def _(c):
    body = {"json": {"title": "小区管理办法", "body": "第一条 总则"}}
    return Call("clerk", f"/api/v1/estates/{c.w.estate}/rules", body)


@call("patch", "/estate-rules/{rules_id}")
def _(c):
    return Call("clerk", f"/api/v1/estate-rules/{_rules(c)}", {"json": {"title": "修改稿"}})


@call("post", "/estate-rules/{rules_id}/publish")
def _(c):
    return Call("clerk", f"/api/v1/estate-rules/{_rules(c)}/publish", {"json": {}})


@call("post", "/estate-rules/{rules_id}/withdraw")
def _(c):
    return Call("clerk", f"/api/v1/estate-rules/{_rules(c, publish=True)}/withdraw", {})


@call("put", "/estate-rules/{rules_id}/decision")
def _(c):
    rules, cid = _statute_decision(c)
    path = f"/api/v1/estate-rules/{rules}/decision"
    return Call(None, path, {"json": {"consultation_id": cid}}, c.clerk())


@call("post", "/estate-rules/{rules_id}/result")
def _(c):
    rules, cid = _statute_decision(c)
    path = f"/api/v1/estate-rules/{rules}"
    c.ok(c.client.put(f"{path}/decision", json={"consultation_id": cid}, headers=c.clerk()))
    return Call(None, f"{path}/result", {}, c.clerk())


@call("post", "/estate-rules/comments/{comment_id}/reply")
def _(c):
    path = f"/api/v1/estate-rules/comments/{_rules_comment(c)}/reply"
    return Call("clerk", path, {"json": {"body": "已采纳"}})


@call("post", "/estate-rules/comments/{comment_id}/hide")
def _(c):
    path = f"/api/v1/estate-rules/comments/{_rules_comment(c)}/hide"
    return Call("clerk", path, {"json": {"reason": "重复"}})


@call("post", "/estate-rules/comments/{comment_id}/restore")
def _(c):
    path = f"/api/v1/estate-rules/comments/{_rules_comment(c)}"
    c.ok(c.client.post(f"{path}/hide", json={"reason": "重复"}, headers=c.h("clerk")))
    return Call("clerk", f"{path}/restore", {"json": {"reason": "复核"}})


# --- the tests ---------------------------------------------------------------------------------


def test_the_walk_knows_every_staff_write_operation(app):
    operations = {(method, path) for method, path, _ in staff_write_operations(app)}
    unknown = sorted(operations - set(CALLS))
    assert unknown == [], (
        "a staff write operation the audit walk cannot call: add it to CALLS "
        "(or, if no staff member can call it, to NOT_STAFF with why)"
    )
    assert sorted(set(CALLS) - operations) == [], "CALLS names operations the document lacks"
    writes = {
        (method, path)
        for path, item in _served(app)["paths"].items()
        for method in item
        if method in WRITES
    }
    assert sorted(set(NOT_STAFF) - writes) == [], "NOT_STAFF names operations the document lacks"


STAFF_MAY_CALL = {"auth.staff_required", "auth.login_required", "auth.token_required"}


def _decorators(view) -> set[str]:
    """The decorators of a view's function as its module writes them (`auth.staff_required`)."""
    function = inspect.unwrap(view)
    tree = ast.parse(inspect.getsource(inspect.getmodule(function)))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function.__name__:
            return {ast.unparse(decorator) for decorator in node.decorator_list}
    raise AssertionError(f"no function {function.__name__}")


def test_no_operation_left_out_of_the_walk_admits_staff(app):
    """What `NOT_STAFF` leaves out is for residents (or nobody signed in) by its view's own
    decorators: an operation a staff member may call cannot be left out by mistake."""
    admitting = sorted(
        f"{method.upper()} {path}"
        for method, path in NOT_STAFF
        if _decorators(app.view_functions[_endpoint(app, method, path)]) & STAFF_MAY_CALL
    )
    assert admitting == []


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def _newest(app) -> AuditEntry:
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        db.session.expunge(entry)
        return entry


@pytest.mark.parametrize("operation", sorted(CALLS), ids=lambda op: f"{op[0].upper()} {op[1]}")
def test_each_staff_write_leaves_exactly_one_audit_row(
    app, client, make, fw, monkeypatch, wechat, operation
):
    method, path = operation
    c = Ctx(app, client, make, fw, monkeypatch)
    prepared = CALLS[operation](c)
    run_jobs(app)
    headers = prepared.headers if prepared.headers is not None else c.h(prepared.actor)
    before = _count(app)

    reply = client.open(prepared.path, method=method.upper(), headers=headers, **prepared.kwargs)

    assert reply.status_code in (200, 201, 202, 204), reply.get_data(as_text=True)[:500]
    assert _count(app) == before + 1, "a staff write must leave exactly one audit row"
    entry = _newest(app)
    assert entry.action == _endpoint(app, method, path)
    assert (entry.method, entry.path) == (method.upper(), prepared.path)
    assert entry.changes, entry.action
    assert entry.object_type, entry.action
    # The console names every kind of object the trail's entries are about.
    assert audit_log.object_type(entry.object_type) in audit_log.OBJECT_TYPES, entry.object_type
    assert entry.action in audit_log.ACTIONS


def test_a_write_refused_after_its_flush_leaves_no_audit_row(app, client, fw):
    """A plan version is flushed (with its items) before its attachments are checked: an
    attachment that is not the caller's upload refuses the whole write (422) after the flush,
    and the rows flushed so far go with the transaction, and so does their audit row."""
    flushed = []

    def watch(session, flush_context):
        flushed.extend(type(obj).__name__ for obj in session.new)

    with app.app_context():
        session_class = type(db.session())
    event.listen(session_class, "after_flush", watch)
    before = _count(app)
    try:
        reply = client.post(
            f"/api/v1/projects/{fw.other}/plans",
            json={
                "items": [{"category": "parking", "description": "停车位", "estimated_cost": 2000}],
                "attachments": [{"upload_id": fw.upload, "title": "别人的照片"}],
            },
            headers=fw.headers["county_officer"],
        )
    finally:
        event.remove(session_class, "after_flush", watch)

    assert reply.status_code == 422, reply.get_json()
    assert "Plan" in flushed, "the plan was to be flushed before the refusal"
    assert _count(app) == before
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plan)) == 1  # the world's
