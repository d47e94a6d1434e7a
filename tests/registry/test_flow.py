"""The registry's main flow: sign in, claim a household, verification and review."""

from participation.models import HouseholdClaim
from tests.conftest import count_rows
from tests.support.consent import consented_headers


def test_resident_logs_in_claims_matching_household_and_is_verified(client, make, wechat):
    estate = make.estate()
    household = make.household(
        estate, building="1栋", unit="1单元", room="101", name="张伟", phone="1234"
    )
    wechat.codes["demo-zhang"] = "openid-zhang"

    reply = client.post("/api/v1/auth/wechat-login", json={"code": "demo-zhang"})
    assert reply.status_code == 200, reply.json
    assert "session_key" not in reply.get_data(as_text=True)
    assert "fake-session-key" not in reply.get_data(as_text=True)
    headers = consented_headers(client, reply)

    claim = client.post(
        "/api/v1/me/households",
        headers=headers,
        json={
            "estate_id": estate.id,
            "building": "1栋",
            "unit": "1单元",
            "room": "101",
            "name": "张伟",
            "phone_last4": "1234",
        },
    )
    assert claim.status_code == 201, claim.json
    assert claim.json["status"] == "verified"
    assert claim.json["household_id"] == household.id

    me = client.get("/api/v1/me", headers=headers).json
    assert me["kind"] == "resident"
    assert [h["household_id"] for h in me["households"]] == [household.id]


def test_mismatching_claim_waits_for_the_clerk_who_approves_it(client, make, app):
    estate = make.estate()
    make.household(estate, room="202", name="李娜", phone="5678")
    resident = make.resident()
    clerk = make.staff("committee", estate.community_id)

    claim = client.post(
        "/api/v1/me/households",
        headers=make.headers(resident),
        json={
            "estate_id": estate.id,
            "building": "1栋",
            "unit": "1单元",
            "room": "202",
            "name": "李娜娜",
            "phone_last4": "5678",
            "relation": "tenant",
        },
    )
    assert claim.status_code == 201
    assert claim.json["status"] == "pending"

    listed = client.get(
        f"/api/v1/communities/{estate.community_id}/claims?status=pending",
        headers=make.headers(clerk),
    )
    assert listed.status_code == 200
    row = listed.json["items"][0]
    assert row["claimed_name"] == "李*娜"
    assert row["name_matches"] is False and row["phone_matches"] is True

    approved = client.post(
        f"/api/v1/claims/{claim.json['id']}/approve", headers=make.headers(clerk)
    )
    assert approved.status_code == 200
    assert approved.json["status"] == "verified"
    again = client.post(f"/api/v1/claims/{claim.json['id']}/approve", headers=make.headers(clerk))
    assert again.status_code == 409
    assert again.json["error"]["code"] == "claim_not_pending"


def test_claim_on_a_room_not_in_the_roster_is_refused_and_writes_nothing(client, make, app):
    estate = make.estate()
    make.household(estate, room="101")
    resident = make.resident()
    reply = client.post(
        "/api/v1/me/households",
        headers=make.headers(resident),
        json={
            "estate_id": estate.id,
            "building": "9栋",
            "room": "999",
            "name": "王五",
            "phone_last4": "0000",
        },
    )
    assert reply.status_code == 404
    assert reply.json["error"]["code"] == "household_not_in_roster"
    assert count_rows(app, HouseholdClaim) == 0
