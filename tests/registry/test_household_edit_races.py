"""A household edited by a clerk while something else reads or writes the same row, on
PostgreSQL (review of issue 13's `PATCH /households/{id}`).

A resident whose claim matches the roster is verified at once (`POST /me/households`). A clerk
who records a new owner revokes the verified claims that do not name them. Without a lock on
the household, a claim that read the old owner's name and digits was verified while the clerk's
edit was in flight: the edit's revocation did not see it, and the old owner stayed a verified
owner of a dwelling the roster now gave to someone else (and voted in its next consultation).
Either order is right once the two are serialised: the claim first (then revoked by the edit)
or the edit first (then the claim, no longer matching, waits for the committee).

The requests are held between their read and their write until the other arrives (or for two
seconds, when the other waits on the lock, which is what must happen).
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from api.core import db
from participation.models import Household, HouseholdClaim
from participation.service import registry as registry_service
from participation.service import roster as roster_service


def _hold_both(monkeypatch):
    """Hold the claim and the edit just before they write, until both have arrived."""
    both = threading.Barrier(2, timeout=2)

    def held(real):
        def at_barrier(*args, **kwargs):
            try:
                both.wait()
            except threading.BrokenBarrierError:
                pass
            return real(*args, **kwargs)

        return at_barrier

    monkeypatch.setattr(registry_service, "utcnow", held(registry_service.utcnow))
    monkeypatch.setattr(roster_service, "utcnow", held(roster_service.utcnow))


@pytest.mark.services
def test_a_claim_and_a_new_owner_at_once_leave_no_old_owner_verified(app, make, monkeypatch):
    estate = make.estate()
    household = make.household(estate, building="1栋", unit="1单元", room="101")
    clerk = make.staff("committee", estate.community_id)
    old_owner = make.resident()
    resident_headers, clerk_headers = make.headers(old_owner), make.headers(clerk)
    _hold_both(monkeypatch)
    replies = {}

    def claim():
        replies["claim"] = app.test_client().post(
            "/api/v1/me/households",
            json={
                "estate_id": estate.id,
                "building": "1栋",
                "unit": "1单元",
                "room": "101",
                "name": "张三",
                "phone_last4": "1234",
            },
            headers=resident_headers,
        )

    def edit():
        replies["edit"] = app.test_client().patch(
            f"/api/v1/households/{household.id}",
            json={"owner_name": "李四", "owner_phone_last4": "5678", "owner_change": "new_owner"},
            headers=clerk_headers,
        )

    threads = [threading.Thread(target=claim), threading.Thread(target=edit)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert replies["claim"].status_code == 201, replies["claim"].get_json()
    assert replies["edit"].status_code == 200, replies["edit"].get_json()
    with app.app_context():
        row = db.session.get(Household, household.id)
        assert (row.owner_name, row.owner_phone_last4) == ("李四", "5678")
        claims = db.session.execute(
            select(HouseholdClaim.status, HouseholdClaim.claimed_name).where(
                HouseholdClaim.household_id == household.id
            )
        ).all()
        db.session.remove()
    # Claim first: verified, then revoked by the edit. Edit first: pending (no longer matching).
    assert claims in ([("revoked", "张三")], [("pending", "张三")]), claims
    assert replies["edit"].get_json()["revoked"] == (1 if claims[0][0] == "revoked" else 0)


@pytest.mark.services
def test_two_clerks_editing_one_household_are_served_one_after_the_other(app, make, monkeypatch):
    """Both edits succeed, in one order or the other; the second reads the first's row (a new
    owner is judged against the owner of record at its write, not at a stale read)."""
    estate = make.estate()
    household = make.household(estate, room="101")
    make.member(household, relation="owner")
    first, second = (make.staff("committee", estate.community_id) for _ in range(2))
    headers = {who: make.headers(who) for who in (first, second)}
    _hold_both(monkeypatch)
    replies = {}

    def edit(who, body):
        def run():
            replies[who] = app.test_client().patch(
                f"/api/v1/households/{household.id}", json=body, headers=headers[who]
            )

        return run

    calls = [
        edit(
            first, {"owner_name": "李四", "owner_phone_last4": "5678", "owner_change": "new_owner"}
        ),
        edit(second, {"room": "102"}),
    ]
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [replies[w].status_code for w in (first, second)] == [200, 200], [
        replies[w].get_json() for w in (first, second)
    ]
    with app.app_context():
        row = db.session.get(Household, household.id)
        assert (row.owner_name, row.owner_phone_last4, row.room) == ("李四", "5678", "102")
        statuses = db.session.scalars(
            select(HouseholdClaim.status).where(HouseholdClaim.household_id == household.id)
        ).all()
        db.session.remove()
    assert statuses == ["revoked"]
    assert [replies[first].get_json()["revoked"], replies[second].get_json()["revoked"]] == [1, 0]


@pytest.mark.services
def test_two_households_moved_at_once_to_one_new_address_are_never_a_500(app, make, monkeypatch):
    """Both name the same new building and room: each passes the address check before the
    other writes; the database's constraints answer the second (a 409), and it writes nothing."""
    estate = make.estate()
    households = [make.household(estate, room=room) for room in ("101", "102")]
    clerk = make.staff("committee", estate.community_id)
    headers = make.headers(clerk)
    _hold_both(monkeypatch)
    replies = {}

    def move(household):
        def run():
            replies[household.id] = app.test_client().patch(
                f"/api/v1/households/{household.id}",
                json={"building": "新楼", "unit": "", "room": "901"},
                headers=headers,
            )

        return run

    threads = [threading.Thread(target=move(h)) for h in households]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(reply.status_code for reply in replies.values())
    assert statuses == [200, 409], [r.get_json() for r in replies.values()]
    refused = next(r for r in replies.values() if r.status_code == 409)
    assert refused.get_json()["error"]["message"]
    with app.app_context():
        rooms = sorted(
            db.session.scalars(select(Household.room).where(Household.estate_id == estate.id)).all()
        )
        db.session.remove()
    assert rooms in (["101", "901"], ["102", "901"])
