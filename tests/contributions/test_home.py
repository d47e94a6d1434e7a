"""The resident's home screen (首页) lists the contributions their household has yet to answer or
to pay (issue 15): an adopted scheme shows with its amount and what is outstanding until the
household has pledged and paid in full; a draft never shows."""

from __future__ import annotations

import pytest

from tests.contributions.money_world import entry_body, post_entry
from tests.contributions.scheme_helpers import S, adopted_scheme, create_scheme
from tests.support.voting_world import build_world


@pytest.fixture
def w(app, make):
    return build_world(app, make)


def _home_contributions(client, headers) -> list[dict]:
    reply = client.get("/api/v1/me/home", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["contributions"]


def test_the_home_screen_lists_what_is_left_to_answer_and_pay(app, client, w):
    member = w.headers["resident_member"]
    household = w.scene.household_ids[0]
    create_scheme(client, w, title="仍是草案的方案")
    assert _home_contributions(client, member) == []

    scheme = adopted_scheme(app, client, w, basis="household", rate_fen=30_000)
    (item,) = _home_contributions(client, member)
    assert (item["scheme_id"], item["household_id"]) == (scheme["id"], household)
    assert (item["amount_fen"], item["paid_fen"], item["outstanding_fen"]) == (30_000, 0, 30_000)
    assert item["pledge"] is None

    pledged = client.put(
        f"{S}/{scheme['id']}/pledges/{household}", json={"choice": "pledged"}, headers=member
    )
    assert pledged.status_code == 200, pledged.get_json()
    clerk = w.headers["clerk"]
    assert (
        post_entry(
            client, clerk, scheme["id"], entry_body(household, amount_fen=10_000)
        ).status_code
        == 201
    )
    (item,) = _home_contributions(client, member)
    assert (item["pledge"], item["pledge_label"]) == ("pledged", "承诺出资")
    assert (item["paid_fen"], item["outstanding_fen"]) == (10_000, 20_000)

    assert (
        post_entry(
            client, clerk, scheme["id"], entry_body(household, amount_fen=20_000)
        ).status_code
        == 201
    )
    assert _home_contributions(client, member) == []
