"""The counting rules of issue 10 (docs/gate.md): each estate (建筑区划) decides on its own, the
matter decides an owners' decision's rule, one owner of several units counts once by head, and
the prefecture's reading of the 90% gate (`GATE_BASIS`).

First on `voting.queries.rules.evaluate` with counts made by hand (exact, no database), then
through the API, from residents' ballots to the tally and the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import pytest

from api.core import db
from devtools import factory
from participation.models import Estate, Project
from tests.support.voting_helpers import (
    Scene,
    build_scene,
    open_consultation,
    resident,
    run_jobs,
)
from voting.models import Consultation, rule_of
from voting.queries.gate import RULE
from voting.queries.rules import Count, EstateCount, Owners, Weights, evaluate

# --- evaluate(): counts made by hand -----------------------------------------------------------


def consultation(
    kind="plan_satisfaction",
    households=10,
    area="0",
    gate_basis="ballots",
    matter=None,
    quorum=Fraction(2, 3),
) -> Consultation:
    """An unsaved consultation whose frozen electorate has these totals."""
    return Consultation(
        id=0,
        kind=kind,
        basis="households",
        gate_basis=gate_basis,
        matter=matter,
        rule=rule_of(matter) if kind == "owners_decision" else None,
        threshold_num=9,
        threshold_den=10,
        quorum_num=quorum.numerator,
        quorum_den=quorum.denominator,
        eligible_households=households,
        eligible_persons=households,
        eligible_area=Decimal(area),
    )


def w(households: int, area: str = "0") -> Weights:
    return Weights(households, households, Fraction(area))


def estate(estate_id: int, households: int, area: str = "0", owners=None, **by_choice):
    """An estate's part of a count: `households` eligible, ballots per choice (a number of
    households, or Weights); each household its own owner unless `owners` says otherwise."""
    ballots = {c: v if isinstance(v, Weights) else w(v) for c, v in by_choice.items() if v}
    voted = sum(b.households for b in ballots.values())
    agreeing = ballots.get("agree", w(0)).households
    return EstateCount(
        estate_id,
        f"小区{estate_id}",
        w(households, area),
        ballots,
        owners or Owners(households, voted, agreeing),
    )


def bundle(*estates: EstateCount) -> Count:
    """The count of a bundled project: the estates' ballots, pooled by choice."""
    pooled: dict[str, Weights] = {}
    for part in estates:
        for choice, weights in part.by_choice.items():
            pooled[choice] = pooled.get(choice, Weights()).add(weights)
    return Count(by_choice=pooled, estates=list(estates))


def of_bundle(kind="plan_satisfaction", *estates: EstateCount, **settings) -> Consultation:
    return consultation(
        kind,
        households=sum(e.eligible.households for e in estates),
        area=str(sum(e.eligible.floor_area for e in estates)),
        **settings,
    )


def test_loophole_6_a_bundled_project_passes_only_when_every_estate_passes():
    """Estate 1 is 95% satisfied, estate 2 80%: pooled (93.6%) the plan would pass, and one
    estate's residents would be overruled by their neighbours. Each estate decides."""
    one = estate(1, 100, satisfied=95, unsatisfied=5)
    two = estate(2, 10, satisfied=8, unsatisfied=2)
    count = bundle(one, two)
    result = evaluate(of_bundle("plan_satisfaction", one, two), count)
    assert result.satisfaction_rate == Fraction(103, 110) >= Fraction(9, 10)  # pooled: passes
    assert result.participation_rate == 1
    assert result.passed is False
    assert result.figures["held_by"] == [2]
    shown = {e["estate_id"]: e for e in result.figures["estates"]}
    assert shown[1]["passed"] is True and shown[1]["satisfaction_rate"] == 0.95
    assert shown[2]["passed"] is False and shown[2]["satisfaction_rate"] == 0.8
    assert shown[2]["by_choice"]["satisfied"]["households"] == 8
    assert shown[2]["eligible"]["households"] == 10 and shown[2]["name"] == "小区2"
    # The pooled totals stay, for reading.
    assert result.figures["by_choice"]["satisfied"]["households"] == 103
    assert result.figures["eligible"]["households"] == 110
    # Both at 90% or more: it passes.
    two = estate(2, 10, satisfied=9, unsatisfied=1)
    result = evaluate(of_bundle("plan_satisfaction", one, two), bundle(one, two))
    assert result.passed is True and result.figures["held_by"] == []


def test_loophole_6_each_estate_needs_its_own_quorum():
    """A large estate voting in full would lift a small estate's 50% turnout over 2/3."""
    one = estate(1, 100, satisfied=100)
    two = estate(2, 30, satisfied=15)
    result = evaluate(of_bundle("plan_satisfaction", one, two), bundle(one, two))
    assert result.participation_rate == Fraction(115, 130) >= Fraction(2, 3)  # pooled
    assert result.passed is False and result.figures["held_by"] == [2]
    assert result.figures["estates"][1]["participation_rate"] == 0.5
    two = estate(2, 30, satisfied=20)  # exactly 2/3
    assert evaluate(of_bundle("plan_satisfaction", one, two), bundle(one, two)).passed is True


def test_every_failing_estate_is_named():
    one = estate(1, 10, satisfied=8, unsatisfied=2)
    two = estate(2, 10, satisfied=10)
    three = estate(3, 10, satisfied=3)
    result = evaluate(of_bundle("plan_satisfaction", one, two, three), bundle(one, two, three))
    assert result.passed is False and result.figures["held_by"] == [1, 3]


def test_a_single_estate_decides_as_the_pooled_count_did():
    only = estate(7, 10, satisfied=9, unsatisfied=1)
    result = evaluate(consultation(households=10), bundle(only))
    assert result.passed is True and result.satisfaction_rate == Fraction(9, 10)
    assert result.figures["held_by"] == [] and len(result.figures["estates"]) == 1
    short = estate(7, 10, satisfied=8, unsatisfied=1)
    result = evaluate(consultation(households=10), bundle(short))
    assert result.passed is False and result.figures["held_by"] == [7]


def test_loophole_6_an_owners_decision_is_decided_per_estate():
    # Estate 1: 20 owners of 100 m², all agree. Estate 2: 10 of 100 m², 7 take part, 4 agree.
    one = estate(1, 20, "2000", agree=w(20, "2000"))
    two = estate(2, 10, "1000", agree=w(4, "400"), disagree=w(3, "300"))
    c = of_bundle("owners_decision", one, two, matter="use_maintenance_fund")
    result = evaluate(c, bundle(one, two))
    assert result.figures["art278"]["agreed"] is True  # pooled: 24 of 27 owners
    assert result.passed is True  # estate 2: 4 of 7 is more than half
    two = estate(2, 10, "1000", agree=w(3, "300"), disagree=w(4, "400"))
    result = evaluate(c, bundle(one, two))
    assert result.figures["art278"]["agreed"] is True  # pooled: 23 of 27
    assert result.passed is False and result.figures["held_by"] == [2]
    assert result.figures["estates"][1]["art278"]["agreed"] is False


@pytest.mark.parametrize(
    ("matter", "rule", "passed"),
    [
        ("rebuild", "three_quarters", False),
        ("raise_maintenance_fund", "three_quarters", False),
        ("change_common_use", "three_quarters", False),
        ("use_maintenance_fund", "majority", True),
        ("property_management", "majority", True),
        ("other_major", "majority", True),
    ],
)
def test_the_matter_decides_the_rule_on_the_same_ballots(matter, rule, passed):
    # 20 owners of 100 m² all take part; 14 agree: 70%, more than half, short of 3/4.
    part = estate(1, 20, "2000", agree=w(14, "1400"), disagree=w(6, "600"))
    result = evaluate(consultation("owners_decision", 20, "2000", matter=matter), bundle(part))
    assert result.figures["art278"]["rule"] == rule and result.figures["art278"]["matter"] == matter
    assert result.passed is passed


def test_owners_are_counted_by_head_and_the_area_by_unit():
    """10 units, one owner holds 3 of them: 8 owners. The owner of three and 3 others agree,
    2 disagree: by units 6 of 8 agreeing units (75%) would pass a 3/4 matter; by owners it is
    4 of 6 (66.7%), which does not."""
    owners = Owners(eligible=8, voted=6, agreeing=4)
    part = estate(1, 10, "920", owners, agree=w(6, "600"), disagree=w(2, "160"))
    rebuild = consultation("owners_decision", 10, "920", matter="rebuild")
    result = evaluate(rebuild, bundle(part))
    art278 = result.figures["art278"]
    assert art278["participation_owners"] == 0.75 and art278["agree_owner_share"] == 0.666667
    assert art278["agree_area_share"] == round(600 / 760, 6)  # the area sums per unit
    assert result.satisfaction_rate == Fraction(4, 6)
    assert result.figures["voted"]["owners"] == 6 and result.figures["voted"]["households"] == 8
    assert (
        result.figures["eligible"]["owners"] == 8 and result.figures["eligible"]["households"] == 10
    )
    assert result.passed is False
    majority = consultation("owners_decision", 10, "920", matter="other_major")
    assert evaluate(majority, bundle(part)).passed is True


def test_owners_quorum_is_by_head():
    # 9 units, 6 owners (one owner holds 4 units). Only that owner votes, with 4 of 9 units and
    # 2/3 of the area: one owner of six does not make a quorum.
    part = estate(1, 9, "900", Owners(eligible=6, voted=1, agreeing=1), agree=w(4, "600"))
    result = evaluate(consultation("owners_decision", 9, "900", matter="other_major"), bundle(part))
    assert result.figures["art278"]["participation_area"] == pytest.approx(2 / 3, abs=1e-6)
    assert result.figures["art278"]["quorum_met"] is False and result.passed is False


@pytest.mark.parametrize(
    ("satisfied", "gate_basis", "rate", "passed"),
    [
        (27, "ballots", Fraction(27, 28), True),
        (27, "households", Fraction(27, 30), True),  # exactly 90% of all eligible
        (26, "ballots", Fraction(26, 28), True),
        (26, "households", Fraction(26, 30), False),  # 86.7% of all eligible
    ],
)
def test_gate_basis_households_divides_by_every_eligible(satisfied, gate_basis, rate, passed):
    """30 eligible households, 28 ballots: the stricter reading counts the 2 who did not vote
    as not satisfied."""
    part = estate(1, 30, satisfied=satisfied, unsatisfied=28 - satisfied)
    result = evaluate(consultation(households=30, gate_basis=gate_basis), bundle(part))
    assert result.satisfaction_rate == rate
    assert result.participation_rate == Fraction(28, 30)
    assert result.passed is passed
    assert result.figures["gate_basis"] == gate_basis


def test_gate_basis_households_with_no_ballots_is_zero_not_none():
    result = evaluate(consultation(households=10, gate_basis="households"), bundle(estate(1, 10)))
    assert result.satisfaction_rate == 0 and result.passed is False
    result = evaluate(consultation(households=10), bundle(estate(1, 10)))
    assert result.satisfaction_rate is None and result.passed is False


def test_a_needs_survey_is_ranked_per_estate_and_holds_nothing():
    one = estate(1, 5, picked=3)
    one.ranking = [{"item": "elevator", "households": 3}]
    two = estate(2, 5, picked=2)
    two.ranking = [{"item": "parking", "households": 2}]
    count = bundle(one, two)
    count.ranking = [{"item": "elevator", "households": 3}, {"item": "parking", "households": 2}]
    result = evaluate(of_bundle("needs_survey", one, two), count)
    assert result.passed is False and result.figures["held_by"] == []
    assert result.figures["ranking"] == count.ranking
    assert [e["ranking"] for e in result.figures["estates"]] == [one.ranking, two.ranking]


# --- through the API ---------------------------------------------------------------------------


@dataclass
class Bundle:
    scene: Scene  # estate A: the scene's estate, its households and members
    estate_b: int
    household_ids_b: list[int]
    resident_ids_b: list[int]


def bundled_scene(app, a: int, b: int) -> Bundle:
    """The scene's project bundling a second estate of the same community, `b` households of
    80 m² each with a verified member (so the scene's clerk runs the vote)."""
    scene = build_scene(app, households=a)
    with app.app_context():
        second = factory.estate(scene.community_id, "第二小区")
        building = factory.building(second, "2栋")
        households = factory.households(second, building, b, owner_name=lambda i: f"乙{i}")
        residents = factory.members(households, scene.community_id)
        project = db.session.get(Project, scene.project_id)
        project.estates.append(second)
        db.session.commit()
        return Bundle(scene, second.id, households, residents)


def vote(client, make, app, resident_id: int, cid: int, choice: str) -> None:
    reply = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"choice": choice},
        headers=make.headers(resident(app, resident_id)),
    )
    assert reply.status_code == 200, reply.get_json()


def close(client, make, app, scene: Scene, cid: int) -> None:
    reply = client.post(f"/api/v1/consultations/{cid}/close", headers=make.headers(scene.clerk))
    assert reply.status_code == 200, reply.get_json()
    run_jobs(app)


def gate(client, make, scene: Scene) -> dict:
    reply = client.get(
        f"/api/v1/projects/{scene.project_id}/gate", headers=make.headers(scene.owner)
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def tally(client, make, scene: Scene, cid: int) -> dict:
    reply = client.get(f"/api/v1/consultations/{cid}/tally", headers=make.headers(scene.clerk))
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_loophole_6_api_a_bundled_project_held_shut_by_one_estate(client, make, app):
    """Estate A: 19 of 20 satisfied (95%); estate B: 8 of 10 (80%). Pooled, 27 of 30 is
    exactly 90% and the plan would have gone to construction over estate B's residents."""
    world = bundled_scene(app, a=20, b=10)
    scene = world.scene
    cid = open_consultation(client, make, scene)
    for i, r in enumerate(scene.resident_ids):
        vote(client, make, app, r, cid, "satisfied" if i < 19 else "unsatisfied")
    for i, r in enumerate(world.resident_ids_b):
        vote(client, make, app, r, cid, "satisfied" if i < 8 else "unsatisfied")
    run_jobs(app)
    close(client, make, app, scene, cid)  # everyone has voted: it may close early

    g = gate(client, make, scene)
    assert g["final"] is True and g["passed"] is False and g["reason"] == "not_passed"
    assert g["satisfaction_rate"] == 0.9 and g["participation_rate"] == 1.0  # pooled
    assert (g["counted"], g["eligible"]) == (30, 30)
    assert g["held_by"] == [world.estate_b]
    assert g["gate_basis"] == "ballots" and g["rule"] == RULE
    estates = {e["estate_id"]: e for e in g["estates"]}
    assert set(estates) == {scene.estate_id, world.estate_b}
    a, b = estates[scene.estate_id], estates[world.estate_b]
    assert (a["name"], a["passed"], a["satisfaction_rate"]) == ("测试小区", True, 0.95)
    assert (b["name"], b["passed"], b["satisfaction_rate"]) == ("第二小区", False, 0.8)
    assert b["voted"]["households"] == b["eligible"]["households"] == 10
    assert b["by_choice"]["unsatisfied"]["households"] == 2
    assert a["eligible"]["floor_area"] == 1600.0
    assert (
        "estates" not in g["figures"] and g["figures"]["by_choice"]["satisfied"]["households"] == 27
    )

    # The tally keeps the same figures; the project is refused construction.
    t = tally(client, make, scene, cid)
    assert t["passed"] is False and t["figures"]["held_by"] == [world.estate_b]
    assert [e["estate_id"] for e in t["figures"]["estates"]] == sorted(estates)
    assert (
        client.post(
            f"/api/v1/projects/{scene.project_id}/transitions",
            json={"to": "approved"},
            headers=make.headers(scene.owner),
        ).status_code
        == 200
    )
    refused = client.post(
        f"/api/v1/projects/{scene.project_id}/transitions",
        json={"to": "construction"},
        headers=make.headers(scene.owner),
    )
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"]["details"] == {"reason": "not_passed"}
    with app.app_context():
        assert db.session.get(Project, scene.project_id).status == "approved"


def test_api_a_bundled_project_where_every_estate_passes(client, make, app):
    world = bundled_scene(app, a=20, b=10)
    scene = world.scene
    cid = open_consultation(client, make, scene)
    for i, r in enumerate(scene.resident_ids):
        vote(client, make, app, r, cid, "satisfied" if i < 18 else "abstain")
    for r in world.resident_ids_b:
        vote(client, make, app, r, cid, "satisfied")
    run_jobs(app)
    close(client, make, app, scene, cid)
    g = gate(client, make, scene)
    assert g["passed"] is True and g["held_by"] == []
    assert [e["passed"] for e in g["estates"]] == [True, True]


def owner_of_three(app) -> tuple[Scene, list[int]]:
    """One estate: 7 households of 80 m², each its own owner, and 3 units of 120 m² held by
    one owner (the roster's same name and phone digits), each with a verified member: 10
    units, 920 m², 8 owners. Returns the scene and the three units' members."""
    scene = build_scene(app, households=7)
    with app.app_context():
        estate_row = db.session.get(Estate, scene.estate_id)
        units = [
            factory.household(estate_row, f"30{i}", owner_name="王五", phone="5678", area="120.00")
            for i in range(3)
        ]
        members = factory.members([u.id for u in units], scene.community_id)
        db.session.commit()
    return scene, members


def owners_decision(client, make, scene: Scene, matter: str) -> int:
    headers = make.headers(scene.clerk)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "owners_decision", "matter": matter},
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    opened = client.post(f"/api/v1/consultations/{cid}/open", headers=headers)
    assert opened.status_code == 200, opened.get_json()
    return cid


def test_loophole_6_api_one_owner_of_three_units_counts_once_and_the_matter_decides(
    client, make, app
):
    """The owner of three units and 3 other owners agree, 2 disagree. Counted by unit, 6 of 8
    units agreeing is 3/4 and a rebuilding would pass; by owner it is 4 of 6, which passes a
    majority matter but not a 3/4 one. The area sums: 600 of 760 m² agree."""
    scene, three = owner_of_three(app)
    rebuild = owners_decision(client, make, scene, "rebuild")
    manage = owners_decision(client, make, scene, "property_management")
    choices = ["agree"] * 3 + ["disagree"] * 2  # 5 of the 7 single owners vote
    for cid in (rebuild, manage):
        for r in three:
            vote(client, make, app, r, cid, "agree")
        for r, choice in zip(scene.resident_ids, choices, strict=False):
            vote(client, make, app, r, cid, choice)
    run_jobs(app)
    for cid in (rebuild, manage):
        close(client, make, app, scene, cid)

    t = tally(client, make, scene, rebuild)
    figures = t["figures"]
    assert figures["eligible"] == {
        "households": 10,
        "persons": 10,
        "floor_area": 920.0,
        "owners": 8,
    }
    assert figures["voted"] == {"households": 8, "persons": 8, "floor_area": 760.0, "owners": 6}
    art278 = figures["art278"]
    assert (art278["matter"], art278["rule"]) == ("rebuild", "three_quarters")
    assert art278["agreeing_owners"] == 4 and art278["split_owners"] == 0
    assert art278["participation_owners"] == 0.75
    assert art278["agree_owner_share"] == 0.666667
    assert art278["agree_area_share"] == round(600 / 760, 6)
    assert art278["quorum_met"] is True and art278["agreed"] is False
    assert t["passed"] is False and t["counted"] == 8
    assert figures["held_by"] == [scene.estate_id]
    assert figures["estates"][0]["art278"] == art278  # one estate: its figures are the pool's

    t = tally(client, make, scene, manage)
    assert t["figures"]["art278"]["rule"] == "majority" and t["passed"] is True
    assert t["figures"]["held_by"] == []


def test_api_a_split_owner_takes_part_but_does_not_agree(client, make, app):
    """The owner of three units agrees with two and disagrees with the third: one owner takes
    part, and does not agree. With 2 agreeing single owners of 5 voting, 2 of 6 owners agree:
    counted by unit (4 of 8) or taking the split owner as agreeing (3 of 6) it is still not
    more than half, though the area (400 of 760 m²) is."""
    scene, three = owner_of_three(app)
    cid = owners_decision(client, make, scene, "other_major")
    for r, choice in zip(three, ["agree", "agree", "disagree"], strict=True):
        vote(client, make, app, r, cid, choice)
    for r, choice in zip(scene.resident_ids, ["agree"] * 2 + ["disagree"] * 3, strict=False):
        vote(client, make, app, r, cid, choice)
    run_jobs(app)
    close(client, make, app, scene, cid)
    t = tally(client, make, scene, cid)
    art278 = t["figures"]["art278"]
    assert t["figures"]["voted"]["owners"] == 6 and t["figures"]["voted"]["households"] == 8
    assert art278["agreeing_owners"] == 2 and art278["split_owners"] == 1
    assert art278["agree_owner_share"] == round(2 / 6, 6)
    assert art278["agree_area_share"] == round(400 / 760, 6)
    assert t["passed"] is False


def test_api_an_owner_who_agrees_with_every_unit_that_voted_agrees(client, make, app):
    """Two of the owner's three units vote, both agree: the owner agrees (the third unit's
    silence is no disagreement)."""
    scene, three = owner_of_three(app)
    cid = owners_decision(client, make, scene, "other_major")
    for r in three[:2]:
        vote(client, make, app, r, cid, "agree")
    for r, choice in zip(scene.resident_ids, ["agree"] * 3 + ["disagree"] * 2, strict=False):
        vote(client, make, app, r, cid, choice)
    run_jobs(app)
    close(client, make, app, scene, cid)
    art278 = tally(client, make, scene, cid)["figures"]["art278"]
    assert art278["agreeing_owners"] == 4 and art278["participation_owners"] == 0.75


def test_api_gate_basis_households_is_frozen_and_stricter(client, make, app, monkeypatch):
    """With the prefecture's GATE_BASIS = households, 26 satisfied of 30 eligible (28 voting)
    is 86.7% and fails though 26 of 28 ballots (92.9%) would pass; 27 of 30 is 90% and passes.
    The reading is frozen when the consultation is created."""
    monkeypatch.setitem(app.config, "GATE_BASIS", "households")
    scene = build_scene(app, households=30)
    cid = open_consultation(client, make, scene)
    monkeypatch.setitem(app.config, "GATE_BASIS", "ballots")  # changed later: no effect
    for i, r in enumerate(scene.resident_ids[:28]):
        vote(client, make, app, r, cid, "satisfied" if i < 26 else "unsatisfied")
    run_jobs(app)
    g = gate(client, make, scene)
    assert g["gate_basis"] == "households" and g["figures"]["gate_basis"] == "households"
    assert g["satisfaction_rate"] == round(26 / 30, 6) and g["passed"] is False
    assert g["estates"][0]["satisfaction_rate"] == round(26 / 30, 6)
    assert g["held_by"] == [scene.estate_id]
    vote(client, make, app, scene.resident_ids[26], cid, "satisfied")
    run_jobs(app)
    g = gate(client, make, scene)
    assert g["satisfaction_rate"] == 0.9 and g["participation_rate"] == round(28 / 30, 6)
    assert g["passed"] is True and g["final"] is False  # provisional, until the close
    assert g["estates"][0]["passed"] is True and g["held_by"] == []
    with app.app_context():
        assert db.session.get(Consultation, cid).gate_basis == "households"


def test_api_the_gate_before_any_consultation_says_the_reading_in_force(
    client, make, app, monkeypatch
):
    scene = build_scene(app, households=3)
    monkeypatch.setitem(app.config, "GATE_BASIS", "households")
    g = gate(client, make, scene)
    assert g["reason"] == "no_consultation" and g["gate_basis"] == "households"
    assert g["estates"] == [] and g["held_by"] == []
