"""The console's community picker names a clerk's communities: `GET /communities?id=&id=`."""

from __future__ import annotations

import pytest


def test_communities_by_id_give_their_names(client, make):
    first, second, _ = (
        make.community(name="东城社区"),
        make.community(name="西城社区"),
        make.community(),
    )
    clerk = make.staff("committee", first.id)
    reply = client.get(
        "/api/v1/communities",
        query_string=[("id", str(second.id)), ("id", str(first.id)), ("id", str(first.id))],
        headers=make.headers(clerk),
    )
    assert reply.status_code == 200, reply.json
    assert [(c["id"], c["name"]) for c in reply.json["items"]] == [
        (first.id, "东城社区"),
        (second.id, "西城社区"),
    ]
    assert reply.json["total"] == 2
    # Without the filter, every community (place names are public to any signed-in user).
    everyone = client.get("/api/v1/communities", headers=make.headers(clerk)).json
    assert everyone["total"] >= 3
    assert client.get(f"/api/v1/communities?id={first.id}").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        [("id", "abc")],
        [("id", "0")],
        [("id", "-1")],
        [("id", str(2**63))],
        [("id", "")],
        [("id", str(n)) for n in range(1, 102)],
    ],
)
def test_bad_ids_are_refused_with_a_chinese_message(client, make, query):
    clerk = make.staff("committee", make.community().id)
    reply = client.get("/api/v1/communities", query_string=query, headers=make.headers(clerk))
    assert reply.status_code == 422, reply.json
    assert reply.json["error"]["message"]


def test_unknown_ids_give_nothing(client, make):
    clerk = make.staff("committee", make.community().id)
    reply = client.get("/api/v1/communities?id=999999", headers=make.headers(clerk))
    assert (reply.status_code, reply.json["items"], reply.json["total"]) == (200, [], 0)
