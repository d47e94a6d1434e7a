"""A project's spending from its funding lines (issue 15, item 3): the managers record
expenses, corrections are new (negative) expenses naming the one corrected, the same key is
one expense, and the spending against each line adds up to the fen for staff and residents."""

from __future__ import annotations

import pytest

from api.core import db
from participation.models import ProjectExpense
from participation.spending import spending
from tests.contributions.money_world import funding_line, new_key, tomorrow
from tests.support.voting_world import assert_error_shape, build_world, snapshot


@pytest.fixture(scope="module")
def world(app, module_make):
    w = build_world(app, module_make)
    w.government = funding_line(app, w.project_id, "government", "10000.00")
    w.residents = funding_line(app, w.project_id, "residents", "2500.55")
    w.elsewhere = funding_line(app, w.other_project_id, "government", "10.00")
    return w


def _post(client, w, actor="owner", **body):
    payload = {
        "funding_line_id": w.government,
        "amount_fen": 100_000,
        "spent_on": "2026-01-05",
        "description": "外墙保温材料款",
        "idempotency_key": new_key(),
        **body,
    }
    return client.post(
        f"/api/v1/projects/{w.project_id}/expenses", json=payload, headers=w.headers[actor]
    )


def _spending(client, w, actor="owner"):
    reply = client.get(f"/api/v1/projects/{w.project_id}/spending", headers=w.headers[actor])
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_spending_adds_up_per_line_and_in_total(app, client, world):
    first = _post(client, world, amount_fen=100_000)
    assert first.status_code == 201, first.get_json()
    assert _post(client, world, "county_officer", amount_fen=33_333).status_code == 201
    assert _post(client, world, funding_line_id=world.residents, amount_fen=5).status_code == 201
    fix = _post(client, world, amount_fen=-1, corrects_id=first.get_json()["id"])
    assert fix.status_code == 201, fix.get_json()
    assert fix.get_json()["corrects_id"] == first.get_json()["id"]

    shown = _spending(client, world, "resident_member")  # publicity: residents read it
    lines = {line["funding_line_id"]: line for line in shown["lines"]}
    government, residents = lines[world.government], lines[world.residents]
    assert (government["amount_fen"], government["spent_fen"]) == (1_000_000, 133_332)
    assert government["remaining_fen"] == 866_668 and government["expenses"] == 3
    assert government["source_label"] == "政府补助"
    assert (residents["amount_fen"], residents["spent_fen"]) == (250_055, 5)
    assert shown["totals"] == {
        "amount_fen": 1_250_055,
        "spent_fen": 133_337,
        "remaining_fen": 1_116_718,
        "expenses": 4,
    }
    with app.app_context():
        assert spending(world.project_id)["totals"]["spent_fen"] == 133_337
        assert db.session.get(ProjectExpense, first.get_json()["id"]).amount_fen == 100_000
    listed = client.get(
        f"/api/v1/projects/{world.project_id}/expenses", headers=world.headers["clerk"]
    ).get_json()
    assert listed["total"] == 4


def test_the_same_key_is_one_expense(app, client, world):
    key = new_key()
    first = _post(client, world, idempotency_key=key)
    again = _post(client, world, "prefecture", idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    before = snapshot(app)
    other = _post(client, world, idempotency_key=key, amount_fen=100_001)
    assert_error_shape(other, 409, "idempotency_key_reused")
    assert snapshot(app) == before


def test_a_correction_cannot_take_an_expense_below_zero(app, client, world):
    first = _post(client, world, amount_fen=500).get_json()["id"]
    assert _post(client, world, amount_fen=-200, corrects_id=first).status_code == 201
    before = snapshot(app)
    error = assert_error_shape(
        _post(client, world, amount_fen=-301, corrects_id=first), 409, "balance_negative"
    )
    assert error["details"]["standing_fen"] == 300
    assert snapshot(app) == before
    assert _post(client, world, amount_fen=-300, corrects_id=first).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"funding_line_id": "elsewhere"}, 422, "funding_line_invalid"),
        ({"funding_line_id": 987_654}, 422, "funding_line_invalid"),
        ({"amount_fen": -5}, 422, None),  # negative without corrects_id
        ({"amount_fen": 0}, 422, None),
        ({"spent_on": "tomorrow"}, 422, "spent_on_in_future"),
        ({"corrects_id": 987_654, "amount_fen": -5}, 422, "corrected_expense_invalid"),
        ({"corrects_id": "other_line", "amount_fen": -5}, 422, "corrected_expense_invalid"),
        ({"voucher_id": "someone_elses"}, 422, "upload_invalid"),
        ({"voucher_id": 987_654}, 422, "upload_invalid"),
    ],
)
def test_bad_expenses_are_refused_and_nothing_written(app, client, world, body, status, code):
    body = dict(body)
    if body.get("funding_line_id") == "elsewhere":
        body["funding_line_id"] = world.elsewhere
    if body.get("spent_on") == "tomorrow":
        body["spent_on"] = tomorrow()
    if body.get("corrects_id") == "other_line":
        other = _post(client, world, funding_line_id=world.residents, amount_fen=10)
        body["corrects_id"] = other.get_json()["id"]
    if body.get("voucher_id") == "someone_elses":
        body["voucher_id"] = world.uploads["clerk"]  # the clerk's, not the owner's
    before = snapshot(app)
    assert_error_shape(_post(client, world, **body), status, code)
    assert snapshot(app) == before


def test_a_voucher_of_the_recorder_is_kept(app, client, world):
    reply = _post(client, world, voucher_id=world.uploads["owner"])
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["voucher_id"] == world.uploads["owner"]
