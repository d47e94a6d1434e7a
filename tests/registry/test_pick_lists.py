"""Binding a household without typing the address (issue 12, screen 2): the pick lists of an
estate's buildings, a building's units and a unit's rooms, and withdrawing one's own pending claim
so that a corrected one can be filed.

Who may call each endpoint is in the registry's permission matrix (tests/registry/
test_permissions.py); here: what the lists hold and hide, their order, bad input, and the withdrawal.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from api.core import db
from devtools import factory
from participation.models import Estate, HouseholdClaim
from tests.support.registry_world import World, assert_error_shape, build_world, snapshot

MISSING = 987_654


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def refused(app, before, reply, status, code) -> dict:
    error = assert_error_shape(reply, status)
    assert error["code"] == code, error
    assert snapshot(app) == before, "a refused request changed the database"
    return error


def _more_households(app, w: World) -> dict:
    """Buildings 10栋, 2栋 and 3号楼 (no units) in the world's estate, rooms out of order."""
    with app.app_context():
        estate = db.session.get(Estate, w.estate)
        for room in ("1001", "201", "102"):
            factory.household(estate, room, building_name="10栋", unit="12单元", owner_name="钱七")
        factory.household(estate, "301", building_name="10栋", unit="2单元", owner_name="孙八")
        two = factory.household(estate, "101", building_name="2栋", owner_name="周九")
        flat = factory.household(estate, "5", building_name="3号楼", unit="", owner_name="吴十")
        db.session.commit()
        return {"two": two.building_id, "flat": flat.building_id, "flat_room": flat.id}


def _building_id(client, w: World, name: str, actor="resident_unverified") -> int:
    reply = client.get(f"/api/v1/estates/{w.estate}/buildings", headers=w.headers[actor])
    return next(b["id"] for b in reply.get_json() if b["name"] == name)


# --- the pick lists ------------------------------------------------------------------------


def test_buildings_come_in_natural_order_with_only_id_and_name(app, client, world):
    w = world
    _more_households(app, w)
    reply = client.get(
        f"/api/v1/estates/{w.estate}/buildings", headers=w.headers["resident_unverified"]
    )
    assert reply.status_code == 200, reply.get_json()
    buildings = reply.get_json()
    assert [b["name"] for b in buildings] == ["1栋", "2栋", "3号楼", "10栋"]
    assert all(set(b) == {"id", "name"} for b in buildings)
    assert buildings[0]["id"] == w.building


def test_units_are_distinct_and_in_natural_order(app, client, world):
    w = world
    _more_households(app, w)
    ten = _building_id(client, w, "10栋")
    reply = client.get(f"/api/v1/buildings/{ten}/units", headers=w.headers["resident_unverified"])
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == [{"unit": "2单元"}, {"unit": "12单元"}]


def test_rooms_of_a_unit_reveal_no_owner_phone_or_area(app, client, world):
    w = world
    _more_households(app, w)
    headers = w.headers["resident_other_estate"]  # not verified anywhere near this estate
    reply = client.get(f"/api/v1/buildings/{w.building}/rooms?unit=1单元", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == [
        {"household_id": w.household, "room": "101"},
        {"household_id": w.free_household, "room": "102"},
    ]
    for path in (
        f"/api/v1/estates/{w.estate}/buildings",
        f"/api/v1/buildings/{w.building}/units",
        f"/api/v1/buildings/{w.building}/rooms?unit=1单元",
    ):
        text = client.get(path, headers=headers).get_data(as_text=True)
        for secret in ("张三", "李四", "1234", "5678", "88.5", "owner", "area", "phone"):
            assert secret not in text, (path, secret)


def test_rooms_come_in_natural_order_and_a_building_without_units_omits_the_unit(
    app, client, world
):
    w = world
    made = _more_households(app, w)
    headers = w.headers["clerk"]
    ten = _building_id(client, w, "10栋", actor="clerk")
    rooms = client.get(f"/api/v1/buildings/{ten}/rooms?unit=12单元", headers=headers).get_json()
    assert [r["room"] for r in rooms] == ["102", "201", "1001"]

    assert client.get(f"/api/v1/buildings/{made['flat']}/units", headers=headers).get_json() == [
        {"unit": ""}
    ]
    flat = client.get(f"/api/v1/buildings/{made['flat']}/rooms", headers=headers).get_json()
    assert flat == [{"household_id": made["flat_room"], "room": "5"}]
    # A unit the building does not have: an empty list, not an error.
    assert client.get(f"/api/v1/buildings/{ten}/rooms?unit=9单元", headers=headers).get_json() == []


def test_the_picked_address_files_a_claim(app, client, world):
    """What the lists give is exactly what the claim takes."""
    w = world
    headers = w.headers["resident_member"]
    building = client.get(f"/api/v1/estates/{w.estate}/buildings", headers=headers).get_json()[0]
    unit = client.get(f"/api/v1/buildings/{building['id']}/units", headers=headers).get_json()[0]
    rooms = client.get(
        f"/api/v1/buildings/{building['id']}/rooms", query_string=unit, headers=headers
    ).get_json()
    room = next(r for r in rooms if r["household_id"] == w.free_household)
    reply = client.post(
        "/api/v1/me/households",
        json={
            "estate_id": w.estate,
            "building": building["name"],
            "unit": unit["unit"],
            "room": room["room"],
            "name": "李四",
            "phone_last4": "5678",
        },
        headers=headers,
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["household_id"] == w.free_household


@pytest.mark.parametrize(
    ("path", "code"),
    [
        (f"/api/v1/estates/{MISSING}/buildings", "estate_not_found"),
        (f"/api/v1/buildings/{MISSING}/units", "building_not_found"),
        (f"/api/v1/buildings/{MISSING}/rooms?unit=1单元", "building_not_found"),
    ],
)
def test_unknown_ids_are_404(app, client, world, path, code):
    before = snapshot(app)
    refused(app, before, client.get(path, headers=world.headers["resident_member"]), 404, code)


def test_non_numeric_ids_are_404(app, client, world):
    headers = world.headers["resident_member"]
    for path in ("/api/v1/estates/abc/buildings", "/api/v1/buildings/1.5/units"):
        assert_error_shape(client.get(path, headers=headers), 404)


def test_staff_out_of_scope_are_refused_for_another_community_s_buildings(app, client, world):
    w = world
    before = snapshot(app)
    for actor in ("clerk_other_community", "owner"):
        for path in (
            f"/api/v1/estates/{w.estate}/buildings",
            f"/api/v1/buildings/{w.building}/units",
            f"/api/v1/buildings/{w.building}/rooms?unit=1单元",
        ):
            refused(app, before, client.get(path, headers=w.headers[actor]), 403, "out_of_scope")


@pytest.mark.parametrize(
    "query",
    ["unit=%00", "unit=" + "单" * 21, "unit=%20%20"],
    ids=["nul", "too-long", "blank"],
)
def test_a_bad_unit_is_422(app, client, world, query):
    w = world
    before = snapshot(app)
    reply = client.get(
        f"/api/v1/buildings/{w.building}/rooms?{query}", headers=w.headers["resident_member"]
    )
    error = refused(app, before, reply, 422, reply.get_json()["error"]["code"])
    assert error["details"], error


# --- withdrawing a pending claim -------------------------------------------------------------


def _claim(client, w: World, actor: str, room: str, name: str, phone: str, relation="owner"):
    return client.post(
        "/api/v1/me/households",
        json={
            "estate_id": w.estate,
            "building": "1栋",
            "unit": "1单元",
            "room": room,
            "name": name,
            "phone_last4": phone,
            "relation": relation,
        },
        headers=w.headers[actor],
    )


def _claims_of(app, resident_id) -> list[tuple[int, str]]:
    with app.app_context():
        return [
            (c.household_id, c.status)
            for c in db.session.scalars(
                select(HouseholdClaim)
                .where(HouseholdClaim.resident_id == resident_id)
                .order_by(HouseholdClaim.id)
            )
        ]


def test_a_withdrawn_claim_makes_way_for_a_corrected_one_on_the_same_household(app, client, world):
    w = world
    # While the mistyped claim is pending, the corrected one is refused.
    blocked = _claim(client, w, "resident_unverified", "101", "张三", "1234", relation="family")
    assert assert_error_shape(blocked, 409)["code"] == "claim_exists"

    headers = w.headers["resident_unverified"]
    reply = client.delete(f"/api/v1/me/claims/{w.pending_claim}", headers=headers)
    assert reply.status_code == 204, reply.get_data(as_text=True)
    assert _claims_of(app, w.callers["resident_unverified"]) == []
    assert client.get("/api/v1/me/households", headers=headers).get_json() == []

    corrected = _claim(client, w, "resident_unverified", "101", "张三", "1234", relation="family")
    assert corrected.status_code == 201, corrected.get_json()
    assert corrected.get_json()["status"] == "verified"
    assert _claims_of(app, w.callers["resident_unverified"]) == [(w.household, "verified")]


def test_a_withdrawn_claim_makes_way_for_a_claim_on_another_household(app, client, world):
    w = world
    reply = client.delete(
        f"/api/v1/me/claims/{w.pending_claim}", headers=w.headers["resident_unverified"]
    )
    assert reply.status_code == 204
    other = _claim(client, w, "resident_unverified", "102", "李四", "5678")
    assert other.status_code == 201, other.get_json()
    assert _claims_of(app, w.callers["resident_unverified"]) == [(w.free_household, "verified")]


def test_a_verified_claim_cannot_be_withdrawn(app, client, world):
    w = world
    with app.app_context():
        verified = db.session.scalar(
            select(HouseholdClaim.id).where(
                HouseholdClaim.resident_id == w.callers["resident_member"]
            )
        )
    before = snapshot(app)
    reply = client.delete(f"/api/v1/me/claims/{verified}", headers=w.headers["resident_member"])
    error = refused(app, before, reply, 409, "claim_not_pending")
    assert error["details"] == {"status": "verified"}


def test_a_rejected_claim_cannot_be_withdrawn(app, client, world):
    w = world
    rejected = client.post(
        f"/api/v1/claims/{w.pending_claim}/reject",
        json={"reason": "姓名与花名册不符"},
        headers=w.headers["clerk"],
    )
    assert rejected.status_code == 200, rejected.get_json()
    before = snapshot(app)
    reply = client.delete(
        f"/api/v1/me/claims/{w.pending_claim}", headers=w.headers["resident_unverified"]
    )
    error = refused(app, before, reply, 409, "claim_not_pending")
    assert error["details"] == {"status": "rejected"}


@pytest.mark.parametrize("actor", ["resident_member", "resident_other_estate"])
def test_someone_else_s_claim_is_answered_as_a_missing_one(app, client, world, actor):
    w = world
    before = snapshot(app)
    theirs = client.delete(f"/api/v1/me/claims/{w.pending_claim}", headers=w.headers[actor])
    missing = client.delete(f"/api/v1/me/claims/{MISSING}", headers=w.headers[actor])
    refused(app, before, theirs, 404, "claim_not_found")
    assert theirs.get_json() == missing.get_json()


def test_staff_cannot_withdraw_a_resident_s_claim(app, client, world):
    w = world
    before = snapshot(app)
    reply = client.delete(f"/api/v1/me/claims/{w.pending_claim}", headers=w.headers["clerk"])
    refused(app, before, reply, 403, "residents_only")


def test_withdraw_takes_no_body_and_ignores_a_malformed_one(app, client, world):
    """The path names the claim; a body is not read, so malformed JSON changes nothing."""
    w = world
    headers = w.headers["resident_member"]
    before = snapshot(app)
    reply = client.delete(
        f"/api/v1/me/claims/{MISSING}",
        data="{not json",
        content_type="application/json",
        headers=headers,
    )
    refused(app, before, reply, 404, "claim_not_found")
    assert_error_shape(client.delete("/api/v1/me/claims/abc", headers=headers), 404)
