"""Residents' reasons heard (issue 10, item 9; loophole 8: opinions and comments stored but never
shown, and no way to answer them).

After the close (and live for staff once RESULTS_MIN_BALLOTS households voted), per plan item:
the households supporting, opposing and neutral, the comments given, and the ballots' own
comments, with no household identity; the committee of the project's communities and the
project's owner reply, marked official with their role and never their name.

This module is the permission matrix of the `opinions` blueprint (tests/voting/
test_permissions.py leaves it here): `test_the_matrix_lists_every_opinions_endpoint`.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from api.core import db
from participation.models import PlanItem
from tests.support.voting_helpers import backdate_opening, run_jobs
from tests.support.voting_world import (
    ACTORS,
    World,
    assert_error_shape,
    build_world,
    close,
    create_consultation,
    diff,
    open_,
    put_ballot,
    snapshot,
)
from voting.models import Ballot, OpinionReply
from voting.queries.opinions import comment_token

STAFF = ("clerk", "owner", "county_officer", "prefecture")
# Nothing that names, addresses or traces a household may appear in these replies.
IDENTITY_KEYS = {
    "household_id",
    "household",
    "receipt",
    "resident_id",
    "ballot_id",
    "address",
    "voted_at",
    "updated_at",
    "staff_id",
    "staff",
    "display_name",
    "name",
}


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world, its plan with a second item (two items to give opinions on)."""
    w = build_world(app, module_make)
    with app.app_context():
        db.session.add(
            PlanItem(
                plan_id=w.scene.plan_id,
                position=2,
                category="parking",
                description="停车位",
                estimated_cost=2000,
            )
        )
        db.session.commit()
        w.items = list(
            db.session.scalars(
                select(PlanItem.id)
                .where(PlanItem.plan_id == w.scene.plan_id)
                .order_by(PlanItem.position)
            )
        )
    return w


def vote_with_reasons(app, client, w: World, *, closed: bool = True) -> int:
    """A plan satisfaction consultation: household 0 satisfied with a comment, supporting item 1
    (with a comment) and opposing item 2 (with a comment); household 1 unsatisfied, neutral on
    item 1 and opposing item 2 (with a comment); household 2 abstains, saying nothing.
    Closed after the minimum voting period unless `closed` is false."""
    lighting, parking = (str(i) for i in w.items)
    cid = create_consultation(client, w)
    open_(client, w, cid)
    ballots = [
        {
            "choice": "satisfied",
            "comment": "整体方案不错",
            "item_opinions": {
                lighting: {"opinion": "support", "comment": "路灯很需要"},
                parking: {"opinion": "oppose", "comment": "停车位太少"},
            },
        },
        {
            "choice": "unsatisfied",
            "item_opinions": {
                lighting: {"opinion": "neutral"},
                parking: {"opinion": "oppose", "comment": "费用太高"},
            },
        },
        {"choice": "abstain"},
    ]
    for i, body in enumerate(ballots):
        reply = put_ballot(client, w.members[i], cid, **body)
        assert reply.status_code == 200, reply.get_json()
    if closed:
        backdate_opening(app, cid)
        close(client, w, cid)
    run_jobs(app)
    return cid


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value).union(*(_keys(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_keys(v) for v in value)) if value else set()
    return set()


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def receipts(client, w: World, cid: int) -> set[str]:
    return {
        client.get(f"/api/v1/consultations/{cid}/ballot", headers=w.members[i]).get_json()[
            "receipt"
        ]
        for i in range(3)
    }


def assert_anonymous(reply_json, w: World, cid: int, client) -> None:
    leaked = _keys(reply_json) & IDENTITY_KEYS
    assert not leaked, f"household identity shown: {leaked}"
    assert not (_strings(reply_json) & receipts(client, w, cid)), "a receipt is shown"
    assert not any("1单元" in s or "栋" in s for s in _strings(reply_json)), "an address"


def get_ok(client, url, headers) -> dict:
    reply = client.get(url, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


# --- what is shown --------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ["resident_member", *STAFF])
def test_loophole_8_opinions_per_plan_item_are_shown_after_the_close(app, client, world, actor):
    w = world
    cid = vote_with_reasons(app, client, w)
    opinions = get_ok(client, f"/api/v1/consultations/{cid}/opinions", w.headers[actor])
    assert opinions["final"] is True and opinions["voted"] == 3 and opinions["eligible"] == 4
    assert opinions["ballot_comments"] == 1
    lighting, parking = opinions["items"]
    assert lighting["plan_item_id"] == w.items[0] and parking["plan_item_id"] == w.items[1]
    assert (lighting["support"], lighting["oppose"], lighting["neutral"]) == (1, 0, 1)
    assert lighting["comments"] == 1
    assert (parking["support"], parking["oppose"], parking["neutral"]) == (0, 2, 0)
    assert parking["comments"] == 2
    assert parking["description"] == "停车位"
    assert_anonymous(opinions, w, cid, client)


@pytest.mark.parametrize("actor", ["resident_member", *STAFF])
def test_loophole_8_comments_are_shown_after_the_close_without_household_identity(
    app, client, world, actor
):
    w = world
    cid = vote_with_reasons(app, client, w)
    page = get_ok(client, f"/api/v1/consultations/{cid}/comments", w.headers[actor])
    assert page["total"] == 4
    shown = {(c["plan_item_id"], c["opinion"], c["body"]) for c in page["items"]}
    assert shown == {
        (None, None, "整体方案不错"),
        (w.items[0], "support", "路灯很需要"),
        (w.items[1], "oppose", "停车位太少"),
        (w.items[1], "oppose", "费用太高"),
    }
    for comment in page["items"]:
        keys = {"id", "plan_item_id", "opinion", "opinion_label", "body", "replies"}
        assert set(comment) == keys, comment
        assert re.fullmatch(r"[0-9a-f]{20}", comment["id"]), comment
    assert_anonymous(page, w, cid, client)
    with app.app_context():
        ballot_ids = {str(b) for b in db.session.scalars(select(Ballot.id))}
    assert not ({c["id"] for c in page["items"]} & ballot_ids)


def test_comments_filter_by_plan_item_and_page(app, client, world):
    w = world
    cid = vote_with_reasons(app, client, w)
    headers = w.headers["resident_member"]
    parking = get_ok(
        client, f"/api/v1/consultations/{cid}/comments?plan_item_id={w.items[1]}", headers
    )
    assert parking["total"] == 2
    assert {c["body"] for c in parking["items"]} == {"停车位太少", "费用太高"}
    first = get_ok(client, f"/api/v1/consultations/{cid}/comments?per_page=3", headers)
    second = get_ok(client, f"/api/v1/consultations/{cid}/comments?per_page=3&page=2", headers)
    assert len(first["items"]) == 3 and len(second["items"]) == 1
    assert first["total"] == second["total"] == 4
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(set(ids)) == 4 and ids == sorted(ids)  # a stable order that tells nothing
    none = get_ok(client, f"/api/v1/consultations/{cid}/comments?plan_item_id=999999", headers)
    assert none["total"] == 0 and none["items"] == []
    bad = client.get(f"/api/v1/consultations/{cid}/comments?plan_item_id=abc", headers=headers)
    assert_error_shape(bad, 422)


def test_residents_read_reasons_only_after_the_close(app, client, world):
    w = world
    cid = vote_with_reasons(app, client, w, closed=False)
    for path in ("opinions", "comments"):
        reply = client.get(
            f"/api/v1/consultations/{cid}/{path}", headers=w.headers["resident_member"]
        )
        assert_error_shape(reply, 403, "results_not_published")


@pytest.mark.parametrize("actor", STAFF)
def test_staff_read_reasons_live_only_from_the_minimum_of_ballots(
    app, client, world, monkeypatch, actor
):
    w = world
    cid = vote_with_reasons(app, client, w, closed=False)
    for path in ("opinions", "comments"):
        reply = client.get(f"/api/v1/consultations/{cid}/{path}", headers=w.headers[actor])
        error = assert_error_shape(reply, 403, "too_few_ballots")
        assert error["details"] == {"voted": 3, "min_ballots": 10}
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 3)
    opinions = get_ok(client, f"/api/v1/consultations/{cid}/opinions", w.headers[actor])
    assert opinions["final"] is False and opinions["items"][1]["oppose"] == 2
    page = get_ok(client, f"/api/v1/consultations/{cid}/comments", w.headers[actor])
    assert page["total"] == 4


def test_other_kinds_have_ballot_comments_and_no_items(app, client, world, monkeypatch):
    w = world
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 1)
    cid = create_consultation(client, w, kind="needs_survey", plan_id=None)
    open_(client, w, cid)
    reply = put_ballot(client, w.members[0], cid, items=["lighting"], comment="希望加装电梯")
    assert reply.status_code == 200, reply.get_json()
    opinions = get_ok(client, f"/api/v1/consultations/{cid}/opinions", w.headers["clerk"])
    assert opinions["items"] == [] and opinions["ballot_comments"] == 1
    page = get_ok(client, f"/api/v1/consultations/{cid}/comments", w.headers["clerk"])
    assert [(c["plan_item_id"], c["body"]) for c in page["items"]] == [(None, "希望加装电梯")]


# --- official replies ------------------------------------------------------------------------


def comment_of(client, w: World, cid: int, body: str) -> dict:
    page = get_ok(client, f"/api/v1/consultations/{cid}/comments", w.headers["clerk"])
    return next(c for c in page["items"] if c["body"] == body)


def reply_to(client, w: World, cid: int, comment_id: str, actor: str, **kwargs):
    if "data" not in kwargs:
        kwargs.setdefault("json", {"body": "感谢您的意见，我们将增加停车位。"})
    return client.post(
        f"/api/v1/consultations/{cid}/comments/{comment_id}/replies",
        headers=w.headers[actor],
        **kwargs,
    )


@pytest.mark.parametrize(
    ("actor", "role", "label"),
    [("clerk", "committee", "社区居委会"), ("owner", "owner", "建设单位")],
)
def test_loophole_8_committee_and_owner_reply_officially(app, client, world, actor, role, label):
    w = world
    cid = vote_with_reasons(app, client, w)
    comment = comment_of(client, w, cid, "停车位太少")
    reply = reply_to(client, w, cid, comment["id"], actor)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["official"] is True and body["role"] == role and body["role_label"] == label
    assert body["in_reply_to"] == "停车位太少"
    assert not (_keys(body) & IDENTITY_KEYS), body

    # Residents see it under the comment, marked official, with the role, without the name.
    page = get_ok(client, f"/api/v1/consultations/{cid}/comments", w.headers["resident_member"])
    shown = next(c for c in page["items"] if c["id"] == comment["id"])
    assert [(r["body"], r["official"], r["role_label"]) for r in shown["replies"]] == [
        ("感谢您的意见，我们将增加停车位。", True, label)
    ]
    others = [c for c in page["items"] if c["id"] != comment["id"]]
    assert all(c["replies"] == [] for c in others)
    with app.app_context():
        row = db.session.scalars(select(OpinionReply)).one()
        assert (row.role, row.comment_text, row.plan_item_id) == (role, "停车位太少", w.items[1])
        assert row.staff_id == w.callers[actor].id


def test_a_reply_to_the_ballots_own_comment(app, client, world):
    w = world
    cid = vote_with_reasons(app, client, w)
    comment = comment_of(client, w, cid, "整体方案不错")
    assert reply_to(client, w, cid, comment["id"], "clerk").status_code == 201
    shown = comment_of(client, w, cid, "整体方案不错")
    assert len(shown["replies"]) == 1 and shown["plan_item_id"] is None


REPLY_REFUSED = {
    "anonymous": (401, "unauthorized"),
    "resident_member": (403, "staff_only"),
    "resident_other_estate": (403, "staff_only"),
    "resident_unverified": (403, "staff_only"),
    "clerk_other_community": (404, "consultation_not_found"),
    "owner_other_project": (404, "consultation_not_found"),
    "county_officer": (403, "out_of_scope"),
    "prefecture": (403, "out_of_scope"),
}


@pytest.mark.parametrize("actor", sorted(REPLY_REFUSED))
def test_replies_are_refused_to_everyone_else_and_write_nothing(app, client, world, actor):
    w = world
    cid = vote_with_reasons(app, client, w)
    comment = comment_of(client, w, cid, "费用太高")
    before = snapshot(app)
    status, code = REPLY_REFUSED[actor]
    assert_error_shape(reply_to(client, w, cid, comment["id"], actor), status, code)
    after = snapshot(app)
    assert after == before, f"a refused reply wrote: {diff(before, after)}"


def test_staff_cannot_reply_to_comments_they_may_not_read_yet(app, client, world):
    w = world
    cid = vote_with_reasons(app, client, w, closed=False)
    with app.app_context():
        ballot = db.session.scalars(
            select(Ballot).where(Ballot.household_id == w.scene.household_ids[1])
        ).one()
        token = comment_token(cid, ballot.id, w.items[1])
    before = snapshot(app)
    assert_error_shape(reply_to(client, w, cid, token, "clerk"), 403, "too_few_ballots")
    assert snapshot(app) == before


def _other_consultation_comment(app, client, w: World) -> str:
    """The id of a comment on another consultation of the project (a needs survey)."""
    other = create_consultation(client, w, kind="needs_survey", plan_id=None)
    open_(client, w, other)
    reply = put_ballot(client, w.members[0], other, items=["lighting"], comment="别的征询")
    assert reply.status_code == 200, reply.get_json()
    with app.app_context():
        ballot = db.session.scalars(select(Ballot).where(Ballot.consultation_id == other)).one()
        return comment_token(other, ballot.id, None)


BAD_REPLIES = [
    ("unknown comment", lambda c: {"comment_id": "0" * 20}, 404, "comment_not_found"),
    ("not a token", lambda c: {"comment_id": "12-3"}, 404, "comment_not_found"),
    ("another consultation's", lambda c: {"comment_id": c.other}, 404, "comment_not_found"),
    ("empty body", lambda c: {"json": {"body": ""}}, 422, None),
    ("blank body", lambda c: {"json": {"body": "   "}}, 422, None),
    ("huge body", lambda c: {"json": {"body": "长" * 1001}}, 422, None),
    ("no body", lambda c: {"json": {}}, 422, None),
    ("body not text", lambda c: {"json": {"body": 5}}, 422, None),
    ("unknown field", lambda c: {"json": {"body": "好", "staff_id": 1}}, 422, None),
    (
        "malformed JSON",
        lambda c: {"data": "{body:", "content_type": "application/json"},
        400,
        None,
    ),
]


@pytest.mark.parametrize(
    ("case", "make_request", "status", "code"),
    BAD_REPLIES,
    ids=lambda x: x if isinstance(x, str) else "",
)
def test_bad_replies_get_a_clear_error_and_write_nothing(
    app, client, world, case, make_request, status, code
):
    w = world
    cid = vote_with_reasons(app, client, w)
    ctx = SimpleNamespace(other=_other_consultation_comment(app, client, w))
    request = {"comment_id": comment_of(client, w, cid, "费用太高")["id"], **make_request(ctx)}
    comment_id = request.pop("comment_id")
    before = snapshot(app)
    reply = reply_to(client, w, cid, comment_id, "clerk", **request)
    assert_error_shape(reply, status, code)
    after = snapshot(app)
    assert after == before, f"{case} wrote: {diff(before, after)}"


def test_the_longest_reply_is_taken(app, client, world):
    w = world
    cid = vote_with_reasons(app, client, w)
    comment = comment_of(client, w, cid, "费用太高")
    reply = reply_to(client, w, cid, comment["id"], "owner", json={"body": "答" * 1000})
    assert reply.status_code == 201 and len(reply.get_json()["body"]) == 1000


def test_unknown_consultation_is_not_found(app, client, world):
    w = world
    for path in ("opinions", "comments", f"comments/{'0' * 20}/replies"):
        method = "POST" if path.endswith("replies") else "GET"
        reply = client.open(
            f"/api/v1/consultations/999999/{path}",
            method=method,
            headers=w.headers["clerk"],
            json={"body": "好"} if method == "POST" else None,
        )
        assert_error_shape(reply, 404, "consultation_not_found")


# --- the permission matrix of the reads ------------------------------------------------------

READ_ANSWERS = {
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
C = "/api/v1/consultations/<int:consultation_id>"
MATRIX = {
    ("GET", f"{C}/opinions"): READ_ANSWERS,
    ("GET", f"{C}/comments"): READ_ANSWERS,
    ("POST", f"{C}/comments/<comment_id>/replies"): {
        **{actor: status for actor, (status, _) in REPLY_REFUSED.items()},
        "clerk": 201,
        "owner": 201,
    },
}


def test_the_matrix_lists_every_opinions_endpoint(app):
    registered = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("opinions.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered == set(MATRIX)
    for answers in MATRIX.values():
        assert set(answers) == set(ACTORS)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("path", ["opinions", "comments"])
def test_read_permission_matrix(app, client, world, actor, path):
    w = world
    cid = vote_with_reasons(app, client, w)
    before = snapshot(app)
    reply = client.get(f"/api/v1/consultations/{cid}/{path}", headers=w.headers[actor])
    expected = READ_ANSWERS[actor]
    assert reply.status_code == expected, (actor, reply.get_json())
    if expected >= 400:
        code = "unauthorized" if expected == 401 else "consultation_not_found"
        assert_error_shape(reply, expected, code)
    assert snapshot(app) == before
