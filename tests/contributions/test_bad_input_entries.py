"""Bad input to the money endpoints (issue 15): malformed JSON, wrong types, huge numbers,
unknown fields and ids, someone else's ids, a wrong state: each a clear 4xx in the error shape,
never a 500, and nothing written."""

from __future__ import annotations

import pytest

from tests.contributions.money_world import (
    entry_body,
    funding_line,
    make_scheme,
    post_entry,
    tomorrow,
)
from tests.support.voting_world import assert_error_shape, build_world, snapshot


@pytest.fixture(scope="module")
def world(app, module_make):
    w = build_world(app, module_make)
    w.scheme = make_scheme(app, w, decided=True, adopt=True)
    w.line = funding_line(app, w.project_id)
    return w


BAD_ENTRIES = [
    ({"amount_fen": "100"}, 422, None),
    ({"amount_fen": 100.5}, 422, None),
    ({"amount_fen": 1.0}, 422, None),
    ({"amount_fen": True}, 422, None),
    ({"amount_fen": 10**20}, 422, None),
    ({"amount_fen": 10_000_000_001}, 422, None),
    ({"amount_fen": 0}, 422, None),
    ({"amount_fen": -100}, 422, None),  # a payment is positive
    ({"kind": "refund", "amount_fen": 100}, 422, None),  # a refund is negative
    ({"kind": "correction", "amount_fen": 0}, 422, None),
    ({"kind": "gift"}, 422, None),
    ({"channel": "wechat_pay"}, 422, None),
    ({"paid_on": "2026-13-01"}, 422, None),
    ({"paid_on": "0001-01-01"}, 422, None),
    ({"paid_on": "tomorrow"}, 422, "paid_on_in_future"),
    ({"household_id": 0}, 422, None),
    ({"household_id": "1"}, 422, None),
    ({"household_id": 2**31}, 422, None),
    ({"household_id": 987_654}, 404, "household_not_found"),
    ({"idempotency_key": "short"}, 422, None),
    ({"idempotency_key": "has space in it"}, 422, None),
    ({"idempotency_key": "k" * 65}, 422, None),
    ({"receipt_no": "x" * 41}, 422, None),
    ({"receipt_no": "a\x00b"}, 422, None),
    ({"note": "n" * 201}, 422, None),
    ({"colour": "red"}, 422, None),
    ({"photo_id": "someone_elses"}, 422, "upload_invalid"),
    ({"photo_id": 987_654}, 422, "upload_invalid"),
    ({"corrects_id": 987_654}, 422, "corrects_id_unexpected"),
    ({"kind": "correction", "amount_fen": 5, "corrects_id": 987_654}, 422, None),
]


@pytest.mark.parametrize(("change", "status", "code"), BAD_ENTRIES, ids=repr)
def test_a_bad_entry_is_refused_and_nothing_written(app, client, world, change, status, code):
    body = entry_body(world.scene.household_ids[0])
    body.update(change)
    if body.get("paid_on") == "tomorrow":
        body["paid_on"] = tomorrow()
    if body.get("photo_id") == "someone_elses":
        body["photo_id"] = world.uploads["owner"]  # the owner's upload, not the clerk's
    before = snapshot(app)
    reply = post_entry(client, world.headers["clerk"], world.scheme, body)
    error = assert_error_shape(reply, status, code)
    if status == 422 and code is None:
        assert error["code"] in ("invalid", "corrected_entry_invalid"), error
    assert snapshot(app) == before


def test_a_missing_field_is_named(app, client, world):
    before = snapshot(app)
    for field in ("household_id", "kind", "amount_fen", "paid_on", "channel", "idempotency_key"):
        body = entry_body(world.scene.household_ids[0])
        del body[field]
        error = assert_error_shape(
            post_entry(client, world.headers["clerk"], world.scheme, body), 422
        )
        assert field in error["details"]["fields"], error
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b"null", b'"payment"', b"\xff\xfe"],
    ids=["truncated", "a list", "null", "a string", "not utf-8"],
)
def test_malformed_bodies_are_refused(app, client, world, raw):
    before = snapshot(app)
    for path in (
        f"/api/v1/contribution-schemes/{world.scheme}/entries",
        f"/api/v1/projects/{world.project_id}/expenses",
    ):
        headers = world.headers["clerk" if "entries" in path else "owner"]
        reply = client.post(path, data=raw, headers={**headers, "Content-Type": "application/json"})
        assert reply.status_code in (400, 422), (path, reply.get_json())
        assert_error_shape(reply)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "query",
    ["page=0", "per_page=101", "page=abc", "household_id=abc", "household_id=0", "page=10000000"],
)
def test_bad_queries_are_refused(client, world, query):
    for path in (
        f"/api/v1/contribution-schemes/{world.scheme}/entries",
        f"/api/v1/projects/{world.project_id}/expenses",
    ):
        if "household_id" in query and "expenses" in path:
            continue
        reply = client.get(f"{path}?{query}", headers=world.headers["county_officer"])
        assert_error_shape(reply, 422)


def test_unknown_schemes_and_projects_are_404(app, client, world):
    before = snapshot(app)
    clerk, owner = world.headers["clerk"], world.headers["owner"]
    body = entry_body(world.scene.household_ids[0])
    assert_error_shape(post_entry(client, clerk, 987_654, body), 404, "scheme_not_found")
    assert_error_shape(
        client.get("/api/v1/contribution-schemes/987654/entries", headers=clerk),
        404,
        "scheme_not_found",
    )
    for method in ("GET", "POST"):
        reply = client.open(
            "/api/v1/projects/987654/expenses",
            method=method,
            headers=owner,
            json={
                "funding_line_id": world.line,
                "amount_fen": 1,
                "spent_on": "2026-01-01",
                "description": "x",
                "idempotency_key": "unknown-project-1",
            },
        )
        assert_error_shape(reply, 404, "project_not_found")
    assert_error_shape(
        client.get("/api/v1/projects/987654/spending", headers=owner), 404, "project_not_found"
    )
    assert snapshot(app) == before
