"""Staff accounts (issue 14, page 6): who manages whom, deactivation and password resets that end
the account's tokens at once, revoked grants, and bad input on each endpoint.

The remit: the prefecture manages everyone; a county officer the accounts whose grants all lie
in their county (the county, its communities' committees, its projects' owners); a committee
clerk the committee accounts of their own community; nobody deactivates, resets or revokes
themselves, nor grants above their own remit. The permission matrix (test_permissions.py) has a
row per endpoint; here the rules are walked with accounts of every shape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from api import auth
from api.core import db
from api.core.audit import AuditEntry
from devtools import factory
from participation.models import RoleGrant, Staff
from tests.support.database import every_row
from tests.support.registry_world import CJK, assert_error_shape
from tests.support.statements import count_statements

PASSWORD = "correct-horse-1"
LOGIN = "/api/v1/auth/staff-login"
UNKNOWN = 999_999


@dataclass
class Town:
    """Counties A and B; communities A1, A2 in A and B1 in B; a project in A; accounts."""

    ids: dict = field(default_factory=dict)  # name -> staff id
    grants: dict = field(default_factory=dict)  # name -> first grant id
    places: dict = field(default_factory=dict)  # A, B, A1, A2, B1, PA -> id
    headers: dict = field(default_factory=dict)


ACCOUNTS = {
    # name: grants as (role, place)
    "pref": [("prefecture", None)],
    "county_a": [("county", "A")],
    "county_b": [("county", "B")],
    "clerk_a1": [("committee", "A1")],
    "colleague_a1": [("committee", "A1")],
    "clerk_a2": [("committee", "A2")],
    "owner_pa": [("owner", "PA")],
    "mixed": [("committee", "A1"), ("committee", "B1")],  # spans two counties
    "clerk_owner": [("committee", "A1"), ("owner", "PA")],
    "bare": [],  # no grant: the prefecture's alone
}


@pytest.fixture(scope="module")
def town(app, module_transaction) -> Town:
    t = Town()
    with app.app_context():
        a, b = factory.county("甲县"), factory.county("乙县")
        a1, a2 = factory.community(a, "甲一社区"), factory.community(a, "甲二社区")
        b1 = factory.community(b, "乙一社区")
        pa = factory.project(a, [factory.estate(a1, "甲一小区")], "甲一改造")
        db.session.flush()
        t.places = {"A": a.id, "B": b.id, "A1": a1.id, "A2": a2.id, "B1": b1.id, "PA": pa.id}
        made = {}
        for name, grants in ACCOUNTS.items():
            made[name] = factory.staff(
                name.replace("_", "-"),
                *[(role, t.places[p] if p else None) for role, p in grants],
                display_name="王小明",
                password=PASSWORD,
            )
        db.session.commit()
        t.ids = {name: s.id for name, s in made.items()}
        t.grants = {name: s.grants[0].id for name, s in made.items() if s.grants}
        with app.test_request_context():
            t.headers = {name: factory.headers(s) for name, s in made.items()}
        db.session.remove()
    return t


def _usernames(reply) -> set[str]:
    assert reply.status_code == 200, reply.json
    return {item["username"] for item in reply.json["items"]}


def _refused(app, reply, status, code) -> None:
    error = assert_error_shape(reply, status)
    assert error["code"] == code, error


# --- who manages whom -------------------------------------------------------------------------


def test_each_caller_lists_the_accounts_of_their_remit(client, town):
    everyone = {name.replace("_", "-") for name in ACCOUNTS}
    listed = client.get("/api/v1/staff?per_page=100", headers=town.headers["pref"])
    assert _usernames(listed) == everyone
    county = client.get("/api/v1/staff?per_page=100", headers=town.headers["county_a"])
    # Not `mixed` (a grant in county B), nor the prefecture, nor the account without grants.
    assert _usernames(county) == {
        "county-a",
        "clerk-a1",
        "colleague-a1",
        "clerk-a2",
        "owner-pa",
        "clerk-owner",
    }
    clerk = client.get("/api/v1/staff", headers=town.headers["clerk_a1"])
    assert _usernames(clerk) == {"clerk-a1", "colleague-a1"}
    # What the caller may do with each, and the names of the scopes.
    rows = {item["username"]: item for item in clerk.json["items"]}
    me, colleague = rows["clerk-a1"], rows["colleague-a1"]
    assert me["is_self"] and not me["may_deactivate"] and not me["may_reset_password"]
    assert not me["roles"][0]["revocable"]
    assert colleague["may_deactivate"] and colleague["may_reset_password"]
    assert not colleague["may_activate"]
    assert colleague["roles"] == [
        {
            "id": town.grants["colleague_a1"],
            "role": "committee",
            "role_label": "社区居委会",
            "scope_id": town.places["A1"],
            "scope_name": "甲县·甲一社区",
            "revocable": True,
        }
    ]
    assert colleague["display_name"] != "王小明" and colleague["display_name"].startswith("王")
    owner = client.get("/api/v1/staff", headers=town.headers["owner_pa"])
    _refused(None, owner, 403, "out_of_scope")


def test_the_list_searches_usernames_and_filters_by_state(app, client, town):
    h = town.headers["pref"]
    assert _usernames(client.get("/api/v1/staff?q=CLERK-A", headers=h)) == {
        "clerk-a1",
        "clerk-a2",
    }
    # LIKE's wildcards are searched as text.
    assert _usernames(client.get("/api/v1/staff?q=%25", headers=h)) == set()
    assert _usernames(client.get("/api/v1/staff?q=_", headers=h)) == set()
    client.post(f"/api/v1/staff/{town.ids['clerk_a2']}/deactivate", headers=h)
    assert _usernames(client.get("/api/v1/staff?active=false", headers=h)) == {"clerk-a2"}
    assert "clerk-a2" not in _usernames(
        client.get("/api/v1/staff?active=true&per_page=100", headers=h)
    )
    page = client.get("/api/v1/staff?per_page=3&page=2", headers=h).json
    assert (page["page"], page["per_page"], page["total"], len(page["items"])) == (2, 3, 10, 3)


def test_grant_options_offer_only_the_callers_remit(client, town):
    pref = client.get("/api/v1/staff/grant-options", headers=town.headers["pref"]).json
    assert [r["role"] for r in pref["roles"]] == ["prefecture", "county", "committee", "owner"]
    assert {c["name"] for c in pref["counties"]} == {"甲县", "乙县"}
    county = client.get("/api/v1/staff/grant-options", headers=town.headers["county_a"]).json
    assert [(r["role"], r["scope_kind"]) for r in county["roles"]] == [
        ("county", "county"),
        ("committee", "community"),
        ("owner", "project"),
    ]
    assert [c["name"] for c in county["counties"]] == ["甲县"]
    assert {c["name"] for c in county["communities"]} == {"甲一社区", "甲二社区"}
    clerk = client.get("/api/v1/staff/grant-options", headers=town.headers["clerk_a1"]).json
    assert [r["role"] for r in clerk["roles"]] == ["committee"]
    assert clerk["counties"] == []
    assert [c["name"] for c in clerk["communities"]] == ["甲一社区"]


REFUSALS = [
    # (caller, method, path template, body, code)
    ("clerk_a1", "POST", "/staff/{clerk_a2}/deactivate", None, "out_of_scope"),
    ("clerk_a1", "POST", "/staff/{owner_pa}/password-reset", None, "out_of_scope"),
    ("clerk_a1", "POST", "/staff/{clerk_owner}/deactivate", None, "out_of_scope"),
    ("clerk_a1", "POST", "/staff/{clerk_a1}/deactivate", None, "own_account"),
    ("clerk_a1", "POST", "/staff/{clerk_a1}/password-reset", None, "own_account"),
    ("clerk_a1", "DELETE", "/staff/{clerk_a1}/grants/{g_clerk_a1}", None, "own_account"),
    ("clerk_a1", "POST", "/staff/{colleague_a1}/grants", ("committee", "A2"), "out_of_scope"),
    ("clerk_a1", "POST", "/staff/{colleague_a1}/grants", ("county", "A"), "out_of_scope"),
    ("clerk_a1", "POST", "/staff/{colleague_a1}/grants", ("owner", "PA"), "out_of_scope"),
    ("county_a", "POST", "/staff/{mixed}/deactivate", None, "out_of_scope"),
    ("county_a", "POST", "/staff/{pref}/password-reset", None, "out_of_scope"),
    ("county_a", "POST", "/staff/{bare}/password-reset", None, "out_of_scope"),
    ("county_a", "POST", "/staff/{county_b}/activate", None, "out_of_scope"),
    ("county_a", "DELETE", "/staff/{mixed}/grants/{g_mixed}", None, "out_of_scope"),
    ("county_a", "POST", "/staff/{county_a}/deactivate", None, "own_account"),
    ("county_a", "POST", "/staff/{clerk_a1}/grants", ("prefecture", None), "out_of_scope"),
    ("county_a", "POST", "/staff/{clerk_a1}/grants", ("committee", "B1"), "out_of_scope"),
    # A grant within the caller's county, to an account of another county: out of the remit.
    ("county_a", "POST", "/staff/{county_b}/grants", ("committee", "A1"), "out_of_scope"),
    ("county_b", "POST", "/staff/{clerk_a1}/password-reset", None, "out_of_scope"),
    ("owner_pa", "POST", "/staff/{clerk_a1}/deactivate", None, "out_of_scope"),
    ("pref", "POST", "/staff/{pref}/deactivate", None, "own_account"),
    ("pref", "DELETE", "/staff/{pref}/grants/{g_pref}", None, "own_account"),
]


def _fill(town, template: str) -> str:
    values = {**town.ids, **{f"g_{name}": g for name, g in town.grants.items()}}
    return "/api/v1" + template.format(**values)


@pytest.mark.parametrize(("caller", "method", "path", "grant", "code"), REFUSALS)
def test_out_of_remit_and_own_account_are_refused_writing_nothing(
    app, client, town, caller, method, path, grant, code
):
    before = every_row(app)
    body = None
    if grant is not None:
        role, place = grant
        body = {"role": role, "scope_id": town.places[place] if place else None}
    reply = client.open(_fill(town, path), method=method, json=body, headers=town.headers[caller])
    _refused(app, reply, 403, code)
    assert every_row(app) == before


def test_a_clerk_manages_the_committee_accounts_of_their_community(app, client, town):
    h = town.headers["clerk_a1"]
    created = client.post(
        "/api/v1/staff",
        headers=h,
        json={
            "username": "new-a1",
            "password": "a-long-password",
            "grants": [{"role": "committee", "scope_id": town.places["A1"]}],
        },
    )
    assert created.status_code == 201, created.json
    other = client.post(
        "/api/v1/staff",
        headers=h,
        json={
            "username": "new-a2",
            "password": "a-long-password",
            "grants": [{"role": "committee", "scope_id": town.places["A2"]}],
        },
    )
    _refused(app, other, 403, "out_of_scope")
    colleague = town.ids["colleague_a1"]
    assert client.post(f"/api/v1/staff/{colleague}/deactivate", headers=h).json["active"] is False
    assert client.post(f"/api/v1/staff/{colleague}/activate", headers=h).json["active"] is True
    revoked = client.delete(
        f"/api/v1/staff/{colleague}/grants/{town.grants['colleague_a1']}", headers=h
    )
    assert revoked.status_code == 204
    with app.app_context():
        assert db.session.get(RoleGrant, town.grants["colleague_a1"]) is None
    # Without grants the account is the prefecture's to manage, and out of the clerk's list;
    # only the prefecture's grant brings it back (else any clerk could take over a stripped
    # account: grant, activate, reset its password).
    assert "colleague-a1" not in _usernames(client.get("/api/v1/staff", headers=h))
    _refused(
        app, client.post(f"/api/v1/staff/{colleague}/deactivate", headers=h), 403, "out_of_scope"
    )
    regrant = client.post(
        f"/api/v1/staff/{colleague}/grants",
        headers=h,
        json={"role": "committee", "scope_id": town.places["A1"]},
    )
    _refused(app, regrant, 403, "out_of_scope")
    regrant = client.post(
        f"/api/v1/staff/{colleague}/grants",
        headers=town.headers["pref"],
        json={"role": "committee", "scope_id": town.places["A1"]},
    )
    assert regrant.status_code == 201, regrant.json


def test_a_county_officer_manages_the_accounts_of_their_county(app, client, town):
    h = town.headers["county_a"]
    for name in ("clerk_a2", "owner_pa", "clerk_owner"):
        reply = client.post(f"/api/v1/staff/{town.ids[name]}/password-reset", headers=h)
        assert reply.status_code == 200, (name, reply.json)
    grant = client.post(
        f"/api/v1/staff/{town.ids['clerk_a2']}/grants",
        headers=h,
        json={"role": "owner", "scope_id": town.places["PA"]},
    )
    assert grant.status_code == 201, grant.json
    revoke = client.delete(
        f"/api/v1/staff/{town.ids['clerk_a2']}/grants/{grant.json['id']}", headers=h
    )
    assert revoke.status_code == 204
    # The prefecture manages every account, the one without grants too.
    pref = town.headers["pref"]
    assert (
        client.post(f"/api/v1/staff/{town.ids['bare']}/deactivate", headers=pref).status_code == 200
    )
    assert (
        client.post(f"/api/v1/staff/{town.ids['mixed']}/password-reset", headers=pref).status_code
        == 200
    )


# --- tokens end at once ---------------------------------------------------------------------


def _sign_in(client, username, password=PASSWORD) -> dict:
    reply = client.post(LOGIN, json={"username": username, "password": password})
    assert reply.status_code == 200, reply.json
    return {"Authorization": f"Bearer {reply.json['token']}"}


def test_a_deactivated_accounts_token_is_refused_at_once(app, client, town):
    """On SQLite and on PostgreSQL (the suite's service run): the very next request of the
    account's token is a 401, and a reactivation does not bring the old token back."""
    mine = _sign_in(client, "colleague-a1")
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    target = town.ids["colleague_a1"]
    reply = client.post(f"/api/v1/staff/{target}/deactivate", headers=town.headers["clerk_a1"])
    assert reply.status_code == 200 and reply.json["active"] is False
    for path in ("/api/v1/me", "/api/v1/staff", "/api/v1/projects"):
        error = assert_error_shape(client.get(path, headers=mine), 401)
        assert error["code"] == "token_invalid"
    _refused(
        app,
        client.post(LOGIN, json={"username": "colleague-a1", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )

    client.post(f"/api/v1/staff/{target}/activate", headers=town.headers["clerk_a1"])
    error = assert_error_shape(client.get("/api/v1/me", headers=mine), 401)
    assert error["code"] == "token_invalid" and CJK.search(error["message"])
    again = _sign_in(client, "colleague-a1")
    assert client.get("/api/v1/me", headers=again).status_code == 200


def test_a_password_reset_gives_a_new_password_once_and_ends_old_tokens(app, client, town, caplog):
    caplog.set_level(logging.DEBUG)
    old = _sign_in(client, "clerk-a2")
    reply = client.post(
        f"/api/v1/staff/{town.ids['clerk_a2']}/password-reset", headers=town.headers["county_a"]
    )
    assert reply.status_code == 200, reply.json
    assert reply.headers["Cache-Control"] == "no-store"
    password = reply.json["password"]
    assert len(password) >= 12 and password != PASSWORD
    assert reply.json["staff"]["username"] == "clerk-a2"

    error = assert_error_shape(client.get("/api/v1/me", headers=old), 401)
    assert error["code"] == "token_invalid"
    bad = client.post(LOGIN, json={"username": "clerk-a2", "password": PASSWORD})
    _refused(app, bad, 401, "invalid_credentials")
    new = _sign_in(client, "clerk-a2", password)
    assert client.get("/api/v1/me", headers=new).status_code == 200

    # Stored only as a hash; never in a log.
    with app.app_context():
        stored = db.session.get(Staff, town.ids["clerk_a2"])
        assert stored.token_epoch == 1
        assert check_password_hash(stored.password_hash, password)
        # The audit trail records the reset, never the password nor its hash.
        changes = repr([e.changes for e in db.session.scalars(select(AuditEntry))])
        assert password not in changes and stored.password_hash not in changes
    assert password not in repr(every_row(app))
    assert all(password not in record.getMessage() for record in caplog.records)
    assert password not in caplog.text

    # A second reset: another password; the one before no longer signs in.
    second = client.post(
        f"/api/v1/staff/{town.ids['clerk_a2']}/password-reset", headers=town.headers["pref"]
    )
    assert second.json["password"] != password
    assert client.get("/api/v1/me", headers=new).status_code == 401


@pytest.mark.parametrize("epoch", ["1", True, -1, 2**63, 1.0, None])
def test_a_token_with_an_epoch_of_another_shape_is_refused(app, client, town, epoch):
    with app.test_request_context():
        serializer = auth._serializer()
        token = serializer.dumps({"k": auth.STAFF, "id": town.ids["pref"], "e": epoch})
    reply = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert assert_error_shape(reply, 401)["code"] == "token_invalid"


def test_a_token_of_an_older_epoch_is_refused_and_the_check_costs_no_statement(app, client, town):
    """The epoch is compared with the staff row every request reads anyway: a request of an
    account whose epoch was raised costs as many statements as one whose never was."""
    with app.test_request_context():
        fresh = {"Authorization": f"Bearer {auth.issue_token(auth.STAFF, town.ids['county_a'])}"}
    with count_statements(app) as before:
        assert client.get("/api/v1/me", headers=fresh).status_code == 200
    with app.app_context():
        staff = db.session.get(Staff, town.ids["county_a"])
        staff.token_epoch = 3
        db.session.commit()
    with app.test_request_context():
        stale = auth.issue_token(auth.STAFF, town.ids["county_a"], epoch=2)
        current = auth.issue_token(auth.STAFF, town.ids["county_a"], epoch=3)
    for token in (stale, fresh["Authorization"].removeprefix("Bearer ")):
        error = assert_error_shape(
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401
        )
        assert error["code"] == "token_invalid"
    with count_statements(app) as after:
        reply = client.get("/api/v1/me", headers={"Authorization": f"Bearer {current}"})
    assert reply.status_code == 200
    assert after.count == before.count, (str(before), str(after))


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", [UNKNOWN, 2**31, 2**63])
def test_unknown_ids_are_404_and_write_nothing(app, client, town, bad_id):
    before = every_row(app)
    h = town.headers["pref"]
    for method, path, code in [
        ("POST", f"/api/v1/staff/{bad_id}/deactivate", "staff_not_found"),
        ("POST", f"/api/v1/staff/{bad_id}/activate", "staff_not_found"),
        ("POST", f"/api/v1/staff/{bad_id}/password-reset", "staff_not_found"),
        ("DELETE", f"/api/v1/staff/{bad_id}/grants/{town.grants['clerk_a1']}", "staff_not_found"),
        ("DELETE", f"/api/v1/staff/{town.ids['clerk_a1']}/grants/{bad_id}", "grant_not_found"),
    ]:
        reply = client.open(path, method=method, headers=h)
        error = assert_error_shape(reply, 404)
        if bad_id == UNKNOWN:
            assert error["code"] == code, (path, error)
    assert every_row(app) == before


def test_someone_elses_grant_is_404_and_writes_nothing(app, client, town):
    """A grant id of another account, in the path of this one: not this account's grant."""
    before = every_row(app)
    path = f"/api/v1/staff/{town.ids['clerk_a1']}/grants/{town.grants['colleague_a1']}"
    _refused(app, client.delete(path, headers=town.headers["pref"]), 404, "grant_not_found")
    assert every_row(app) == before


@pytest.mark.parametrize(
    "query",
    ["page=0", "per_page=101", "per_page=x", "active=maybe", "q=" + "x" * 65, "page=1.5"],
)
def test_bad_list_queries_are_422(client, town, query):
    reply = client.get(f"/api/v1/staff?{query}", headers=town.headers["pref"])
    assert_error_shape(reply, 422)


def test_a_body_on_the_bodiless_writes_is_ignored_or_refused_never_a_500(app, client, town):
    h = town.headers["county_a"]
    target = town.ids["clerk_a2"]
    for path in ("deactivate", "activate", "password-reset"):
        for raw in ('{"active": true', "\xff\xfe", '{"password": "mine-1234567"}'):
            reply = client.post(
                f"/api/v1/staff/{target}/{path}",
                data=raw,
                content_type="application/json",
                headers=h,
            )
            assert reply.status_code in (200, 400), (path, raw, reply.status_code)
            if reply.status_code == 400:
                assert_error_shape(reply)
    # A password sent by the caller never becomes the account's.
    with app.app_context():
        stored = db.session.get(Staff, target)
        assert not check_password_hash(stored.password_hash, "mine-1234567")


def test_the_list_costs_the_same_statements_for_a_page_of_3_and_of_13(app, client, town):
    """The grants and their scopes' names are read a kind at a time, not per account."""
    url = "/api/v1/staff?per_page=100"
    with count_statements(app) as few:
        assert client.get(url, headers=town.headers["county_a"]).status_code == 200
    with app.app_context():
        for n in range(10):
            factory.staff(
                f"more-{n}",
                ("committee", town.places["A2"]),
                ("owner", town.places["PA"]),
                ("county", town.places["A"]),
            )
        db.session.commit()
    with count_statements(app) as many:
        reply = client.get(url, headers=town.headers["county_a"])
    assert reply.json["total"] == 16
    assert many.count == few.count, (str(few), str(many))
