"""Who votes in an owners' decision (issue 10, item 6, loophole 6): owners only, and the
delegates of owners whose delegation (委托投票, with a photo of the signed 委托书) the committee
verified; a tenant or a family member is refused (403 `not_an_owner`) and nothing is written.

Also the delegations' own endpoints: the flow (recorded → verified → voted as delegate →
revoked until the close), the committee recording one for an owner without a phone, the
permission matrix of every route of the `delegations` blueprint (the voting matrix leaves them
to this file), and bad input refused in the error shape with nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from api.core import db
from api.core.fields import mask_name
from devtools import factory
from feedback.models import PlanAttachment
from participation.models import Estate
from tests.support.voting_helpers import evidence_upload, run_jobs
from tests.support.voting_world import (
    ACTORS,
    ALLOWED,
    REFUSED,
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
from voting.models import Ballot, BallotChange, Delegation

C = "/api/v1/consultations"
D = "/api/v1/delegations"
NOT_AN_OWNER = "业主共同决定由业主表决"


@dataclass
class Owners:
    """The voting world (households 0–3, each with one verified owner; resident_member owns
    household 0) plus a tenant of household 0 and a family member of household 1, both
    verified before any consultation opens, and an upload of the project by every caller."""

    w: World
    tenant: SimpleNamespace
    family: SimpleNamespace
    tenant_headers: dict
    family_headers: dict
    uploads: dict = field(default_factory=dict)  # actor (and tenant, owner1) -> upload id

    def household(self, i: int) -> int:
        return self.w.scene.household_ids[i]


@pytest.fixture(scope="module")
def owners(app, module_make) -> Owners:
    w = build_world(app, module_make)
    tenant = module_make.member(SimpleNamespace(id=w.scene.household_ids[0]), relation="tenant")
    family = module_make.member(SimpleNamespace(id=w.scene.household_ids[1]), relation="family")
    uploads = dict(w.uploads)
    for actor, who in w.callers.items():
        if actor in uploads or who is None:
            continue
        kind = "resident_id" if actor.startswith("resident") else "staff_id"
        uploads[actor] = evidence_upload(app, w.project_id, **{kind: who.id})
    uploads["tenant"] = evidence_upload(app, w.project_id, resident_id=tenant.id)
    uploads["owner1"] = evidence_upload(app, w.project_id, resident_id=w.scene.resident_ids[1])
    return Owners(
        w=w,
        tenant=tenant,
        family=family,
        tenant_headers=module_make.headers(tenant),
        family_headers=module_make.headers(family),
        uploads=uploads,
    )


def owners_decision(client, w: World, *, open_it: bool = True, **body) -> int:
    """An owners' decision of the world's project (matter: using the maintenance fund),
    opened by the clerk unless `open_it` is False."""
    cid = create_consultation(
        client, w, kind="owners_decision", matter="use_maintenance_fund", plan_id=None, **body
    )
    if open_it:
        open_(client, w, cid)
    return cid


def delegate(client, o: Owners, cid: int, headers=None, **body):
    """POST a delegation; by default resident_member (owner of household 0) to the tenant."""
    payload = {
        "delegate_id": o.tenant.id,
        "power_of_attorney_upload_id": o.uploads["resident_member"],
    }
    payload.update(body)
    return client.post(
        f"{C}/{cid}/delegations",
        json=payload,
        headers=o.w.headers["resident_member"] if headers is None else headers,
    )


def ballot_row(app, cid: int, household_id: int):
    with app.app_context():
        try:
            ballot = db.session.scalar(
                select(Ballot).where(
                    Ballot.consultation_id == cid, Ballot.household_id == household_id
                )
            )
            changes = db.session.scalars(
                select(BallotChange.delegated)
                .where(
                    BallotChange.consultation_id == cid, BallotChange.household_id == household_id
                )
                .order_by(BallotChange.revision)
            ).all()
            return (None if ballot is None else ballot.delegated), list(changes)
        finally:
            db.session.remove()


def assert_refused_not_an_owner(reply):
    error = assert_error_shape(reply, 403, "not_an_owner")
    assert NOT_AN_OWNER in error["message"] and "委托" in error["message"], error
    assert error["details"] == {"reason": "not_an_owner"}


# --- loophole 6: tenants voted in owners' decisions -------------------------------------------


def test_loophole_6_tenants_and_family_members_do_not_vote_in_an_owners_decision(
    app, client, owners
):
    o = owners
    cid = owners_decision(client, o.w)
    before = snapshot(app)

    for headers in (o.tenant_headers, o.family_headers):
        # Before issue 10 this ballot was accepted: the claim's relation was never read.
        assert_refused_not_an_owner(put_ballot(client, headers, cid, choice="agree"))
        # Naming the household does not help either.
        household = o.household(0) if headers is o.tenant_headers else o.household(1)
        reply = put_ballot(client, headers, cid, choice="agree", household_id=household)
        assert_refused_not_an_owner(reply)
        # GET /consultations/{id} says why, and the household's ballot is not theirs to read.
        shown = client.get(f"{C}/{cid}", headers=headers).get_json()
        assert shown["eligibility"] == {
            "eligible": False,
            "reason": "not_an_owner",
            "reason_label": "业主共同决定仅由业主或其委托人表决",
            "households": [],
            "delegated": [],
        }
        assert_refused_not_an_owner(client.get(f"{C}/{cid}/ballot", headers=headers))

    after = snapshot(app)
    assert after == before, f"a refused ballot wrote: {diff(before, after)}"


def test_the_same_tenant_votes_in_a_plan_satisfaction_consultation(app, client, owners):
    o = owners
    cid = create_consultation(client, o.w)
    open_(client, o.w, cid)
    shown = client.get(f"{C}/{cid}", headers=o.tenant_headers).get_json()
    assert shown["eligibility"]["eligible"] is True
    assert shown["eligibility"]["households"] == [o.household(0)]
    reply = put_ballot(client, o.tenant_headers, cid, choice="satisfied")
    assert reply.status_code == 200, reply.get_json()
    assert ballot_row(app, cid, o.household(0)) == (False, [False])


def test_the_same_tenant_answers_a_needs_survey(app, client, owners):
    o = owners
    cid = create_consultation(client, o.w, kind="needs_survey", plan_id=None)
    open_(client, o.w, cid)
    reply = put_ballot(client, o.family_headers, cid, items=["parking"])
    assert reply.status_code == 200, reply.get_json()


def test_the_owner_votes_in_an_owners_decision(app, client, owners):
    o = owners
    cid = owners_decision(client, o.w)
    shown = client.get(f"{C}/{cid}", headers=o.w.headers["resident_member"]).get_json()
    assert shown["eligibility"]["eligible"] is True
    assert shown["eligibility"]["delegated"] == []
    reply = put_ballot(client, o.w.headers["resident_member"], cid, choice="agree")
    assert reply.status_code == 200, reply.get_json()
    assert ballot_row(app, cid, o.household(0)) == (False, [False])
    mine = client.get(f"{C}/{cid}/ballot", headers=o.w.headers["resident_member"])
    assert mine.status_code == 200 and mine.get_json()["choice"] == "agree"


# --- the delegation flow ----------------------------------------------------------------------


def test_a_delegation_from_record_to_revocation(app, client, owners):
    o = owners
    w = o.w
    cid = owners_decision(client, w)
    clerk = w.headers["clerk"]

    # The owner sees whom they may name: the tenant, nickname masked; never an owner.
    candidates = client.get(
        f"{C}/{cid}/delegation-candidates", headers=w.headers["resident_member"]
    )
    assert candidates.status_code == 200, candidates.get_json()
    assert candidates.get_json() == [
        {
            "household_id": o.household(0),
            "resident_id": o.tenant.id,
            "nickname": mask_name(o.tenant.nickname),
            "relation": "tenant",
            "relation_label": "租户",
        }
    ]

    # The owner records it with their photo of the signed power of attorney: pending.
    recorded = delegate(client, o, cid, note="本人年老，委托租户代为表决")
    assert recorded.status_code == 201, recorded.get_json()
    delegation = recorded.get_json()
    assert delegation["status"] == "pending" and delegation["status_label"] == "待核实"
    assert delegation["owner_id"] == w.callers["resident_member"].id
    assert delegation["delegate_id"] == o.tenant.id
    assert delegation["delegate_relation"] == "tenant"
    assert delegation["recorded_by_committee"] is False
    assert "*" in delegation["household"] and "*" in delegation["delegate"]

    # Pending is not enough: the tenant is still refused, and nothing is written.
    before = snapshot(app)
    assert_refused_not_an_owner(put_ballot(client, o.tenant_headers, cid, choice="agree"))
    assert snapshot(app) == before

    # The committee verifies it; the tenant now votes for the household, marked delegated.
    verified = client.post(f"{D}/{delegation['id']}/verify", headers=clerk)
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["status"] == "verified"
    shown = client.get(f"{C}/{cid}", headers=o.tenant_headers).get_json()["eligibility"]
    assert shown == {
        "eligible": True,
        "reason": None,
        "reason_label": None,
        "households": [o.household(0)],
        "delegated": [o.household(0)],
    }
    reply = put_ballot(client, o.tenant_headers, cid, choice="agree")
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["household_id"] == o.household(0)
    assert ballot_row(app, cid, o.household(0)) == (True, [True])
    mine = client.get(f"{C}/{cid}/ballot", headers=o.tenant_headers)
    assert mine.status_code == 200 and mine.get_json()["choice"] == "agree"

    # The turnout shows the household's ballot as cast by a delegate.
    turnout = client.get(f"{C}/{cid}/turnout", headers=clerk).get_json()
    assert [row["delegated"] for row in turnout["items"]] == [True]

    # Two owners vote themselves; the delegate's ballot counts like theirs.
    for i in (1, 2):
        assert put_ballot(client, w.members[i], cid, choice="agree").status_code == 200

    # The owner revokes before the close: the delegate is refused again; the ballot cast while
    # the delegation held stays.
    revoked = client.post(f"{D}/{delegation['id']}/revoke", headers=w.headers["resident_member"])
    assert revoked.status_code == 200, revoked.get_json()
    assert revoked.get_json()["status"] == "revoked" and revoked.get_json()["revoked_at"]
    before = snapshot(app)
    assert_refused_not_an_owner(put_ballot(client, o.tenant_headers, cid, choice="disagree"))
    assert snapshot(app) == before
    assert ballot_row(app, cid, o.household(0)) == (True, [True])

    # A second delegation (household 1's owner to its family member), verified; the close.
    second = delegate(
        client,
        o,
        cid,
        headers=w.members[1],
        delegate_id=o.family.id,
        power_of_attorney_upload_id=o.uploads["owner1"],
    )
    assert second.status_code == 201, second.get_json()
    assert client.post(f"{D}/{second.get_json()['id']}/verify", headers=clerk).status_code == 200
    close(client, w, cid)
    run_jobs(app)

    # The tally counts the delegated ballot as the owner's: 3 households voted, all agree.
    tally = client.get(f"{C}/{cid}/tally", headers=clerk)
    assert tally.status_code == 200, tally.get_json()
    assert tally.get_json()["counted"] == 3
    assert tally.get_json()["figures"]["by_choice"]["agree"]["households"] == 3

    # After the close a delegation can no longer be revoked, and nothing changes.
    before = snapshot(app)
    late = client.post(f"{D}/{second.get_json()['id']}/revoke", headers=w.members[1])
    assert_error_shape(late, 409, "consultation_closed")
    late = client.post(f"{D}/{second.get_json()['id']}/revoke", headers=clerk)
    assert_error_shape(late, 409, "consultation_closed")
    assert snapshot(app) == before


def test_the_committee_records_a_delegation_for_an_owner_without_a_phone(app, client, owners):
    o = owners
    w = o.w
    cid = owners_decision(client, w)
    reply = client.post(
        f"{C}/{cid}/delegations",
        json={
            "household_id": o.household(1),
            "delegate_id": o.family.id,
            "power_of_attorney_upload_id": o.uploads["clerk"],
            "note": "业主无智能手机，到居委会签署委托书",
        },
        headers=w.headers["clerk"],
    )
    assert reply.status_code == 201, reply.get_json()
    delegation = reply.get_json()
    assert delegation["status"] == "verified"
    assert delegation["owner_id"] is None and delegation["owner"] is None
    assert delegation["recorded_by_committee"] is True and delegation["reviewed_at"]
    with app.app_context():
        row = db.session.get(Delegation, delegation["id"])
        assert row.reviewed_by_id == row.recorded_by_staff_id == w.scene.clerk.id
        db.session.remove()

    # Verified at once: the family member votes for household 1 as delegate.
    reply = put_ballot(client, o.family_headers, cid, choice="disagree")
    assert reply.status_code == 200, reply.get_json()
    assert ballot_row(app, cid, o.household(1)) == (True, [True])

    # The committee revokes it (the owner has no account to do so).
    revoked = client.post(f"{D}/{delegation['id']}/revoke", headers=w.headers["clerk"])
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert_refused_not_an_owner(put_ballot(client, o.family_headers, cid, choice="agree"))


def test_a_published_file_is_refused_as_a_power_of_attorney(app, client, owners):
    """The county records a delegation for an owner without a phone, naming a photo of its own
    that is a plan version's attachment, which every resident of the estate may fetch: refused
    (422 `upload_published`), nothing written. Evidence is never a published file."""
    o = owners
    w = o.w
    cid = owners_decision(client, w)
    with app.app_context():
        db.session.add(
            PlanAttachment(
                plan_id=w.scene.plan_id,
                upload_id=o.uploads["county_officer"],
                position=1,
                title="总平面图",
            )
        )
        db.session.commit()
    before = snapshot(app)
    reply = client.post(
        f"{C}/{cid}/delegations",
        json={
            "household_id": o.household(1),
            "delegate_id": o.family.id,
            "power_of_attorney_upload_id": o.uploads["county_officer"],
        },
        headers=w.headers["county_officer"],
    )
    error = assert_error_shape(reply, 422, "upload_published")
    assert error["details"] == {"power_of_attorney_upload_id": [o.uploads["county_officer"]]}
    assert snapshot(app) == before


def test_the_committee_rejects_a_delegation_with_a_reason_and_the_owner_records_another(
    app, client, owners
):
    o = owners
    w = o.w
    cid = owners_decision(client, w)
    first = delegate(client, o, cid).get_json()

    before = snapshot(app)
    no_reason = client.post(f"{D}/{first['id']}/reject", json={}, headers=w.headers["clerk"])
    assert_error_shape(no_reason, 422, "invalid")
    blank = client.post(
        f"{D}/{first['id']}/reject", json={"reason": "  "}, headers=w.headers["clerk"]
    )
    assert_error_shape(blank, 422, "invalid")
    assert snapshot(app) == before

    rejected = client.post(
        f"{D}/{first['id']}/reject",
        json={"reason": "委托书上没有业主签名"},
        headers=w.headers["clerk"],
    )
    assert rejected.status_code == 200, rejected.get_json()
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["reason"] == "委托书上没有业主签名"
    assert_refused_not_an_owner(put_ballot(client, o.tenant_headers, cid, choice="agree"))

    # A rejected delegation is no longer live: it cannot be verified or revoked, and the owner
    # may record another.
    before = snapshot(app)
    again = client.post(f"{D}/{first['id']}/verify", headers=w.headers["clerk"])
    assert_error_shape(again, 409, "delegation_not_pending")
    gone = client.post(f"{D}/{first['id']}/revoke", headers=w.headers["resident_member"])
    assert_error_shape(gone, 409, "delegation_not_live")
    assert snapshot(app) == before
    assert delegate(client, o, cid).status_code == 201

    # The owner's own household list shows both; the household of another owner sees none.
    mine = client.get(f"{C}/{cid}/delegations", headers=w.headers["resident_member"]).get_json()
    assert [d["status"] for d in mine["items"]] == ["pending", "rejected"]
    assert mine["total"] == 2
    theirs = client.get(f"{C}/{cid}/delegations", headers=o.tenant_headers).get_json()
    assert [d["id"] for d in theirs["items"]] == [d["id"] for d in mine["items"]]
    none = client.get(f"{C}/{cid}/delegations", headers=w.members[2]).get_json()
    assert none == {"items": [], "page": 1, "per_page": 20, "total": 0}
    # A page at a time: the newest first.
    first = client.get(
        f"{C}/{cid}/delegations",
        query_string={"per_page": 1},
        headers=w.headers["resident_member"],
    ).get_json()
    assert [d["id"] for d in first["items"]] == [mine["items"][0]["id"]]
    assert first["total"] == 2


def test_only_the_owner_who_recorded_it_revokes_a_delegation(app, client, owners):
    o = owners
    cid = owners_decision(client, o.w)
    delegation = delegate(client, o, cid).get_json()
    before = snapshot(app)
    # The delegate, a member of the household, sees it but may not revoke it.
    reply = client.post(f"{D}/{delegation['id']}/revoke", headers=o.tenant_headers)
    assert_error_shape(reply, 403, "not_delegation_owner")
    # Another estate resident's household: it does not exist for them.
    reply = client.post(f"{D}/{delegation['id']}/revoke", headers=o.w.members[2])
    assert_error_shape(reply, 404, "delegation_not_found")
    assert snapshot(app) == before


def test_the_owner_may_still_vote_while_a_delegation_holds(app, client, owners):
    """The delegation entrusts the owner's vote; it does not take it away: the household's last
    ballot counts, whoever of the two cast it."""
    o = owners
    w = o.w
    cid = owners_decision(client, w)
    delegation = delegate(client, o, cid).get_json()
    client.post(f"{D}/{delegation['id']}/verify", headers=w.headers["clerk"])
    assert put_ballot(client, o.tenant_headers, cid, choice="agree").status_code == 200
    assert (
        put_ballot(client, w.headers["resident_member"], cid, choice="disagree").status_code == 200
    )
    assert ballot_row(app, cid, o.household(0)) == (False, [True, False])


def test_candidates_are_for_owners_only(app, client, owners):
    o = owners
    cid = owners_decision(client, o.w)
    before = snapshot(app)
    assert_refused_not_an_owner(
        client.get(f"{C}/{cid}/delegation-candidates", headers=o.tenant_headers)
    )
    # An owner whose household has no other member has no one to name.
    alone = client.get(f"{C}/{cid}/delegation-candidates", headers=o.w.members[2])
    assert alone.status_code == 200 and alone.get_json() == []
    assert snapshot(app) == before


# --- bad input: refused in the error shape, nothing written ------------------------------------


@dataclass
class Case:
    name: str
    status: int
    code: str
    call: Callable  # (client, owners, consultation id, delegation id) -> reply
    kind: str = "owners_decision"  # or plan_satisfaction, draft
    delegation: str | None = None  # household 0's delegation first: pending or verified


def _post(path_of, body_of=None, actor="resident_member", raw=None, content_type=None):
    def call(client, o, cid, did):
        headers = o.tenant_headers if actor == "tenant" else o.w.headers[actor]
        path = path_of(cid, did)
        if raw is not None:
            return client.post(
                path, data=raw, headers=headers, content_type=content_type or "application/json"
            )
        body = None if body_of is None else body_of(o)
        return client.post(path, json=body, headers=headers)

    return call


def _owner_body(o, **changes):
    body = {"delegate_id": o.tenant.id, "power_of_attorney_upload_id": o.uploads["resident_member"]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def _clerk_body(o, **changes):
    body = {
        "household_id": o.household(0),
        "delegate_id": o.tenant.id,
        "power_of_attorney_upload_id": o.uploads["clerk"],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def RECORD(cid, did):  # noqa: N802 - read as a path, like C and D
    return f"{C}/{cid}/delegations"


CASES = [
    Case("malformed JSON", 400, "malformed_request", _post(RECORD, raw=b'{"delegate_id": ')),
    Case(
        "not sent as JSON",
        415,
        "unsupported_media_type",
        _post(RECORD, raw=b"delegate_id=1", content_type="application/x-www-form-urlencoded"),
    ),
    Case("a body that is a list", 422, "invalid", _post(RECORD, lambda o: [1, 2])),
    Case("no delegate", 422, "invalid", _post(RECORD, lambda o: _owner_body(o, delegate_id=...))),
    Case(
        "no power of attorney",
        422,
        "invalid",
        _post(RECORD, lambda o: _owner_body(o, power_of_attorney_upload_id=...)),
    ),
    Case(
        "a delegate id as text",
        422,
        "invalid",
        _post(RECORD, lambda o: _owner_body(o, delegate_id=str(o.tenant.id))),
    ),
    Case(
        "an upload id as a float",
        422,
        "invalid",
        _post(RECORD, lambda o: _owner_body(o, power_of_attorney_upload_id=1.5)),
    ),
    Case(
        "a negative household",
        422,
        "invalid",
        _post(RECORD, lambda o: _owner_body(o, household_id=-1)),
    ),
    Case(
        "a note too long", 422, "invalid", _post(RECORD, lambda o: _owner_body(o, note="长" * 201))
    ),
    Case(
        "an unknown field",
        422,
        "invalid",
        _post(RECORD, lambda o: _owner_body(o, status="verified")),
    ),
    Case(
        "an unknown delegate",
        422,
        "delegate_not_in_household",
        _post(RECORD, lambda o: _owner_body(o, delegate_id=2_000_000_000)),
    ),
    Case(
        "a delegate of another household",
        422,
        "delegate_not_in_household",
        _post(RECORD, lambda o: _owner_body(o, delegate_id=o.family.id)),
    ),
    Case(
        "a delegate outside the estate",
        422,
        "delegate_not_in_household",
        _post(
            RECORD, lambda o: _owner_body(o, delegate_id=o.w.callers["resident_other_estate"].id)
        ),
    ),
    Case(
        "the owner themselves",
        422,
        "delegate_is_owner",
        _post(RECORD, lambda o: _owner_body(o, delegate_id=o.w.callers["resident_member"].id)),
    ),
    Case(
        "an unknown upload",
        422,
        "upload_invalid",
        _post(RECORD, lambda o: _owner_body(o, power_of_attorney_upload_id=2_000_000_000)),
    ),
    Case(
        "someone else's upload",
        422,
        "upload_invalid",
        _post(RECORD, lambda o: _owner_body(o, power_of_attorney_upload_id=o.uploads["tenant"])),
    ),
    Case(
        "a staff upload named by a resident",
        422,
        "upload_invalid",
        _post(RECORD, lambda o: _owner_body(o, power_of_attorney_upload_id=o.uploads["clerk"])),
    ),
    Case(
        "the clerk naming a resident's upload",
        422,
        "upload_invalid",
        _post(
            RECORD,
            lambda o: _clerk_body(o, power_of_attorney_upload_id=o.uploads["resident_member"]),
            actor="clerk",
        ),
    ),
    Case(
        "the clerk without a household",
        422,
        "household_not_in_electorate",
        _post(RECORD, lambda o: _clerk_body(o, household_id=...), actor="clerk"),
    ),
    Case(
        "the clerk naming a household of another estate",
        422,
        "household_not_in_electorate",
        _post(RECORD, lambda o: _clerk_body(o, household_id=o.w.other_household_id), actor="clerk"),
    ),
    Case(
        "the clerk naming an owner as delegate",
        422,
        "delegate_is_owner",
        _post(
            RECORD,
            lambda o: _clerk_body(o, delegate_id=o.w.callers["resident_member"].id),
            actor="clerk",
        ),
    ),
    Case(
        "another owner's household",
        403,
        "not_an_owner",
        _post(RECORD, lambda o: _owner_body(o, household_id=o.household(1))),
    ),
    Case(
        "a tenant delegating",
        403,
        "not_an_owner",
        _post(
            RECORD,
            lambda o: _owner_body(o, power_of_attorney_upload_id=o.uploads["tenant"]),
            actor="tenant",
        ),
    ),
    Case(
        "a second live delegation",
        409,
        "delegation_exists",
        _post(RECORD, _owner_body),
        delegation="pending",
    ),
    Case(
        "a delegation in a plan satisfaction consultation",
        422,
        "delegation_not_applicable",
        _post(RECORD, _owner_body),
        kind="plan_satisfaction",
    ),
    Case(
        "a delegation in a draft",
        409,
        "consultation_not_open",
        _post(RECORD, _owner_body),
        kind="draft",
    ),
    Case(
        "an unknown consultation",
        404,
        "consultation_not_found",
        _post(lambda cid, did: f"{C}/2000000000/delegations", _owner_body),
    ),
    Case(
        "candidates of a plan satisfaction consultation",
        422,
        "delegation_not_applicable",
        lambda client, o, cid, did: client.get(
            f"{C}/{cid}/delegation-candidates", headers=o.w.headers["resident_member"]
        ),
        kind="plan_satisfaction",
    ),
    Case(
        "verifying an unknown delegation",
        404,
        "delegation_not_found",
        _post(lambda cid, did: f"{D}/2000000000/verify", actor="clerk"),
    ),
    Case(
        "revoking an unknown delegation",
        404,
        "delegation_not_found",
        _post(lambda cid, did: f"{D}/2000000000/revoke"),
    ),
    Case(
        "rejecting with a reason too long",
        422,
        "invalid",
        _post(lambda cid, did: f"{D}/{did}/reject", lambda o: {"reason": "长" * 201}, "clerk"),
        delegation="pending",
    ),
    Case(
        "rejecting with a reason that is a number",
        422,
        "invalid",
        _post(lambda cid, did: f"{D}/{did}/reject", lambda o: {"reason": 7}, "clerk"),
        delegation="pending",
    ),
    Case(
        "verifying twice",
        409,
        "delegation_not_pending",
        _post(lambda cid, did: f"{D}/{did}/verify", actor="clerk"),
        delegation="verified",
    ),
]


def test_case_names_are_unique():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_bad_input_is_refused_and_writes_nothing(app, client, owners, case: Case):
    o = owners
    if case.kind == "plan_satisfaction":
        cid = create_consultation(client, o.w)
        open_(client, o.w, cid)
    else:
        cid = owners_decision(client, o.w, open_it=case.kind != "draft")
    did = None
    if case.delegation is not None:
        recorded = delegate(client, o, cid)
        assert recorded.status_code == 201, recorded.get_json()
        did = recorded.get_json()["id"]
        if case.delegation == "verified":
            verified = client.post(f"{D}/{did}/verify", headers=o.w.headers["clerk"])
            assert verified.status_code == 200, verified.get_json()
    before = snapshot(app)
    reply = case.call(client, o, cid, did)
    assert_error_shape(reply, case.status, case.code)
    after = snapshot(app)
    assert after == before, f"{case.name} wrote: {diff(before, after)}"


# --- the permission matrix of the delegations blueprint ---------------------------------------


@dataclass
class Endpoint:
    method: str
    rule: str
    state: str  # open (an owners' decision), pending (with household 0's delegation pending)
    answers: dict[str, int]
    body: Callable[[Owners, str], dict] | None = None
    codes: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule.removeprefix('/api/v1')}"

    @property
    def not_found(self) -> str:
        return "delegation_not_found" if self.rule.startswith(D) else "consultation_not_found"


def _answers(**by_actor: int) -> dict[str, int]:
    assert set(by_actor) == set(ACTORS), set(ACTORS) ^ set(by_actor)
    return by_actor


OUT_OF_SIGHT = {
    "anonymous": 401,
    "resident_other_estate": 404,
    "resident_unverified": 404,
    "clerk_other_community": 404,
    "owner_other_project": 404,
}


def kept_by_committee(ok: int, resident_member: int) -> dict[str, int]:
    """The household's owner (or a member, for reads), the committee, the county and the
    prefecture; never the project owner (403), the interested party."""
    return _answers(
        **OUT_OF_SIGHT,
        resident_member=resident_member,
        clerk=ok,
        owner=403,
        county_officer=ok,
        prefecture=ok,
    )


def staff_only(ok: int) -> dict[str, int]:
    """The committee's review: residents 403 (staff only), whatever the id."""
    return {
        **kept_by_committee(ok, 403),
        "resident_other_estate": 403,
        "resident_unverified": 403,
    }


def residents_only(ok: int) -> dict[str, int]:
    return _answers(
        anonymous=401,
        resident_other_estate=404,
        resident_unverified=404,
        clerk_other_community=403,
        owner_other_project=403,
        resident_member=ok,
        clerk=403,
        owner=403,
        county_officer=403,
        prefecture=403,
    )


def _record(o: Owners, actor: str) -> dict:
    upload = o.uploads.get(actor, o.uploads["resident_member"])
    body = {"delegate_id": o.tenant.id, "power_of_attorney_upload_id": upload}
    if actor != "anonymous" and not actor.startswith("resident"):
        body["household_id"] = o.household(0)
    return body


_STAFF_CODES = {"resident_member": "staff_only", "resident_other_estate": "staff_only"}
_RESIDENT_CODES = {"clerk": "residents_only", "prefecture": "residents_only"}
_OWNER = {"owner": "out_of_scope"}
DC = f"{C}/<int:consultation_id>"
DD = f"{D}/<int:delegation_id>"

ENDPOINTS = [
    Endpoint(
        "GET", f"{DC}/delegation-candidates", "open", residents_only(200), codes=_RESIDENT_CODES
    ),
    Endpoint("POST", f"{DC}/delegations", "open", kept_by_committee(201, 201), _record, _OWNER),
    Endpoint("GET", f"{DC}/delegations", "pending", kept_by_committee(200, 200), codes=_OWNER),
    Endpoint("POST", f"{DD}/verify", "pending", staff_only(200), codes={**_STAFF_CODES, **_OWNER}),
    Endpoint(
        "POST",
        f"{DD}/reject",
        "pending",
        staff_only(200),
        lambda o, actor: {"reason": "委托书照片模糊，请重新上传"},
        {**_STAFF_CODES, **_OWNER},
    ),
    Endpoint("POST", f"{DD}/revoke", "pending", kept_by_committee(200, 200), codes=_OWNER),
]


def test_matrix_rows_are_complete():
    ids = [e.id for e in ENDPOINTS]
    assert len(ids) == len(set(ids))
    for endpoint in ENDPOINTS:
        assert set(endpoint.answers) == set(ACTORS), endpoint.id
        assert endpoint.answers["anonymous"] == 401
        assert all(endpoint.answers[a] in (403, 404) for a in REFUSED[1:]), endpoint.id
        assert any(200 <= endpoint.answers[a] < 300 for a in ALLOWED), endpoint.id


def test_matrix_lists_every_route_of_the_delegations_blueprint(app):
    registered = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("delegations.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered == {(e.method, e.rule) for e in ENDPOINTS}


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_permission_matrix(app, client, owners, endpoint: Endpoint, actor: str):
    o = owners
    cid = owners_decision(client, o.w)
    did = None
    if endpoint.state == "pending":
        recorded = delegate(client, o, cid)
        assert recorded.status_code == 201, recorded.get_json()
        did = recorded.get_json()["id"]
    path = endpoint.rule.replace("<int:consultation_id>", str(cid)).replace(
        "<int:delegation_id>", str(did)
    )
    expected = endpoint.answers[actor]
    before = snapshot(app)

    kwargs = {"headers": o.w.headers[actor]}
    if endpoint.body is not None:
        kwargs["json"] = endpoint.body(o, actor)
    reply = client.open(path, method=endpoint.method, **kwargs)

    assert reply.status_code == expected, (actor, reply.get_json())
    if expected >= 400:
        error = assert_error_shape(reply)
        if actor in endpoint.codes:
            assert error["code"] == endpoint.codes[actor], error
        elif expected == 401:
            assert error["code"] == "unauthorized", error
        elif expected == 404:
            assert error["code"] == endpoint.not_found, error
        after = snapshot(app)
        assert after == before, f"a refused call wrote: {diff(before, after)}"
    else:
        assert reply.mimetype == "application/json"


def test_in_a_bundled_project_each_committee_keeps_its_own_communitys_delegations(
    app, client, owners, make
):
    """A bundled project over community A's estate and community B's: A's clerk lists and
    verifies A's households' delegations only (B's: 403), B's clerk B's; the county sees both."""
    o = owners
    w = o.w
    with app.app_context():
        estates = [
            db.session.get(Estate, w.scene.estate_id),
            db.session.get(Estate, w.other_estate_id),
        ]
        bundled = factory.project(w.scene.county_id, estates, "捆绑项目", category="basic")
        db.session.commit()
        pid = bundled.id
        db.session.remove()
    clerk_b = make.staff("committee", SimpleNamespace(id=w.other_community_id))
    family_b = make.member(SimpleNamespace(id=w.other_household_id), relation="family")
    owner_b = w.callers["resident_other_estate"]  # the owner of community B's household
    county = w.headers["county_officer"]
    created = client.post(
        f"/api/v1/projects/{pid}/consultations",
        json={"kind": "owners_decision", "matter": "use_maintenance_fund"},
        headers=county,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"{C}/{cid}/open", headers=county).status_code == 200

    in_a = client.post(
        f"{C}/{cid}/delegations",
        json={
            "delegate_id": o.tenant.id,
            "power_of_attorney_upload_id": evidence_upload(
                app, pid, resident_id=w.callers["resident_member"].id
            ),
        },
        headers=w.headers["resident_member"],
    )
    assert in_a.status_code == 201, in_a.get_json()
    in_b = client.post(
        f"{C}/{cid}/delegations",
        json={
            "delegate_id": family_b.id,
            "power_of_attorney_upload_id": evidence_upload(app, pid, resident_id=owner_b.id),
        },
        headers=w.headers["resident_other_estate"],
    )
    assert in_b.status_code == 201, in_b.get_json()
    a_id, b_id = in_a.get_json()["id"], in_b.get_json()["id"]

    def listed(headers):
        reply = client.get(f"{C}/{cid}/delegations", headers=headers)
        assert reply.status_code == 200, reply.get_json()
        return {d["id"] for d in reply.get_json()["items"]}

    assert listed(w.headers["clerk"]) == {a_id}
    assert listed(make.headers(clerk_b)) == {b_id}
    assert listed(county) == {a_id, b_id}

    before = snapshot(app)
    reply = client.post(f"{D}/{b_id}/verify", headers=w.headers["clerk"])
    assert_error_shape(reply, 403, "out_of_scope")
    assert snapshot(app) == before
    assert client.post(f"{D}/{b_id}/verify", headers=make.headers(clerk_b)).status_code == 200
