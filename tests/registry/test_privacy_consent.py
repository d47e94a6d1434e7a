"""Consent to the privacy notice (issue 12, personal data): `GET /privacy`, `POST
/me/privacy-consent`, and the gate that refuses a resident everything else until they have
accepted the notice in force.

The consent travels in the bearer token (`api.auth.issue_token(..., consent=version)`), so the
gate reads nothing from the database: a resident's token without the version in force (none,
or an older one) is answered 403 `consent_required` by every operation of the served OpenAPI
document but the exempt ones, and writes nothing. The world is the supervision world of
tests/support/feedback_world.py, whose `resident_member` could do a great deal with a consented
token (vote, comment, report a problem): the sweep sends its requests with that resident's id.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from api import auth
from api.core import db, utcnow
from devtools import factory
from participation import queries
from participation.models import PrivacyConsent, Resident
from tests.support.consent import consented_headers
from tests.support.feedback_world import (
    assert_error_shape,
    build_world,
    refused,
    set_columns,
    snapshot,
)
from tests.support.statements import count_statements

LOGIN = "/api/v1/auth/wechat-login"
NOTICE = "/api/v1/privacy"
CONSENT = "/api/v1/me/privacy-consent"
OUTDATED = "2020-01-01"  # a version of the notice that is not the one in force

# Served to a resident who has not accepted the notice in force: sign-in, the notice, the consent
# itself and the resident's rights over their data (export, erasure).
EXEMPT = {
    ("post", LOGIN),
    ("get", NOTICE),
    ("post", CONSENT),
    ("get", "/api/v1/me/export"),
    ("delete", "/api/v1/me"),
}
# The operations that need no token at all (security: []).
PUBLIC = {("post", LOGIN), ("post", "/api/v1/auth/staff-login"), ("get", NOTICE)}


def current_version() -> str:
    return queries.privacy_notice().version


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def world(app, module_transaction):
    return build_world(app)


@pytest.fixture(scope="module")
def openapi(app) -> dict:
    reply = app.test_client().get("/api/openapi.json")
    assert reply.status_code == 200
    return reply.get_json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method, path, operation


def resident_token(app, resident_id: int, consent) -> dict:
    with app.test_request_context():
        return bearer(factory.resident_token(resident_id, consent=consent))


def consent_rows(app, resident_id: int) -> list[tuple[str, object]]:
    with app.app_context():
        rows = db.session.execute(
            select(PrivacyConsent.version, PrivacyConsent.accepted_at)
            .where(PrivacyConsent.resident_id == resident_id)
            .order_by(PrivacyConsent.id)
        ).all()
        return [tuple(row) for row in rows]


def fresh_resident(app, openid: str) -> int:
    """A resident who signed in and has not accepted the notice."""
    with app.app_context():
        person = factory.resident(openid, "新居民", consented=False)
        db.session.commit()
        return person.id


# --- the notice ---------------------------------------------------------------------------------


def test_the_notice_is_served_to_anyone_and_says_what_is_held_why_and_for_how_long(client):
    reply = client.get(NOTICE)

    assert reply.status_code == 200, reply.json
    notice = reply.json
    assert set(notice) == {"version", "title", "effective_date", "text"}
    assert notice["version"] == current_version()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", notice["effective_date"])
    assert "隐私政策" in notice["title"]
    text = notice["text"]
    for said in (
        "openid",  # what is collected
        "unionid",
        "昵称",
        "手机号码后四位",
        "照片",
        "评论",
        "表决票属于该户",  # ballots belong to the household
        "三年",  # retention of residents who do not sign in
        "GET /api/v1/me/export",  # the rights and how to use them
        "DELETE /api/v1/me",
        "社区居委会",  # whom to contact
    ):
        assert said in text, said


def test_the_notice_needs_no_token_in_the_document(openapi):
    assert openapi["paths"]["/api/v1/privacy"]["get"]["security"] == []
    login = openapi["components"]["schemas"]["WeChatLogin"]["properties"]
    assert {"consent_required", "privacy_version"} <= set(login)


# --- signing in, consenting ---------------------------------------------------------------------


def test_a_new_resident_signs_in_consents_and_is_then_served(app, client, wechat):
    wechat.codes["code-new"] = "openid-new"
    login = client.post(LOGIN, json={"code": "code-new", "nickname": "新居民"})
    assert login.status_code == 200, login.json
    assert login.json["consent_required"] is True
    assert login.json["privacy_version"] == current_version()
    resident_id = login.json["user"]["id"]

    before = snapshot(app)
    refused_me = client.get("/api/v1/me", headers=bearer(login.json["token"]))
    error = refused(app, before, refused_me, 403, "consent_required")
    assert error["message"] == "请先阅读并同意隐私政策"
    assert error["details"] == {"version": current_version()}

    accepted = client.post(
        CONSENT, json={"version": current_version()}, headers=bearer(login.json["token"])
    )
    assert accepted.status_code == 200, accepted.json
    assert set(accepted.json) == {"token", "version", "accepted_at"}
    assert accepted.json["version"] == current_version()
    assert accepted.json["token"] != login.json["token"]
    [(version, accepted_at)] = consent_rows(app, resident_id)
    assert version == current_version()
    assert accepted.json["accepted_at"] == accepted_at.isoformat()

    me = client.get("/api/v1/me", headers=bearer(accepted.json["token"]))
    assert me.status_code == 200 and me.json["id"] == resident_id
    # The token sent with the consent still carries none: it stays refused.
    again = client.get("/api/v1/me", headers=bearer(login.json["token"]))
    assert_error_shape(again, 403, "consent_required")

    # Signing in again gives a token that carries the consent already given.
    wechat.codes["code-new-2"] = "openid-new"
    second = client.post(LOGIN, json={"code": "code-new-2"})
    assert second.status_code == 200
    assert second.json["consent_required"] is False
    assert second.json["privacy_version"] == current_version()
    assert client.get("/api/v1/me", headers=bearer(second.json["token"])).status_code == 200


def test_a_resident_who_accepted_an_older_version_must_accept_the_new_one(app, client, wechat):
    resident_id = fresh_resident(app, "openid-older")
    with app.app_context():
        factory.consent(resident_id, OUTDATED)
        db.session.commit()
    wechat.codes["code-older"] = "openid-older"

    login = client.post(LOGIN, json={"code": "code-older"})

    assert login.json["consent_required"] is True
    assert_error_shape(
        client.get("/api/v1/me", headers=bearer(login.json["token"])), 403, "consent_required"
    )
    headers = consented_headers(client, login)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert [v for v, _ in consent_rows(app, resident_id)] == [OUTDATED, current_version()]


def test_accepting_again_changes_nothing_and_keeps_the_first_time(app, client):
    resident_id = fresh_resident(app, "openid-twice")
    headers = resident_token(app, resident_id, None)
    first = client.post(CONSENT, json={"version": current_version()}, headers=headers)
    assert first.status_code == 200, first.json
    before = snapshot(app)

    # With the old token and with the new one: the same answer, no second row.
    for token in (headers, bearer(first.json["token"])):
        again = client.post(CONSENT, json={"version": current_version()}, headers=token)
        assert again.status_code == 200, again.json
        assert again.json["accepted_at"] == first.json["accepted_at"]
        assert again.json["version"] == first.json["version"]
    assert snapshot(app) == before
    assert len(consent_rows(app, resident_id)) == 1


def test_accepting_an_outdated_version_is_409_with_the_current_one(app, client):
    resident_id = fresh_resident(app, "openid-outdated")
    headers = resident_token(app, resident_id, None)
    before = snapshot(app)

    for version in (OUTDATED, current_version() + "x", "最新版"):
        reply = client.post(CONSENT, json={"version": version}, headers=headers)
        error = refused(app, before, reply, 409, "privacy_version_outdated")
        assert error["details"] == {"version": current_version()}
        assert error["message"] == "隐私政策已更新，请阅读最新版本后再同意"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"version": None},
        {"version": 20261201},
        {"version": ["2026-12-01"]},
        {"version": {"v": "2026-12-01"}},
        {"version": True},
        {"version": ""},
        {"version": "   "},
        {"version": "2" * 10_000},
        {"version": "2026-12-01\x00"},
        {"version": "\ud800"},
        [],
        "2026-12-01",
    ],
    ids=repr,
)
def test_a_consent_without_a_text_version_is_422_and_writes_nothing(app, client, body):
    headers = resident_token(app, fresh_resident(app, "openid-bad"), None)
    before = snapshot(app)

    # Encoded here (ASCII, with escapes): a lone surrogate reaches the app as JSON sends it.
    reply = client.post(
        CONSENT, data=json.dumps(body), headers=headers, content_type="application/json"
    )

    refused(app, before, reply, 422)


def test_a_consent_that_is_not_json_is_refused_and_writes_nothing(app, client):
    headers = resident_token(app, fresh_resident(app, "openid-notjson"), None)
    before = snapshot(app)
    version = current_version()

    malformed = client.post(
        CONSENT, data=b'{"version": ', headers=headers, content_type="application/json"
    )
    refused(app, before, malformed, 400)
    form = client.post(CONSENT, data={"version": version}, headers=headers)
    refused(app, before, form, 415)


def test_only_a_signed_in_resident_may_consent(app, client, world):
    version = {"version": current_version()}
    before = snapshot(app)

    anonymous = client.post(CONSENT, json=version)
    refused(app, before, anonymous, 401, "unauthorized")
    for staff in ("clerk", "prefecture"):
        reply = client.post(CONSENT, json=version, headers=world.headers[staff])
        refused(app, before, reply, 403, "residents_only")
    forged = client.post(CONSENT, json=version, headers=bearer("not-a-token"))
    refused(app, before, forged, 401, "token_invalid")
    missing = client.post(CONSENT, json=version, headers=resident_token(app, 987_654, None))
    refused(app, before, missing, 401, "token_invalid")


def test_staff_tokens_carry_no_consent_and_are_served(app, client, world):
    reply = client.get("/api/v1/me", headers=world.headers["clerk"])
    assert reply.status_code == 200 and reply.json["kind"] == "staff"
    with app.test_request_context():
        token = auth.issue_token(auth.STAFF, world.callers["clerk"])
        payload = auth._serializer().loads(token)
    assert payload == {"k": "staff", "id": world.callers["clerk"]}


# --- the gate over every operation --------------------------------------------------------------


def _path(path: str, world) -> str:
    """The path with the world's ids where it names them (the resident could act on these
    with a consented token), 1 elsewhere."""
    ids = {
        "project_id": world.construction,
        "plan_id": world.plan,
        "comment_id": world.comment,
        "ticket_id": world.ticket_open,
        "signup_id": world.signup_pending,
        "upload_id": world.upload,
        "estate_id": world.estate,
        "community_id": world.community,
        "county_id": world.county,
        "household_id": world.households["resident_member"],
        "inspection_id": world.inspection,
    }
    return re.sub(r"{(\w+)}", lambda m: str(ids.get(m.group(1), 1)), path)


def test_every_public_operation_is_known(openapi):
    """An operation that needs no token never reads one, so the gate cannot guard it: only
    sign-in and the notice may be public."""
    public = {(m, p) for m, p, op in operations(openapi) if op.get("security") == []}
    assert public <= PUBLIC


@pytest.mark.parametrize("consent", [None, OUTDATED], ids=["no_consent", "outdated_consent"])
def test_without_consent_to_the_notice_in_force_every_other_operation_is_403(
    app, client, world, openapi, consent
):
    headers = resident_token(app, world.callers["resident_member"], consent)
    before = snapshot(app)
    served = []
    for method, path, operation in operations(openapi):
        if (method, path) in EXEMPT or operation.get("security") == []:
            continue
        reply = client.open(_path(path, world), method=method.upper(), json={}, headers=headers)
        body = reply.get_json(silent=True) or {}
        error = body.get("error", {})
        if (
            reply.status_code != 403
            or error.get("code") != "consent_required"
            or error.get("details") != {"version": current_version()}
        ):
            served.append(f"{method.upper()} {path}: {reply.status_code} {error.get('code')}")
    assert served == []
    assert snapshot(app) == before


def test_the_sweep_reaches_the_operations_a_member_uses(openapi):
    """The sweep above covers the resident's screens (no test that cannot fail: a document
    without them would make it vacuous)."""
    gated = {(m, p) for m, p, op in operations(openapi) if (m, p) not in EXEMPT}
    assert {
        ("put", "/api/v1/consultations/{consultation_id}/ballot"),
        ("post", "/api/v1/me/households"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/projects/{project_id}/comments"),
    } <= gated
    assert len(gated) > 60


def test_the_same_requests_with_consent_are_served(app, client, world):
    """The gate is what refused them: a consented token of the same resident gets through."""
    headers = resident_token(app, world.callers["resident_member"], current_version())
    for path in ("/api/v1/me", f"/api/v1/projects/{world.construction}", "/api/v1/notices"):
        assert client.get(path, headers=headers).status_code == 200, path


def test_the_exempt_operations_serve_a_resident_without_consent(app, client, world, openapi):
    documented = {(m, p) for m, p, _ in operations(openapi)}
    assert {("get", NOTICE), ("post", CONSENT), ("post", LOGIN)} <= documented
    resident_id = fresh_resident(app, "openid-exempt")
    headers = resident_token(app, resident_id, None)

    assert client.get(NOTICE, headers=headers).status_code == 200
    if ("get", "/api/v1/me/export") in documented:
        exported = client.get("/api/v1/me/export", headers=headers)
        assert exported.status_code == 200, exported.get_json()
    reply = client.post(CONSENT, json={"version": current_version()}, headers=headers)
    assert reply.status_code == 200, reply.json
    if ("delete", "/api/v1/me") in documented:
        erased = client.delete("/api/v1/me", headers=resident_token(app, resident_id, OUTDATED))
        assert erased.status_code in (200, 204), erased.get_json()


def test_only_the_exempt_operations_are_marked(app):
    """`auth.consent_exempt` reaches the registered view whichever decorator it sits among,
    and no view outside EXEMPT carries it."""
    marked = {
        (method.lower(), re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if getattr(app.view_functions[rule.endpoint], "consent_exempt", False)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert ("post", CONSENT) in marked
    assert marked <= EXEMPT


def test_the_gate_reads_nothing_from_the_database(app, client, world):
    """The consent is in the token: a refused ballot costs no statement at all."""
    headers = resident_token(app, world.callers["resident_member"], None)
    with count_statements(app) as statements:
        reply = client.put("/api/v1/consultations/1/ballot", json={"choice": "x"}, headers=headers)
    assert_error_shape(reply, 403, "consent_required")
    assert statements.count == 0, str(statements)


# --- an erased resident -------------------------------------------------------------------------


def test_an_erased_residents_token_is_answered_as_a_missing_account(app, client, world):
    resident_id = fresh_resident(app, "openid-erased")
    with app.app_context():
        factory.consent(resident_id)
        db.session.commit()
    headers = resident_token(app, resident_id, current_version())
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    set_columns(app, Resident, resident_id, erased_at=utcnow())
    before = snapshot(app)

    for method, path in (
        ("GET", "/api/v1/me"),
        ("POST", CONSENT),
        ("GET", f"/api/v1/projects/{world.construction}"),
    ):
        body = {"version": current_version()} if path == CONSENT else None
        reply = client.open(path, method=method, json=body, headers=headers)
        error = refused(app, before, reply, 401, "token_invalid")
        assert error["message"] == "账号不存在或已停用"
