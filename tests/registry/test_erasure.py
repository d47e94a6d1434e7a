"""A resident erases their personal data (`DELETE /api/v1/me`, issue 12, PIPL art. 47): what goes,
what stays, and that the token of an erased resident does nothing any more, the ballot included
(whose hot path never loads the resident). The counts staying exact is tests/voting/
test_erasure_counts.py; the retention job, tests/registry/test_retention.py."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from api.core import db
from devtools import factory
from feedback.models import Comment, CommentDecision, SupervisorSignup
from notices.models import Delivery, SubscriptionConsent
from participation.models import HouseholdClaim, PrivacyConsent, Project, Resident
from participation.service import erasure
from participation.service.personal import tombstone
from tests.support.consent import consented_headers
from tests.support.feedback_world import (
    STAFF,
    assert_error_shape,
    build_world,
    set_columns,
    snapshot,
)
from tests.support.personal_world import enrich
from voting.models import Delegation, ElectorMember

ME = "/api/v1/me"

# What an erasure may change; every other table stays exactly as it was.
ERASED_TABLES = {
    "residents",
    "household_claims",
    "privacy_consents",
    "comments",
    "comment_decisions",
    "rules_comments",  # comments on an estate's rules lose their author (issue 15)
    "contribution_pledges",  # a household's pledges stay, no longer naming the resident
    "supervisor_signups",
    "deliveries",
    "subscription_consents",
    "elector_members",
    "delegations",
}


@pytest.fixture
def rich(app):
    w = build_world(app)
    mine = enrich(app, w, "supervisor", "甲标记")
    theirs = enrich(app, w, "resident_member", "乙标记", other_resident="neighbour")
    return w, mine, theirs


def _changed(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after.get(name)}


def test_erasing_oneself_removes_what_names_the_person_and_keeps_the_record(app, client, rich):
    w, mine, theirs = rich
    before = snapshot(app)
    reply = client.delete(ME, headers=w.headers["supervisor"])
    assert reply.status_code == 204, reply.get_json()
    assert reply.get_data() == b""
    after = snapshot(app)
    assert _changed(before, after) <= ERASED_TABLES, "an erasure changed a table it must keep"

    with app.app_context():
        me = db.session.get(Resident, mine.resident_id)
        assert me.openid == tombstone(me.id) and "openid-supervisor" not in me.openid
        assert me.unionid is None and me.nickname is None and me.erased_at is not None
        assert participation_rows(me.id) == {"claims": 0, "consents": 0, "subscriptions": 0}

        comments = {c.id: c for c in db.session.scalars(select(Comment))}
        assert comments[mine.comment].author_id is None
        assert comments[mine.comment].status == "visible"
        # WeChat checks a text only with its author's openid: the committee reviews it instead.
        waiting = comments[mine.waiting_comment]
        assert (waiting.author_id, waiting.status) == (None, "pending_review")
        decision = db.session.scalars(
            select(CommentDecision).where(CommentDecision.comment_id == waiting.id)
        ).one()
        assert (decision.from_status, decision.to_status) == ("pending_check", "pending_review")
        assert "注销" in decision.reason
        # The other resident's comments keep their author.
        assert comments[theirs.comment].author_id == theirs.resident_id

        signups = {s.id: s for s in db.session.scalars(select(SupervisorSignup))}
        assert signups[mine.pending_signup].status == "withdrawn"
        assert signups[mine.pending_signup].withdrawn_at is not None
        # An accepted sign-up ends as withdrawn (the place is free); the review stays on record.
        assert signups[w.signup_accepted].status == "withdrawn"
        assert signups[w.signup_accepted].reviewed_at is not None
        assert signups[theirs.pending_signup].status == "pending"

        assert db.session.get(Delivery, mine.delivery).status == "cancelled"
        assert db.session.get(Delivery, theirs.delivery).status == "pending"

        electorates = set(
            db.session.execute(
                select(ElectorMember.consultation_id).where(
                    ElectorMember.resident_id == mine.resident_id
                )
            ).scalars()
        )
        assert electorates == {mine.closed_consultation}  # out of the open ones, kept in the closed
        delegation = db.session.get(Delegation, mine.delegation)
        assert delegation.status == "revoked" and "注销" in delegation.reason
        assert db.session.get(Delegation, theirs.delegation).status == "verified"

        other = db.session.get(Resident, theirs.resident_id)
        assert other.openid == "openid-resident_member" and other.erased_at is None
        db.session.remove()
    # The ballots, their audit rows and every other record are as they were.
    for table in ("ballots", "ballot_changes", "tallies", "tickets", "ratings", "uploads"):
        assert before[table] == after[table], table


def test_an_erased_supervisor_frees_their_place(app, client, rich):
    """An accepted supervisor who erases themself supervises no more (their token is dead): the
    sign-up ends as withdrawn, as if they had withdrawn it, so the committee may accept another
    within the project's cap. The sign-up, its review and the inspections stay on record."""
    w, _, _ = rich
    set_columns(app, Project, w.construction, supervisor_cap=1)
    accept = f"/api/v1/supervisors/{w.signup_pending}/accept"
    full = client.post(accept, headers=w.headers["clerk"])
    assert_error_shape(full, 409, "supervisor_cap_reached")

    assert client.delete(ME, headers=w.headers["supervisor"]).status_code == 204

    with app.app_context():
        gone = db.session.get(SupervisorSignup, w.signup_accepted)
        assert (gone.status, gone.reviewed_at is not None) == ("withdrawn", True)
        assert gone.withdrawn_at is not None
        db.session.remove()
    reply = client.post(accept, headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()
    listed = client.get(
        f"/api/v1/projects/{w.construction}/supervisors", headers=w.headers["clerk"]
    )
    assert w.signup_accepted not in {
        s["id"] for s in listed.get_json()["items"] if s["status"] == "accepted"
    }


def participation_rows(resident_id: int) -> dict:
    def count(model):
        return len(db.session.scalars(select(model).where(model.resident_id == resident_id)).all())

    return {
        "claims": count(HouseholdClaim),
        "consents": count(PrivacyConsent),
        "subscriptions": count(SubscriptionConsent),
    }


def test_an_erased_authors_comment_shows_as_erased_user(app, client, rich):
    w, mine, _ = rich
    path = f"/api/v1/projects/{w.construction}/comments"
    shown = {c["id"]: c for c in client.get(path, headers=w.headers["clerk"]).json["items"]}
    assert shown[mine.comment]["author"] == "李*娜"
    assert client.delete(ME, headers=w.headers["supervisor"]).status_code == 204
    for who in ("clerk", "resident_member"):
        reply = client.get(path, headers=w.headers[who])
        assert reply.status_code == 200, reply.json
        shown = {c["id"]: c for c in reply.json["items"]}
        assert shown[mine.comment]["author"] == "已注销用户"
        assert shown[mine.comment]["mine"] is False
        assert shown[mine.comment]["body"] == "甲标记评论"
    # Staff lists that name residents still answer, without the name.
    supervisors = client.get(
        f"/api/v1/projects/{w.construction}/supervisors", headers=w.headers["clerk"]
    )
    assert supervisors.status_code == 200, supervisors.json
    mine_row = [s for s in supervisors.json["items"] if s["id"] == w.signup_accepted]
    assert mine_row and mine_row[0]["nickname"] is None


def test_the_token_of_an_erased_resident_does_nothing(app, client, rich):
    w, mine, _ = rich
    headers = w.headers["supervisor"]
    assert client.delete(ME, headers=headers).status_code == 204
    before = snapshot(app)
    refused = [
        client.get(ME, headers=headers),
        client.delete(ME, headers=headers),  # a second erasure: the token is gone
        client.get("/api/v1/me/export", headers=headers),
        client.get("/api/v1/me/households", headers=headers),
        client.get("/api/v1/notices", headers=headers),
        client.get(f"/api/v1/consultations/{mine.closed_consultation}/ballot", headers=headers),
        client.post(
            f"/api/v1/projects/{w.construction}/comments", json={"body": "还在吗"}, headers=headers
        ),
        # The ballot does not load the resident: refused all the same, open or closed.
        client.put(
            f"/api/v1/consultations/{mine.open_consultation}/ballot",
            json={"choice": "unsatisfied"},
            headers=headers,
        ),
        client.put(
            f"/api/v1/consultations/{mine.closed_consultation}/ballot",
            json={"choice": "unsatisfied"},
            headers=headers,
        ),
        client.put(
            f"/api/v1/consultations/{mine.decision}/ballot",
            json={"choice": "agree"},
            headers=headers,
        ),
        client.put("/api/v1/consultations/987654/ballot", json={"choice": "x"}, headers=headers),
    ]
    for reply in refused:
        assert_error_shape(reply, 401, "token_invalid")
    assert snapshot(app) == before


def test_signing_in_again_with_the_same_wechat_account_makes_a_new_resident(app, client, wechat):
    wechat.codes.update({"code-1": "openid-same", "code-2": "openid-same"})
    first = client.post("/api/v1/auth/wechat-login", json={"code": "code-1", "nickname": "老王"})
    headers = consented_headers(client, first)
    old_id = client.get(ME, headers=headers).json["id"]
    assert client.delete(ME, headers=headers).status_code == 204

    again = client.post("/api/v1/auth/wechat-login", json={"code": "code-2"})
    assert again.status_code == 200, again.json
    assert again.json["consent_required"] is True  # a new resident consents anew
    new_headers = consented_headers(client, again)
    me = client.get(ME, headers=new_headers).json
    assert me["id"] != old_id and me["households"] == []
    with app.app_context():
        old = db.session.get(Resident, old_id)
        assert old.openid == tombstone(old_id) and old.erased_at is not None
        assert db.session.get(Resident, me["id"]).openid == "openid-same"
        db.session.remove()
    assert_error_shape(client.get(ME, headers=headers), 401)  # the old token stays dead


def test_erasure_is_served_before_the_privacy_notice_is_accepted(app, client, make):
    resident = make.resident("不同意", consented=False)
    with app.test_request_context():
        headers = {"Authorization": f"Bearer {factory.resident_token(resident.id, None)}"}
    assert client.delete(ME, headers=headers).status_code == 204
    with app.app_context():
        assert db.session.get(Resident, resident.id).erased_at is not None
        db.session.remove()


def test_who_may_erase(app, client):
    w = build_world(app)
    before = snapshot(app)
    assert_error_shape(client.delete(ME), 401, "unauthorized")
    for staff in STAFF:
        assert_error_shape(client.delete(ME, headers=w.headers[staff]), 403, "residents_only")
    assert snapshot(app) == before
    # A resident erases themself, and nobody else.
    assert client.delete(ME, headers=w.headers["resident_unverified"]).status_code == 204
    with app.app_context():
        erased = set(db.session.scalars(select(Resident.id).where(Resident.erased_at.is_not(None))))
        db.session.remove()
    assert erased == {w.callers["resident_unverified"]}
    assert client.get(ME, headers=w.headers["resident_member"]).status_code == 200


def test_erasing_twice_does_nothing_the_second_time(app, rich):
    w, mine, _ = rich
    with app.app_context():
        assert erasure.erase_resident(mine.resident_id) is True
        db.session.commit()
        erased_at = db.session.get(Resident, mine.resident_id).erased_at
        assert erasure.erase_resident(mine.resident_id) is False
        assert erasure.erase_resident(987654321) is False
        db.session.commit()
        assert db.session.get(Resident, mine.resident_id).erased_at == erased_at
        db.session.remove()


def test_an_app_whose_erasers_were_never_wired_refuses_to_erase():
    """Erasing only participation's part would leave the other domains' data behind."""
    with Flask(__name__).app_context(), pytest.raises(RuntimeError, match="create_app"):
        erasure.erase_resident(1)
