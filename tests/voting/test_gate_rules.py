"""The counting rules and the satisfaction gate at their edges (docs/gate.md says them for people).

Each rule is tested twice: on `voting.queries.rules.evaluate` with counts made by hand (exact, no
database), and through the API, from residents' ballots to the gate's answer and the
transition to construction.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace

import pytest
from sqlalchemy import func, insert, select, update

import voting.jobs
from api.core import db, utcnow
from tests.support.voting_helpers import (
    backdate_opening,
    build_scene,
    open_consultation,
    resident,
    run_jobs,
)
from voting.models import Ballot, BallotChange, Consultation, Tally
from voting.queries.gate import RULE
from voting.queries.rules import Count, Weights, evaluate

# --- evaluate(): the rules on counts made by hand -----------------------------------------------


def consultation(
    kind="plan_satisfaction",
    households=10,
    persons=None,
    area="0",
    threshold=Fraction(9, 10),
    quorum=Fraction(2, 3),
    basis="households",
    rule=None,
) -> Consultation:
    """An unsaved consultation with a frozen electorate of the given size."""
    return Consultation(
        id=0,
        kind=kind,
        basis=basis,
        rule=rule,
        threshold_num=threshold.numerator,
        threshold_den=threshold.denominator,
        quorum_num=quorum.numerator,
        quorum_den=quorum.denominator,
        eligible_households=households,
        eligible_persons=households if persons is None else persons,
        eligible_area=Decimal(area),
    )


def w(households: int, persons: int | None = None, area: str = "0") -> Weights:
    return Weights(households, households if persons is None else persons, Fraction(area))


def count(**by_choice: Weights | int) -> Count:
    return Count(
        by_choice={
            choice: weights if isinstance(weights, Weights) else w(weights)
            for choice, weights in by_choice.items()
            if weights
        }
    )


def test_exactly_90_percent_passes():
    result = evaluate(consultation(households=10), count(satisfied=9, unsatisfied=1))
    assert result.satisfaction_rate == Fraction(9, 10)
    assert result.participation_rate == 1
    assert result.passed is True


def test_8_of_9_does_not_pass():
    result = evaluate(consultation(households=10), count(satisfied=8, unsatisfied=1))
    assert result.satisfaction_rate == Fraction(8, 9)
    assert result.participation_rate == Fraction(9, 10)  # the quorum is met; satisfaction is not
    assert result.passed is False


def test_no_ballots_is_not_passed_and_satisfaction_has_no_value():
    result = evaluate(consultation(households=10), count())
    assert result.passed is False
    assert result.satisfaction_rate is None  # 0 of 0: no rate, not 0 and not 100%
    assert result.participation_rate == 0  # 0 of 10 households took part
    assert result.counted == 0 and result.eligible == 10


def test_all_abstain_is_satisfaction_zero_and_not_passed():
    result = evaluate(consultation(households=10), count(abstain=10))
    assert result.satisfaction_rate == 0
    assert result.participation_rate == 1
    assert result.passed is False


def test_abstentions_count_in_the_denominator():
    assert evaluate(consultation(households=10), count(satisfied=9, abstain=1)).passed is True
    # One more abstention than that is the same as one more unsatisfied household.
    eleven = consultation(households=11)
    abstain = evaluate(eleven, count(satisfied=9, abstain=2))
    unsatisfied = evaluate(eleven, count(satisfied=9, unsatisfied=2))
    assert abstain.satisfaction_rate == unsatisfied.satisfaction_rate == Fraction(9, 11)
    assert abstain.passed is unsatisfied.passed is False


def test_quorum_just_missed_and_exactly_met():
    thirty = consultation(households=30)
    missed = evaluate(thirty, count(satisfied=19))
    assert missed.satisfaction_rate == 1 and missed.participation_rate == Fraction(19, 30)
    assert missed.passed is False
    met = evaluate(thirty, count(satisfied=20))
    assert met.participation_rate == Fraction(2, 3)
    assert met.passed is True
    # Why exact fractions: compared with a rounded 0.6667, 20 of 30 would fail.
    assert not 20 / 30 >= 0.6667


def test_floor_area_basis_weighs_households_by_their_area():
    # 9 households of 88.50 m² satisfied, 1 of 88.50 m² not: exactly 90% of the area.
    c = consultation(households=10, area="885.00", basis="floor_area")
    exact = count(satisfied=w(9, area="796.50"), unsatisfied=w(1, area="88.50"))
    assert evaluate(c, exact).satisfaction_rate == Fraction(9, 10)
    assert evaluate(c, exact).passed is True
    # One hundredth of a square metre more on the unsatisfied side, and it does not.
    c = consultation(households=10, area="885.01", basis="floor_area")
    short = count(satisfied=w(9, area="796.50"), unsatisfied=w(1, area="88.51"))
    assert evaluate(c, short).satisfaction_rate < Fraction(9, 10)
    assert evaluate(c, short).passed is False
    # By households the same ballots pass: the basis decides.
    c.basis = "households"
    assert evaluate(c, short).passed is True


def test_floor_area_basis_measures_participation_by_area():
    c = consultation(households=3, area="300.00", basis="floor_area")
    big_one = count(satisfied=w(1, area="200.00"))  # 1 of 3 households, 2/3 of the area
    result = evaluate(c, big_one)
    assert result.participation_rate == Fraction(2, 3)
    # ... but the quorum is met by households too, whatever the basis: 1 of 3 is not 2/3.
    assert result.passed is False
    two = count(satisfied=w(2, area="250.00"))  # 2 of 3 households, 5/6 of the area
    assert evaluate(c, two).passed is True


def test_persons_basis_weighs_households_by_their_verified_members():
    c = consultation(households=10, persons=12, basis="persons")
    ballots = count(satisfied=w(9, persons=9), unsatisfied=w(1, persons=3))
    result = evaluate(c, ballots)
    assert result.satisfaction_rate == Fraction(9, 12)
    assert result.participation_rate == 1
    assert result.passed is False
    c.basis = "households"
    assert evaluate(c, ballots).passed is True


def test_persons_basis_with_no_verified_person_is_not_passed():
    c = consultation(households=2, persons=0, basis="persons")
    result = evaluate(c, count(satisfied=w(2, persons=0)))
    assert result.passed is False
    assert result.satisfaction_rate is None and result.participation_rate is None


def test_threshold_and_quorum_are_settings_of_the_consultation():
    c = consultation(households=16, threshold=Fraction(3, 4), quorum=Fraction(1, 2))
    assert evaluate(c, count(satisfied=6, unsatisfied=2)).passed is True  # 3/4, 1/2
    assert evaluate(c, count(satisfied=5, unsatisfied=2)).passed is False  # 5/7 < 3/4
    assert evaluate(c, count(satisfied=7)).passed is False  # 7/16 < 1/2


# --- owners' decisions, Civil Code art. 278 ---------------------------------------------------


def owners(rule="majority", households=30, area="3000.00") -> Consultation:
    return consultation(kind="owners_decision", households=households, area=area, rule=rule)


def art278(result) -> dict:
    return result.figures["art278"]


@pytest.mark.parametrize(
    ("voted_heads", "voted_area", "quorum_met"),
    [
        (20, "2000.00", True),  # exactly 2/3 of both
        (20, "1999.99", False),  # 2/3 of the heads, a hair under 2/3 of the area
        (19, "2500.00", False),  # most of the area, 19 of 30 heads
        (30, "3000.00", True),
    ],
)
def test_owners_decision_needs_two_thirds_of_the_area_and_of_the_heads(
    voted_heads, voted_area, quorum_met
):
    ballots = count(agree=w(voted_heads, area=voted_area))
    result = evaluate(owners(), ballots)
    assert art278(result)["quorum_met"] is quorum_met
    assert result.passed is quorum_met  # everyone who took part agreed


@pytest.mark.parametrize(
    ("agree_heads", "agree_area", "passed"),
    [
        (10, "1200.00", False),  # exactly half the heads: not more than half
        (11, "1000.00", False),  # more than half the heads, exactly half the area
        (11, "1000.01", True),  # more than half of both
        (19, "999.99", False),  # nearly all the heads, under half the area
    ],
)
def test_owners_majority_needs_more_than_half_of_participating_area_and_heads(
    agree_heads, agree_area, passed
):
    # 20 of 30 households take part, with 2000 of the 3000 m².
    against_area = Fraction(2000) - Fraction(agree_area)
    ballots = count(
        agree=w(agree_heads, area=agree_area),
        disagree=Weights(20 - agree_heads, 20 - agree_heads, against_area),
    )
    result = evaluate(owners("majority"), ballots)
    assert art278(result)["quorum_met"] is True
    assert result.passed is passed


@pytest.mark.parametrize(
    ("agree_heads", "agree_area", "passed"),
    [
        (15, "1500.00", True),  # exactly 3/4 of both
        (14, "1600.00", False),  # 14 of 20 heads
        (15, "1499.99", False),  # 3/4 of the heads, a hair under 3/4 of the area
        (20, "2000.00", True),
    ],
)
def test_owners_three_quarters_needs_three_quarters_of_both(agree_heads, agree_area, passed):
    against_area = Fraction(2000) - Fraction(agree_area)
    ballots = count(
        agree=w(agree_heads, area=agree_area),
        disagree=Weights(20 - agree_heads, 20 - agree_heads, against_area),
    )
    result = evaluate(owners("three_quarters"), ballots)
    assert result.passed is passed


def test_owners_abstentions_take_part_but_do_not_agree():
    # 20 of 30 take part (the quorum); 10 agree, 10 abstain: half, not more than half.
    ballots = count(agree=w(10, area="1000.00"), abstain=w(10, area="1000.00"))
    result = evaluate(owners(), ballots)
    assert art278(result)["quorum_met"] is True
    assert result.passed is False
    ballots = count(agree=w(11, area="1100.00"), abstain=w(9, area="900.00"))
    assert evaluate(owners(), ballots).passed is True


def test_owners_decision_without_quorum_fails_even_if_unanimous():
    result = evaluate(owners("three_quarters"), count(agree=w(19, area="1900.00")))
    assert art278(result)["agreed"] is True and art278(result)["quorum_met"] is False
    assert result.passed is False


# --- through the API ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def live_results_for_staff(app, monkeypatch):
    """These tests read the provisional count as staff with a handful of ballots: staff see it
    from the first ballot here. Who sees what when (RESULTS_MIN_BALLOTS, residents until the
    close) is tested in test_visibility.py."""
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 1)


def vote(client, make, app, resident_id, cid, **body):
    reply = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json=body,
        headers=make.headers(resident(app, resident_id)),
    )
    assert reply.status_code == 200, reply.get_json()
    return reply


def cast(client, make, app, scene, cid, choices: list[str]) -> None:
    """Household i of the scene votes choices[i]."""
    for resident_id, choice in zip(scene.resident_ids, choices, strict=False):
        vote(client, make, app, resident_id, cid, choice=choice)
    run_jobs(app)


def gate(client, make, scene) -> dict:
    reply = client.get(
        f"/api/v1/projects/{scene.project_id}/gate", headers=make.headers(scene.owner)
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def tally(client, make, scene, cid) -> dict:
    reply = client.get(f"/api/v1/consultations/{cid}/tally", headers=make.headers(scene.clerk))
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def close(client, make, app, scene, cid) -> None:
    """The clerk closes it once the minimum voting period is over (as if opened a week ago)."""
    backdate_opening(app, cid)
    reply = client.post(f"/api/v1/consultations/{cid}/close", headers=make.headers(scene.clerk))
    assert reply.status_code == 200, reply.get_json()
    run_jobs(app)


def to(client, make, scene, status: str):
    return client.post(
        f"/api/v1/projects/{scene.project_id}/transitions",
        json={"to": status},
        headers=make.headers(scene.owner),
    )


def refused(reply, reason: str) -> None:
    assert reply.status_code == 409, reply.get_json()
    error = reply.get_json()["error"]
    assert error["code"] == "gate_not_passed", error
    assert error["details"] == {"reason": reason}, error


def approve(client, make, scene) -> None:
    assert to(client, make, scene, "approved").status_code == 200


def test_api_exactly_90_percent_passes_and_opens_construction_after_the_close(client, make, app):
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["satisfied"] * 9 + ["unsatisfied"])
    g = gate(client, make, scene)
    assert g["passed"] is True and g["final"] is False and g["stale"] is False
    assert g["satisfaction_rate"] == 0.9 and g["participation_rate"] == 1.0
    assert (g["counted"], g["eligible"]) == (10, 10)
    assert (g["threshold"], g["quorum"], g["basis"]) == (0.9, pytest.approx(2 / 3), "households")
    assert g["computed_at"] and g["consultation_id"] == cid and g["rule"] == RULE
    approve(client, make, scene)
    refused(to(client, make, scene, "construction"), "consultation_open")

    close(client, make, app, scene, cid)
    g = gate(client, make, scene)
    assert g["passed"] is True and g["final"] is True
    moved = to(client, make, scene, "construction")
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["status"] == "construction"


def test_api_8_of_9_fails_and_a_failing_close_refuses_construction(client, make, app):
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["satisfied"] * 8 + ["unsatisfied"])
    g = gate(client, make, scene)
    assert g["passed"] is False and g["reason"] == "consultation_open"
    assert g["satisfaction_rate"] == round(8 / 9, 6) and g["participation_rate"] == 0.9
    close(client, make, app, scene, cid)
    g = gate(client, make, scene)
    assert g["passed"] is False and g["final"] is True and g["reason"] == "not_passed"
    approve(client, make, scene)
    refused(to(client, make, scene, "construction"), "not_passed")


def test_api_no_ballots(client, make, app):
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    run_jobs(app)
    g = gate(client, make, scene)
    assert g["passed"] is False
    assert g["satisfaction_rate"] is None
    assert g["participation_rate"] == 0.0
    assert (g["counted"], g["eligible"]) == (0, 10)
    close(client, make, app, scene, cid)
    g = gate(client, make, scene)
    assert g["final"] is True and g["passed"] is False and g["satisfaction_rate"] is None
    approve(client, make, scene)
    refused(to(client, make, scene, "construction"), "not_passed")


def test_api_the_gate_before_any_consultation(client, make, app):
    scene = build_scene(app, households=3)
    g = gate(client, make, scene)
    assert g["passed"] is False and g["reason"] == "no_consultation"
    assert g["satisfaction_rate"] is None and g["participation_rate"] is None
    approve(client, make, scene)
    refused(to(client, make, scene, "construction"), "no_consultation")


def test_api_all_abstain(client, make, app):
    scene = build_scene(app, households=5)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["abstain"] * 5)
    g = gate(client, make, scene)
    assert g["satisfaction_rate"] == 0.0 and g["participation_rate"] == 1.0
    assert g["passed"] is False
    assert tally(client, make, scene, cid)["figures"]["by_choice"]["abstain"]["households"] == 5


def test_api_quorum_just_missed_then_exactly_met(client, make, app):
    scene = build_scene(app, households=30)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["satisfied"] * 19)
    g = gate(client, make, scene)
    assert g["satisfaction_rate"] == 1.0 and g["participation_rate"] == round(19 / 30, 6)
    assert g["passed"] is False
    vote(client, make, app, scene.resident_ids[19], cid, choice="satisfied")
    run_jobs(app)
    g = gate(client, make, scene)
    assert g["participation_rate"] == round(20 / 30, 6)
    assert g["passed"] is True


def test_api_floor_area_basis(client, make, app):
    areas = ["88.50"] * 9 + ["88.51"]
    scene = build_scene(app, households=10, areas=areas)
    cid = open_consultation(client, make, scene, basis="floor_area")
    cast(client, make, app, scene, cid, ["satisfied"] * 9 + ["unsatisfied"])
    g = gate(client, make, scene)
    assert g["basis"] == "floor_area"
    assert g["satisfaction_rate"] == round(796.50 / 885.01, 6)  # just under 0.9
    assert g["passed"] is False
    figures = tally(client, make, scene, cid)["figures"]
    assert figures["eligible"]["floor_area"] == 885.01
    assert figures["by_choice"]["satisfied"]["floor_area"] == 796.5
    # The unsatisfied household changes its mind to abstain: still not satisfied.
    vote(client, make, app, scene.resident_ids[9], cid, choice="abstain")
    run_jobs(app)
    assert gate(client, make, scene)["passed"] is False


def test_api_persons_basis(client, make, app):
    scene = build_scene(app, households=10)
    big = SimpleNamespace(id=scene.household_ids[9])
    make.member(big)
    make.member(big)  # household 9 has 3 verified members when the consultation opens
    cid = open_consultation(client, make, scene, basis="persons")
    cast(client, make, app, scene, cid, ["satisfied"] * 9 + ["unsatisfied"])
    g = gate(client, make, scene)
    assert g["basis"] == "persons"
    assert g["satisfaction_rate"] == 0.75 and g["participation_rate"] == 1.0
    assert g["passed"] is False
    figures = tally(client, make, scene, cid)["figures"]
    assert (
        figures["eligible"]["persons"] == 12 and figures["by_choice"]["unsatisfied"]["persons"] == 3
    )


def test_api_threshold_and_quorum_per_consultation_are_stored_exactly(client, make, app):
    scene = build_scene(app, households=25)
    cid = open_consultation(client, make, scene, threshold=0.95, quorum=0.8)
    with app.app_context():
        c = db.session.get(Consultation, cid)
        assert (c.threshold_num, c.threshold_den, c.quorum_num, c.quorum_den) == (19, 20, 4, 5)
    cast(client, make, app, scene, cid, ["satisfied"] * 18 + ["unsatisfied"])
    g = gate(client, make, scene)
    assert (g["threshold"], g["quorum"]) == (0.95, 0.8)
    assert g["passed"] is False  # 18/19 < 19/20, and 19/25 < 4/5
    vote(client, make, app, scene.resident_ids[19], cid, choice="satisfied")
    run_jobs(app)
    g = gate(client, make, scene)
    assert g["satisfaction_rate"] == 0.95 and g["participation_rate"] == 0.8
    assert g["passed"] is True


def test_api_a_plan_threshold_below_the_policys_90_percent_is_refused(client, make, app):
    """The policy lets a plan start only at 90% satisfied or more: a consultation may ask for
    more, never for less."""
    scene = build_scene(app, households=4)
    for threshold in (0.89, 0.75, 0.5):
        reply = client.post(
            f"/api/v1/projects/{scene.project_id}/consultations",
            json={"kind": "plan_satisfaction", "threshold": threshold},
            headers=make.headers(scene.clerk),
        )
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["error"]["code"] == "threshold_below_policy"
    with app.app_context():
        assert db.session.query(Consultation).count() == 0


def test_api_a_quorum_of_0_6667_is_two_thirds(client, make, app):
    scene = build_scene(app, households=30)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "plan_satisfaction", "quorum": 0.6667, "threshold": 0.9},
        headers=make.headers(scene.clerk),
    )
    assert created.status_code == 201
    cid = created.get_json()["id"]
    with app.app_context():
        c = db.session.get(Consultation, cid)
        assert (c.quorum_num, c.quorum_den) == (2, 3)
        assert (c.threshold_num, c.threshold_den) == (9, 10)
    assert (
        client.post(
            f"/api/v1/consultations/{cid}/open", headers=make.headers(scene.clerk)
        ).status_code
        == 200
    )
    cast(client, make, app, scene, cid, ["satisfied"] * 20)
    assert gate(client, make, scene)["passed"] is True  # 20/30 reaches 2/3 exactly


# A matter of each rule: raising maintenance funds needs 3/4, using them more than half.
MATTER_OF_RULE = {"three_quarters": "raise_maintenance_fund", "majority": "use_maintenance_fund"}


def _owners_decision(client, make, app, scene, rule: str) -> int:
    headers = make.headers(scene.clerk)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "owners_decision", "matter": MATTER_OF_RULE[rule]},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["rule"] == rule
    cid = created.get_json()["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=headers).status_code == 200
    return cid


def test_api_owners_decision_edges(client, make, app):
    # 30 households of 100 m²: 20 take part (2/3 of both); several decisions at once.
    scene = build_scene(app, households=30, area="100.00")
    exact_quarters = _owners_decision(client, make, app, scene, "three_quarters")
    short_quarters = _owners_decision(client, make, app, scene, "three_quarters")
    half = _owners_decision(client, make, app, scene, "majority")
    no_quorum = _owners_decision(client, make, app, scene, "majority")
    for i, r in enumerate(scene.resident_ids[:20]):
        vote(client, make, app, r, exact_quarters, choice="agree" if i < 15 else "disagree")
        vote(client, make, app, r, short_quarters, choice="agree" if i < 14 else "disagree")
        vote(client, make, app, r, half, choice="agree" if i < 10 else "abstain")
        if i < 19:
            vote(client, make, app, r, no_quorum, choice="agree")
    run_jobs(app)
    for cid in (exact_quarters, short_quarters, half, no_quorum):
        close(client, make, app, scene, cid)

    t = tally(client, make, scene, exact_quarters)
    assert t["passed"] is True and t["final"] is True
    assert t["figures"]["art278"]["quorum_met"] is True
    assert t["figures"]["art278"]["agree_area_share"] == 0.75
    assert tally(client, make, scene, short_quarters)["passed"] is False
    t = tally(client, make, scene, half)
    assert t["passed"] is False and t["figures"]["art278"]["agree_owner_share"] == 0.5
    t = tally(client, make, scene, no_quorum)
    assert t["passed"] is False and t["figures"]["art278"]["quorum_met"] is False
    assert t["figures"]["art278"]["agreed"] is True
    # An owners' decision is not the satisfaction gate.
    assert gate(client, make, scene)["reason"] == "no_consultation"


def test_api_owners_decision_quorum_may_be_raised_but_not_lowered(client, make, app):
    scene = build_scene(app, households=3)
    url = f"/api/v1/projects/{scene.project_id}/consultations"
    headers = make.headers(scene.clerk)
    decision = {"kind": "owners_decision", "matter": "property_management"}
    low = client.post(url, json={**decision, "quorum": 0.6}, headers=headers)
    assert low.status_code == 422 and low.get_json()["error"]["code"] == "quorum_below_law"
    high = client.post(url, json={**decision, "quorum": 0.8}, headers=headers)
    assert high.status_code == 201 and high.get_json()["quorum"] == 0.8
    # A satisfaction consultation's quorum has the policy's floor too (2/3; issue 10).
    loose = client.post(url, json={"kind": "plan_satisfaction", "quorum": 0.5}, headers=headers)
    assert loose.status_code == 422
    assert loose.get_json()["error"]["code"] == "quorum_below_policy"


def test_api_needs_survey_ranks_items_by_households(client, make, app):
    scene = build_scene(app, households=5)
    headers = make.headers(scene.clerk)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "needs_survey", "options": ["parking", "elevator", "greening", "lighting"]},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    assert client.post(f"/api/v1/consultations/{cid}/open", headers=headers).status_code == 200
    picks = [
        ["parking", "elevator"],
        ["elevator"],
        ["elevator", "greening", "parking"],
        ["greening", "lighting"],
        ["parking", "parking"],  # one household counts once per item
    ]
    for resident_id, items in zip(scene.resident_ids, picks, strict=True):
        vote(client, make, app, resident_id, cid, items=items)
    # A household that changes its picks is counted with its last ones only.
    vote(client, make, app, scene.resident_ids[3], cid, items=["lighting"])
    run_jobs(app)
    t = tally(client, make, scene, cid)
    assert t["figures"]["ranking"] == [
        {"item": "elevator", "item_label": "加装电梯", "households": 3},
        {"item": "parking", "item_label": "停车设施", "households": 3},
        {"item": "greening", "item_label": "绿化", "households": 1},
        {"item": "lighting", "item_label": "照明设施", "households": 1},
    ]
    assert t["counted"] == 5 and t["passed"] is False  # a survey has no gate


def test_api_construction_waits_for_the_final_tally(client, make, app, monkeypatch):
    """Closed, but the final count has not run (its job was lost): refused as `tally_pending`
    even though the last provisional count passed; the reconciler makes it final."""
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["satisfied"] * 10)
    approve(client, make, scene)
    with monkeypatch.context() as m:
        m.setattr(voting.jobs, "request_tally", lambda consultation_id: None)
        close(client, make, app, scene, cid)
    g = gate(client, make, scene)
    assert g["passed"] is True and g["final"] is False
    refused(to(client, make, scene, "construction"), "tally_pending")

    with app.app_context():
        assert cid in voting.jobs.reconcile()["recounted"]
    g = gate(client, make, scene)
    assert g["final"] is True and g["passed"] is True
    assert to(client, make, scene, "construction").status_code == 200


def test_api_a_ballot_newer_than_the_final_tally_holds_construction(client, make, app):
    """A ballot change the final count did not see (it cannot come through the API after the
    close; here it is written directly) makes the final count stale: refused as
    `tally_pending`; the recount then decides, and here it no longer passes."""
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["satisfied"] * 9 + ["unsatisfied"])
    close(client, make, app, scene, cid)
    approve(client, make, scene)
    assert gate(client, make, scene)["passed"] is True
    with app.app_context():
        household = scene.household_ids[0]
        db.session.execute(
            update(Ballot)
            .where(Ballot.consultation_id == cid, Ballot.household_id == household)
            .values(choice="unsatisfied", revision=Ballot.revision + 1)
        )
        db.session.execute(
            insert(BallotChange).values(
                consultation_id=cid,
                household_id=household,
                revision=2,
                choice="unsatisfied",
                channel="wechat",
                at=utcnow(),
            )
        )
        # … and bumps the change counter, as every ballot's write does (voting.service.ballots).
        db.session.execute(
            update(Tally).where(Tally.consultation_id == cid).values(changes=Tally.changes + 1)
        )
        db.session.commit()
    g = gate(client, make, scene)
    assert g["stale"] is True and g["final"] is False
    refused(to(client, make, scene, "construction"), "tally_pending")

    with app.app_context():
        voting.jobs.reconcile()
        tally_row = db.session.get(Tally, cid)
        assert tally_row.final is True and tally_row.changes_seen == 11
        assert db.session.scalar(select(func.sum(Ballot.revision))) == 11
    g = gate(client, make, scene)
    assert g["stale"] is False and g["final"] is True and g["passed"] is False
    refused(to(client, make, scene, "construction"), "not_passed")


def test_api_a_new_plan_version_needs_its_own_consultation(client, make, app):
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    cast(client, make, app, scene, cid, ["satisfied"] * 10)
    close(client, make, app, scene, cid)
    assert gate(client, make, scene)["passed"] is True
    plan = client.post(
        f"/api/v1/projects/{scene.project_id}/plans",
        json={"items": [{"category": "elevator", "description": "加装电梯", "estimated_cost": 9}]},
        headers=make.headers(scene.owner),
    )
    assert plan.status_code == 201, plan.get_json()
    g = gate(client, make, scene)
    assert g["passed"] is False and g["reason"] == "no_consultation"
    assert g["plan_version"] == 2
    approve(client, make, scene)
    refused(to(client, make, scene, "construction"), "no_consultation")
