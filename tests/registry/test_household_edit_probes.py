"""Review probes of `PATCH /households/{id}` (issue 13): a refused edit writes nothing (not even
the building it named), callers no matrix lists (a deactivated clerk, the owner of a project on
the estate, an erased resident), odd bodies, and the owner's name and digits kept out of the
logs and the revocation notice."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from api.core import db
from devtools import factory
from notices.models import Notice
from participation.models import Building, Estate, Household, Staff
from participation.service import erasure


def _patch(client, household_id, headers, body=None, **kwargs):
    return client.patch(f"/api/v1/households/{household_id}", json=body, headers=headers, **kwargs)


def _row(app, household_id):
    with app.app_context():
        h = db.session.get(Household, household_id)
        row = (h.building.name, h.unit, h.room, h.owner_name, h.owner_phone_last4, h.floor_area)
        db.session.remove()
        return row


def _buildings(app, estate_id):
    with app.app_context():
        names = db.session.scalars(
            select(Building.name).where(Building.estate_id == estate_id).order_by(Building.name)
        ).all()
        db.session.remove()
        return names


@pytest.mark.parametrize(
    "body, status, code",
    [
        # refused after the new building was added to the session
        ({"building": "新楼", "owner_name": "李四"}, 422, "owner_change_required"),
        ({"building": "新楼", "owner_phone_last4": "9999"}, 422, "owner_change_required"),
        # refused at the address clash, a new building of the estate asked in the same body
        ({"room": "102", "floor_area": 50}, 409, "household_address_taken"),
    ],
)
def test_a_refused_edit_writes_nothing(app, client, make, body, status, code):
    estate = make.estate()
    household = make.household(estate, building="1栋", unit="1单元", room="101")
    make.household(estate, building="1栋", unit="1单元", room="102")
    clerk = make.staff("committee", estate.community_id)
    before, buildings = _row(app, household.id), _buildings(app, estate.id)

    reply = _patch(client, household.id, make.headers(clerk), body)

    assert reply.status_code == status, reply.json
    assert reply.json["error"]["code"] == code
    assert reply.json["error"]["message"]
    assert _row(app, household.id) == before
    assert _buildings(app, estate.id) == buildings


def test_callers_no_matrix_lists_are_refused_and_write_nothing(app, client, make):
    estate = make.estate()
    household = make.household(estate, room="101")
    before = _row(app, household.id)
    with app.app_context():
        project = factory.project(
            db.session.get(Estate, estate.id).community.county_id,
            [db.session.get(Estate, estate.id)],
            "本小区项目",
        )
        db.session.commit()
        project_id = project.id
    owner = make.staff("owner", project_id)
    no_grant = make.staff()
    gone = make.staff("committee", estate.community_id)
    gone_headers = make.headers(gone)
    with app.app_context():
        db.session.get(Staff, gone.id).active = False
        db.session.commit()
    erased = make.member(household)
    erased_headers = make.headers(erased)
    with app.app_context():
        erasure.erase_resident(erased.id)
        db.session.commit()

    body = {"floor_area": 12}
    for headers, status in (
        (make.headers(owner), 404),
        (make.headers(no_grant), 404),
        (gone_headers, 401),
    ):
        reply = _patch(client, household.id, headers, body)
        assert reply.status_code == status, reply.json
        assert reply.json["error"]["message"]
    assert _patch(client, household.id, erased_headers, body).status_code in (401, 403)
    assert _row(app, household.id) == before


@pytest.mark.parametrize(
    "body",
    [
        "1栋",
        123,
        None,
        {"owner_phone_last4": "1234\n", "owner_change": "correction"},
        {"owner_phone_last4": "١٢٣٤", "owner_change": "correction"},
        {"floor_area": "NaN"},
        {"floor_area": "Infinity"},
        {"floor_area": float("nan")},
        {"room": ["101"]},
        {"building": {"name": "1栋"}},
        {"owner_change": "new_owner"},
    ],
)
def test_odd_bodies_are_422_and_write_nothing(app, client, make, body):
    estate = make.estate()
    household = make.household(estate, room="101")
    clerk = make.staff("committee", estate.community_id)
    before = _row(app, household.id)
    reply = _patch(client, household.id, make.headers(clerk), body)
    assert reply.status_code in (400, 422), reply.get_data(as_text=True)[:300]
    assert reply.json["error"]["message"]
    assert _row(app, household.id) == before


@pytest.mark.parametrize(
    "data, status",
    [
        ('{"room": "102", "room": ', 400),
        ('{"room": "\\ud800"}', 422),  # a lone surrogate, as JSON escapes it
        ('{"building": "1\\u0000"}', 422),
    ],
)
def test_malformed_json_and_unstorable_text_are_refused(app, client, make, data, status):
    estate = make.estate()
    household = make.household(estate, room="101")
    clerk = make.staff("committee", estate.community_id)
    before = _row(app, household.id)
    reply = client.patch(
        f"/api/v1/households/{household.id}",
        data=data,
        content_type="application/json",
        headers=make.headers(clerk),
    )
    assert reply.status_code == status, reply.json
    assert reply.json["error"]["message"]
    assert _row(app, household.id) == before


def test_the_same_building_padded_is_the_same_building(app, client, make):
    estate = make.estate()
    household = make.household(estate, building="1栋", room="101")
    clerk = make.staff("committee", estate.community_id)
    reply = _patch(client, household.id, make.headers(clerk), {"building": " 1栋 ", "unit": " "})
    assert reply.status_code == 200, reply.json
    assert _buildings(app, estate.id) == ["1栋"]
    assert _row(app, household.id)[:3] == ("1栋", "", "101")


def test_names_and_digits_stay_out_of_logs_and_the_notice(app, client, make, caplog):
    estate = make.estate()
    household = make.household(estate, room="1203", name="欧阳娜娜", phone="4321")
    resident = make.member(household, relation="owner")
    clerk = make.staff("committee", estate.community_id)
    caplog.set_level(logging.DEBUG)

    reply = _patch(
        client,
        household.id,
        make.headers(clerk),
        {"owner_name": "司马相如", "owner_phone_last4": "8765", "owner_change": "new_owner"},
    )

    assert reply.status_code == 200, reply.json
    assert reply.json["revoked"] == 1
    shown = reply.get_data(as_text=True)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    with app.app_context():
        notices = db.session.execute(
            select(Notice.title, Notice.body).where(Notice.recipient_id == resident.id)
        ).all()
        db.session.remove()
    assert notices
    for secret in ("欧阳娜娜", "司马相如", "4321", "8765", "1203"):
        if secret != "1203":  # staff see the room number (the roster's address)
            assert secret not in shown, secret
        assert secret not in logged, secret
        assert all(secret not in f"{t}{b}" for t, b in notices), (secret, notices)


def test_a_refused_owner_change_echoes_no_name_or_digits(app, client, make, caplog):
    estate = make.estate()
    household = make.household(estate, room="101", name="欧阳娜娜", phone="4321")
    clerk = make.staff("committee", estate.community_id)
    caplog.set_level(logging.DEBUG)
    for body in (
        {"owner_name": "司马相如", "owner_phone_last4": "8765"},
        {"owner_name": "司马相如", "owner_phone_last4": "87x5", "owner_change": "correction"},
        {"owner_name": "司马相如", "owner_change": "sold"},
    ):
        reply = _patch(client, household.id, make.headers(clerk), body)
        assert reply.status_code == 422, reply.json
        shown = reply.get_data(as_text=True)
        logged = "\n".join(r.getMessage() for r in caplog.records)
        for secret in ("欧阳娜娜", "司马相如", "4321", "8765", "87x5"):
            assert secret not in shown and secret not in logged, (secret, body)
