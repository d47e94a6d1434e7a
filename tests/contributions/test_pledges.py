"""Households' answers to an adopted scheme (issue 15, item 2): the latest answer stands
(one row per household), a decline needs its reason and a pledge clears it, pledging after the
due date is still allowed (tests/contributions/test_pledges_races.py: two at once)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.core import db, local_today
from participation.models import ContributionScheme
from tests.contributions.scheme_helpers import S, adopted_scheme, pledges
from tests.support.voting_world import build_world


@pytest.fixture(scope="module")
def w(app, module_make):
    return build_world(app, module_make)


def test_the_latest_answer_stands(app, client, w):
    scheme = adopted_scheme(app, client, w)
    h = w.scene.household_ids[0]
    path = f"{S}/{scheme['id']}/pledges/{h}"
    resident_id = w.callers["resident_member"].id
    for body, stored in (
        ({"choice": "declined", "reason": "收入有限"}, ("declined", "收入有限", resident_id, None)),
        ({"choice": "pledged", "reason": "可以出"}, ("pledged", "可以出", resident_id, None)),
        ({"choice": "pledged"}, ("pledged", None, resident_id, None)),
    ):
        reply = client.put(path, json=body, headers=w.members[0])
        assert reply.status_code == 200, reply.get_json()
        assert pledges(app, scheme["id"]) == {h: stored}
    # The clerk records the household's answer at the desk: the latest, by the clerk.
    reply = client.put(
        path, json={"choice": "declined", "reason": "电话告知"}, headers=w.headers["clerk"]
    )
    assert reply.status_code == 200 and reply.get_json()["recorded_at_desk"] is True
    assert pledges(app, scheme["id"]) == {h: ("declined", "电话告知", None, w.callers["clerk"].id)}
    households = client.get(
        f"{S}/{scheme['id']}/households?state=declined", headers=w.headers["clerk"]
    ).get_json()
    assert [item["household_id"] for item in households["items"]] == [h]


def test_pledging_after_the_due_date_is_still_allowed(app, client, w):
    scheme = adopted_scheme(app, client, w)
    with app.app_context():
        db.session.get(ContributionScheme, scheme["id"]).due_on = local_today() - timedelta(days=3)
        db.session.commit()
    h = w.scene.household_ids[1]
    reply = client.put(
        f"{S}/{scheme['id']}/pledges/{h}", json={"choice": "pledged"}, headers=w.members[1]
    )
    assert reply.status_code == 200, reply.get_json()
