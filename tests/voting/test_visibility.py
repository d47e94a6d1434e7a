"""Results visibility (issue 10, item 5; loophole 5: interim results leaked).

Until the close residents see participation only (households voted of eligible), never a count
per choice, a satisfaction rate or a live "passed"; staff in scope see the live result only once
RESULTS_MIN_BALLOTS households have voted; after the close everyone in scope sees the whole
result. The rule is `voting.queries.visibility`, applied by the routes on top of the queries.
"""

from __future__ import annotations

import pytest

from api.core import db
from devtools import factory
from participation.models import Project, Resident, Staff
from tests.support.voting_helpers import backdate_opening, build_scene, resident, run_jobs
from tests.support.voting_world import (
    World,
    assert_error_shape,
    build_world,
    close,
    create_consultation,
    open_,
    put_ballot,
)
from tests.voting.test_bundled import bundle_second_community
from voting.queries import visibility

STAFF = ("clerk", "owner", "county_officer", "prefecture")
# Keys that say how households chose: none may appear, at any depth, while results are hidden.
CHOICE_KEYS = {"by_choice", "ranking", "agree_area_share", "agree_household_share", "agreed"}


@pytest.fixture
def world(app, make) -> World:
    return build_world(app, make)


def everyone_satisfied_but_one(app, client, w: World) -> int:
    """An open plan satisfaction consultation where 3 of the 4 households voted satisfied: the
    live count passes (100% satisfied, 3/4 took part), which is what must not show."""
    cid = create_consultation(client, w)
    open_(client, w, cid)
    for i in range(3):
        assert put_ballot(client, w.members[i], cid, choice="satisfied").status_code == 200
    run_jobs(app)
    return cid


def keys_at_every_depth(value) -> set[str]:
    if isinstance(value, dict):
        found = set(value)
        for item in value.values():
            found |= keys_at_every_depth(item)
        return found
    if isinstance(value, list):
        return set().union(*(keys_at_every_depth(item) for item in value)) if value else set()
    return set()


def assert_participation_only(gate: dict, reason: str) -> None:
    assert gate["results_hidden"] == reason, gate
    assert gate["satisfaction_rate"] is None, gate
    assert gate["passed"] is False and gate["reason"] == "consultation_open", gate
    assert not (keys_at_every_depth(gate) & CHOICE_KEYS), gate
    # Participation stays: 3 of the 4 households voted.
    assert gate["counted"] == 3 and gate["eligible"] == 4, gate
    assert gate["participation_rate"] == pytest.approx(0.75), gate
    assert gate["figures"]["voted"]["households"] == 3, gate


def get(client, url, headers):
    reply = client.get(url, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_loophole_5_a_resident_sees_no_count_per_choice_while_the_vote_is_open(app, client, world):
    w = world
    cid = everyone_satisfied_but_one(app, client, w)
    headers = w.headers["resident_member"]

    assert_participation_only(
        get(client, f"/api/v1/projects/{w.project_id}/gate", headers), "until_close"
    )

    project = get(client, f"/api/v1/projects/{w.project_id}", headers)
    assert project["plan_satisfaction_rate"] is None, project
    assert project["gate_passed"] is False, project
    assert project["participation_rate"] == pytest.approx(0.75), project
    assert project["results_hidden"] == "until_close", project

    listed = get(client, f"/api/v1/estates/{w.scene.estate_id}/projects", headers)["items"]
    mine = next(p for p in listed if p["id"] == w.project_id)
    assert mine["plan_satisfaction_rate"] is None and mine["gate_passed"] is False, mine
    assert mine["results_hidden"] == "until_close", mine

    consultation = get(client, f"/api/v1/consultations/{cid}", headers)
    assert not (keys_at_every_depth(consultation) & (CHOICE_KEYS | {"satisfaction_rate"}))
    tally = client.get(f"/api/v1/consultations/{cid}/tally", headers=headers)
    assert_error_shape(tally, 403, "results_not_published")


@pytest.mark.parametrize("actor", STAFF)
def test_loophole_5_staff_see_participation_only_below_the_minimum_of_ballots(
    app, client, world, actor
):
    """Three ballots, RESULTS_MIN_BALLOTS 10 (the default): a watcher of the turnout list could
    match a household to the count that moved, so staff see who took part, not how."""
    w = world
    assert app.config["RESULTS_MIN_BALLOTS"] == 10
    cid = everyone_satisfied_but_one(app, client, w)
    headers = w.headers[actor]

    gate = get(client, f"/api/v1/projects/{w.project_id}/gate", headers)
    assert_participation_only(gate, "too_few_ballots")
    tally = get(client, f"/api/v1/consultations/{cid}/tally", headers)
    assert tally["results_hidden"] == "too_few_ballots", tally
    assert tally["satisfaction_rate"] is None and tally["passed"] is False, tally
    assert not (keys_at_every_depth(tally) & CHOICE_KEYS), tally
    assert tally["counted"] == 3 and tally["figures"]["voted"]["households"] == 3, tally
    project = get(client, f"/api/v1/projects/{w.project_id}", headers)
    assert project["plan_satisfaction_rate"] is None and project["gate_passed"] is False
    assert project["results_hidden"] == "too_few_ballots"


def test_loophole_5_the_county_overview_hides_a_live_rate_below_the_minimum(app, client, world):
    w = world
    everyone_satisfied_but_one(app, client, w)
    overview = get(
        client, f"/api/v1/counties/{w.scene.county_id}/overview", w.headers["county_officer"]
    )
    mine = next(p for p in overview["projects"] if p["id"] == w.project_id)
    assert mine["plan_satisfaction_rate"] is None and mine["gate_passed"] is False, mine
    assert mine["participation_rate"] == pytest.approx(0.75)
    assert mine["results_hidden"] == "too_few_ballots"


@pytest.mark.parametrize("actor", STAFF)
def test_staff_see_the_live_result_once_enough_households_voted(
    app, client, world, monkeypatch, actor
):
    w = world
    cid = everyone_satisfied_but_one(app, client, w)
    headers = w.headers[actor]
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 4)  # one more than voted
    gate = get(client, f"/api/v1/projects/{w.project_id}/gate", headers)
    assert gate["results_hidden"] == "too_few_ballots" and gate["satisfaction_rate"] is None

    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 3)  # exactly as many as voted
    gate = get(client, f"/api/v1/projects/{w.project_id}/gate", headers)
    assert gate["results_hidden"] is None, gate
    assert gate["satisfaction_rate"] == pytest.approx(1.0)
    assert gate["figures"]["by_choice"]["satisfied"]["households"] == 3
    assert gate["final"] is False  # still provisional
    tally = get(client, f"/api/v1/consultations/{cid}/tally", headers)
    assert tally["results_hidden"] is None and tally["satisfaction_rate"] == pytest.approx(1.0)
    assert tally["figures"]["by_choice"]["satisfied"]["households"] == 3
    project = get(client, f"/api/v1/projects/{w.project_id}", headers)
    assert project["plan_satisfaction_rate"] == pytest.approx(1.0)
    assert project["results_hidden"] is None

    # Residents still see participation only: the staff threshold is not theirs.
    resident = get(client, f"/api/v1/projects/{w.project_id}/gate", w.headers["resident_member"])
    assert_participation_only(resident, "until_close")


@pytest.mark.parametrize("actor", ["resident_member", *STAFF])
def test_after_the_close_everyone_in_scope_sees_the_whole_result(app, client, world, actor):
    w = world
    cid = create_consultation(client, w)
    open_(client, w, cid)
    assert put_ballot(client, w.members[0], cid, choice="satisfied").status_code == 200
    assert put_ballot(client, w.members[1], cid, choice="unsatisfied").status_code == 200
    backdate_opening(app, cid)
    close(client, w, cid)
    run_jobs(app)
    headers = w.headers[actor]

    gate = get(client, f"/api/v1/projects/{w.project_id}/gate", headers)
    assert gate["results_hidden"] is None, gate
    assert gate["final"] is True
    assert gate["satisfaction_rate"] == pytest.approx(0.5)
    assert gate["figures"]["by_choice"]["unsatisfied"]["households"] == 1
    assert gate["reason"] == "not_passed"
    tally = get(client, f"/api/v1/consultations/{cid}/tally", headers)
    assert tally["results_hidden"] is None and tally["satisfaction_rate"] == pytest.approx(0.5)
    assert set(tally["figures"]["by_choice"]) == {"satisfied", "unsatisfied"}
    project = get(client, f"/api/v1/projects/{w.project_id}", headers)
    assert project["plan_satisfaction_rate"] == pytest.approx(0.5)
    assert project["results_hidden"] is None


def test_a_project_without_a_gate_vote_hides_nothing(app, client, world):
    w = world
    gate = get(client, f"/api/v1/projects/{w.project_id}/gate", w.headers["resident_member"])
    assert gate["results_hidden"] is None and gate["reason"] == "no_consultation"


def test_hiding_a_result_never_changes_the_stored_project(app, client, world):
    """The project's fields are hidden in the reply, not in the row: the next commit (here a
    ballot) must not write the null a resident was shown."""
    w = world
    cid = everyone_satisfied_but_one(app, client, w)
    get(client, f"/api/v1/projects/{w.project_id}", w.headers["resident_member"])
    assert put_ballot(client, w.members[3], cid, choice="satisfied").status_code == 200
    run_jobs(app)
    with app.app_context():
        project = db.session.get(Project, w.project_id)
        assert project.plan_satisfaction_rate == 1 and project.gate_passed is True


# --- the redaction itself, on replies of every shape ----------------------------------------


class Open:
    status = "open"


class Closed:
    status = "closed"


def estate(estate_id: int, satisfied: int, unsatisfied: int, **more) -> dict:
    """One estate's entry as the gate reply gives it (voting/schemas/counting.py)."""
    voted = satisfied + unsatisfied
    return {
        "estate_id": estate_id,
        "name": f"小区{estate_id}",
        "passed": satisfied * 10 >= voted * 9,
        "satisfaction_rate": satisfied / voted,
        "participation_rate": 0.9,
        "by_choice": {
            "satisfied": {"households": satisfied},
            "unsatisfied": {"households": unsatisfied},
        },
        "voted": {"households": voted},
        "eligible": {"households": voted + 1},
        **more,
    }


def bundled_view(small: int = 2) -> dict:
    """A gate reply of a bundled project: pooled figures, each estate's own counts per choice,
    rates and art. 278 shares, and `held_by`. Estate 2 has `small` ballots."""
    art278 = {"participation_area": 0.9, "agree_area_share": 0.8, "agreeing_owners": 9}
    estates = [estate(1, 11, 1, art278=art278), estate(2, 1, small - 1)]
    return {
        "passed": False,
        "satisfaction_rate": 12 / (12 + small),
        "participation_rate": 0.8,
        "counted": 12 + small,
        "eligible": 16,
        "reason": None,
        "gate_basis": "ballots",
        "figures": {
            "by_choice": {"satisfied": {"households": 12}, "unsatisfied": {"households": small}},
            "voted": {"households": 12 + small},
        },
        "estates": estates,
        "held_by": [2],
    }


def test_redaction_removes_choices_at_every_depth_and_per_estate(app):
    with app.test_request_context():
        hidden = visibility.redact_gate(bundled_view(), Resident(), Open())
        assert hidden["results_hidden"] == "until_close"
        assert not (keys_at_every_depth(hidden) & (CHOICE_KEYS | {"held_by"})), hidden
        assert hidden["passed"] is False and hidden["satisfaction_rate"] is None
        for entry in hidden["estates"]:
            assert entry["satisfaction_rate"] is None and entry["passed"] is False, entry
            assert entry["voted"] and entry["participation_rate"] == 0.9, entry
        assert hidden["estates"][0]["art278"] == {"participation_area": 0.9}
        assert hidden["participation_rate"] == 0.8 and hidden["counted"] == 14
        assert hidden["figures"]["voted"] == {"households": 14}


def test_a_bundled_estate_with_few_ballots_hides_itself_and_the_pooled_result(app):
    """Staff, 14 ballots pooled but 2 in estate 2: estate 1 shows; estate 2 does not, and
    neither does the pooled result, which less estate 1's would give estate 2 away."""
    with app.test_request_context():
        shown = visibility.redact_gate(bundled_view(small=2), Staff(), Open())
        assert shown["results_hidden"] == "too_few_ballots"
        assert shown["satisfaction_rate"] is None and "by_choice" not in shown["figures"]
        assert "held_by" not in shown and shown["passed"] is False
        big, small = shown["estates"]
        assert big["results_hidden"] is None and big["by_choice"]["satisfied"]["households"] == 11
        assert big["art278"]["agree_area_share"] == 0.8
        assert small["results_hidden"] == "too_few_ballots" and "by_choice" not in small
        assert small["satisfaction_rate"] is None and small["passed"] is False

        # Once estate 2 has 10 ballots too, everything shows.
        whole = visibility.redact_gate(bundled_view(small=10), Staff(), Open())
        assert whole == {**bundled_view(small=10), "results_hidden": None}


def test_the_tally_keeps_its_estates_inside_its_figures_and_they_are_redacted_too(app):
    view = bundled_view()
    tally = {
        "passed": False,
        "satisfaction_rate": 0.5,
        "counted": 14,
        "figures": {**view["figures"], "estates": view["estates"], "held_by": [2]},
    }
    with app.test_request_context():
        shown = visibility.redact_result(tally, Staff(), Open())
        assert shown["results_hidden"] == "too_few_ballots" and shown["satisfaction_rate"] is None
        assert "by_choice" not in shown["figures"] and "held_by" not in shown["figures"]
        big, small = shown["figures"]["estates"]
        assert big["by_choice"] and small["results_hidden"] == "too_few_ballots"
        assert not (keys_at_every_depth(small) & CHOICE_KEYS), small
        hidden = visibility.redact_result(tally, Resident(), Open())
        assert not (keys_at_every_depth(hidden) & (CHOICE_KEYS | {"held_by"})), hidden


def test_after_the_close_the_redaction_shows_everything(app):
    with app.test_request_context():
        closed = visibility.redact_gate(bundled_view(), Resident(), Closed())
        assert closed == {**bundled_view(), "results_hidden": None}


def test_a_bundled_projects_small_estate_stays_hidden_from_staff_through_the_api(client, make, app):
    """Ten households of estate A and the one of estate B voted: the pooled count reaches
    RESULTS_MIN_BALLOTS, estate B's does not, so staff see estate A's result and participation
    elsewhere; residents see participation only."""
    scene = build_scene(app, households=10)
    _, _, member_b = bundle_second_community(app, scene)
    # The project spans two communities: the county prepares and opens its vote.
    with app.app_context():
        county = factory.staff("county-bundled", ("county", scene.county_id))
        db.session.commit()
        factory.detached(county)
    county_headers = make.headers(county)
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "plan_satisfaction", "plan_id": scene.plan_id},
        headers=county_headers,
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["id"]
    opened = client.post(f"/api/v1/consultations/{cid}/open", headers=county_headers)
    assert opened.status_code == 200, opened.get_json()
    for resident_id in [*scene.resident_ids, member_b]:
        reply = client.put(
            f"/api/v1/consultations/{cid}/ballot",
            json={"choice": "satisfied"},
            headers=make.headers(resident(app, resident_id)),
        )
        assert reply.status_code == 200, reply.get_json()
    run_jobs(app)

    gate = get(client, f"/api/v1/projects/{scene.project_id}/gate", county_headers)
    assert gate["counted"] == 11
    assert gate["results_hidden"] == "too_few_ballots" and gate["satisfaction_rate"] is None
    assert "by_choice" not in gate["figures"]
    by_estate = {e["voted"]["households"]: e for e in gate["estates"]}
    assert by_estate[10]["results_hidden"] is None
    assert by_estate[10]["by_choice"]["satisfied"]["households"] == 10
    assert by_estate[1]["results_hidden"] == "too_few_ballots"
    assert not (keys_at_every_depth(by_estate[1]) & CHOICE_KEYS)
    tally = get(client, f"/api/v1/consultations/{cid}/tally", county_headers)
    assert tally["results_hidden"] == "too_few_ballots" and "by_choice" not in tally["figures"]
    by_estate = {e["voted"]["households"]: e for e in tally["figures"]["estates"]}
    assert by_estate[10]["by_choice"] and by_estate[1]["results_hidden"] == "too_few_ballots"
    assert not (keys_at_every_depth(by_estate[1]) & CHOICE_KEYS)

    member = make.headers(resident(app, member_b))
    hidden = get(client, f"/api/v1/projects/{scene.project_id}/gate", member)
    assert hidden["results_hidden"] == "until_close"
    assert not (keys_at_every_depth(hidden) & CHOICE_KEYS), hidden
