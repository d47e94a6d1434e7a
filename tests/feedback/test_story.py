"""Issue 4's "done when", through the API alone: from a passed consultation to an accepted
project, with a supervisor, a ticket, ratings and the joint acceptance. Runs on the embedded
default and on PostgreSQL and Redis with a real worker (`run_jobs`)."""

from __future__ import annotations

from datetime import date, timedelta

from api import auth
from devtools import factory
from tests.support.feedback_world import JPEG, multipart
from tests.support.voting_helpers import build_scene, open_consultation, run_jobs


def test_from_construction_to_acceptance_with_residents_taking_part(app, client, make):
    scene = build_scene(app, households=10)
    with app.test_request_context():
        residents = [
            {"Authorization": f"Bearer {factory.resident_token(r)}"} for r in scene.resident_ids
        ]
        owner, clerk = (
            {"Authorization": f"Bearer {auth.issue_token(auth.STAFF, s.id)}"}
            for s in (scene.owner, scene.clerk)
        )
    project = f"/api/v1/projects/{scene.project_id}"

    def ok(reply, status=200):
        assert reply.status_code == status, reply.get_data(as_text=True)[:500]
        return reply.json

    # The plan passes the satisfaction gate; the works start.
    consultation = open_consultation(client, make, scene)
    for headers in residents:
        ok(
            client.put(
                f"/api/v1/consultations/{consultation}/ballot",
                json={"choice": "satisfied"},
                headers=headers,
            )
        )
    ok(client.post(f"/api/v1/consultations/{consultation}/close", headers=clerk))
    run_jobs(app)
    for to in ("approved", "construction"):
        ok(client.post(f"{project}/transitions", json={"to": to}, headers=owner))

    # A resident signs up as a supervisor and is accepted.
    supervisor = residents[0]
    signup = ok(
        client.post(f"{project}/supervisors", json={"trade": "电工"}, headers=supervisor), 201
    )
    ok(client.post(f"/api/v1/supervisors/{signup['id']}/accept", headers=clerk))
    roster = ok(client.get(f"{project}/supervisors", headers=residents[5]))
    assert [s["id"] for s in roster["items"]] == [signup["id"]]

    # An inspection with a photo opens a ticket; the owner answers; the resident confirms.
    photo = ok(client.post(f"{project}/uploads", headers=supervisor, **multipart(JPEG)), 201)
    inspection = ok(
        client.post(
            f"{project}/inspections",
            json={
                "aspects": ["safety"],
                "findings": "配电箱未上锁",
                "severity": "major",
                "photo_ids": [photo["id"]],
            },
            headers=supervisor,
        ),
        201,
    )
    ticket = inspection["ticket"]
    assert ticket["status"] == "open"
    ok(
        client.post(
            f"/api/v1/tickets/{ticket['id']}/answer", json={"answer": "已加锁"}, headers=owner
        )
    )
    done = ok(client.post(f"/api/v1/tickets/{ticket['id']}/confirm", json={}, headers=supervisor))
    assert done["status"] == "resolved"

    # After completion, households rate; the completion satisfaction appears on the project.
    ok(client.post(f"{project}/transitions", json={"to": "completed"}, headers=owner))
    for i, headers in enumerate(residents[:8]):
        overall = 5 if i < 6 else 3
        scores = {"quality": 4, "environment": 4, "facilities": 5, "site_management": 4}
        ok(
            client.post(f"{project}/ratings", json={**scores, "overall": overall}, headers=headers),
            201,
        )
    run_jobs(app)
    shown = ok(client.get(project, headers=owner))
    assert shown["completion_ratings"] == 8
    assert shown["completion_satisfaction_rate"] == 0.75
    assert shown["completion_means"]["overall"] == 4.5

    # The joint acceptance with residents' representatives; the project is accepted.
    body = {
        "held_on": (date.today() - timedelta(days=1)).isoformat(),
        "parties": [
            {"role": "design", "name": "州建筑设计院", "verdict": "pass"},
            {"role": "construction", "name": "德宏城建", "verdict": "pass"},
            {"role": "supervision", "name": "滇西监理", "verdict": "pass"},
        ],
        "representatives": [
            {"resident_id": scene.resident_ids[0], "verdict": "pass", "remarks": "施工规范"},
            {"resident_id": scene.resident_ids[3], "verdict": "conditional", "remarks": "补种树"},
        ],
    }
    record = ok(client.post(f"{project}/acceptance", json=body, headers=owner), 201)
    assert record["completion_satisfaction_rate"] == 0.75 and record["completion_ratings"] == 8
    accepted = ok(client.post(f"{project}/transitions", json={"to": "accepted"}, headers=owner))
    assert accepted["status"] == "accepted"
