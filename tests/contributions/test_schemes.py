"""A contribution scheme from proposal to cancellation (issue 15, item 1): proposed as a draft
with each household's amount computed from the roster, linked to an owners' decision, refused
adoption until that decision has finally passed on the scheme's matter in every estate it
covers, adopted (amounts frozen), answered by households, cancelled.

Also: a scheme cannot collect before its owners' decision passes (no pledge, and the database
itself refuses a pledge or an entry without a frozen amount), and the rounding to the fen.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from api.core import db
from participation.models import ContributionDue, ContributionEntry, ContributionPledge
from participation.service.contributions import amount_fen
from tests.contributions.scheme_helpers import (
    S,
    add_estate,
    adopt,
    adopted_scheme,
    create_scheme,
    dues,
    funding_line,
    link,
    owners_decision,
    pledges,
    scene_building_id,
)
from tests.support.voting_world import assert_error_shape, build_world, snapshot


@pytest.fixture(scope="module")
def w(app, module_make):
    return build_world(app, module_make)


def refused_adoption(client, w, scheme_id: int, reason: str) -> dict:
    reply = adopt(client, w, scheme_id)
    error = assert_error_shape(reply, 409, "decision_not_passed")
    assert error["details"]["reason"] == reason, error
    return error["details"]


def test_a_scheme_from_draft_to_adoption_pledges_and_cancellation(app, client, w):
    line = funding_line(app, w.project_id, "1500.00")
    scheme = create_scheme(client, w, funding_line_id=line, description="一号楼加装电梯")
    assert scheme["status"] == "draft" and scheme["status_label"] == "草案"
    assert scheme["matter"] == "raise_maintenance_fund"
    summary = scheme["summary"]
    # Four households of 80.00 m² at 12.50 元/m²: 1,000.00 元 each.
    assert summary["households"] == 4 and summary["total_fen"] == 400000
    assert summary["provisional"] is True
    assert summary["funding_line"]["amount_fen"] == 150000
    assert summary["difference_fen"] == 400000 - 150000
    assert summary["rounding"]["rule"] == "half_up" and "四舍五入" in summary["rounding"]["label"]
    assert summary["rule"] == "three_quarters" and summary["decision"] is None

    # The draft's households are shown as computed now; nothing is frozen.
    page = client.get(f"{S}/{scheme['id']}/households", headers=w.headers["clerk"]).get_json()
    assert page["total"] == 4
    assert {item["amount_fen"] for item in page["items"]} == {100000}
    assert all(item["provisional"] and item["pledge"] is None for item in page["items"])
    assert dues(app, scheme["id"]) == {}

    # Not linked: refused.
    assert refused_adoption(client, w, scheme["id"], "not_linked")

    # A draft decision, then an open one: refused as not final.
    draft_cid = owners_decision(app, client, w, "draft")
    assert link(client, w, scheme["id"], draft_cid).status_code == 200
    assert refused_adoption(client, w, scheme["id"], "not_final")["status"] == "draft"
    open_cid = owners_decision(app, client, w, "open")
    assert link(client, w, scheme["id"], open_cid).status_code == 200
    assert refused_adoption(client, w, scheme["id"], "not_final")["status"] == "open"

    # A failed decision: refused, naming the estate that failed.
    failed_cid = owners_decision(app, client, w, "failed")
    linked = link(client, w, scheme["id"], failed_cid)
    assert linked.status_code == 200
    assert linked.get_json()["summary"]["decision"]["final"] is True
    assert linked.get_json()["summary"]["decision"]["passed"] is False
    details = refused_adoption(client, w, scheme["id"], "failed")
    assert details["failed_estate_ids"] == [w.scene.estate_id]

    # A passed decision on another matter cannot be linked; and once linked, a scheme moved
    # to another matter is refused adoption.
    other_cid = owners_decision(app, client, w, "passed", matter="rebuild")
    before = snapshot(app)
    assert_error_shape(link(client, w, scheme["id"], other_cid), 422, "decision_matter_mismatch")
    assert snapshot(app) == before
    passed_cid = owners_decision(app, client, w, "passed")
    assert link(client, w, scheme["id"], passed_cid).status_code == 200
    # Once its decision has opened, the terms the owners vote on stay as they are.
    before = snapshot(app)
    moved = client.patch(
        f"{S}/{scheme['id']}", json={"matter": "rebuild"}, headers=w.headers["owner"]
    )
    assert assert_error_shape(moved, 409, "scheme_under_decision")["details"]["fields"] == [
        "matter"
    ]
    assert snapshot(app) == before
    renamed = client.patch(
        f"{S}/{scheme['id']}", json={"title": "加装电梯出资（定稿）"}, headers=w.headers["owner"]
    )
    assert renamed.status_code == 200, renamed.get_json()

    # Adopted: every household's amount frozen.
    adopted = adopt(client, w, scheme["id"])
    assert adopted.status_code == 200, adopted.get_json()
    body = adopted.get_json()
    assert body["status"] == "adopted" and body["adopted_at"]
    assert body["summary"]["provisional"] is False and body["summary"]["total_fen"] == 400000
    assert dues(app, scheme["id"]) == dict.fromkeys(w.scene.household_ids, 100000)

    # Adopted is no longer a draft: no amendment, no second adoption, no relinking.
    for reply in (
        client.patch(f"{S}/{scheme['id']}", json={"rate_fen": 1}, headers=w.headers["owner"]),
        adopt(client, w, scheme["id"]),
        link(client, w, scheme["id"], passed_cid),
    ):
        assert_error_shape(reply, 409, "scheme_not_draft")

    # The roster changes later; what was decided does not.
    with app.app_context():
        from participation.models import Household

        db.session.get(Household, w.scene.household_ids[0]).floor_area = Decimal("99.99")
        db.session.commit()
    assert dues(app, scheme["id"])[w.scene.household_ids[0]] == 100000

    # Households answer: an owner pledges, another declines with a reason, the clerk records
    # a third at the desk; the latest answer stands.
    h = w.scene.household_ids
    put = f"{S}/{scheme['id']}/pledges"
    first = client.put(
        f"{put}/{h[0]}", json={"choice": "declined", "reason": "经济困难"}, headers=w.members[0]
    )
    assert first.status_code == 200, first.get_json()
    again = client.put(f"{put}/{h[0]}", json={"choice": "pledged"}, headers=w.members[0])
    assert again.status_code == 200 and again.get_json()["choice_label"] == "承诺出资"
    declined = client.put(
        f"{put}/{h[1]}", json={"choice": "declined", "reason": "不使用电梯"}, headers=w.members[1]
    )
    assert declined.status_code == 200
    desk = client.put(f"{put}/{h[2]}", json={"choice": "pledged"}, headers=w.headers["clerk"])
    assert desk.status_code == 200 and desk.get_json()["recorded_at_desk"] is True
    stored = pledges(app, scheme["id"])
    assert stored[h[0]][:2] == ("pledged", None)
    assert stored[h[1]][:2] == ("declined", "不使用电梯")
    assert stored[h[2]][0] == "pledged" and stored[h[2]][3] == w.callers["clerk"].id

    figures = client.get(f"{S}/{scheme['id']}/figures", headers=w.headers["owner"]).get_json()
    totals = figures["totals"]
    assert (totals["households"], totals["pledged"], totals["declined"], totals["unanswered"]) == (
        4,
        2,
        1,
        1,
    )
    assert totals["due_fen"] == totals["outstanding_fen"] == 400000 and totals["paid_fen"] == 0
    assert totals["unpaid"] == 4 and figures["difference_fen"] == 250000
    assert [b["households"] for b in figures["buildings"]] == [4]

    filtered = client.get(
        f"{S}/{scheme['id']}/households?state=declined", headers=w.headers["clerk"]
    ).get_json()
    assert [item["household_id"] for item in filtered["items"]] == [h[1]]
    assert filtered["items"][0]["reason"] == "不使用电梯"
    assert "*" in filtered["items"][0]["owner"]

    # Cancelled with a reason: no more pledges; a second cancellation is refused.
    cancelled = client.post(
        f"{S}/{scheme['id']}/cancel", json={"reason": "改由财政出资"}, headers=w.headers["owner"]
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["cancel_reason"] == "改由财政出资"
    before = snapshot(app)
    assert_error_shape(
        client.put(f"{put}/{h[3]}", json={"choice": "pledged"}, headers=w.members[3]),
        409,
        "scheme_not_adopted",
    )
    assert_error_shape(
        client.post(
            f"{S}/{scheme['id']}/cancel", json={"reason": "再次"}, headers=w.headers["owner"]
        ),
        409,
        "scheme_cancelled",
    )
    assert snapshot(app) == before


def test_a_scheme_cannot_collect_before_its_owners_decision_passes(app, client, w):
    scheme = create_scheme(client, w)
    cid = owners_decision(app, client, w, "open")
    assert link(client, w, scheme["id"], cid).status_code == 200
    h = w.scene.household_ids[0]
    before = snapshot(app)
    for headers in (w.members[0], w.headers["clerk"]):
        reply = client.put(
            f"{S}/{scheme['id']}/pledges/{h}", json={"choice": "pledged"}, headers=headers
        )
        assert_error_shape(reply, 409, "scheme_not_adopted")
    assert snapshot(app) == before


def test_the_database_refuses_a_pledge_or_an_entry_without_a_frozen_amount(app, client, w):
    """Even if the service's check were skipped, a draft has no frozen amount to hang a pledge
    or an entry on: the composite foreign keys refuse them (PostgreSQL: the embedded SQLite
    does not enforce foreign keys)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite as the app runs it does not enforce foreign keys")
    scheme = create_scheme(client, w)
    h = w.scene.household_ids[0]
    before = snapshot(app)
    with app.app_context():
        for statement in (
            insert(ContributionPledge).values(
                scheme_id=scheme["id"], household_id=h, choice="pledged"
            ),
            insert(ContributionEntry).values(
                scheme_id=scheme["id"],
                household_id=h,
                kind="payment",
                amount_fen=100,
                paid_on=date(2026, 1, 1),
                channel="cash",
                idempotency_key="k" * 16,
                staff_id=w.callers["clerk"].id,
            ),
        ):
            with pytest.raises(IntegrityError):
                with db.session.begin_nested():
                    db.session.execute(statement)
        db.session.rollback()
    assert snapshot(app) == before


def test_each_estate_decides_for_its_own_households(app, client, make, w):
    second = add_estate(app, make, w)
    whole = create_scheme(client, w)
    assert whole["summary"]["households"] == 8
    theirs = create_scheme(client, w, building_ids=[second.building_id])
    ours = create_scheme(client, w, building_ids=[scene_building_id(app, w)])
    assert ours["summary"]["households"] == 4
    # Estate one's owners agree, estate two's disagree.
    w.members.extend(second.headers)
    try:
        votes = ["agree"] * 4 + ["disagree"] * 4
        cid = owners_decision(app, client, w, "closed", votes=votes)
    finally:
        del w.members[4:]
    assert link(client, w, whole["id"], cid).status_code == 200
    assert refused_adoption(client, w, whole["id"], "failed")["failed_estate_ids"] == [second.id]
    assert link(client, w, theirs["id"], cid).status_code == 200
    assert refused_adoption(client, w, theirs["id"], "failed")["failed_estate_ids"] == [second.id]

    # A scheme for estate one's building only: its owners decided, and passed.
    assert link(client, w, ours["id"], cid).status_code == 200
    reply = adopt(client, w, ours["id"])
    assert reply.status_code == 200, reply.get_json()
    assert set(dues(app, ours["id"])) == set(w.scene.household_ids)


@pytest.mark.parametrize(
    ("area", "rate_fen", "expected"),
    [
        ("0.01", 1, 0),  # 0.01 fen rounds down
        ("0.05", 10, 1),  # 0.5 fen: half up
        ("0.01", 50, 1),  # 0.50 fen exactly: half up
        ("0.01", 49, 0),
        ("85.37", 1250, 106713),  # 106,712.5 fen → 106,713
        ("85.37", 1251, 106798),  # 106,797.87
        ("12.34", 5, 62),  # 61.70
        ("99999999.99", 10_000_000, 999999999900000),
    ],
)
def test_an_amount_is_rounded_half_up_to_the_fen(area, rate_fen, expected):
    assert amount_fen("floor_area", rate_fen, Decimal(area)) == expected
    assert amount_fen("household", rate_fen, Decimal(area)) == rate_fen


def test_frozen_amounts_round_each_household_half_up(app, client, make, w):
    areas = ["0.01", "0.05", "85.37", "33.33"]
    with app.app_context():
        from participation.models import Household

        for household_id, area in zip(w.scene.household_ids, areas, strict=True):
            db.session.get(Household, household_id).floor_area = Decimal(area)
        db.session.commit()
    scheme = adopted_scheme(app, client, w, rate_fen=1250)
    expected = {
        h: int((Decimal(a) * 1250 + Decimal("0.5")) // 1)
        for h, a in zip(w.scene.household_ids, areas, strict=True)
    }
    assert expected == dict(zip(w.scene.household_ids, [13, 63, 106713, 41663], strict=True))
    assert dues(app, scheme["id"]) == expected
    assert scheme["summary"]["total_fen"] == sum(expected.values())
    with app.app_context():
        areas_frozen = {
            d.household_id: d.floor_area
            for d in db.session.query(ContributionDue).filter_by(scheme_id=scheme["id"])
        }
    assert areas_frozen[w.scene.household_ids[2]] == Decimal("85.37")


def test_a_scheme_for_some_buildings_covers_their_households_only(app, client, make, w):
    second = add_estate(app, make, w, households=2, area="50.01")
    w.members.extend(second.headers)  # both estates' owners agree
    try:
        scheme = adopted_scheme(
            app, client, w, basis="household", rate_fen=50000, building_ids=[second.building_id]
        )
    finally:
        del w.members[4:]
    assert set(dues(app, scheme["id"])) == set(second.household_ids)
    assert scheme["summary"]["total_fen"] == 2 * 50000
    # A household outside its buildings has nothing to answer.
    outside = w.scene.household_ids[0]
    before = snapshot(app)
    reply = client.put(
        f"{S}/{scheme['id']}/pledges/{outside}", json={"choice": "pledged"}, headers=w.members[0]
    )
    assert_error_shape(reply, 404, "household_not_found")
    assert snapshot(app) == before
    # Its residents see the amount and the basis in words; the others do not see the scheme.
    mine = client.get("/api/v1/me/contributions", headers=second.headers[0]).get_json()
    (shown,) = [s for s in mine[0]["schemes"] if s["scheme_id"] == scheme["id"]]
    assert shown["amount_fen"] == 50000 and shown["basis_words"] == "按户 500.00 元/户"
    assert shown["due_on"] == scheme["due_on"]
    theirs = client.get("/api/v1/me/contributions", headers=w.members[0]).get_json()
    assert scheme["id"] not in {s["scheme_id"] for s in theirs[0]["schemes"]}


def test_one_owners_decision_adopts_one_scheme_on_the_terms_it_was_drawn_up_for(app, client, w):
    """A decision drawn up before the scheme's terms last changed does not adopt it (the
    owners voted on other terms); a decision that adopted one scheme adopts no other, and
    cannot even be linked to one."""
    early = create_scheme(client, w, title="先拟定的方案")
    cid = owners_decision(app, client, w, "passed")
    late = create_scheme(client, w, title="表决后才拟定的方案")
    assert link(client, w, late["id"], cid).status_code == 200
    assert refused_adoption(client, w, late["id"], "terms_changed")

    # Terms changed while the decision was still a draft: a new decision is needed.
    changed = create_scheme(client, w, title="表决前改过单价的方案")
    draft_cid = owners_decision(app, client, w, "draft")
    assert link(client, w, changed["id"], draft_cid).status_code == 200
    patched = client.patch(
        f"{S}/{changed['id']}", json={"rate_fen": 1300}, headers=w.headers["owner"]
    )
    assert patched.status_code == 200, patched.get_json()
    assert refused_adoption(client, w, changed["id"], "terms_changed")

    assert link(client, w, early["id"], cid).status_code == 200
    assert adopt(client, w, early["id"]).status_code == 200
    another = create_scheme(client, w, title="想借用同一表决的方案")
    before = snapshot(app)
    reply = link(client, w, another["id"], cid)
    assert (
        assert_error_shape(reply, 409, "decision_already_used")["details"]["scheme_id"]
        == (early["id"])
    )
    assert snapshot(app) == before
    # Linked before the first adoption, the second is still refused at its own adoption.
    assert refused_adoption(client, w, late["id"], "decision_already_used")


def test_the_owner_picks_a_schemes_buildings_from_the_projects_estates(app, client, make, w):
    """The project's owner (who may not read the estate's roster) lists the buildings of the
    project's estates, estate by estate, with their households' number."""
    second = add_estate(app, make, w, households=3)
    reply = client.get(f"/api/v1/projects/{w.project_id}/buildings", headers=w.headers["owner"])
    assert reply.status_code == 200, reply.get_json()
    buildings = reply.get_json()
    assert [b["id"] for b in buildings] == [scene_building_id(app, w), second.building_id]
    assert [b["households"] for b in buildings] == [4, 3]
    assert buildings[1]["estate_id"] == second.id and buildings[1]["estate"]
