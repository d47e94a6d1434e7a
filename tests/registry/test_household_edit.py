"""The single-household edit (issue 13, registry page): `PATCH /households/{id}` corrects one
roster row for the committee of its community, its county and the prefecture; a new owner
revokes the old owner's members only when the clerk says the dwelling changed hands."""

from __future__ import annotations

import pytest

from participation.models import HouseholdClaim
from tests.support.voting_world import build_world, consultation_in


def _patch(client, make, household_id, who, body):
    return client.patch(
        f"/api/v1/households/{household_id}", json=body, headers=make.headers(who) if who else {}
    )


def _claims(app, household):
    with app.app_context():
        from api.core import db

        return sorted(
            (c.relation, c.status)
            for c in db.session.query(HouseholdClaim).filter_by(household_id=household.id)
        )


def test_the_committee_corrects_a_row_and_the_reply_is_masked(client, make):
    estate = make.estate()
    household = make.household(estate, room="101", name="张三丰", phone="1234", area="88.50")
    clerk = make.staff("committee", estate.community_id)

    reply = _patch(
        client,
        make,
        household.id,
        clerk,
        {"floor_area": 90.25, "building": "2栋", "unit": "", "room": "102"},
    )

    assert reply.status_code == 200, reply.json
    body = reply.json
    assert (body["building"], body["unit"], body["room"], body["floor_area"]) == (
        "2栋",
        "",
        "102",
        90.25,
    )
    assert body["owner_name"] != "张三丰" and "*" in body["owner_name"]
    assert body["owner_phone_last4"] != "1234"
    assert body["revoked"] == 0
    # The roster shows it so, in its new building (added to the estate).
    listed = client.get(
        f"/api/v1/estates/{estate.id}/households", headers=make.headers(clerk)
    ).json["items"]
    assert [(h["building"], h["room"], h["floor_area"]) for h in listed] == [("2栋", "102", 90.25)]
    names = [
        b["name"]
        for b in client.get(
            f"/api/v1/estates/{estate.id}/buildings", headers=make.headers(clerk)
        ).json
    ]
    assert "2栋" in names


def test_a_correction_keeps_the_members_and_a_new_owner_revokes_the_old_ones(client, make, app):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    typo = make.household(estate, room="101", name="张三", phone="1234")
    make.member(typo, relation="owner")
    make.member(typo, relation="family")

    # A name change without saying what it is: refused, nothing changed.
    reply = _patch(client, make, typo.id, clerk, {"owner_name": "张叁"})
    assert reply.status_code == 422
    assert reply.json["error"]["code"] == "owner_change_required"
    assert reply.json["error"]["details"]["fields"]["owner_change"]

    reply = _patch(
        client, make, typo.id, clerk, {"owner_name": "张叁", "owner_change": "correction"}
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["revoked"] == 0
    assert _claims(app, typo) == [("family", "verified"), ("owner", "verified")]

    sold = make.household(estate, room="102", name="李四", phone="5678")
    make.member(sold, relation="owner")
    make.member(sold, relation="tenant")
    reply = _patch(
        client,
        make,
        sold.id,
        clerk,
        {"owner_name": "王五", "owner_phone_last4": "0001", "owner_change": "new_owner"},
    )
    assert reply.status_code == 200, reply.json
    assert reply.json["revoked"] == 1
    assert _claims(app, sold) == [("owner", "revoked"), ("tenant", "verified")]

    # The same owner again is no change: owner_change is not needed, nothing is revoked.
    reply = _patch(client, make, sold.id, clerk, {"owner_name": "王五", "floor_area": 70})
    assert reply.status_code == 200, reply.json


def _frozen(consultation_id):
    from api.core import db
    from voting.models import Consultation

    c = db.session.get(Consultation, consultation_id)
    return (c.eligible_households, c.eligible_area)


def test_an_open_consultation_keeps_its_frozen_figures_and_a_new_owner_leaves_it(client, make, app):
    from api.core import db
    from voting.models import ElectorateEntry, ElectorMember

    w = build_world(app, make, households=3)
    cid = consultation_in(app, client, w, "open")
    first, second = w.scene.household_ids[:2]
    with app.app_context():
        before = db.session.get(ElectorateEntry, (cid, first)).floor_area
        eligible = _frozen(cid)

    reply = client.patch(
        f"/api/v1/households/{first}", json={"floor_area": 12345.6}, headers=w.headers["clerk"]
    )
    assert reply.status_code == 200, reply.json
    # The project owner sees the project, not the roster.
    reply = client.patch(
        f"/api/v1/households/{first}", json={"floor_area": 1}, headers=w.headers["owner"]
    )
    assert reply.status_code == 404
    reply = client.patch(
        f"/api/v1/households/{second}",
        json={"owner_name": "新业主", "owner_change": "new_owner"},
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 200 and reply.json["revoked"] == 1, reply.json
    with app.app_context():
        assert db.session.get(ElectorateEntry, (cid, first)).floor_area == before
        members = {
            m.household_id for m in db.session.query(ElectorMember).filter_by(consultation_id=cid)
        }
        assert _frozen(cid) == eligible
    # The previous owner of the sold dwelling no longer votes for it; the other members stay.
    assert second not in members and first in members


def test_an_address_another_household_holds_is_a_409(client, make):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    make.household(estate, building="1栋", unit="1单元", room="101")
    moving = make.household(estate, building="1栋", unit="1单元", room="102")

    reply = _patch(client, make, moving.id, clerk, {"room": "101"})
    assert reply.status_code == 409
    assert reply.json["error"]["code"] == "household_address_taken"
    assert reply.json["error"]["message"]
    # Its own address again is no clash.
    assert _patch(client, make, moving.id, clerk, {"room": "102"}).status_code == 200


@pytest.mark.parametrize("role", ["committee", "county", "prefecture"])
def test_the_community_its_county_and_the_prefecture_may_edit(client, make, role):
    estate = make.estate()
    household = make.household(estate, room="101")
    with make.app.app_context():
        from api.core import db
        from participation.models import Community

        county_id = db.session.get(Community, estate.community_id).county_id
    scope = {"committee": estate.community_id, "county": county_id, "prefecture": None}[role]
    reply = _patch(client, make, household.id, make.staff(role, scope), {"floor_area": 66})
    assert reply.status_code == 200, reply.json
    assert reply.json["floor_area"] == 66.0


def test_others_cannot_edit(client, make):
    estate = make.estate()
    household = make.household(estate, room="101", area="88.50")
    other_clerk = make.staff("committee", make.community().id)
    other_county = make.staff("county", make.county().id)
    owner = make.staff("owner", 1)
    resident = make.member(household)

    for who in (other_clerk, other_county, owner):
        reply = _patch(client, make, household.id, who, {"floor_area": 66})
        assert reply.status_code == 404, reply.json
        assert reply.json["error"]["code"] == "household_not_found"
    reply = _patch(client, make, household.id, resident, {"floor_area": 66})
    assert reply.status_code == 403
    assert reply.json["error"]["message"]
    assert _patch(client, make, household.id, None, {"floor_area": 66}).status_code == 401
    clerk = make.staff("committee", estate.community_id)
    listed = client.get(
        f"/api/v1/estates/{estate.id}/households", headers=make.headers(clerk)
    ).json["items"]
    assert listed[0]["floor_area"] == 88.5


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"owner_change": "correction"},
        {"floor_area": "88"},
        {"floor_area": True},
        {"floor_area": 0},
        {"floor_area": -5},
        {"floor_area": 100000},
        {"floor_area": 1e308},
        {"floor_area": 0.001},
        {"floor_area": None},
        {"room": ""},
        {"room": "   "},
        {"room": 101},
        {"room": "1" * 21},
        {"building": ""},
        {"building": "楼" * 51},
        {"unit": "单" * 21},
        {"unit": "1\x00"},
        {"owner_name": ""},
        {"owner_name": "名" * 101},
        {"owner_name": "张\x00三", "owner_change": "correction"},
        {"owner_phone_last4": "123"},
        {"owner_phone_last4": "１２３４"},
        {"owner_phone_last4": 1234},
        {"owner_phone_last4": "12345"},
        {"owner_name": "李四", "owner_change": "sold"},
        {"estate_id": 2},
        [],
    ],
)
def test_bad_input_is_refused_with_a_chinese_message(client, make, body):
    estate = make.estate()
    household = make.household(estate, room="101")
    clerk = make.staff("committee", estate.community_id)
    reply = _patch(client, make, household.id, clerk, body)
    assert reply.status_code == 422, reply.json
    assert reply.json["error"]["message"]


@pytest.mark.parametrize("household_id", ["0", "abc", str(2**63), "999999"])
def test_unknown_households_are_404(client, make, household_id):
    clerk = make.staff("prefecture")
    reply = client.patch(
        f"/api/v1/households/{household_id}", json={"floor_area": 50}, headers=make.headers(clerk)
    )
    assert reply.status_code == 404
