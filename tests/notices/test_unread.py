"""`GET /notices?unread=1` (issue 12, screen 6): a resident's notices they have not read, i.e. with
no read receipt of theirs; `unread=0` those they have. Staff have no read receipts: 422. The
home screen's `unread_notices` is the same count."""

from __future__ import annotations

import pytest

from tests.support.database import every_row
from tests.support.notices_helpers import build_town, post_notice

NOTICES = "/api/v1/notices"


@pytest.fixture(scope="module")
def town(app, module_make):
    """The town, built once for the module; each test rolls back to it."""
    return build_town(app, module_make)


def _post(client, make, town, **target) -> int:
    reply = post_notice(client, make, town.staff["clerk"], **target)
    assert reply.status_code == 201, reply.json
    return reply.json["id"]


def _read(client, make, resident, notice_id: int) -> None:
    reply = client.post(f"{NOTICES}/{notice_id}/read", headers=make.headers(resident))
    assert reply.status_code == 200, reply.json


def _list(client, make, resident, **query) -> dict:
    reply = client.get(NOTICES, query_string=query, headers=make.headers(resident))
    assert reply.status_code == 200, reply.json
    return reply.json


def _ids(page: dict) -> list[int]:
    return [n["id"] for n in page["items"]]


def test_unread_lists_what_the_resident_has_not_read(client, make, town):
    r = town.residents
    first = _post(client, make, town, estate_id=town.estate.id, title="第一条")
    second = _post(client, make, town, estate_id=town.estate.id, title="第二条")
    third = _post(client, make, town, community_id=town.community.id, category="construction")
    _read(client, make, r["a1"], second)
    # Another member of the same household read the first: it stays unread for a1.
    _read(client, make, r["shared"], first)

    unread = _list(client, make, r["a1"], unread=1)
    assert _ids(unread) == [third, first]
    assert unread["total"] == 2 and all(n["read"] is False for n in unread["items"])
    read = _list(client, make, r["a1"], unread=0)
    assert _ids(read) == [second] and read["total"] == 1 and read["items"][0]["read"] is True
    # Without the filter: all three, newest first.
    assert _ids(_list(client, make, r["a1"])) == [third, second, first]
    # "true"/"false" as well as 1/0; with a category; paged with its total.
    assert _ids(_list(client, make, r["a1"], unread="true", category="construction")) == [third]
    assert _ids(_list(client, make, r["a1"], unread="false", category="construction")) == []
    page = _list(client, make, r["a1"], unread=1, per_page=1, page=2)
    assert _ids(page) == [first] and page["total"] == 2

    _read(client, make, r["a1"], third)
    assert _ids(_list(client, make, r["a1"], unread=1)) == [first]


def test_the_home_screen_counts_the_same(client, make, town):
    r = town.residents
    for n in range(3):
        _post(client, make, town, estate_id=town.estate.id, title=f"通知{n}")
    notice = _post(client, make, town, community_id=town.community.id)
    _read(client, make, r["a2"], notice)
    for key in ("a2", "a2b", "b1", "c1", "pending"):
        home = client.get("/api/v1/me/home", headers=make.headers(r[key]))
        assert home.status_code == 200, home.json
        listed = _list(client, make, r[key], unread=1)
        assert home.json["unread_notices"] == listed["total"], key
    assert _list(client, make, r["a2"], unread=1)["total"] == 3
    assert _list(client, make, r["a2b"], unread=1)["total"] == 4
    assert _list(client, make, r["c1"], unread=1)["total"] == 0


def test_a_withdrawn_notice_is_not_unread(client, make, town):
    notice = _post(client, make, town, estate_id=town.estate.id)
    withdrawn = client.post(
        f"{NOTICES}/{notice}/withdraw",
        json={"reason": "内容有误"},
        headers=make.headers(town.staff["clerk"]),
    )
    assert withdrawn.status_code == 200
    assert _list(client, make, town.residents["a1"], unread=1)["total"] == 0


@pytest.mark.parametrize("value", ["1", "0", "true"])
@pytest.mark.parametrize("who", ["clerk", "county", "prefecture", "nobody"])
def test_staff_may_not_filter_by_unread(app, client, make, town, who, value):
    _post(client, make, town, estate_id=town.estate.id)
    before = every_row(app)
    reply = client.get(
        NOTICES, query_string={"unread": value}, headers=make.headers(town.staff[who])
    )
    assert reply.status_code == 422, reply.json
    error = reply.json["error"]
    assert error["code"] == "unread_residents_only"
    assert error["message"] == "只有居民可以按已读、未读筛选公告"
    assert "unread" in error["details"]["fields"]
    assert every_row(app) == before
    # Without it their list answers as before.
    assert client.get(NOTICES, headers=make.headers(town.staff[who])).status_code == 200


@pytest.mark.parametrize("value", ["maybe", "", "2", "yes please", "1" * 2000])
def test_a_value_that_is_not_a_boolean_is_422(app, client, make, town, value):
    before = every_row(app)
    headers = make.headers(town.residents["a1"])
    reply = client.get(NOTICES, query_string={"unread": value}, headers=headers)
    assert reply.status_code == 422, reply.json
    assert reply.json["error"]["code"] == "invalid"
    assert "unread" in reply.json["error"]["details"]["fields"]
    assert every_row(app) == before


def test_anonymous_is_401(client, town):
    reply = client.get(NOTICES, query_string={"unread": 1})
    assert reply.status_code == 401
    assert reply.json["error"]["code"] == "unauthorized"
