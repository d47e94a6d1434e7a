"""My receipt (issue 12, screen 5): a resident looks up the household's receipt code in the
published turnout, `GET /consultations/{id}/turnout?receipt=…`, to check the ballot was counted.

With `receipt` the reply holds only that receipt's row (or none, `total` 0); the counts, the
masking and the days stay as in the whole list; a text that is not a receipt code is 422; who
may read it is who may read the turnout.
"""

from __future__ import annotations

import pytest

from tests.support.voting_world import (
    ACTORS,
    World,
    assert_error_shape,
    build_world,
    consultation_in,
    create_consultation,
    diff,
    open_,
    put_ballot,
    snapshot,
)

ROW_KEYS = {"receipt", "household", "channel", "channel_label", "delegated", "voted_on"}


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world (tests/support/voting_world.py), built once; each test rolls back."""
    return build_world(app, module_make)


def _turnout(client, cid: int, headers, **query):
    return client.get(f"/api/v1/consultations/{cid}/turnout", query_string=query, headers=headers)


def _my_receipt(client, w: World, cid: int) -> str:
    reply = client.get(f"/api/v1/consultations/{cid}/ballot", headers=w.members[0])
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["receipt"]


def test_a_resident_finds_the_households_row_by_its_receipt(app, client, world):
    w = world
    cid = consultation_in(app, client, w, "voted")  # households 0, 1 online, 2 on paper
    receipt = _my_receipt(client, w, cid)
    whole = _turnout(client, cid, w.members[0]).get_json()
    expected = next(row for row in whole["items"] if row["receipt"] == receipt)

    for typed in (receipt, receipt.lower(), f"  {receipt} "):
        reply = _turnout(client, cid, w.members[0], receipt=typed)
        assert reply.status_code == 200, reply.get_json()
        body = reply.get_json()
        assert body["items"] == [expected]
        assert set(body["items"][0]) == ROW_KEYS
        assert "*" in body["items"][0]["household"]  # masked, as in the whole list
        assert body["total"] == 1
        # The counts of the consultation stay those of the whole turnout.
        assert (body["voted"], body["eligible"]) == (whole["voted"], whole["eligible"]) == (3, 4)
        assert body["consultation_id"] == cid


def test_a_receipt_not_in_the_turnout_finds_no_row(app, client, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    receipts = {row["receipt"] for row in _turnout(client, cid, w.members[0]).get_json()["items"]}
    unknown = next(
        code for code in ("0000000000", "ZZZZZZZZZZ", "ABCDEFGHJK") if code not in receipts
    )
    reply = _turnout(client, cid, w.members[0], receipt=unknown)
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["items"] == [] and body["total"] == 0 and body["voted"] == 3


def test_a_receipt_of_another_consultation_is_not_found(app, client, world):
    w = world
    first = consultation_in(app, client, w, "voted")
    receipt = _my_receipt(client, w, first)
    second = create_consultation(client, w, kind="needs_survey", plan_id=None)
    open_(client, w, second)
    reply = put_ballot(client, w.members[0], second, items=["lighting"])
    assert reply.status_code == 200, reply.get_json()
    # Household 0's ballot in the second consultation has a receipt of its own.
    assert _my_receipt(client, w, second) != receipt
    # The receipt is found in its own consultation, not in the other one.
    assert _turnout(client, first, w.members[0], receipt=receipt).get_json()["total"] == 1
    other = _turnout(client, second, w.members[0], receipt=receipt).get_json()
    assert other["items"] == [] and other["total"] == 0 and other["voted"] == 1


@pytest.mark.parametrize(
    "bad",
    [
        "",  # empty
        "ABC",  # too short
        "0123456789A",  # too long
        "ABCDEFGHIJ",  # I is not in Crockford's alphabet
        "LLLLLLLLLL",  # nor L
        "OOOOOOOOOO",  # nor O
        "UUUUUUUUUU",  # nor U
        "12345-6789",  # punctuation
        "１２３４５６７８９０",  # full-width digits
        "\x00" * 10,
    ],
)
def test_a_malformed_receipt_is_422_and_writes_nothing(app, client, world, bad):
    w = world
    cid = consultation_in(app, client, w, "voted")
    before = snapshot(app)
    reply = _turnout(client, cid, w.members[0], receipt=bad)
    error = assert_error_shape(reply, 422)
    assert "receipt" in error["details"]["fields"], error
    assert diff(before, snapshot(app)) == {}


def test_a_malformed_receipt_on_an_unknown_consultation_is_still_refused(app, client, world):
    w = world
    reply = _turnout(client, 2**31 - 1, w.members[0], receipt="0000000000")
    assert_error_shape(reply, 404)


def test_who_may_look_up_a_receipt_is_who_may_read_the_turnout(app, client, world):
    w = world
    cid = consultation_in(app, client, w, "voted")
    receipt = _my_receipt(client, w, cid)
    answers = {}
    for actor in ACTORS:
        whole = _turnout(client, cid, w.headers[actor])
        one = _turnout(client, cid, w.headers[actor], receipt=receipt)
        assert one.status_code == whole.status_code, actor
        if one.status_code == 200:
            assert one.get_json()["items"][0]["receipt"] == receipt, actor
        else:
            assert_error_shape(one, whole.status_code)
            assert one.get_json()["error"]["code"] == whole.get_json()["error"]["code"], actor
            assert receipt not in one.get_data(as_text=True)
        answers[actor] = one.status_code
    assert answers == {
        "anonymous": 401,
        "resident_other_estate": 404,
        "resident_unverified": 404,
        "clerk_other_community": 404,
        "owner_other_project": 404,
        "resident_member": 200,
        "clerk": 200,
        "owner": 200,
        "county_officer": 200,
        "prefecture": 200,
    }


def test_the_openapi_document_describes_the_receipt_parameter(client):
    spec = client.get("/api/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/consultations/{consultation_id}/turnout"]["get"]
    receipt = next(p for p in operation["parameters"] if p["name"] == "receipt")
    assert receipt["in"] == "query" and receipt["required"] is False
    assert receipt["schema"]["pattern"] == "^[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{10}$"
    assert "422" in operation["responses"]
