"""The permission matrix of the registry API (issue 2): every endpoint against every kind of caller.

Each endpoint lists what each caller gets: anonymous → 401; a resident of another estate, an
unverified resident, a committee clerk of another community, a project owner → 403 or 404 where
the endpoint is staff-only or out of their scope; the allowed roles → 2xx. A refused call must
leave the database exactly as it was, and every refusal is in the one error shape with a Chinese
message. `test_matrix_lists_every_registry_endpoint` fails when an endpoint of the registry is
added without a row here, so a new endpoint cannot forget its check.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from api import auth
from api.core import db
from participation.models import (
    Building,
    Community,
    County,
    Estate,
    Household,
    HouseholdClaim,
    Resident,
    RoleGrant,
    Staff,
)

PASSWORD = "correct-horse-1"
_PASSWORD_HASH = auth.hash_password(PASSWORD)  # once: hashing is deliberately slow

ACTORS = (
    "anonymous",
    "resident_other_estate",  # a verified member of a household in another county's estate
    "resident_unverified",  # holds only a pending claim in the world's estate
    "resident_member",  # a verified member of a household in the world's estate
    "clerk_other_community",  # committee clerk of the other community
    "owner",  # a project owner: no say over places, rosters, claims or staff
    "clerk",  # committee clerk of the world's community
    "county_officer",  # officer of the world's county
    "prefecture",
)

CJK = re.compile(r"[\u4e00-\u9fff]")


# --- helpers shared with test_bad_input -----------------------------------------------------


def assert_error_shape(reply, status: int | None = None) -> dict:
    """The reply is the one JSON error shape with a stable code and a Chinese message."""
    if status is not None:
        assert reply.status_code == status, reply.get_data(as_text=True)[:500]
    assert reply.mimetype == "application/json", reply.get_data(as_text=True)[:200]
    text = reply.get_data(as_text=True)
    assert "<html" not in text.lower() and "<!doctype" not in text.lower()
    body = reply.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z][a-z0-9_]*", error["code"])
    assert isinstance(error["message"], str) and CJK.search(error["message"]), error
    assert isinstance(error["details"], dict)
    return error


def snapshot(app) -> dict:
    """Every row of every table, so a refused call can be shown to have written nothing."""
    with app.app_context():
        try:
            return {
                table.name: sorted(repr(tuple(row)) for row in db.session.execute(table.select()))
                for table in db.metadata.sorted_tables
            }
        finally:
            db.session.remove()


def roster_csv(
    rows, header=("楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积")
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


@dataclass
class World:
    """Two counties, each with a community and an estate, and one caller of every kind."""

    county: int = 0
    community: int = 0
    estate: int = 0
    household: int = 0  # 1栋 1单元 101, 张三 1234: resident_member's, resident_unverified claims it
    free_household: int = 0  # 1栋 1单元 102, 李四 5678: nobody's yet
    pending_claim: int = 0  # resident_unverified's claim on `household`
    other_county: int = 0
    other_community: int = 0
    other_estate: int = 0
    other_household: int = 0
    target_staff: int = 0  # a staff account without grants, to be granted a role
    callers: dict = field(default_factory=dict)  # actor -> Resident | Staff | None
    headers: dict = field(default_factory=dict)  # actor -> request headers


def _household(estate_id, room, name, phone, building="1栋", unit="1单元"):
    b = db.session.query(Building).filter_by(estate_id=estate_id, name=building).first()
    if b is None:
        b = Building(estate_id=estate_id, name=building)
        db.session.add(b)
        db.session.flush()
    h = Household(
        estate_id=estate_id,
        building_id=b.id,
        unit=unit,
        room=room,
        floor_area=Decimal("88.50"),
        owner_name=name,
        owner_phone_last4=phone,
    )
    db.session.add(h)
    db.session.flush()
    return h


def _claim(resident, household, community_id, status):
    claim = HouseholdClaim(
        resident_id=resident.id,
        household_id=household.id,
        community_id=community_id,
        relation="owner",
        claimed_name=household.owner_name if status == "verified" else "张叁",
        claimed_phone_last4=household.owner_phone_last4,
        status=status,
    )
    db.session.add(claim)
    db.session.flush()
    return claim


def _staff(username, role=None, scope_id=None):
    staff = Staff(username=username, password_hash=_PASSWORD_HASH, display_name="工作人员")
    db.session.add(staff)
    db.session.flush()
    if role:
        db.session.add(RoleGrant(staff_id=staff.id, role=role, scope_id=scope_id))
        db.session.flush()
    return staff


def build_world(app) -> World:
    w = World()
    with app.app_context():
        county, other_county = County(name="甲县"), County(name="乙县")
        db.session.add_all([county, other_county])
        db.session.flush()
        community = Community(county_id=county.id, name="甲社区")
        other_community = Community(county_id=other_county.id, name="乙社区")
        db.session.add_all([community, other_community])
        db.session.flush()
        estate = Estate(community_id=community.id, name="甲小区")
        other_estate = Estate(community_id=other_community.id, name="乙小区")
        db.session.add_all([estate, other_estate])
        db.session.flush()
        household = _household(estate.id, "101", "张三", "1234")
        free = _household(estate.id, "102", "李四", "5678")
        other_household = _household(other_estate.id, "101", "王五", "4321")

        member, unverified, outsider = (
            Resident(openid="openid-member", nickname="成员"),
            Resident(openid="openid-unverified", nickname="待审"),
            Resident(openid="openid-outsider", nickname="外人"),
        )
        db.session.add_all([member, unverified, outsider])
        db.session.flush()
        _claim(member, household, community.id, "verified")
        pending = _claim(unverified, household, community.id, "pending")
        _claim(outsider, other_household, other_community.id, "verified")

        callers = {
            "anonymous": None,
            "resident_other_estate": outsider,
            "resident_unverified": unverified,
            "resident_member": member,
            "clerk_other_community": _staff("clerk-b", "committee", other_community.id),
            "owner": _staff("owner-1", "owner", 1),
            "clerk": _staff("clerk-a", "committee", community.id),
            "county_officer": _staff("county-a", "county", county.id),
            "prefecture": _staff("prefecture", "prefecture"),
        }
        target = _staff("target")
        db.session.commit()

        w.county, w.community, w.estate = county.id, community.id, estate.id
        w.household, w.free_household, w.pending_claim = household.id, free.id, pending.id
        w.other_county, w.other_community = other_county.id, other_community.id
        w.other_estate, w.other_household = other_estate.id, other_household.id
        w.target_staff = target.id
        with app.test_request_context():
            for actor, who in callers.items():
                if who is None:
                    w.headers[actor] = {}
                    continue
                kind = auth.RESIDENT if isinstance(who, Resident) else auth.STAFF
                w.headers[actor] = {"Authorization": f"Bearer {auth.issue_token(kind, who.id)}"}
        w.callers = {actor: (who.id if who else None) for actor, who in callers.items()}
        db.session.remove()
    return w


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
    Endpoint(
        "GET", "/api/v1/staff", lambda w: {"path": "/api/v1/staff"}, expect(403, prefecture=200)
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
        expect(403, county_officer=201, prefecture=201),
    ),
    Endpoint(
        "POST",
        "/api/v1/staff/<int:staff_id>/grants",
        lambda w: {
            "path": f"/api/v1/staff/{w.target_staff}/grants",
            "json": {"role": "committee", "scope_id": w.community},
        },
        expect(403, county_officer=201, prefecture=201),
    ),
]

CASES = [
    pytest.param(endpoint, actor, id=f"{endpoint.id} as {actor}")
    for endpoint in ENDPOINTS
    for actor in ACTORS
]


@pytest.mark.parametrize(("endpoint", "actor"), CASES)
def test_permission_matrix(app, client, wechat, endpoint, actor):
    w = build_world(app)
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
    else:
        assert reply.mimetype == "application/json"
        if endpoint.method == "POST" and wanted == 201:
            assert snapshot(app) != before, "a created answer but nothing was written"


def test_matrix_lists_every_caller_for_every_endpoint():
    for endpoint in ENDPOINTS:
        assert set(endpoint.answers) == set(ACTORS), endpoint.id
        refused = [a for a, status in endpoint.answers.items() if status >= 400]
        assert all(endpoint.answers[a] in (401, 403, 404) for a in refused), endpoint.id
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


def test_a_token_that_is_forged_or_for_a_deleted_caller_is_refused(app, client, make):
    w = build_world(app)
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


def test_a_clerk_sees_only_the_claims_of_their_own_community(app, client):
    w = build_world(app)
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


def test_a_resident_sees_only_their_own_claims(app, client):
    w = build_world(app)
    reply = client.get("/api/v1/me/households", headers=w.headers["resident_unverified"])
    assert reply.status_code == 200
    assert [(c["household_id"], c["status"]) for c in reply.json] == [(w.household, "pending")]
    me = client.get("/api/v1/me", headers=w.headers["resident_other_estate"]).json
    assert [h["household_id"] for h in me["households"]] == [w.other_household]
