"""A consultation from opening to the gate: the heart of the product."""

from datetime import timedelta

from api.core import db, utcnow
from tests.support.voting_helpers import (
    backdate_opening,
    build_scene,
    open_consultation,
    resident,
    run_jobs,
)
from voting.models import Consultation


def vote(client, make, app, resident_id, consultation_id, choice, **extra):
    return client.put(
        f"/api/v1/consultations/{consultation_id}/ballot",
        json={"choice": choice, **extra},
        headers=make.headers(resident(app, resident_id)),
    )


def test_gate_moves_as_residents_vote_and_opens_construction_only_at_90_percent(
    client, make, app, monkeypatch
):
    # Staff see the live count from 9 ballots here (RESULTS_MIN_BALLOTS; test_visibility.py
    # tests the default of 10 and what residents see).
    monkeypatch.setitem(app.config, "RESULTS_MIN_BALLOTS", 9)
    scene = build_scene(app, households=10)
    cid = open_consultation(client, make, scene)
    owner = make.headers(scene.owner)

    for r in scene.resident_ids[:8]:
        assert vote(client, make, app, r, cid, "satisfied").status_code == 200
    reply = vote(client, make, app, scene.resident_ids[8], cid, "unsatisfied")
    assert reply.status_code == 200
    assert len(reply.json["receipt"]) == 10

    run_jobs(app)
    gate = client.get(f"/api/v1/projects/{scene.project_id}/gate", headers=owner).json
    assert gate["counted"] == 9 and gate["eligible"] == 10
    assert gate["satisfaction_rate"] == round(8 / 9, 6)
    assert gate["passed"] is False and gate["final"] is False

    # The unsatisfied household changes its mind: 9 of 9 satisfied, 90% participation.
    assert vote(client, make, app, scene.resident_ids[8], cid, "satisfied").status_code == 200
    run_jobs(app)
    gate = client.get(f"/api/v1/projects/{scene.project_id}/gate", headers=owner).json
    assert gate["passed"] is True and gate["final"] is False

    refused = client.post(
        f"/api/v1/projects/{scene.project_id}/transitions", json={"to": "approved"}, headers=owner
    )
    assert refused.status_code == 200  # consulting -> approved needs no gate
    refused = client.post(
        f"/api/v1/projects/{scene.project_id}/transitions",
        json={"to": "construction"},
        headers=owner,
    )
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "gate_not_passed"
    assert refused.json["error"]["details"]["reason"] == "consultation_open"

    # A week on (the minimum voting period), the committee closes it with one household short.
    backdate_opening(app, cid)
    closed = client.post(f"/api/v1/consultations/{cid}/close", headers=make.headers(scene.clerk))
    assert closed.status_code == 200
    late = vote(client, make, app, scene.resident_ids[9], cid, "satisfied")
    assert late.status_code == 409 and late.json["error"]["code"] == "ballot_closed"

    run_jobs(app)
    gate = client.get(f"/api/v1/projects/{scene.project_id}/gate", headers=owner).json
    assert gate["final"] is True and gate["passed"] is True
    moved = client.post(
        f"/api/v1/projects/{scene.project_id}/transitions",
        json={"to": "construction"},
        headers=owner,
    )
    assert moved.status_code == 200, moved.json
    assert moved.json["status"] == "construction"


def test_ballot_receipt_is_stable_and_listed_in_turnout_without_choices(client, make, app):
    scene = build_scene(app, households=3)
    cid = open_consultation(client, make, scene)
    first = vote(client, make, app, scene.resident_ids[0], cid, "satisfied").json
    second = vote(client, make, app, scene.resident_ids[0], cid, "abstain").json
    assert first["receipt"] == second["receipt"]
    turnout = client.get(
        f"/api/v1/consultations/{cid}/turnout", headers=make.headers(scene.clerk)
    ).json
    assert turnout["voted"] == 1 and turnout["eligible"] == 3
    assert [row["receipt"] for row in turnout["items"]] == [first["receipt"]]
    assert "choice" not in turnout["items"][0]
    mine = client.get(
        f"/api/v1/consultations/{cid}/ballot",
        headers=make.headers(resident(app, scene.resident_ids[0])),
    ).json
    assert mine["choice"] == "abstain" and mine["revision"] == 2


def test_construction_after_the_close_time_closes_and_counts_first(client, make, app):
    """No scheduler came by (the embedded default, or a worker down): the transition itself
    closes the consultation whose time has passed, rather than answering "still open"."""
    scene = build_scene(app, households=10)
    closes = (utcnow() + timedelta(days=app.config["GATE_MIN_OPEN_DAYS"] + 1)).isoformat()
    cid = open_consultation(client, make, scene, closes_at=closes)
    for r in scene.resident_ids:
        assert vote(client, make, app, r, cid, "satisfied").status_code == 200
    backdate_opening(app, cid, days=app.config["GATE_MIN_OPEN_DAYS"] + 2)
    with app.app_context():  # its close time has come
        db.session.get(Consultation, cid).closes_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    owner = make.headers(scene.owner)
    path = f"/api/v1/projects/{scene.project_id}/transitions"
    assert client.post(path, json={"to": "approved"}, headers=owner).status_code == 200
    moved = client.post(path, json={"to": "construction"}, headers=owner)
    if not app.extensions["jobs"].inline:  # the final count is a queued job: not yet, then yes
        assert moved.status_code == 409
        assert moved.json["error"]["details"]["reason"] == "tally_pending"
        run_jobs(app)
        moved = client.post(path, json={"to": "construction"}, headers=owner)
    assert moved.status_code == 200, moved.json
    with app.app_context():
        assert db.session.get(Consultation, cid).status == "closed"
