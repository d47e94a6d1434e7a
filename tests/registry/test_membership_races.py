"""Memberships that end at the same moment on PostgreSQL (issue 12, screen 2): two requests
to leave the same household, or a leave and a roster re-import that revokes the same claim.
Each reads the claim, then ends it; without a lock on the claim both would read it verified
and both would end it, the second overwriting the first (two 204s for one membership, a
`left` claim turned `revoked` and a revocation notice to a resident who had left).

The requests are held between their read and their write until the other arrives (or for two
seconds, when the other waits on the lock, which is what must happen).
"""

from __future__ import annotations

import io
import threading

import pytest
from sqlalchemy import select

from api.core import db
from notices.models import Notice
from participation.models import HouseholdClaim
from participation.service import membership
from participation.service import registry as registry_service
from tests.support.registry_world import roster_csv


def _held_end(monkeypatch):
    """Hold every membership end until two have arrived (or two seconds have passed)."""
    both = threading.Barrier(2, timeout=2)
    real_end = membership._end

    def end_together(*args, **kwargs):
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass
        return real_end(*args, **kwargs)

    monkeypatch.setattr(membership, "_end", end_together)


def _run_together(*calls):
    results = [None] * len(calls)

    def run(i, call):
        reply = call()
        error = (reply.get_json(silent=True) or {}).get("error") or {}
        results[i] = (reply.status_code, error.get("code"))

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _claims(app, resident_id) -> list[tuple]:
    with app.app_context():
        try:
            return db.session.execute(
                select(HouseholdClaim.status, HouseholdClaim.reason)
                .where(HouseholdClaim.resident_id == resident_id)
                .order_by(HouseholdClaim.id)
            ).all()
        finally:
            db.session.remove()


@pytest.mark.services
def test_two_leaves_at_once_end_the_membership_once(app, make, monkeypatch):
    household = make.household()
    resident = make.member(household)
    headers = make.headers(resident)
    _held_end(monkeypatch)
    path = f"/api/v1/me/households/{household.id}"

    results = _run_together(
        lambda: app.test_client().delete(path, headers=headers),
        lambda: app.test_client().delete(path, headers=headers),
    )

    assert sorted(results) == [(204, None), (404, "membership_not_found")], results
    assert _claims(app, resident.id) == [("left", None)]


@pytest.mark.services
def test_a_leave_and_a_revocation_at_once_end_the_membership_once(app, make, monkeypatch):
    estate = make.estate()
    household = make.household(estate, room="101", name="张三", phone="1234")
    resident = make.member(household)
    clerk = make.staff("committee", estate.community_id)
    _held_end(monkeypatch)
    roster = roster_csv([["1栋", "1单元", "101", "王五", "9999", "88.50"]])

    def reimport():
        return app.test_client().post(
            f"/api/v1/estates/{estate.id}/households:import",
            data={"file": (io.BytesIO(roster), "roster.csv")},
            content_type="multipart/form-data",
            headers=make.headers(clerk),
        )

    results = _run_together(
        lambda: app.test_client().delete(
            f"/api/v1/me/households/{household.id}", headers=make.headers(resident)
        ),
        reimport,
    )

    [leave, imported] = results
    assert imported[0] == 200, results
    [(status, reason)] = _claims(app, resident.id)
    with app.app_context():
        told = db.session.scalars(
            select(Notice.id).where(
                Notice.category == "membership_revoked", Notice.recipient_id == resident.id
            )
        ).all()
        db.session.remove()
    # Whichever came first ended the membership; the other found it ended.
    if leave == (204, None):
        assert (status, reason, told) == ("left", None, [])
    else:
        assert leave == (404, "membership_not_found"), results
        assert status == "revoked" and reason == membership.REVOKED_REASON and len(told) == 1


# --- a pending claim reviewed while its resident takes it back -------------------------------


def _pending_claim(app, make):
    estate = make.estate()
    household = make.household(estate)
    resident = make.member(household, status="pending")
    clerk = make.staff("committee", estate.community_id)
    with app.app_context():
        claim_id = db.session.scalar(
            select(HouseholdClaim.id).where(HouseholdClaim.resident_id == resident.id)
        )
        db.session.remove()
    return resident, clerk, claim_id


def _held_review(monkeypatch, name: str, arrived: threading.Event, done: threading.Event):
    """Hold the clerk's review (approve or reject) after the claim was read until `done`."""
    real = getattr(registry_service, name)

    def held(*args, **kwargs):
        arrived.set()
        done.wait(2)
        return real(*args, **kwargs)

    monkeypatch.setattr(registry_service, name, held)


@pytest.mark.services
@pytest.mark.parametrize("taken_back_by", ["erasure", "withdrawal"])
def test_a_claim_approved_while_its_resident_takes_it_back_is_never_a_500(
    app, make, monkeypatch, taken_back_by
):
    """The clerk approves a pending claim while its resident erases themself (`DELETE /me`)
    or withdraws it (`DELETE /me/claims/{id}`). Without a lock the approval updated a row
    that was gone (500), or the withdrawal deleted a claim the clerk had just verified."""
    resident, clerk, claim_id = _pending_claim(app, make)
    arrived, done = threading.Event(), threading.Event()
    _held_review(monkeypatch, "approve_claim", arrived, done)
    replies = {}

    def approve():
        replies["approve"] = app.test_client().post(
            f"/api/v1/claims/{claim_id}/approve", headers=make.headers(clerk)
        )

    def take_back():
        arrived.wait(5)
        path = "/api/v1/me" if taken_back_by == "erasure" else f"/api/v1/me/claims/{claim_id}"
        replies["take_back"] = app.test_client().delete(path, headers=make.headers(resident))
        done.set()

    threads = [threading.Thread(target=approve), threading.Thread(target=take_back)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    approved, taken = replies["approve"], replies["take_back"]
    assert approved.status_code != 500 and taken.status_code != 500, (
        approved.get_json(),
        taken.get_json(silent=True),
    )
    left = _claims(app, resident.id)
    # The approval read the claim first: the other waits for it, then finds the claim verified.
    if taken_back_by == "erasure":
        # Approved, then erased with the rest.
        assert (approved.status_code, taken.status_code, left) == (200, 204, [])
    else:
        assert approved.status_code == 200, approved.get_json()
        assert taken.get_json()["error"]["code"] == "claim_not_pending"
        assert left == [("verified", None)]
