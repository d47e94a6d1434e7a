"""The permission matrix of the registry API (issue 2): every endpoint against every kind of caller.

Each endpoint lists what each caller gets: anonymous → 401; a resident of another estate, an
unverified resident, a committee clerk of another community, a project owner → 403 or 404 where
the endpoint is staff-only or out of their scope; the allowed roles → 2xx. A refused call must
leave the database exactly as it was, and every refusal is in the one error shape with a Chinese
message. `test_matrix_lists_every_registry_endpoint` fails when an endpoint of the registry is
added without a row here, so a new endpoint cannot forget its check.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from api import auth
from api.core import db
from devtools import factory
from participation.models import HouseholdClaim, Staff
from tests.support.registry_world import (
    ACTORS,
    PASSWORD,
    World,
    assert_error_shape,
    build_world,
    roster_csv,
    snapshot,
)


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


# --- the matrix -----------------------------------------------------------------------------


def expect(default: int, **overrides: int) -> dict:
    """What every caller gets: `default` for the signed-in ones, 401 when anonymous."""
    answers = {actor: default for actor in ACTORS}
    answers["anonymous"] = 401
    answers.update(overrides)
    return answers


STAFF_ADMIN_OF_COMMUNITY = {"clerk": 200, "county_officer": 200, "prefecture": 200}
RESIDENTS = ("resident_other_estate", "resident_unverified", "resident_member")


@dataclass(frozen=True)
class Endpoint:
    method: str
    rule: str  # exactly as in the app's url_map
    request: Callable[[World], dict]  # World -> keyword arguments of `client.open`
    answers: dict
    needs_wechat: bool = False

    @property
    def id(self):
        return f"{self.method} {self.rule.removeprefix('/api/v1')}"


def _import_request(w: World) -> dict:
    data = roster_csv([["1栋", "1单元", "103", "赵六", "2468", "70.2"]])
    return {
        "path": f"/api/v1/estates/{w.estate}/households:import",
        "data": {"file": (io.BytesIO(data), "roster.csv")},
        "content_type": "multipart/form-data",
    }


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/v1/auth/wechat-login",
        lambda w: {"path": "/api/v1/auth/wechat-login", "json": {"code": "matrix-code"}},
        {actor: 200 for actor in ACTORS},  # the sign-in itself: a stale token does not matter
        needs_wechat=True,
    ),
    Endpoint(
        "POST",
        "/api/v1/auth/staff-login",
        lambda w: {
            "path": "/api/v1/auth/staff-login",
            "json": {"username": "clerk-a", "password": PASSWORD},
        },
        {actor: 200 for actor in ACTORS},
    ),
    Endpoint("GET", "/api/v1/me", lambda w: {"path": "/api/v1/me"}, expect(200)),
    Endpoint("GET", "/api/v1/counties", lambda w: {"path": "/api/v1/counties"}, expect(200)),
    Endpoint(
        "POST",
        "/api/v1/counties",
        lambda w: {"path": "/api/v1/counties", "json": {"name": "丙县"}},
        expect(403, prefecture=201),
    ),
    Endpoint("GET", "/api/v1/communities", lambda w: {"path": "/api/v1/communities"}, expect(200)),
    Endpoint(
        "POST",
        "/api/v1/communities",
        lambda w: {"path": "/api/v1/communities", "json": {"county_id": w.county, "name": "丙"}},
        expect(403, county_officer=201, prefecture=201),
    ),
    Endpoint("GET", "/api/v1/estates", lambda w: {"path": "/api/v1/estates"}, expect(200)),
    Endpoint(
        "POST",
        "/api/v1/estates",
        lambda w: {"path": "/api/v1/estates", "json": {"community_id": w.community, "name": "丙"}},
        expect(403, clerk=201, county_officer=201, prefecture=201),
    ),
    Endpoint(
        "GET",
        "/api/v1/estates/<int:estate_id>/households",
        lambda w: {"path": f"/api/v1/estates/{w.estate}/households"},
        expect(403, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    Endpoint(
        "POST",
        "/api/v1/estates/<int:estate_id>/households:import",
        _import_request,
        expect(403, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    Endpoint(
        "PATCH",
        "/api/v1/households/<int:household_id>",
        lambda w: {"path": f"/api/v1/households/{w.free_household}", "json": {"floor_area": 66}},
        # Staff out of the community's scope: as a missing id.
        expect(403, clerk_other_community=404, owner=404, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    Endpoint(
        "POST",
        "/api/v1/me/households",
        lambda w: {
            "path": "/api/v1/me/households",
            "json": {
                "estate_id": w.estate,
                "building": "1栋",
                "unit": "1单元",
                "room": "102",
                "name": "李四",
                "phone_last4": "5678",
            },
        },
        # Any resident may claim a household (that is how they join an estate); staff may not.
        expect(403, **{actor: 201 for actor in RESIDENTS}),
    ),
    Endpoint(
        "GET",
        "/api/v1/me/households",
        lambda w: {"path": "/api/v1/me/households"},
        expect(403, **{actor: 200 for actor in RESIDENTS}),
    ),
    Endpoint(
        "DELETE",
        "/api/v1/me/households/<int:household_id>",
        lambda w: {"path": f"/api/v1/me/households/{w.household}"},
        # Only a verified member leaves; a household one does not belong to is a missing one.
        # resident_unverified's claim on it is pending: a 409 that names the claim to withdraw.
        expect(403, resident_member=204, resident_unverified=409, resident_other_estate=404),
    ),
    Endpoint(
        "DELETE",
        "/api/v1/me/claims/<int:claim_id>",
        lambda w: {"path": f"/api/v1/me/claims/{w.pending_claim}"},
        # Only its author withdraws it; another resident's claim is answered as a missing one.
        expect(403, resident_unverified=204, resident_member=404, resident_other_estate=404),
    ),
    *(
        Endpoint(
            "GET",
            rule,
            request,
            # Any resident (before verification too); staff within the estate's community.
            expect(403, **{actor: 200 for actor in RESIDENTS}, **STAFF_ADMIN_OF_COMMUNITY),
        )
        for rule, request in (
            (
                "/api/v1/estates/<int:estate_id>/buildings",
                lambda w: {"path": f"/api/v1/estates/{w.estate}/buildings"},
            ),
            (
                "/api/v1/buildings/<int:building_id>/units",
                lambda w: {"path": f"/api/v1/buildings/{w.building}/units"},
            ),
            (
                "/api/v1/buildings/<int:building_id>/rooms",
                lambda w: {"path": f"/api/v1/buildings/{w.building}/rooms?unit=1单元"},
            ),
        )
    ),
    Endpoint(
        "GET",
        "/api/v1/communities/<int:community_id>/claims",
        lambda w: {"path": f"/api/v1/communities/{w.community}/claims"},
        expect(403, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    Endpoint(
        "POST",
        "/api/v1/claims/<int:claim_id>/approve",
        lambda w: {"path": f"/api/v1/claims/{w.pending_claim}/approve"},
        # Out of scope: 404, so that another community's claims are not confirmed to exist.
        expect(403, clerk_other_community=404, owner=404, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    Endpoint(
        "POST",
        "/api/v1/claims/<int:claim_id>/reject",
        lambda w: {
            "path": f"/api/v1/claims/{w.pending_claim}/reject",
            "json": {"reason": "姓名与花名册不符"},
        },
        expect(403, clerk_other_community=404, owner=404, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    # Staff accounts (issue 14): the prefecture manages everyone, a county officer the accounts
    # of their county, a committee clerk the committee accounts of their own community; an
    # owner none. The targets below are the clerk's own account: the clerk is refused it
    # (403 own_account: nobody deactivates, resets or revokes themselves), the other clerk as
    # out of their remit.
    Endpoint(
        "GET",
        "/api/v1/staff",
        lambda w: {"path": "/api/v1/staff"},
        expect(403, clerk_other_community=200, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    Endpoint(
        "GET",
        "/api/v1/staff/grant-options",
        lambda w: {"path": "/api/v1/staff/grant-options"},
        expect(403, clerk_other_community=200, **STAFF_ADMIN_OF_COMMUNITY),
    ),
    *(
        Endpoint(
            "POST",
            f"/api/v1/staff/<int:staff_id>/{action}",
            lambda w, action=action: {"path": f"/api/v1/staff/{w.callers['clerk']}/{action}"},
            expect(403, county_officer=200, prefecture=200),
        )
        for action in ("deactivate", "activate", "password-reset")
    ),
    Endpoint(
        "DELETE",
        "/api/v1/staff/<int:staff_id>/grants/<int:grant_id>",
        lambda w: {"path": f"/api/v1/staff/{w.callers['clerk']}/grants/{w.clerk_grant}"},
        expect(403, county_officer=204, prefecture=204),
    ),
    Endpoint(
        "POST",
        "/api/v1/staff",
        lambda w: {
            "path": "/api/v1/staff",
            "json": {
                "username": "new-clerk",
                "password": "a-long-password",
                "grants": [{"role": "committee", "scope_id": w.community}],
            },
        },
        expect(403, clerk=201, county_officer=201, prefecture=201),
    ),
    Endpoint(
        "POST",
        "/api/v1/staff/<int:staff_id>/grants",
        lambda w: {
            "path": f"/api/v1/staff/{w.target_staff}/grants",
            "json": {"role": "committee", "scope_id": w.community},
        },
        # An existing account without grants is the prefecture's alone (a clerk granting it
        # their role could take it over); one in the caller's remit: tests/registry/
        # test_staff_accounts.py.
        expect(403, prefecture=201),
    ),
]

CASES = [
    pytest.param(endpoint, actor, id=f"{endpoint.id} as {actor}")
    for endpoint in ENDPOINTS
    for actor in ACTORS
]


@pytest.mark.parametrize(("endpoint", "actor"), CASES)
def test_permission_matrix(app, client, wechat, world, endpoint, actor):
    w = world
    wechat.codes["matrix-code"] = "openid-matrix-new"
    request = endpoint.request(w)
    path = request.pop("path")
    before = snapshot(app)

    reply = client.open(path, method=endpoint.method, headers=w.headers[actor], **request)

    wanted = endpoint.answers[actor]
    assert reply.status_code == wanted, (actor, reply.get_data(as_text=True)[:500])
    if wanted >= 400:
        error = assert_error_shape(reply)
        if wanted == 401:
            assert error["code"] == "unauthorized"
        assert snapshot(app) == before, "a refused call changed the database"
    elif wanted != 204:
        assert reply.mimetype == "application/json"
        if endpoint.method == "POST" and wanted == 201:
            assert snapshot(app) != before, "a created answer but nothing was written"


def test_matrix_lists_every_caller_for_every_endpoint():
    for endpoint in ENDPOINTS:
        assert set(endpoint.answers) == set(ACTORS), endpoint.id
        refused = [a for a, status in endpoint.answers.items() if status >= 400]
        # 409 only for a resident's own pending claim, which is theirs to know of.
        assert all(endpoint.answers[a] in (401, 403, 404, 409) for a in refused), endpoint.id
        assert any(status < 300 for status in endpoint.answers.values()), endpoint.id


# The registry's part of /api/v1 (issue 2): what the registry's blueprints serve, and any
# route on the registry's paths outside a blueprint. Other domains (projects, consultations,
# notices, the county overview, ...) are built in parallel in their own blueprints and keep their
# own matrices; the paths API.md gives them are left out even if they land in these modules.
REGISTRY_BLUEPRINTS = {"auth", "places", "registry"}
REGISTRY_PREFIXES = (
    "/api/v1/auth/",
    "/api/v1/me",
    "/api/v1/counties",
    "/api/v1/communities",
    "/api/v1/estates",
    "/api/v1/claims",
    "/api/v1/staff",
)
OTHER_DOMAINS = (
    "/api/v1/me/subscriptions",
    "/api/v1/estates/<int:estate_id>/projects",
    "/api/v1/projects",
    "/api/v1/consultations",
    "/api/v1/notices",
)


def _registry_rules(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        path = rule.rule
        blueprint = rule.endpoint.rpartition(".")[0]
        ours = blueprint in REGISTRY_BLUEPRINTS or (
            not blueprint and path.startswith(REGISTRY_PREFIXES)
        )
        if not ours or path.startswith(OTHER_DOMAINS):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method, path))
    return found


def test_matrix_lists_every_registry_endpoint(app):
    listed = {(e.method, e.rule) for e in ENDPOINTS}
    assert len(listed) == len(ENDPOINTS), "an endpoint is listed twice"
    registered = _registry_rules(app)
    assert all(path.startswith("/api/v1/") for _, path in registered)
    missing = registered - listed
    assert not missing, f"endpoints without a row in the permission matrix: {sorted(missing)}"
    stale = listed - registered
    assert not stale, f"matrix rows for endpoints that no longer exist: {sorted(stale)}"


def test_a_token_that_is_forged_or_for_a_deleted_caller_is_refused(app, client, make, world):
    w = world
    forged = {"Authorization": w.headers["prefecture"]["Authorization"][:-3] + "xyz"}
    error = assert_error_shape(client.get("/api/v1/staff", headers=forged), 401)
    assert error["code"] == "token_invalid"

    with app.app_context():
        staff = db.session.get(Staff, w.callers["prefecture"])
        staff.active = False
        db.session.commit()
    error = assert_error_shape(client.get("/api/v1/staff", headers=w.headers["prefecture"]), 401)
    assert error["code"] == "token_invalid"

    not_bearer = {"Authorization": "Basic dXNlcjpwYXNz"}
    assert_error_shape(client.get("/api/v1/me", headers=not_bearer), 401)


def test_a_clerk_sees_only_the_claims_of_their_own_community(app, client, world):
    w = world
    with app.app_context():
        # A claim in the other community that its own clerk may see and this clerk may not.
        db.session.add(
            HouseholdClaim(
                resident_id=w.callers["resident_member"],
                household_id=w.other_household,
                community_id=w.other_community,
                claimed_name="王伍",
                claimed_phone_last4="4321",
                status="pending",
            )
        )
        db.session.commit()
    mine = client.get(f"/api/v1/communities/{w.community}/claims", headers=w.headers["clerk"])
    assert mine.status_code == 200
    assert {c["household_id"] for c in mine.json["items"]} == {w.household}
    other = client.get(
        f"/api/v1/communities/{w.other_community}/claims",
        headers=w.headers["clerk_other_community"],
    )
    assert {c["household_id"] for c in other.json["items"]} == {w.other_household}
    theirs = client.get(
        f"/api/v1/communities/{w.other_community}/claims", headers=w.headers["clerk"]
    )
    assert_error_shape(theirs, 403)


def test_a_resident_sees_only_their_own_claims(app, client, world):
    w = world
    reply = client.get("/api/v1/me/households", headers=w.headers["resident_unverified"])
    assert reply.status_code == 200
    assert [(c["household_id"], c["status"]) for c in reply.json] == [(w.household, "pending")]
    me = client.get("/api/v1/me", headers=w.headers["resident_other_estate"]).json
    assert [h["household_id"] for h in me["households"]] == [w.other_household]


@pytest.mark.parametrize("subject", [0, -1, 2**31, 2**63, True])
@pytest.mark.parametrize("kind", [auth.RESIDENT, auth.STAFF])
def test_a_signed_token_for_an_id_no_table_can_hold_is_refused(app, client, kind, subject):
    """A token we signed ourselves (an old key, a bug) naming an id out of any table's range
    answers 401 token_invalid on the resident's and the staff's paths, never an overflow."""
    with app.test_request_context():
        token = auth.issue_token(kind, subject, consent=factory.privacy_version())
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/me", "/api/v1/me/home", "/api/v1/staff"):
        error = assert_error_shape(client.get(path, headers=headers), 401)
        assert error["code"] == "token_invalid", path
    ballot = client.put(
        "/api/v1/consultations/1/ballot", json={"choice": "satisfied"}, headers=headers
    )
    assert assert_error_shape(ballot, 401)["code"] == "token_invalid"
