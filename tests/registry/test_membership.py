"""How a membership of a household ends (issue 12, screen 2).

- A resident leaves a household they are a verified member of: `DELETE /me/households/{id}`.
  The claim stays, as `left` with `ended_at`, and a new claim may follow. A household they do
  not belong to is a 404 like a missing one; a claim still pending is a 409 that names the claim
  to withdraw.
- A roster re-import that changes a household's owner (name or phone digits) revokes the
  verified owner and family claims typed against the previous owner, with a reason in Chinese,
  and tells each of those residents alone by a notice (`membership_revoked`). The same owner
  revokes nothing, nor does a change of area alone; a tenant's claim and a claim that names the
  new owner stay.

Who may call the endpoint is also in the registry's permission matrix (test_permissions.py);
the vote that ends with a membership is in tests/voting/test_membership_ended.py.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from api.core import db
from devtools import factory
from notices.models import Delivery, Notice
from notices.service import events as notice_events
from participation.models import Household, HouseholdClaim
from participation.service.membership import REVOKED_REASON
from tests.support.registry_world import (
    World,
    assert_error_shape,
    build_world,
    roster_csv,
    snapshot,
)

MISSING = 987_654
ROOM_101 = ["1栋", "1单元", "101", "张三", "1234", "88.50"]  # the world's roster as it stands
ROOM_102 = ["1栋", "1单元", "102", "李四", "5678", "88.50"]


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The registry world: resident_member is the verified owner of 1栋 1单元 101 (张三 1234),
    resident_unverified's claim on it is pending, 102 (李四 5678) is nobody's."""
    return build_world(app)


def leave(client, w: World, actor: str, household_id: int):
    return client.delete(f"/api/v1/me/households/{household_id}", headers=w.headers[actor])


def refused(app, before, reply, status, code) -> dict:
    error = assert_error_shape(reply, status)
    assert error["code"] == code, error
    assert snapshot(app) == before, "a refused request changed the database"
    return error


def claims_of(app, resident_id) -> list[tuple]:
    with app.app_context():
        try:
            return db.session.execute(
                select(
                    HouseholdClaim.household_id,
                    HouseholdClaim.status,
                    HouseholdClaim.reason,
                    HouseholdClaim.ended_at.is_not(None),
                )
                .where(HouseholdClaim.resident_id == resident_id)
                .order_by(HouseholdClaim.id)
            ).all()
        finally:
            db.session.remove()


def claim(client, w: World, actor: str, room="101", name="张三", phone="1234", relation="owner"):
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


def reimport(client, w: World, *rows, actor="clerk"):
    return client.post(
        f"/api/v1/estates/{w.estate}/households:import",
        data={"file": (io.BytesIO(roster_csv(rows)), "roster.csv")},
        content_type="multipart/form-data",
        headers=w.headers[actor],
    )


def revoked_notices(app) -> list[tuple]:
    with app.app_context():
        try:
            return db.session.execute(
                select(Notice.recipient_id, Notice.title, Notice.body, Notice.estate_id)
                .where(Notice.category == "membership_revoked")
                .order_by(Notice.id)
            ).all()
        finally:
            db.session.remove()


def categories(client, w: World, actor: str) -> list[str]:
    reply = client.get("/api/v1/notices", headers=w.headers[actor])
    assert reply.status_code == 200, reply.get_json()
    return [n["category"] for n in reply.get_json()["items"]]


# --- leaving --------------------------------------------------------------------------------


def test_a_member_leaves_the_claim_stays_as_left_and_a_new_claim_may_follow(app, client, world):
    w = world
    resident = w.callers["resident_member"]
    reply = leave(client, w, "resident_member", w.household)
    assert reply.status_code == 204, reply.get_data(as_text=True)
    assert reply.get_data() == b""
    assert claims_of(app, resident) == [(w.household, "left", None, True)]

    [mine] = client.get("/api/v1/me/households", headers=w.headers["resident_member"]).json
    assert (mine["status"], mine["status_label"]) == ("left", "已退出")
    assert mine["ended_at"]
    # No longer a member: the estate's projects and notices are out of sight.
    me = client.get("/api/v1/me", headers=w.headers["resident_member"]).json
    assert [h["status"] for h in me["households"]] == ["left"]
    # The clerk sees it among the community's claims, by its status too.
    listed = client.get(
        f"/api/v1/communities/{w.community}/claims",
        query_string={"status": "left"},
        headers=w.headers["clerk"],
    ).json
    assert [(c["household_id"], c["status_label"]) for c in listed["items"]] == [
        (w.household, "已退出")
    ]
    # Leaving tells nobody: only a revocation writes a notice.
    assert revoked_notices(app) == []

    # The same household may be claimed again (the live index holds pending and verified only).
    again = claim(client, w, "resident_member")
    assert again.status_code == 201, again.get_json()
    assert again.json["status"] == "verified" and again.json["status_label"] == "已认证"
    assert [c[1] for c in claims_of(app, resident)] == ["left", "verified"]


def test_leaving_twice_is_a_404_and_writes_nothing(app, client, world):
    w = world
    assert leave(client, w, "resident_member", w.household).status_code == 204
    before = snapshot(app)
    refused(
        app, before, leave(client, w, "resident_member", w.household), 404, "membership_not_found"
    )


def test_a_pending_claim_is_withdrawn_not_left(app, client, world):
    w = world
    before = snapshot(app)
    reply = leave(client, w, "resident_unverified", w.household)
    error = refused(app, before, reply, 409, "claim_pending")
    assert error["details"] == {"claim_id": w.pending_claim}
    assert "撤回" in error["message"]
    # What the reply points to works.
    withdrawn = client.delete(
        f"/api/v1/me/claims/{w.pending_claim}", headers=w.headers["resident_unverified"]
    )
    assert withdrawn.status_code == 204


def test_a_rejected_claim_is_no_membership(app, client, world):
    w = world
    rejected = client.post(
        f"/api/v1/claims/{w.pending_claim}/reject",
        json={"reason": "姓名与花名册不符"},
        headers=w.headers["clerk"],
    )
    assert rejected.status_code == 200
    before = snapshot(app)
    reply = leave(client, w, "resident_unverified", w.household)
    refused(app, before, reply, 404, "membership_not_found")


@pytest.mark.parametrize(
    "actor, target",
    [
        ("resident_member", "free_household"),  # in the same estate, nobody's
        ("resident_member", "other_household"),  # another county's, someone else's
        ("resident_other_estate", "household"),  # resident_member's household
        ("resident_unverified", "other_household"),
    ],
)
def test_a_household_one_does_not_belong_to_is_answered_as_a_missing_one(
    app, client, world, actor, target
):
    w = world
    before = snapshot(app)
    theirs = leave(client, w, actor, getattr(w, target))
    missing = leave(client, w, actor, MISSING)
    refused(app, before, theirs, 404, "membership_not_found")
    assert theirs.get_json() == missing.get_json()


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/households/0",
        "/api/v1/me/households/-1",
        "/api/v1/me/households/abc",
        "/api/v1/me/households/1.5",
        f"/api/v1/me/households/{2**31}",
        f"/api/v1/me/households/{10**40}",
        "/api/v1/me/households/%00",
    ],
)
def test_ids_that_are_no_ids_are_404(app, client, world, path):
    w = world
    before = snapshot(app)
    reply = client.delete(path, headers=w.headers["resident_member"])
    assert_error_shape(reply, 404)
    assert snapshot(app) == before


def test_a_body_is_not_read_so_a_malformed_one_changes_nothing(app, client, world):
    w = world
    before = snapshot(app)
    for body in ("{not json", "[]", '{"household_id": "x"}'):
        reply = client.delete(
            f"/api/v1/me/households/{MISSING}",
            data=body,
            content_type="application/json",
            headers=w.headers["resident_member"],
        )
        refused(app, before, reply, 404, "membership_not_found")
    # The path alone names the household: a body naming another does not redirect the call.
    reply = client.delete(
        f"/api/v1/me/households/{w.household}",
        json={"household_id": w.free_household},
        headers=w.headers["resident_member"],
    )
    assert reply.status_code == 204
    assert claims_of(app, w.callers["resident_member"])[0][:2] == (w.household, "left")


@pytest.mark.parametrize("actor", ["clerk", "county_officer", "prefecture", "owner"])
def test_staff_cannot_leave_for_a_resident(app, client, world, actor):
    w = world
    before = snapshot(app)
    refused(app, before, leave(client, w, actor, w.household), 403, "residents_only")


def test_anonymous_is_401(app, client, world):
    w = world
    before = snapshot(app)
    refused(app, before, leave(client, w, "anonymous", w.household), 401, "unauthorized")


# --- revocation by a roster re-import --------------------------------------------------------


def test_a_new_owner_revokes_the_previous_owner_s_claim_and_tells_them_alone(app, client, world):
    w = world
    member = w.callers["resident_member"]
    reply = reimport(client, w, ["1栋", "1单元", "101", "王强", "9999", "88.50"], ROOM_102)
    assert reply.status_code == 200, reply.get_json()
    assert reply.json == {"rows": 2, "created": 0, "updated": 1, "unchanged": 1, "revoked": 1}
    assert claims_of(app, member) == [(w.household, "revoked", REVOKED_REASON, True)]
    # The pending claim is not a membership: it stays pending for the clerk.
    assert claims_of(app, w.callers["resident_unverified"])[0][1] == "pending"

    [mine] = client.get("/api/v1/me/households", headers=w.headers["resident_member"]).json
    assert (mine["status"], mine["status_label"], mine["reason"]) == (
        "revoked",
        "已撤销",
        REVOKED_REASON,
    )
    [(recipient, title, body, estate_id)] = revoked_notices(app)
    assert (recipient, title, estate_id) == (member, "您的住户认证已撤销", w.estate)
    assert "甲小区1栋1单元1**" in body and "101" not in body and REVOKED_REASON in body
    assert "王强" not in body and "9999" not in body and "甲社区居委会" in body
    # It reaches that resident, and nobody else.
    listed = client.get("/api/v1/notices", headers=w.headers["resident_member"]).json["items"]
    assert [(n["category"], n["category_label"]) for n in listed] == [
        ("membership_revoked", "住户认证撤销")
    ]
    for other in ("resident_unverified", "resident_other_estate"):
        assert "membership_revoked" not in categories(client, w, other)
    with app.app_context():
        recipients = db.session.scalars(select(Delivery.resident_id)).all()
        assert recipients == [member]
    # The estate's clerk sees it among their notices; another community's clerk does not.
    staff_view = client.get("/api/v1/notices", headers=w.headers["clerk"]).json["items"]
    assert "membership_revoked" in [n["category"] for n in staff_view]
    assert "membership_revoked" not in categories(client, w, "clerk_other_community")


def test_the_same_owner_or_a_new_area_revokes_nothing(app, client, world):
    w = world
    same = reimport(client, w, ROOM_101, ROOM_102)
    assert same.json == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "revoked": 0}
    bigger = reimport(client, w, ["1栋", "1单元", "101", "张三", "1234", "90.00"], ROOM_102)
    assert bigger.json == {"rows": 2, "created": 0, "updated": 1, "unchanged": 1, "revoked": 0}
    # Full-width digits (a Chinese input method's) are read as ASCII: the same owner still.
    wide = reimport(client, w, ["1栋", "1单元", "101", "张三", "１２３４", "90.00"], ROOM_102)
    assert wide.json == {"rows": 2, "created": 0, "updated": 0, "unchanged": 2, "revoked": 0}
    assert claims_of(app, w.callers["resident_member"])[0][1] == "verified"
    # A household left out of the file is left alone.
    absent = reimport(client, w, ["1栋", "1单元", "102", "周九", "1111", "88.50"])
    assert absent.json["revoked"] == 0
    assert claims_of(app, w.callers["resident_member"])[0][1] == "verified"
    assert revoked_notices(app) == []


def test_new_phone_digits_are_a_new_owner_of_record(app, client, world):
    """The digits are what a claim is verified against: the same name with new digits revokes
    the claim, and its resident binds again with the digits the roster now holds."""
    w = world
    reply = reimport(client, w, ["1栋", "1单元", "101", "张三", "4321", "88.50"], ROOM_102)
    assert reply.json["revoked"] == 1
    assert claims_of(app, w.callers["resident_member"])[0][1] == "revoked"
    again = claim(client, w, "resident_member", phone="4321")
    assert again.status_code == 201 and again.json["status"] == "verified", again.get_json()


def test_family_goes_with_the_owner_a_tenant_and_the_new_owner_stay(app, client, world, make):
    w = world
    with app.app_context():
        household = db.session.get(Household, w.household)
        tenant = factory.member("openid-tenant", "租户", household, relation="tenant")
        family = factory.member("openid-family", "家属", household, relation="family")
        # The buyer, whom the committee verified before the roster caught up.
        buyer = factory.member(
            "openid-buyer", "买方", household, claimed_name="王强", claimed_phone="9999"
        )
        db.session.commit()
        ids = {"tenant": tenant.id, "family": family.id, "buyer": buyer.id}
        db.session.remove()

    reply = reimport(client, w, ["1栋", "1单元", "101", "王强", "9999", "88.50"], ROOM_102)
    assert reply.json["revoked"] == 2
    statuses = {who: claims_of(app, rid)[0][1] for who, rid in ids.items()}
    assert statuses == {"tenant": "verified", "family": "revoked", "buyer": "verified"}
    assert claims_of(app, w.callers["resident_member"])[0][1] == "revoked"
    recipients = sorted(r for r, *_ in revoked_notices(app))
    assert recipients == sorted([w.callers["resident_member"], ids["family"]])


def test_a_revoked_resident_binds_again_with_the_roster_s_new_details(app, client, world):
    w = world
    assert reimport(client, w, ["1栋", "1单元", "101", "王强", "9999", "88.50"]).status_code == 200
    stale = claim(client, w, "resident_member")  # the old details: no longer the roster's
    assert stale.status_code == 201 and stale.json["status"] == "pending"


def test_a_roster_refused_for_a_bad_row_revokes_nothing(app, client, world):
    w = world
    before = snapshot(app)
    reply = reimport(
        client,
        w,
        ["1栋", "1单元", "101", "王强", "9999", "88.50"],
        ["1栋", "1单元", "102", "", "5678", "88.50"],  # no owner's name
    )
    refused(app, before, reply, 422, "roster_invalid")
    assert revoked_notices(app) == []


def test_only_the_estate_s_committee_imports_so_only_it_revokes(app, client, world):
    w = world
    before = snapshot(app)
    for actor in ("resident_member", "clerk_other_community", "owner"):
        reply = reimport(client, w, ["1栋", "1单元", "101", "王强", "9999", "88.50"], actor=actor)
        assert_error_shape(reply, 403)
    assert snapshot(app) == before


def test_the_revocation_notice_is_published_once_per_claim(app, client, world):
    w = world
    assert reimport(client, w, ["1栋", "1单元", "101", "王强", "9999", "88.50"]).json["revoked"]
    with app.app_context():
        claim_id = db.session.scalar(
            select(HouseholdClaim.id).where(
                HouseholdClaim.resident_id == w.callers["resident_member"]
            )
        )
    with app.test_request_context():
        again = notice_events.membership_revoked(
            claim_id=claim_id,
            household_id=w.household,
            resident_id=w.callers["resident_member"],
            estate_id=w.estate,
            address="甲小区1栋1单元1**",
            reason=REVOKED_REASON,
        )
        assert again is None
        db.session.commit()
    with app.app_context():
        count = db.session.scalar(
            select(func.count()).where(Notice.category == "membership_revoked")
        )
    assert count == 1


def test_the_command_line_import_revokes_too(app, world, tmp_path):
    w = world
    path = tmp_path / "花名册.csv"
    path.write_bytes(roster_csv([["1栋", "1单元", "101", "王强", "9999", "88.50"], ROOM_102]))
    result = app.test_cli_runner().invoke(args=["import-households", str(w.estate), str(path)])
    assert result.exit_code == 0, result.output
    assert "memberships revoked (owner changed) 1" in result.stdout
    assert "王强" not in result.output and "9999" not in result.output
    assert claims_of(app, w.callers["resident_member"])[0][1] == "revoked"
    assert [r for r, *_ in revoked_notices(app)] == [w.callers["resident_member"]]
