"""The gate's integrity (issue 10): the loopholes that let a plan pass without the residents'
consent, each with the test that would have let it through before, and the matter that decides
an owners' decision's rule.

1. no quorum floor: a plan satisfaction consultation with quorum 0;
2. no minimum voting period: opened and closed within a second;
3. the interested party runs the vote: the project owner opens and closes it;
4. vote until it passes: the same plan put to residents again after it failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from api.core import db, labels, utcnow
from participation.models import Estate, Project, RoleGrant
from tests.support.voting_helpers import (
    Scene,
    backdate_opening,
    build_scene,
    consultation_status,
    open_consultation,
    resident,
    run_jobs,
)
from tests.support.voting_world import assert_error_shape
from voting import jobs
from voting.models import MATTERS, Consultation, rule_of


def consultations_url(scene: Scene) -> str:
    return f"/api/v1/projects/{scene.project_id}/consultations"


def create(client, make, scene: Scene, who=None, **body):
    """POST a consultation (a plan satisfaction one unless `kind` says otherwise)."""
    body = {"kind": "plan_satisfaction", **body}
    return client.post(
        consultations_url(scene), json=body, headers=make.headers(who or scene.clerk)
    )


def created_id(reply) -> int:
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def act(client, make, cid: int, action: str, who):
    return client.post(f"/api/v1/consultations/{cid}/{action}", headers=make.headers(who))


def vote(client, make, app, resident_id: int, cid: int, choice: str = "satisfied"):
    reply = client.put(
        f"/api/v1/consultations/{cid}/ballot",
        json={"choice": choice},
        headers=make.headers(resident(app, resident_id)),
    )
    assert reply.status_code == 200, reply.get_json()


def consultation_count(app) -> int:
    with app.app_context():
        return db.session.query(Consultation).count()


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def min_days(app) -> timedelta:
    return timedelta(days=app.config["GATE_MIN_OPEN_DAYS"])


# --- loophole 1: the quorum floor ---------------------------------------------------------------


def test_loophole_1_quorum_zero_is_refused(client, make, app):
    """Before: quorum 0 was taken, and one satisfied household of a hundred passed the gate."""
    scene = build_scene(app, households=3)
    for quorum in (0, 0.5, 0.666):
        reply = create(client, make, scene, quorum=quorum)
        error = assert_error_shape(reply, 422, "quorum_below_policy")
        assert error["details"] == {"minimum": "2/3"}
    assert consultation_count(app) == 0


def test_loophole_1_quorum_of_exactly_two_thirds_or_more_is_accepted(client, make, app):
    scene = build_scene(app, households=3)
    exact = create(client, make, scene, quorum=0.6667)
    assert exact.status_code == 201, exact.get_json()
    assert exact.get_json()["quorum"] == pytest.approx(2 / 3)
    raised = create(client, make, scene, quorum=0.8)
    assert raised.status_code == 201 and raised.get_json()["quorum"] == 0.8
    default = create(client, make, scene)
    assert default.get_json()["quorum"] == pytest.approx(2 / 3)
    # Other kinds keep their own floors: a needs survey has none.
    survey = create(client, make, scene, kind="needs_survey", quorum=0)
    assert survey.status_code == 201, survey.get_json()


def test_the_gate_basis_is_frozen_into_the_consultation_at_creation(client, make, app, monkeypatch):
    scene = build_scene(app, households=3)
    monkeypatch.setitem(app.config, "GATE_BASIS", "households")
    reply = create(client, make, scene)
    cid = created_id(reply)
    assert reply.get_json()["gate_basis"] == "households"
    monkeypatch.setitem(app.config, "GATE_BASIS", "ballots")  # the setting changes later
    shown = client.get(f"/api/v1/consultations/{cid}", headers=make.headers(scene.clerk))
    assert shown.get_json()["gate_basis"] == "households"
    assert create(client, make, scene).get_json()["gate_basis"] == "ballots"


# --- loophole 2: the minimum voting period -------------------------------------------------------


def test_loophole_2_closing_within_a_second_is_refused(client, make, app):
    """Before: a plan satisfaction consultation could be opened and closed within a second."""
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    vote(client, make, app, scene.resident_ids[0], cid)
    vote(client, make, app, scene.resident_ids[1], cid)
    reply = act(client, make, cid, "close", scene.clerk)
    error = assert_error_shape(reply, 409, "too_early_to_close")
    shown = client.get(f"/api/v1/consultations/{cid}", headers=make.headers(scene.clerk)).json
    assert when(error["details"]["earliest_close_at"]) == when(shown["opened_at"]) + min_days(app)
    assert when(shown["earliest_close_at"]) == when(error["details"]["earliest_close_at"])
    assert (error["details"]["voted"], error["details"]["eligible"]) == (2, 3)
    assert consultation_status(app, cid) == "open"
    # The county and the prefecture are held to it as well.
    county = make.staff("county", scene.county_id)
    assert_error_shape(act(client, make, cid, "close", county), 409, "too_early_to_close")


def test_loophole_2_closes_at_sooner_than_the_minimum_is_refused(client, make, app):
    scene = build_scene(app, households=3)
    soon = utcnow() + timedelta(hours=1)
    reply = create(client, make, scene, closes_at=soon.isoformat())
    error = assert_error_shape(reply, 422, "closes_too_soon")
    earliest = when(error["details"]["earliest_closes_at"])
    assert abs(earliest - (utcnow() + min_days(app))) < timedelta(minutes=1)
    # Counted from `opens_at` when it is later than now.
    opens = utcnow() + timedelta(days=2)
    later = create(
        client,
        make,
        scene,
        opens_at=opens.isoformat(),
        closes_at=(opens + min_days(app) - timedelta(hours=1)).isoformat(),
    )
    assert when(
        assert_error_shape(later, 422, "closes_too_soon")["details"]["earliest_closes_at"]
    ) == (opens + min_days(app))
    assert consultation_count(app) == 0
    ok = create(
        client, make, scene, closes_at=(utcnow() + min_days(app) + timedelta(minutes=5)).isoformat()
    )
    assert ok.status_code == 201, ok.get_json()
    # A needs survey may be short.
    short = create(client, make, scene, kind="needs_survey", closes_at=soon.isoformat())
    assert short.status_code == 201, short.get_json()
    assert short.get_json()["earliest_close_at"] is None


def test_loophole_2_a_shorter_minimum_is_the_prefectures_setting(client, make, app, monkeypatch):
    monkeypatch.setitem(app.config, "GATE_MIN_OPEN_DAYS", 3)
    scene = build_scene(app, households=3)
    four_days = (utcnow() + timedelta(days=4)).isoformat()
    assert create(client, make, scene, closes_at=four_days).status_code == 201
    two_days = (utcnow() + timedelta(days=2)).isoformat()
    assert_error_shape(create(client, make, scene, closes_at=two_days), 422, "closes_too_soon")


def test_loophole_2_every_household_having_voted_allows_an_early_close(client, make, app):
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    for resident_id in scene.resident_ids:
        vote(client, make, app, resident_id, cid)
    closed = act(client, make, cid, "close", scene.clerk)
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "closed"
    run_jobs(app)


def test_loophole_2_after_the_minimum_period_the_committee_may_close(client, make, app):
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    vote(client, make, app, scene.resident_ids[0], cid)
    backdate_opening(app, cid)
    closed = act(client, make, cid, "close", scene.clerk)
    assert closed.status_code == 200, closed.get_json()
    run_jobs(app)


def test_loophole_2_a_draft_opened_late_gets_the_minimum_period(client, make, app):
    """A draft whose close time has come near by the time it opens is given the minimum: the
    period promised to residents wins over a stale date."""
    scene = build_scene(app, households=3)
    cid = created_id(
        create(
            client,
            make,
            scene,
            closes_at=(utcnow() + min_days(app) + timedelta(days=1)).isoformat(),
        )
    )
    with app.app_context():  # it was prepared long ago; two days are left
        db.session.get(Consultation, cid).closes_at = utcnow() + timedelta(days=2)
        db.session.commit()
    opened = act(client, make, cid, "open", scene.clerk)
    assert opened.status_code == 200, opened.get_json()
    body = opened.get_json()
    assert when(body["closes_at"]) == when(body["opened_at"]) + min_days(app)
    assert when(body["earliest_close_at"]) == when(body["closes_at"])
    run_jobs(app)


def test_loophole_2_a_scheduled_opening_late_gets_the_minimum_period(client, make, app):
    """The scheduler opens a draft after its time (a worker was down): same rule."""
    scene = build_scene(app, households=3)
    opens = utcnow() + timedelta(days=1)
    cid = created_id(
        create(
            client,
            make,
            scene,
            opens_at=opens.isoformat(),
            closes_at=(opens + min_days(app)).isoformat(),
        )
    )
    late = opens + timedelta(days=3)
    with app.app_context():
        opened, closed = jobs.open_and_close_due(late)
        assert (opened, closed) == ([cid], [])
        consultation = db.session.get(Consultation, cid)
        assert consultation.opened_at == late
        assert consultation.closes_at == late + min_days(app)
        db.session.remove()
    run_jobs(app)


def test_the_close_at_its_own_time_is_not_held_back(client, make, app):
    """The automatic close at `closes_at` needs no one to vote: the time is never sooner than
    the minimum."""
    scene = build_scene(app, households=3)
    cid = open_consultation(
        client, make, scene, closes_at=(utcnow() + min_days(app) + timedelta(hours=1)).isoformat()
    )
    with app.app_context():
        _, closed = jobs.open_and_close_due(utcnow() + min_days(app) + timedelta(hours=2))
        assert closed == [cid]
        db.session.remove()
    assert consultation_status(app, cid) == "closed"
    run_jobs(app)


# --- loophole 3: who runs the vote ---------------------------------------------------------------


def test_loophole_3_the_owner_cannot_open_or_close_the_vote_on_its_plan(client, make, app):
    """Before: the project owner (建设单位) opened and closed the consultation on its own plan."""
    scene = build_scene(app, households=3)
    cid = created_id(create(client, make, scene, who=scene.owner))  # the owner drafts it
    refused = act(client, make, cid, "open", scene.owner)
    error = assert_error_shape(refused, 403, "organised_by_community")
    assert "社区" in error["message"]
    assert consultation_status(app, cid) == "draft"
    assert act(client, make, cid, "open", scene.clerk).status_code == 200
    backdate_opening(app, cid)
    assert_error_shape(act(client, make, cid, "close", scene.owner), 403, "organised_by_community")
    assert consultation_status(app, cid) == "open"
    assert act(client, make, cid, "close", scene.clerk).status_code == 200
    run_jobs(app)
    # The owner reads the result.
    tally = client.get(f"/api/v1/consultations/{cid}/tally", headers=make.headers(scene.owner))
    assert tally.status_code == 200


def test_loophole_3_the_owner_cannot_run_an_owners_decision(client, make, app):
    scene = build_scene(app, households=3)
    cid = created_id(
        create(client, make, scene, who=scene.owner, kind="owners_decision", matter="rebuild")
    )
    assert_error_shape(act(client, make, cid, "open", scene.owner), 403, "organised_by_community")
    county = make.staff("county", scene.county_id)
    assert act(client, make, cid, "open", county).status_code == 200
    assert_error_shape(act(client, make, cid, "close", scene.owner), 403, "organised_by_community")
    prefecture = make.staff("prefecture")
    assert act(client, make, cid, "close", prefecture).status_code == 200
    run_jobs(app)


def test_the_owner_still_runs_its_needs_survey(client, make, app):
    scene = build_scene(app, households=3)
    cid = created_id(create(client, make, scene, who=scene.owner, kind="needs_survey"))
    assert act(client, make, cid, "open", scene.owner).status_code == 200
    assert act(client, make, cid, "close", scene.owner).status_code == 200
    run_jobs(app)


def _bundle_second_community(app, make, scene: Scene):
    """An estate of a second community in the scene's project (one household, one verified
    member) and that community's clerk."""
    county = SimpleNamespace(id=scene.county_id)
    community = make.community(county, name="邻近社区")
    estate = make.estate(community, name="邻近小区")
    make.member(make.household(estate, room="901", name="赵六", phone="9999"))
    with app.app_context():
        project = db.session.get(Project, scene.project_id)
        project.estates.append(db.session.get(Estate, estate.id))
        db.session.commit()
    return make.staff("committee", community), community


def test_loophole_3_one_committee_of_a_bundled_project_cannot_run_its_vote(client, make, app):
    scene = build_scene(app, households=3)
    clerk_b, community_b = _bundle_second_community(app, make, scene)
    cid = created_id(create(client, make, scene, who=scene.owner))
    for clerk in (scene.clerk, clerk_b):
        assert_error_shape(act(client, make, cid, "open", clerk), 403, "out_of_scope")
    assert consultation_status(app, cid) == "draft"
    # A clerk of both communities covers every household: that committee runs it.
    both = make.staff("committee", SimpleNamespace(id=scene.community_id))
    with app.app_context():
        db.session.add(RoleGrant(staff_id=both.id, role="committee", scope_id=community_b.id))
        db.session.commit()
    assert act(client, make, cid, "open", both).status_code == 200
    run_jobs(app)


# --- loophole 4: revise before consulting again --------------------------------------------------


def _failed_gate(client, make, app, scene: Scene) -> int:
    """A plan satisfaction consultation on the scene's plan, closed a week on and failed."""
    cid = open_consultation(client, make, scene)
    vote(client, make, app, scene.resident_ids[0], cid, "unsatisfied")
    vote(client, make, app, scene.resident_ids[1], cid, "satisfied")
    backdate_opening(app, cid)
    assert act(client, make, cid, "close", scene.clerk).status_code == 200
    run_jobs(app)
    gate = client.get(
        f"/api/v1/projects/{scene.project_id}/gate", headers=make.headers(scene.owner)
    ).json
    assert gate["final"] is True and gate["passed"] is False
    return cid


def test_loophole_4_a_failed_plan_cannot_be_put_to_residents_again(client, make, app):
    """Before: the same plan version could be put to a new consultation until it passed."""
    scene = build_scene(app, households=3)
    failed = _failed_gate(client, make, app, scene)
    for body in ({}, {"plan_id": scene.plan_id}):
        reply = create(client, make, scene, **body)
        error = assert_error_shape(reply, 409, "plan_unchanged")
        assert error["details"] == {"consultation_id": failed, "plan_version": 1}
        assert "新的方案版本" in error["message"]
    assert consultation_count(app) == 1


def test_loophole_4_a_draft_on_the_failed_plan_cannot_open(client, make, app):
    scene = build_scene(app, households=3)
    waiting = created_id(create(client, make, scene))  # prepared before the first one closed
    failed = _failed_gate(client, make, app, scene)
    error = assert_error_shape(
        act(client, make, waiting, "open", scene.clerk), 409, "plan_unchanged"
    )
    assert error["details"] == {"consultation_id": failed, "plan_version": 1}
    assert consultation_status(app, waiting) == "draft"


def test_loophole_4_a_revised_plan_may_be_put_to_residents(client, make, app):
    scene = build_scene(app, households=3)
    _failed_gate(client, make, app, scene)
    revised = client.post(
        f"/api/v1/projects/{scene.project_id}/plans",
        json={
            "items": [
                {"category": "parking", "description": "少占绿地的停车位", "estimated_cost": 1500}
            ]
        },
        headers=make.headers(scene.owner),
    )
    assert revised.status_code == 201, revised.get_json()
    again = create(client, make, scene)  # the current plan: version 2
    cid = created_id(again)
    assert again.get_json()["plan_id"] == revised.get_json()["id"]
    assert act(client, make, cid, "open", scene.clerk).status_code == 200
    # The old version stays consulted: a consultation on it is still refused.
    assert_error_shape(create(client, make, scene, plan_id=scene.plan_id), 409, "plan_unchanged")
    run_jobs(app)


# --- owners' decisions: the matter decides the rule -----------------------------------------------


@pytest.mark.parametrize("matter", MATTERS)
def test_an_owners_decisions_matter_decides_its_rule(client, make, app, matter):
    scene = build_scene(app, households=3)
    reply = create(client, make, scene, kind="owners_decision", matter=matter)
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    assert body["matter"] == matter and body["matter_label"] == labels.MATTERS[matter]
    expected = "three_quarters" if matter in labels.THREE_QUARTER_MATTERS else "majority"
    assert body["rule"] == expected == rule_of(matter)
    assert body["earliest_close_at"] is None


def test_an_owners_decision_needs_its_matter_and_takes_no_rule(client, make, app):
    scene = build_scene(app, households=3)
    missing = create(client, make, scene, kind="owners_decision")
    assert_error_shape(missing, 422, "matter_required")
    picked = create(client, make, scene, kind="owners_decision", matter="rebuild", rule="majority")
    error = assert_error_shape(picked, 422, "invalid")
    assert "事项" in error["details"]["fields"]["rule"][0]
    alone = create(client, make, scene, kind="owners_decision", rule="three_quarters")
    assert "rule" in assert_error_shape(alone, 422, "invalid")["details"]["fields"]
    for kind in ("plan_satisfaction", "needs_survey"):
        wrong = create(client, make, scene, kind=kind, matter="rebuild")
        assert_error_shape(wrong, 422, "matter_not_applicable")
    assert consultation_count(app) == 0


def test_other_kinds_show_no_matter(client, make, app):
    scene = build_scene(app, households=3)
    body = create(client, make, scene).get_json()
    assert (body["matter"], body["matter_label"], body["rule"]) == (None, None, None)
    assert body["gate_basis"] == app.config["GATE_BASIS"]
    assert body["earliest_close_at"] is not None  # a draft: if it opened now
