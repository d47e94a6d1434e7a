"""A membership that ends while the clerk opens a consultation, on PostgreSQL (issue 12).

Opening freezes the verified members of every household; leaving a household, or erasing
oneself, takes the resident out of the frozen members of the consultations not yet closed.
When the two run at the same moment, the opening must not read a claim the leave (or the
erasure) is ending while the leave cannot yet see the members the opening is writing: the
resident would stay in that consultation's electorate, and their token (an erased resident's
too) could still vote for a household they no longer belong to.

Each test holds the leave (or the erasure) after it has ended the claim and before it takes
the resident out of the electorates, opens the consultation meanwhile, then lets both finish.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from api.core import db
from participation.service import erasure, membership
from tests.support.voting_world import (
    assert_error_shape,
    build_world,
    create_consultation,
    put_ballot,
)
from voting import jobs
from voting.models import ElectorMember

HOLD = 3  # seconds a held request waits for the other, at most


def _members(app, cid: int) -> set[tuple[int, int]]:
    with app.app_context():
        try:
            return set(
                db.session.execute(
                    select(ElectorMember.household_id, ElectorMember.resident_id).where(
                        ElectorMember.consultation_id == cid
                    )
                ).all()
            )
        finally:
            db.session.remove()


def _open_while(app, monkeypatch, w, cid: int, ending, started: threading.Event):
    """Run `ending()` (a request) and, once `started` is set, open `cid`; hold the opening
    after it froze the electorate until the ending is done (or HOLD seconds)."""
    frozen, ended = threading.Event(), threading.Event()
    real_after_open = jobs.after_open

    def after_open(consultation):
        frozen.set()
        ended.wait(HOLD)
        return real_after_open(consultation)

    monkeypatch.setattr(jobs, "after_open", after_open)
    replies = {}

    def end():
        replies["end"] = ending(frozen)
        ended.set()

    def open_():
        started.wait(HOLD)
        replies["open"] = app.test_client().post(
            f"/api/v1/consultations/{cid}/open", headers=w.headers["clerk"]
        )

    threads = [threading.Thread(target=end), threading.Thread(target=open_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert replies["open"].status_code == 200, replies["open"].get_json()
    return replies["end"]


@pytest.mark.services
def test_a_member_who_leaves_while_the_consultation_opens_does_not_vote(app, make, monkeypatch):
    w = build_world(app, make)
    cid = create_consultation(client := app.test_client(), w)
    household = w.scene.household_ids[0]
    leaver = w.scene.resident_ids[0]
    started = threading.Event()
    holder = {}
    real_emit = membership.emit

    def emit(name, **payload):
        if name == "membership_ended":
            started.set()  # the claim is `left`, not yet committed
            holder["frozen"].wait(HOLD)
        return real_emit(name, **payload)

    monkeypatch.setattr(membership, "emit", emit)

    def leave(frozen):
        holder["frozen"] = frozen
        return app.test_client().delete(f"/api/v1/me/households/{household}", headers=w.members[0])

    reply = _open_while(app, monkeypatch, w, cid, leave, started)

    assert reply.status_code == 204, reply.get_json()
    assert (household, leaver) not in _members(app, cid)
    # Their only household in the estate: the consultation is as unknown to them as any other.
    refused = put_ballot(client, w.members[0], cid, choice="satisfied")
    assert_error_shape(refused, 404, "consultation_not_found")


@pytest.mark.services
def test_a_resident_erased_while_the_consultation_opens_cannot_vote(app, make, monkeypatch):
    w = build_world(app, make)
    cid = create_consultation(client := app.test_client(), w)
    household = w.scene.household_ids[0]
    erased = w.scene.resident_ids[0]
    started = threading.Event()
    holder = {}

    def hold(resident_id):
        started.set()  # the resident's row is locked, nothing erased yet
        holder["frozen"].wait(HOLD)

    erasers = app.extensions[erasure._ERASERS]
    erasers.insert(0, hold)
    try:

        def erase(frozen):
            holder["frozen"] = frozen
            return app.test_client().delete("/api/v1/me", headers=w.members[0])

        reply = _open_while(app, monkeypatch, w, cid, erase, started)
    finally:
        erasers.remove(hold)

    assert reply.status_code == 204, reply.get_json()
    assert (household, erased) not in _members(app, cid)
    refused = put_ballot(client, w.members[0], cid, choice="satisfied")
    assert_error_shape(refused, 401, "token_invalid")
