"""Ids cannot be enumerated (issue 9, item 15).

A resident outside a project's estates (of another estate, or with a claim still pending) used to
get 403 for the project's ids and 404 for ids that do not exist, and so could list which
projects, consultations, plans and comments exist. Every path that takes such an id now answers
them exactly as it answers a missing id: the same status, code, message and details.

The world is tests/support/feedback_world.py, with a consultation in each state and a published
notice of the estate added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from api.core import db
from devtools import factory
from participation.models import Plan
from tests.support.feedback_world import (
    JPEG,
    RATING,
    RESIDENTS_OUT,
    build_world,
    multipart,
    snapshot,
)
from tests.support.voting_helpers import backdate_opening

MISSING = 987_654  # no row of any table has this id in the test world
ID_KINDS = {
    "project_id": "project",
    "consultation_id": "consultation",
    "plan_id": "plan",
    "comment_id": "comment",
    "ticket_id": "ticket",
    "signup_id": "signup",
    "notice_id": "notice",
    "upload_id": "upload",
}


@dataclass
class Ids:
    """An existing id of each kind, all of estate 甲 (out of sight of RESIDENTS_OUT)."""

    project: int
    consultation: dict  # state -> id: draft, open, closed
    plan: int
    comment: int
    ticket: int
    signup: int
    notice: int
    upload: int
    headers: dict


def _revised_plan(app, w) -> int:
    """Version 2 of the construction project's plan (the one consultation after the first is
    on a newer plan: issue 10)."""
    with app.app_context():
        first = db.session.get(Plan, w.plan)
        revised = factory.plan(w.construction, first.created_by_id, version=2)
        db.session.commit()
        return revised.id


def _made(reply, status=201) -> dict:
    assert reply.status_code == status, reply.get_json()
    return reply.get_json()


@pytest.fixture(scope="module")
def world(app, module_transaction) -> Ids:
    w = build_world(app)
    client = app.test_client()
    clerk = w.headers["clerk"]
    consultations = {}
    plan_id = w.plan
    for state in ("closed", "open", "draft"):  # one open plan satisfaction at a time
        created = client.post(
            f"/api/v1/projects/{w.construction}/consultations",
            json={"kind": "plan_satisfaction", "plan_id": plan_id},
            headers=clerk,
        )
        cid = _made(created)["id"]
        if state != "draft":
            _made(client.post(f"/api/v1/consultations/{cid}/open", headers=clerk), 200)
        if state == "closed":
            backdate_opening(app, cid)  # closed after the minimum voting period
            _made(client.post(f"/api/v1/consultations/{cid}/close", headers=clerk), 200)
            plan_id = _revised_plan(app, w)  # a plan is put to residents once
        consultations[state] = cid
    notice = client.post(
        "/api/v1/notices",
        json={
            "estate_id": w.estate,
            "category": "general",
            "title": "停水通知",
            "body": "周六停水",
        },
        headers=clerk,
    )
    return Ids(
        project=w.construction,
        consultation=consultations,
        plan=w.plan,
        comment=w.comment,
        ticket=w.ticket_open,
        signup=w.signup_pending,
        notice=_made(notice)["id"],
        upload=w.upload,
        headers=w.headers,
    )


P = "/api/v1/projects/<int:project_id>"
C = "/api/v1/consultations/<int:consultation_id>"
_SIGNUP = {"trade": "木工", "days_available": ["sat", "sun"]}
_INSPECTION = {"aspects": ["noise_dust"], "findings": "扬尘较大", "severity": "minor"}
_PROBLEM = {"description": "路面积水", "aspects": ["workmanship"]}

# Every resident-facing request that names an id of these kinds, with a body that would be
# accepted: what a resident of the estate could do, tried by residents outside it.
RESIDENT_PATHS = [
    ("GET", P, None),
    ("GET", f"{P}/plans", None),
    ("GET", f"{P}/plans/current", None),
    ("GET", f"{P}/timeline", None),
    ("GET", f"{P}/progress", None),
    ("GET", f"{P}/gate", None),
    ("GET", f"{P}/consultations", None),
    ("GET", f"{P}/supervisors", None),
    ("POST", f"{P}/supervisors", _SIGNUP),
    ("POST", f"{P}/uploads", "photo"),
    ("POST", f"{P}/inspections", _INSPECTION),
    ("GET", f"{P}/inspections", None),
    ("POST", f"{P}/problems", _PROBLEM),
    ("GET", f"{P}/tickets", None),
    ("POST", f"{P}/ratings", RATING),
    ("GET", f"{P}/ratings/mine", None),
    ("GET", f"{P}/completion", None),
    ("GET", f"{P}/acceptance", None),
    ("POST", f"{P}/comments", {"body": "施工队很负责"}),
    ("GET", f"{P}/comments", None),
    ("GET", C, None),
    ("PUT", f"{C}/ballot", {"choice": "satisfied"}),
    ("GET", f"{C}/ballot", None),
    ("GET", f"{C}/turnout", None),
    ("GET", f"{C}/turnout?receipt=ABCDEFGHJK", None),  # my receipt (issue 12)
    ("GET", f"{C}/tally", None),
    ("GET", f"{C}/delegation-candidates", None),
    ("POST", f"{C}/delegations", {"delegate_id": 1, "power_of_attorney_upload_id": 1}),
    ("GET", f"{C}/delegations", None),
    ("POST", "/api/v1/plans/<int:plan_id>/comments", {"body": "建议增加路灯"}),
    ("GET", "/api/v1/plans/<int:plan_id>/comments", None),
    ("POST", "/api/v1/comments/<int:comment_id>/report", {"reason": "不实"}),
    ("PUT", "/api/v1/comments/<int:comment_id>/like", None),
    ("DELETE", "/api/v1/comments/<int:comment_id>/like", None),
    ("GET", "/api/v1/tickets/<int:ticket_id>", None),
    ("POST", "/api/v1/tickets/<int:ticket_id>/confirm", {}),
    ("POST", "/api/v1/tickets/<int:ticket_id>/reopen", {"reason": "防护网仍未装好"}),
    ("POST", "/api/v1/supervisors/<int:signup_id>/withdraw", None),
    ("GET", "/api/v1/notices/<int:notice_id>", None),
    ("POST", "/api/v1/notices/<int:notice_id>/read", None),
    ("GET", "/api/v1/uploads/<int:upload_id>", None),
]
BODIES = {(method, rule): body for method, rule, body in RESIDENT_PATHS}


def _id_name(rule: str) -> str:
    return re.search(r"<int:(\w+)>", rule).group(1)


def _path(rule: str, ids: Ids | None, state: str = "open") -> str:
    """The rule with the existing id of its kind, or MISSING when `ids` is None."""

    def value(match):
        if ids is None:
            return str(MISSING)
        kind = ID_KINDS[match.group(1)]
        existing = getattr(ids, kind)
        return str(existing[state] if kind == "consultation" else existing)

    return re.sub(r"<int:(\w+)>", value, rule)


def _ask(client, method, rule, path, headers):
    body = BODIES.get((method, rule))
    kwargs = {"headers": headers}
    if body == "photo":
        kwargs.update(multipart(JPEG))
    elif body is not None:
        kwargs["json"] = body
    reply = client.open(path, method=method, **kwargs)
    reply.close()
    return reply.status_code, reply.get_json(silent=True)


def _cases():
    for method, rule, _ in RESIDENT_PATHS:
        states = ("draft", "open", "closed") if rule.startswith(C) else ("open",)
        for state in states:
            for actor in RESIDENTS_OUT:
                suffix = f" ({state})" if rule.startswith(C) else ""
                yield pytest.param(
                    method, rule, state, actor, id=f"{method} {rule}{suffix} as {actor}"
                )


@pytest.mark.parametrize(("method", "rule", "state", "actor"), list(_cases()))
def test_an_id_out_of_sight_is_answered_as_a_missing_one(
    app, client, world, method, rule, state, actor
):
    headers = world.headers[actor]
    before = snapshot(app)

    existing = _ask(client, method, rule, _path(rule, world, state), headers)
    missing = _ask(client, method, rule, _path(rule, None), headers)

    assert existing == missing, "the answers tell an existing id from a missing one"
    status, body = existing
    assert status == 404, body
    assert body["error"]["code"] == f"{ID_KINDS[_id_name(rule)]}_not_found", body
    assert snapshot(app) == before, "a refused request wrote something"


def _routes_with_ids(app):
    for rule in app.url_map.iter_rules():
        names = set(rule.arguments)
        if names and names <= set(ID_KINDS):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule.rule


def test_every_path_that_names_such_an_id_is_in_the_list_or_refuses_residents_alike(
    app, client, world
):
    """A new route that takes one of these ids cannot slip past the rule: unless it is listed
    above, a resident outside the estate must get the same answer for an existing id and a
    missing one (staff-only routes: 403 `staff_only` for both)."""
    listed = {(method, rule) for method, rule, _ in RESIDENT_PATHS}
    unlisted = [route for route in _routes_with_ids(app) if route not in listed]
    assert unlisted, "expected the staff-only routes (accept, answer, publish, …) here"
    for method, rule in unlisted:
        for actor in RESIDENTS_OUT:
            headers = world.headers[actor]
            existing = _ask(client, method, rule, _path(rule, world), headers)
            missing = _ask(client, method, rule, _path(rule, None), headers)
            assert existing == missing, (method, rule, actor, existing, missing)
            assert existing[0] in (403, 404), (method, rule, actor, existing)


def test_a_published_file_out_of_sight_is_answered_as_a_missing_one(app, client, world):
    """A file the project's managers published (a progress photo, issue 12) is fetched by the
    residents of its estates only: to a resident outside them, or staff out of scope, it is
    answered as an upload that does not exist."""
    owner = world.headers["owner"]
    photo = client.post(
        f"/api/v1/projects/{world.project}/uploads", headers=owner, **multipart(JPEG)
    )
    photo_id = _made(photo)["id"]
    posted = client.post(
        f"/api/v1/projects/{world.project}/progress",
        json={"body": "外墙施工完成", "photo_ids": [photo_id]},
        headers=owner,
    )
    _made(posted)
    seen = client.get(f"/api/v1/uploads/{photo_id}", headers=world.headers["resident_member"])
    seen.close()
    assert seen.status_code == 200  # published: the estate's residents fetch it
    before = snapshot(app)
    for actor in (*RESIDENTS_OUT, "clerk_other_community", "owner_other_project"):
        headers = world.headers[actor]
        existing = _ask(client, "GET", "", f"/api/v1/uploads/{photo_id}", headers)
        missing = _ask(client, "GET", "", f"/api/v1/uploads/{MISSING}", headers)
        assert existing == missing, actor
        assert existing[0] == 404 and existing[1]["error"]["code"] == "upload_not_found"
    assert snapshot(app) == before
