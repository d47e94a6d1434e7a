"""A membership that ends ends the vote too (issue 12, screen 2): a resident who leaves a
household (`DELETE /me/households/{id}`), or whose claim a roster re-import revokes because the
household's owner changed, no longer votes for it in a consultation still open. The household
stays in the frozen electorate, and a ballot it cast stays and counts: the tally is the same.

Participation says so with its `membership_ended` event; voting's listener
(`voting/service/members.py`) takes the resident out of the frozen members of every
consultation not yet closed and revokes the delegations they gave or held for the household.
"""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from api.core import db
from tests.support.registry_world import roster_csv
from tests.support.voting_helpers import backdate_opening, evidence_upload, run_jobs
from tests.support.voting_world import (
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
from voting.models import Ballot, Delegation, ElectorateEntry, ElectorMember
from voting.service import tally as tally_service

C = "/api/v1/consultations"
D = "/api/v1/delegations"


@pytest.fixture(scope="module")
def world(app, module_make) -> World:
    """The voting world: households 0–3 of the scene's estate, each with one verified owner
    (`w.members[i]`; resident_member owns household 0)."""
    return build_world(app, module_make)


def _open(client, w: World, **body) -> int:
    cid = create_consultation(client, w, **body)
    open_(client, w, cid)
    return cid


def _leave(client, headers, household_id: int) -> None:
    reply = client.delete(f"/api/v1/me/households/{household_id}", headers=headers)
    assert reply.status_code == 204, reply.get_data(as_text=True)


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


def _electorate(app, cid: int) -> list[tuple]:
    with app.app_context():
        try:
            return db.session.execute(
                select(
                    ElectorateEntry.household_id,
                    ElectorateEntry.floor_area,
                    ElectorateEntry.members,
                )
                .where(ElectorateEntry.consultation_id == cid)
                .order_by(ElectorateEntry.household_id)
            ).all()
        finally:
            db.session.remove()


def _ballots(app, cid: int) -> list[tuple]:
    with app.app_context():
        try:
            return db.session.execute(
                select(Ballot.household_id, Ballot.choice, Ballot.revision)
                .where(Ballot.consultation_id == cid)
                .order_by(Ballot.household_id)
            ).all()
        finally:
            db.session.remove()


def _tally(client, w: World, cid: int) -> dict:
    reply = client.get(f"{C}/{cid}/tally", headers=w.headers["clerk"])
    assert reply.status_code == 200, reply.get_json()
    tally = reply.get_json()
    tally.pop("computed_at")
    return tally


def _recount(app, cid: int) -> None:
    """Count the ballots again now (a ballot's own recount runs after it; a leave asks none)."""
    with app.app_context():
        tally_service.recompute(cid)
        db.session.commit()


def _reimport(client, w: World, owners: dict[int, tuple[str, str]]) -> dict:
    """Import the scene's roster again as the clerk, household i's owner replaced by
    `owners[i]` (name, phone digits) where given; the reply."""
    rows = []
    for i in range(len(w.scene.household_ids)):
        name, phone = owners.get(i, (f"业主{i}", "1234"))
        rows.append(["1栋", "1单元", f"{i + 1:05d}", name, phone, "80.00"])
    reply = client.post(
        f"/api/v1/estates/{w.scene.estate_id}/households:import",
        data={"file": (io.BytesIO(roster_csv(rows)), "roster.csv")},
        content_type="multipart/form-data",
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_a_member_who_left_no_longer_votes_and_the_household_s_ballot_still_counts(
    app, client, world
):
    w = world
    household = w.scene.household_ids[0]
    cid = _open(client, w)
    assert put_ballot(client, w.members[0], cid, choice="satisfied").status_code == 200
    assert put_ballot(client, w.members[1], cid, choice="unsatisfied").status_code == 200
    run_jobs(app)
    electorate, ballots, counted = _electorate(app, cid), _ballots(app, cid), _tally(client, w, cid)
    assert counted["counted"] == 2 and counted["eligible"] == 4

    _leave(client, w.members[0], household)

    # The household stays in the electorate with its weights; its ballot stays.
    assert _electorate(app, cid) == electorate
    assert _ballots(app, cid) == ballots
    assert (household, w.callers["resident_member"].id) not in _members(app, cid)
    # The resident who left sees the consultation no more (their only household is gone) and
    # may not vote: changing the household's ballot is refused and writes nothing.
    before = snapshot(app)
    for body in ({"choice": "unsatisfied"}, {"choice": "unsatisfied", "household_id": household}):
        reply = put_ballot(client, w.members[0], cid, **body)
        assert_error_shape(reply, 404, "consultation_not_found")
    after = snapshot(app)
    assert after == before, diff(before, after)
    # Counted again, the tally is the same: the household's ballot still counts.
    _recount(app, cid)
    assert _tally(client, w, cid) == counted
    # Others vote on as before.
    assert put_ballot(client, w.members[2], cid, choice="satisfied").status_code == 200
    run_jobs(app)
    assert _tally(client, w, cid)["counted"] == 3


def test_the_final_count_keeps_the_ballot_of_a_household_its_voter_left(app, client, world):
    w = world
    cid = _open(client, w)
    for i, choice in enumerate(("satisfied", "satisfied", "unsatisfied", "satisfied")):
        assert put_ballot(client, w.members[i], cid, choice=choice).status_code == 200
    run_jobs(app)
    counted = _tally(client, w, cid)
    _leave(client, w.members[3], w.scene.household_ids[3])
    backdate_opening(app, cid)
    close(client, w, cid)
    run_jobs(app)
    final = _tally(client, w, cid)
    assert final["final"] is True
    assert (counted["counted"], counted["eligible"]) == (4, 4)
    assert (final["counted"], final["eligible"]) == (4, 4)
    by_choice = final["figures"]["by_choice"]
    assert (by_choice["satisfied"]["households"], by_choice["unsatisfied"]["households"]) == (3, 1)
    assert final["satisfaction_rate"] == 0.75


def test_leaving_after_the_close_keeps_the_record_of_who_could_vote(app, client, world):
    w = world
    cid = _open(client, w)
    assert put_ballot(client, w.members[1], cid, choice="satisfied").status_code == 200
    backdate_opening(app, cid)
    close(client, w, cid)
    run_jobs(app)
    members = _members(app, cid)
    counted = _tally(client, w, cid)
    _leave(client, w.members[1], w.scene.household_ids[1])
    assert _members(app, cid) == members
    assert _tally(client, w, cid) == counted


def test_a_member_of_two_households_who_leaves_one_votes_for_the_other(app, client, world, make):
    w = world
    first, second = w.scene.household_ids[0], w.scene.household_ids[1]
    # resident_member owns household 0 and is also a verified family member of household 1.
    make.member(SimpleNamespace(id=second), w.callers["resident_member"], relation="family")
    headers = w.members[0]
    cid = _open(client, w)
    _leave(client, headers, first)

    before = snapshot(app)
    refused = put_ballot(client, headers, cid, choice="satisfied", household_id=first)
    error = assert_error_shape(refused, 403, "not_eligible")
    assert error["details"] == {"reason": "not_member_of_household"}
    assert snapshot(app) == before
    shown = client.get(f"{C}/{cid}", headers=headers).get_json()["eligibility"]
    assert shown["eligible"] is True and shown["households"] == [second]
    reply = put_ballot(client, headers, cid, choice="satisfied")
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["household_id"] == second


def test_a_revoked_owner_no_longer_votes_and_the_same_owner_revokes_nothing(app, client, world):
    w = world
    household = w.scene.household_ids[1]
    cid = _open(client, w)
    assert put_ballot(client, w.members[1], cid, choice="satisfied").status_code == 200
    run_jobs(app)
    counted, ballots = _tally(client, w, cid), _ballots(app, cid)

    # The same owners again (the scene's roster as it stands): nothing is revoked, all vote on.
    assert _reimport(client, w, {})["revoked"] == 0
    assert len(_members(app, cid)) == 4
    assert put_ballot(client, w.members[1], cid, choice="satisfied").status_code == 200

    # Household 1 sold: its owner's claim is revoked, and with it the vote.
    reply = _reimport(client, w, {1: ("新业主", "8888")})
    assert (reply["updated"], reply["revoked"]) == (1, 1)
    assert household not in {h for h, _ in _members(app, cid)}
    assert _electorate(app, cid)[1][0] == household  # still in the electorate
    before = snapshot(app)
    assert_error_shape(put_ballot(client, w.members[1], cid, choice="unsatisfied"), 404)
    assert snapshot(app) == before
    ballots_now = _ballots(app, cid)
    assert [b[:2] for b in ballots_now] == [b[:2] for b in ballots]
    _recount(app, cid)
    assert _tally(client, w, cid) == counted


def test_the_delegation_of_an_owner_who_left_is_revoked(app, client, world, make):
    w = world
    household = w.scene.household_ids[0]
    tenant = make.member(SimpleNamespace(id=household), relation="tenant")
    tenant_headers = make.headers(tenant)
    cid = _open(client, w, kind="owners_decision", matter="use_maintenance_fund", plan_id=None)
    recorded = client.post(
        f"{C}/{cid}/delegations",
        json={
            "delegate_id": tenant.id,
            "power_of_attorney_upload_id": w.uploads["resident_member"],
        },
        headers=w.members[0],
    )
    assert recorded.status_code == 201, recorded.get_json()
    delegation_id = recorded.get_json()["id"]
    verified = client.post(f"{D}/{delegation_id}/verify", headers=w.headers["clerk"])
    assert verified.status_code == 200, verified.get_json()

    _leave(client, w.members[0], household)

    with app.app_context():
        delegation = db.session.get(Delegation, delegation_id)
        assert delegation.status == "revoked" and delegation.revoked_at is not None
        assert delegation.reason == "委托人或受托人已不是该户的认证住户"
        db.session.remove()
    # The tenant, still a member, holds the owner's vote no more.
    reply = put_ballot(client, tenant_headers, cid, choice="agree")
    assert_error_shape(reply, 403, "not_an_owner")
    # A new owner of record may entrust a new delegate: the live index is free again.
    with app.app_context():
        live = db.session.scalar(
            select(func.count()).where(
                Delegation.consultation_id == cid,
                Delegation.household_id == household,
                Delegation.status.in_(("pending", "verified")),
            )
        )
        assert live == 0


def test_the_delegation_held_by_a_delegate_who_left_is_revoked(app, client, world, make):
    w = world
    household = w.scene.household_ids[0]
    tenant = make.member(SimpleNamespace(id=household), relation="tenant")
    cid = _open(client, w, kind="owners_decision", matter="use_maintenance_fund", plan_id=None)
    upload = evidence_upload(app, w.project_id, resident_id=w.callers["resident_member"].id)
    recorded = client.post(
        f"{C}/{cid}/delegations",
        json={"delegate_id": tenant.id, "power_of_attorney_upload_id": upload},
        headers=w.members[0],
    )
    assert recorded.status_code == 201, recorded.get_json()
    delegation_id = recorded.get_json()["id"]

    _leave(client, make.headers(tenant), household)

    with app.app_context():
        assert db.session.get(Delegation, delegation_id).status == "revoked"
        db.session.remove()
    # The owner votes as always.
    assert put_ballot(client, w.members[0], cid, choice="agree").status_code == 200
