"""Who may record and read money (issue 15): the permission matrix of every endpoint of the
`payments` blueprint, for a caller of every kind of the voting world (tests/support/
voting_world.py). Entries are recorded at the desk of the household's community (its committee,
its county, the prefecture; never the project's owner); expenses by the project's managers
(owner, county, prefecture); spending is publicity (residents of the estates read it). Refused
calls write nothing, and a caller who may not see the project cannot tell it exists."""

from __future__ import annotations

import pytest

from tests.contributions.money_world import (
    entry_body,
    funding_line,
    make_scheme,
    new_key,
)
from tests.support.voting_world import ACTORS, assert_error_shape, build_world, snapshot

OK = {"POST": 201, "GET": 200}
UNSEEN = {
    "resident_other_estate",
    "resident_unverified",
    "clerk_other_community",
    "owner_other_project",
}
RESIDENTS = {"resident_member", "resident_other_estate", "resident_unverified"}


@pytest.fixture(scope="module")
def world(app, module_make):
    w = build_world(app, module_make)
    w.scheme = make_scheme(app, w, decided=True, adopt=True)
    w.line = funding_line(app, w.project_id)
    return w


def _entry(w):
    return entry_body(w.scene.household_ids[0])


def _expense(w):
    return {
        "funding_line_id": w.line,
        "amount_fen": 30_000,
        "spent_on": "2026-01-05",
        "description": "材料款",
        "idempotency_key": new_key(),
    }


# endpoint → (method, path, body maker, who may call it, the refusal of those who see the
# project but may not call it, the refusal of those who may not see it)
ENDPOINTS = {
    "record entry": (
        "POST",
        "/api/v1/contribution-schemes/{scheme}/entries",
        _entry,
        {"clerk", "county_officer", "prefecture"},
        (403, "out_of_scope"),
        (404, "scheme_not_found"),
    ),
    "list entries": (
        "GET",
        "/api/v1/contribution-schemes/{scheme}/entries?household_id={household}",
        None,
        {"clerk", "owner", "county_officer", "prefecture", "resident_member"},
        None,
        (404, "scheme_not_found"),
    ),
    "record expense": (
        "POST",
        "/api/v1/projects/{project}/expenses",
        _expense,
        {"owner", "county_officer", "prefecture"},
        (403, "out_of_scope"),
        (404, "project_not_found"),
    ),
    "list expenses": (
        "GET",
        "/api/v1/projects/{project}/expenses",
        None,
        {"clerk", "owner", "county_officer", "prefecture"},
        None,
        (404, "project_not_found"),
    ),
    "spending": (
        "GET",
        "/api/v1/projects/{project}/spending",
        None,
        {"clerk", "owner", "county_officer", "prefecture", "resident_member"},
        None,
        (404, "project_not_found"),
    ),
}
STAFF_ONLY = {"record entry", "record expense", "list expenses"}


def _expected(name: str, actor: str):
    method, _, _, allowed, seen_refusal, unseen_refusal = ENDPOINTS[name]
    if actor == "anonymous":
        return 401, None
    if actor in allowed:
        return OK[method], None
    if actor in RESIDENTS and name in STAFF_ONLY:
        return 403, "staff_only"
    if actor in UNSEEN:
        return unseen_refusal
    return seen_refusal


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_the_matrix(app, client, world, name, actor):
    method, path, body, *_ = ENDPOINTS[name]
    url = path.format(
        scheme=world.scheme, project=world.project_id, household=world.scene.household_ids[0]
    )
    before = snapshot(app) if method == "POST" else None
    kwargs = {"headers": world.headers[actor]}
    if body is not None:
        kwargs["json"] = body(world)
    reply = client.open(url, method=method, **kwargs)

    status, code = _expected(name, actor)
    if status in (200, 201):
        assert reply.status_code == status, reply.get_json()
        assert all(not isinstance(v, float) for v in (reply.get_json() or {}).values())
        return
    assert_error_shape(reply, status, code)
    if before is not None:
        assert snapshot(app) == before, "a refused call wrote something"


def test_an_id_out_of_sight_answers_as_a_missing_one(app, client, world):
    """A scheme of a project the caller cannot see answers exactly as a scheme that does not
    exist."""
    for actor in UNSEEN:
        headers = world.headers[actor]
        for path in (
            f"/api/v1/contribution-schemes/{{}}/entries?household_id={world.scene.household_ids[0]}",
        ):
            seen = client.get(path.format(world.scheme), headers=headers)
            missing = client.get(path.format(987_654), headers=headers)
            assert (seen.status_code, seen.get_json()) == (
                missing.status_code,
                missing.get_json(),
            ), actor


def test_a_member_reads_only_their_own_households_entries(app, client, world):
    base = f"/api/v1/contribution-schemes/{world.scheme}/entries"
    member = world.headers["resident_member"]
    assert_error_shape(client.get(base, headers=member), 422, "household_id_required")
    other = world.scene.household_ids[1]
    for household in (other, 987_654):
        assert_error_shape(
            client.get(f"{base}?household_id={household}", headers=member),
            403,
            "not_household_member",
        )


def test_a_clerk_records_only_for_their_own_communitys_households(app, client, world):
    """A household of another community (named by id in the body) is not the scheme's: 404,
    nothing written, whoever asks."""
    before = snapshot(app)
    body = entry_body(world.other_household_id)
    reply = client.post(
        f"/api/v1/contribution-schemes/{world.scheme}/entries",
        json=body,
        headers=world.headers["clerk"],
    )
    assert_error_shape(reply, 404, "household_not_found")
    assert snapshot(app) == before
