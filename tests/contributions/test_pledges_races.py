"""Two answers for one household submitted at once (a resident on the phone, the clerk at the
desk) leave one row, never a 500: the pledge is an upsert (PostgreSQL, real threads)."""

from __future__ import annotations

import threading

import pytest

from participation.service import contributions as scheme_service
from tests.contributions.scheme_helpers import S, adopted_scheme, pledges
from tests.support.voting_world import build_world


@pytest.mark.services
@pytest.mark.commits
def test_two_answers_at_once_leave_one_row(app, make, monkeypatch):
    w = build_world(app, make)
    client = app.test_client()
    scheme = adopted_scheme(app, client, w)
    both = threading.Barrier(2, timeout=2)
    real = scheme_service.utcnow

    def held():
        try:
            both.wait()
        except threading.BrokenBarrierError:
            pass
        return real()

    monkeypatch.setattr(scheme_service, "utcnow", held)
    h = w.scene.household_ids[0]
    path = f"{S}/{scheme['id']}/pledges/{h}"
    replies = []

    def answer(headers, body):
        replies.append(app.test_client().put(path, json=body, headers=headers))

    threads = [
        threading.Thread(target=answer, args=(w.members[0], {"choice": "pledged"})),
        threading.Thread(
            target=answer, args=(w.headers["clerk"], {"choice": "declined", "reason": "登记"})
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(reply.status_code for reply in replies) == [200, 200], [
        reply.get_data(as_text=True)[:200] for reply in replies
    ]
    stored = pledges(app, scheme["id"])
    assert list(stored) == [h]
    assert stored[h][0] in ("pledged", "declined")


@pytest.mark.services
@pytest.mark.commits
def test_a_pledge_waits_for_a_cancellation_under_way_and_is_refused_by_it(app, make):
    """A cancellation holds the scheme's row; a pledge sent meanwhile waits for it (the
    pledge's share lock on the scheme) and then finds the scheme cancelled: 409, no pledge."""
    w = build_world(app, make)
    client = app.test_client()
    scheme = adopted_scheme(app, client, w)
    h = w.scene.household_ids[0]
    replies = []
    with app.app_context():
        from api.core import db

        scheme_service.cancel(scheme["id"], "方案调整")  # row locked until the commit below
        pledging = threading.Thread(
            target=lambda: replies.append(
                app.test_client().put(
                    f"{S}/{scheme['id']}/pledges/{h}",
                    json={"choice": "pledged"},
                    headers=w.members[0],
                )
            )
        )
        pledging.start()
        pledging.join(1.5)
        assert pledging.is_alive(), "the pledge did not wait for the cancellation"
        db.session.commit()
    pledging.join(10)
    assert replies[0].status_code == 409, replies[0].get_data(as_text=True)[:200]
    assert replies[0].get_json()["error"]["code"] == "scheme_not_adopted"
    assert pledges(app, scheme["id"]) == {}
