"""A scheme's figures (issue 15, item 3): per building and in total, households pledged,
declined, paid in full, partly, unpaid, and the amounts due, paid, outstanding, refunded and
overpaid, to the fen; the households list's filters agree with them; a draft's figures are
computed from the roster (provisional)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count

import pytest

from api.core import db
from devtools import factory
from participation.models import ContributionEntry, Estate, Household
from tests.contributions.scheme_helpers import (
    S,
    adopted_scheme,
    create_scheme,
    dues,
    funding_line,
)
from tests.support.voting_world import build_world

KEYS = count(1)


@pytest.fixture(scope="module")
def w(app, module_make):
    w = build_world(app, module_make, households=6)
    # Households 3–5 are in building 2栋, with awkward areas.
    areas = ["80.00", "80.00", "80.00", "33.33", "0.05", "85.37"]
    with app.app_context():
        building = factory.building(db.session.get(Estate, w.scene.estate_id), "2栋")
        for i, (household_id, area) in enumerate(zip(w.scene.household_ids, areas, strict=True)):
            household = db.session.get(Household, household_id)
            household.floor_area = Decimal(area)
            if i >= 3:
                household.building_id = building.id
        db.session.commit()
    return w


def entry(app, scheme_id, household_id, kind, amount_fen, corrects_id=None, clerk_id=None):
    with app.app_context():
        row = ContributionEntry(
            scheme_id=scheme_id,
            household_id=household_id,
            kind=kind,
            amount_fen=amount_fen,
            paid_on=date(2026, 11, 1),
            channel="cash",
            corrects_id=corrects_id,
            idempotency_key=f"key-{next(KEYS):08d}",
            staff_id=clerk_id,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def test_figures_per_building_and_in_total_to_the_fen(app, client, w):
    line = funding_line(app, w.project_id, "5000.00")
    scheme = adopted_scheme(app, client, w, rate_fen=1250, funding_line_id=line)
    amounts = dues(app, scheme["id"])
    h = w.scene.household_ids
    # 80.00 × 1250 = 100000; 33.33 × 1250 = 41662.5 → 41663; 0.05 × 1250 = 62.5 → 63;
    # 85.37 × 1250 = 106712.5 → 106713.
    assert [amounts[i] for i in h] == [100000, 100000, 100000, 41663, 63, 106713]
    clerk = w.callers["clerk"].id
    entry(app, scheme["id"], h[0], "payment", 100000, clerk_id=clerk)  # paid in full
    entry(app, scheme["id"], h[1], "payment", 30000, clerk_id=clerk)  # partly
    wrong = entry(app, scheme["id"], h[3], "payment", 50000, clerk_id=clerk)
    entry(app, scheme["id"], h[3], "correction", -8000, corrects_id=wrong, clerk_id=clerk)
    entry(app, scheme["id"], h[5], "payment", 110000, clerk_id=clerk)  # overpaid by 3287
    entry(app, scheme["id"], h[5], "refund", -2000, clerk_id=clerk)  # overpaid by 1287 now
    for i, choice in ((0, "pledged"), (1, "pledged"), (2, "declined")):
        body = {"choice": choice, "reason": "暂无能力" if choice == "declined" else None}
        reply = client.put(f"{S}/{scheme['id']}/pledges/{h[i]}", json=body, headers=w.members[i])
        assert reply.status_code == 200, reply.get_json()

    figures = client.get(f"{S}/{scheme['id']}/figures", headers=w.headers["clerk"]).get_json()
    one, two = figures["buildings"]
    assert (one["name"], two["name"]) == ("1栋", "2栋")
    assert one == {
        "building_id": one["building_id"],
        "name": "1栋",
        "households": 3,
        "pledged": 2,
        "declined": 1,
        "unanswered": 0,
        "paid_in_full": 1,
        "partly_paid": 1,
        "unpaid": 1,
        "due_fen": 300000,
        "paid_fen": 130000,
        "outstanding_fen": 170000,
        "refunded_fen": 0,
        "overpaid_fen": 0,
    }
    assert two == {
        "building_id": two["building_id"],
        "name": "2栋",
        "households": 3,
        "pledged": 0,
        "declined": 0,
        "unanswered": 3,
        "paid_in_full": 2,  # 42000 ≥ 41663 and 108000 ≥ 106713
        "partly_paid": 0,
        "unpaid": 1,
        "due_fen": 41663 + 63 + 106713,
        "paid_fen": 42000 + 108000,
        "outstanding_fen": 63,
        "refunded_fen": 2000,
        "overpaid_fen": 337 + 1287,
    }
    totals = figures["totals"]
    for key, value in totals.items():
        assert value == one[key] + two[key], key
    assert figures["funding_line"]["amount_fen"] == 500000
    assert figures["difference_fen"] == totals["due_fen"] - 500000
    assert all(isinstance(v, int) for v in totals.values())

    def listed(state):
        page = client.get(
            f"{S}/{scheme['id']}/households?state={state}&per_page=100",
            headers=w.headers["clerk"],
        ).get_json()
        return {item["household_id"] for item in page["items"]}

    assert listed("paid") == {h[0], h[3], h[5]}
    assert listed("partly_paid") == {h[1]}
    assert listed("unpaid") == {h[2], h[4]}
    assert listed("overpaid") == {h[3], h[5]}
    assert listed("pledged") == {h[0], h[1]}
    assert listed("declined") == {h[2]}
    assert listed("unanswered") == {h[3], h[4], h[5]}
    page = client.get(
        f"{S}/{scheme['id']}/households?building_id={two['building_id']}&per_page=2",
        headers=w.headers["clerk"],
    ).get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    by_household = {item["household_id"]: item for item in page["items"]}
    assert by_household[h[3]]["paid_fen"] == 42000 and by_household[h[3]]["floor_area"] == "33.33"
    assert by_household[h[3]]["outstanding_fen"] == 0


def test_a_drafts_figures_are_computed_from_the_roster(app, client, w):
    scheme = create_scheme(client, w, basis="floor_area", rate_fen=1250)
    figures = client.get(f"{S}/{scheme['id']}/figures", headers=w.headers["owner"]).get_json()
    assert figures["provisional"] is True
    assert figures["totals"]["due_fen"] == 300000 + 41663 + 63 + 106713
    assert figures["totals"]["unanswered"] == 6 and figures["totals"]["paid_fen"] == 0
    assert dues(app, scheme["id"]) == {}
    per_household = create_scheme(client, w, basis="household", rate_fen=50000)
    assert per_household["summary"]["total_fen"] == 6 * 50000
