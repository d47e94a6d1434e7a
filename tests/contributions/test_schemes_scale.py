"""Ten thousand households adopt in a moment (issue 15): adoption freezes every household's
amount in one multi-row INSERT, each rounded half up to the fen, and the total is exact."""

from __future__ import annotations

import time
from decimal import Decimal

from api.core import utcnow
from tests.contributions.scheme_helpers import S, dues
from tests.support.voting_helpers import build_scene
from voting.queries.decisions import DecisionOutcome


def test_ten_thousand_households_adopt_in_a_moment(app, client, make, monkeypatch):
    areas = [f"{40 + (i % 97)}.{(i * 37) % 100:02d}" for i in range(10_000)]
    scene = build_scene(app, households=10_000, areas=areas)
    owner = make.headers(scene.owner)
    clerk = make.headers(scene.clerk)
    body = {"title": "大型方案", "basis": "floor_area", "rate_fen": 1333, "due_on": "2100-01-01"}
    created = client.post(
        f"/api/v1/projects/{scene.project_id}/contribution-schemes", json=body, headers=owner
    )
    assert created.status_code == 201
    scheme_id = created.get_json()["id"]
    consultation = client.post(
        f"/api/v1/projects/{scene.project_id}/consultations",
        json={"kind": "owners_decision", "matter": "raise_maintenance_fund"},
        headers=clerk,
    )
    cid = consultation.get_json()["id"]
    # The decision's count is voting's (tested there): here it has passed.
    passed = DecisionOutcome(
        cid,
        scene.project_id,
        "筹集维修资金",
        "raise_maintenance_fund",
        "three_quarters",
        "closed",
        True,
        True,
        frozenset({scene.estate_id}),
        None,
        [],
        utcnow(),  # drawn up after the scheme
    )
    monkeypatch.setitem(app.extensions["domain_answers"], "decision_outcome", lambda _: passed)
    linked = client.put(f"{S}/{scheme_id}/decision", json={"consultation_id": cid}, headers=owner)
    assert linked.status_code == 200, linked.get_json()
    started = time.perf_counter()
    reply = client.post(f"{S}/{scheme_id}/adopt", headers=owner)
    elapsed = time.perf_counter() - started
    assert reply.status_code == 200, reply.get_json()
    assert elapsed < 10, f"adopting 10,000 households took {elapsed:.1f} s"
    frozen = dues(app, scheme_id)
    assert len(frozen) == 10_000
    expected = sum(int(Decimal(a) * 1333 + Decimal("0.5")) for a in areas)
    assert sum(frozen.values()) == expected == reply.get_json()["summary"]["total_fen"]
