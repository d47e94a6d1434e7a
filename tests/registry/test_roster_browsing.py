"""What the console's registry page reads (issue 13): the roster of one building and by room
(`GET /estates/{id}/households?building_id=&room=`), and an import's faults one a line with
their column (`details.bad_cells`) beside the rows' reasons (`details.bad_rows`)."""

from __future__ import annotations

import pytest

from tests.registry.test_roster import csv_bytes, upload


def _rooms(client, make, estate, who, **query):
    reply = client.get(
        f"/api/v1/estates/{estate.id}/households",
        headers=make.headers(who),
        query_string=query,
    )
    assert reply.status_code == 200, reply.json
    return [(h["building"], h["room"]) for h in reply.json["items"]], reply.json["total"]


def test_the_roster_lists_one_building_and_finds_rooms(client, make):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    for building, room in (("1栋", "101"), ("1栋", "102"), ("1栋", "201"), ("2栋", "101")):
        make.household(estate, building=building, room=room)
    other = make.estate()  # another estate's building
    make.household(other, building="9栋", room="101")
    buildings = client.get(
        f"/api/v1/estates/{estate.id}/buildings", headers=make.headers(clerk)
    ).json
    first = next(b["id"] for b in buildings if b["name"] == "1栋")
    other_building = client.get(
        f"/api/v1/estates/{other.id}/buildings",
        headers=make.headers(make.staff("committee", other.community_id)),
    ).json[0]["id"]

    assert _rooms(client, make, estate, clerk) == (
        [("1栋", "101"), ("1栋", "102"), ("1栋", "201"), ("2栋", "101")],
        4,
    )
    assert _rooms(client, make, estate, clerk, building_id=first) == (
        [("1栋", "101"), ("1栋", "102"), ("1栋", "201")],
        3,
    )
    assert _rooms(client, make, estate, clerk, room="10") == (
        [("1栋", "101"), ("1栋", "102"), ("2栋", "101")],
        3,
    )
    assert _rooms(client, make, estate, clerk, building_id=first, room="01") == (
        [("1栋", "101"), ("1栋", "201")],
        2,
    )
    # `%` and `_` are what they are, not wildcards; another estate's building gives nothing.
    assert _rooms(client, make, estate, clerk, room="%") == ([], 0)
    assert _rooms(client, make, estate, clerk, room="1_1") == ([], 0)
    assert _rooms(client, make, estate, clerk, building_id=other_building) == ([], 0)


def test_the_filter_is_not_a_way_around_the_scope(client, make):
    estate = make.estate()
    make.household(estate, room="101")
    stranger = make.staff("committee", make.community().id)
    reply = client.get(
        f"/api/v1/estates/{estate.id}/households",
        headers=make.headers(stranger),
        query_string={"room": "101"},
    )
    assert reply.status_code == 403
    assert reply.json["error"]["message"]
    assert client.get(f"/api/v1/estates/{estate.id}/households?room=1").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        {"building_id": "abc"},
        {"building_id": "0"},
        {"building_id": "-1"},
        {"building_id": str(2**63)},
        {"room": "1" * 21},
        {"room": "   "},
        {"room": "1\x00"},
    ],
)
def test_bad_filters_are_refused_with_a_chinese_message(client, make, query):
    estate = make.estate()
    clerk = make.staff("committee", estate.community_id)
    reply = client.get(
        f"/api/v1/estates/{estate.id}/households",
        headers=make.headers(clerk),
        query_string=query,
    )
    assert reply.status_code == 422, reply.json
    assert reply.json["error"]["code"]
    assert reply.json["error"]["message"]


def test_an_imports_faults_come_one_a_line_with_their_column(client, make):
    estate = make.estate()
    rows = [
        ["1栋", "1单元", "101", "张伟", "1234", "88.5"],  # row 2: good
        ["", "1单元", "105", "孙七", "56789", "abc"],  # row 3: three faults
        ["1栋", "1单元", "101", "张伟伟", "4321", "90"],  # row 4: repeats row 2
    ]
    reply = upload(client, make, estate, csv_bytes(rows, "utf-8"), "roster.csv")

    assert reply.status_code == 422
    details = reply.json["error"]["details"]
    assert details["bad_cells"] == [
        {"row": 3, "column": "楼栋", "reason": "楼栋为空"},
        {"row": 3, "column": "手机后四位", "reason": "手机后四位应为4位数字"},
        {"row": 3, "column": "建筑面积", "reason": "建筑面积应为大于0的数字（平方米）"},
        {"row": 4, "column": "房号", "reason": "与第2行房号重复"},
    ]
    assert [bad["row"] for bad in details["bad_rows"]] == [3, 4]
