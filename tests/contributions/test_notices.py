"""The households a contribution scheme asks money of are told (issue 15): when an owners'
decision has adopted it (how it is shared, the due date, to answer in the mini-program) and
when an adopted scheme is cancelled (why, and that what they paid is refunded); once each, and
only the scheme's own households (a scheme for some buildings tells no one else)."""

from __future__ import annotations

import pytest

from tests.contributions.scheme_helpers import (
    S,
    add_estate,
    adopted_scheme,
    create_scheme,
    scene_building_id,
)
from tests.support.voting_world import build_world


@pytest.fixture
def w(app, make):
    return build_world(app, make)


def _titles(client, headers) -> list[str]:
    reply = client.get("/api/v1/notices?per_page=100", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return [notice["title"] for notice in reply.get_json()["items"]]


def test_the_schemes_households_hear_of_its_adoption_and_cancellation(app, client, make, w):
    member = w.headers["resident_member"]
    other = add_estate(app, make, w, households=2)
    draft = create_scheme(client, w, title="只是草案")
    assert not any("只是草案" in title for title in _titles(client, member))

    scheme = adopted_scheme(
        app,
        client,
        w,
        title="加装电梯出资",
        basis="household",
        rate_fen=50_050,
        building_ids=[scene_building_id(app, w)],
    )
    adopted = [t for t in _titles(client, member) if t == "居民出资方案已通过：加装电梯出资"]
    assert len(adopted) == 1
    notice = next(
        n
        for n in client.get("/api/v1/notices?per_page=100", headers=member).get_json()["items"]
        if n["title"] == adopted[0]
    )
    detail = client.get(f"/api/v1/notices/{notice['id']}", headers=member).get_json()
    assert "每户500.50元" in detail["body"] and scheme["due_on"] in detail["body"]

    cancelled = client.post(
        f"{S}/{scheme['id']}/cancel", json={"reason": "方案调整"}, headers=w.headers["owner"]
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    titles = _titles(client, member)
    assert titles.count("居民出资方案已取消：加装电梯出资") == 1
    # A draft's cancellation tells no one: it never asked anything.
    client.post(
        f"{S}/{draft['id']}/cancel", json={"reason": "不再需要"}, headers=w.headers["owner"]
    )
    assert not any("只是草案" in title for title in _titles(client, member))
    # The other estate's households were not asked (the scheme is for this estate's building):
    # they heard nothing of it.
    assert not any("加装电梯出资" in title for title in _titles(client, other.headers[0]))
