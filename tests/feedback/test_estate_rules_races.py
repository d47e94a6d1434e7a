"""Two clerks recording results at once, on PostgreSQL: two published versions of one estate
linked to the same passed owners' decision. Without the estate's lock both were adopted, both
in force; serialised, the first recorded is adopted and the second answers 409
`decision_already_used`, and one version is in force.

The requests are held just before they write until the other arrives (or for two seconds, when
the other waits on the lock, which is what must happen)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from api.core import db
from feedback.models.estate_rules import EstateRules
from feedback.service import estate_rules
from tests.feedback.rules_world import build_rules_world, decide_after

R = "/api/v1/estate-rules"


def _hold_both(monkeypatch):
    both = threading.Barrier(2, timeout=2)
    real = estate_rules.utcnow

    def at_barrier():
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass
        return real()

    monkeypatch.setattr(estate_rules, "utcnow", at_barrier)


def _published(client, w) -> int:
    h = w.headers["clerk"]
    created = client.post(
        f"/api/v1/estates/{w.estate}/rules", json={"title": "t", "body": "b"}, headers=h
    )
    rules = created.get_json()["id"]
    assert client.post(f"{R}/{rules}/publish", json={}, headers=h).status_code == 200
    return rules


def _linked(app, client, w, *rules_ids) -> None:
    """One owners' decision, drawn up after the versions were published, linked to each."""
    decision = decide_after(app, w)
    for rules in rules_ids:
        linked = client.put(
            f"{R}/{rules}/decision", json={"consultation_id": decision}, headers=w.headers["clerk"]
        )
        assert linked.status_code == 200, linked.get_json()


def test_one_decision_recorded_for_two_versions_one_after_the_other(app, client):
    w = build_rules_world(app)
    first, second = _published(client, w), _published(client, w)
    _linked(app, client, w, first, second)
    h = w.headers["clerk"]
    assert client.post(f"{R}/{first}/result", headers=h).status_code == 200
    reply = client.post(f"{R}/{second}/result", headers=h)
    assert reply.status_code == 409 and reply.get_json()["error"]["code"] == "decision_already_used"


@pytest.mark.services
def test_two_results_at_once_leave_one_version_in_force(app, monkeypatch):
    w = build_rules_world(app)
    client = app.test_client()
    ids = [_published(client, w), _published(client, w)]
    _linked(app, client, w, *ids)
    _hold_both(monkeypatch)
    replies = {}

    def record(rules_id):
        replies[rules_id] = app.test_client().post(
            f"{R}/{rules_id}/result", headers=w.headers["clerk"]
        )

    threads = [threading.Thread(target=record, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    statuses = sorted(replies[i].status_code for i in ids)
    assert statuses == [200, 409], {i: replies[i].get_json() for i in ids}
    with app.app_context():
        in_force = db.session.scalars(
            select(EstateRules.id).where(
                EstateRules.estate_id == w.estate,
                EstateRules.status == "adopted",
                EstateRules.superseded_at.is_(None),
            )
        ).all()
        assert len(in_force) == 1 and in_force[0] in ids
