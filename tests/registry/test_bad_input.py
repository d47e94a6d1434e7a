"""Bad input on every write of the registry API (issue 2), names that are hard to store, and
errors that must never come back as HTML.

Every refusal is checked twice: the answer is the one error shape with a Chinese message, and the
database holds exactly the rows it held before the request (a refused write writes nothing).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from api.core import db
from api.core.fields import mask_name
from participation.models import Household, HouseholdClaim, Resident, Staff
from tests.conftest import count_rows
from tests.support.consent import consented_headers
from tests.support.registry_world import (
    PASSWORD,
    World,
    assert_error_shape,
    build_world,
    roster_csv,
    snapshot,
)

MiB = 1024 * 1024
HEADER = ["楼栋", "单元", "房号", "业主姓名", "手机后四位", "建筑面积"]


@pytest.fixture(scope="module")
def world(app, module_transaction) -> World:
    """The world, built once for the module; each test rolls back to it."""
    return build_world(app)


def refused(app, before, reply, status, code=None) -> dict:
    """The reply is a refusal in the error shape, and the database is as it was."""
    error = assert_error_shape(reply, status)
    if code is not None:
        assert error["code"] == code, error
    assert snapshot(app) == before, "a refused request changed the database"
    return error


# --- the JSON writes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    name: str
    actor: str  # who may make this write (see tests/support/registry_world.py ACTORS)
    path: Callable[[World], str]
    body: Callable[[World], dict]  # a body that would be accepted
    wrong: tuple  # (field, value of a wrong type or shape)


WRITES = [
    Write(
        "wechat-login",
        "anonymous",
        lambda w: "/api/v1/auth/wechat-login",
        lambda w: {"code": "bad-input-code", "nickname": "张三"},
        (("code", 123), ("code", None), ("nickname", ["张三"]), ("code", "")),
    ),
    Write(
        "staff-login",
        "anonymous",
        lambda w: "/api/v1/auth/staff-login",
        lambda w: {"username": "clerk-a", "password": PASSWORD},
        (("username", 12), ("password", {"p": 1}), ("password", None)),
    ),
    Write(
        "counties",
        "prefecture",
        lambda w: "/api/v1/counties",
        lambda w: {"name": "丙县"},
        (("name", 1), ("name", ["丙县"]), ("name", "   "), ("name", "县" * 101)),
    ),
    Write(
        "communities",
        "county_officer",
        lambda w: "/api/v1/communities",
        lambda w: {"county_id": w.county, "name": "丙社区"},
        (("county_id", str), ("county_id", 1.5), ("county_id", True), ("county_id", -1)),
    ),
    Write(
        "estates",
        "clerk",
        lambda w: "/api/v1/estates",
        lambda w: {"community_id": w.community, "name": "丙小区", "address": "幸福路1号"},
        (("community_id", "x"), ("address", 5), ("name", {"zh": "丙"})),
    ),
    Write(
        "claim household",
        "resident_unverified",
        lambda w: "/api/v1/me/households",
        lambda w: {
            "estate_id": w.estate,
            "building": "1栋",
            "unit": "1单元",
            "room": "102",
            "name": "李四",
            "phone_last4": "5678",
        },
        (
            ("estate_id", str),
            ("phone_last4", 5678),
            ("phone_last4", "56789"),
            ("phone_last4", "5678\n"),  # `$` alone lets a trailing newline through
            ("phone_last4", "٥٦٧٨"),  # Arabic-Indic digits are digits to `\d`, not to the roster
            ("relation", "landlord"),
            ("room", None),
        ),
    ),
    Write(
        "reject claim",
        "clerk",
        lambda w: f"/api/v1/claims/{w.pending_claim}/reject",
        lambda w: {"reason": "姓名与花名册不符"},
        (("reason", 1), ("reason", " "), ("reason", "理" * 501)),
    ),
    Write(
        "staff",
        "prefecture",
        lambda w: "/api/v1/staff",
        lambda w: {
            "username": "new-clerk",
            "password": "a-long-password",
            "display_name": "新职员",
            "grants": [{"role": "committee", "scope_id": w.community}],
        },
        (
            ("password", 12345678),
            ("grants", "committee"),
            ("grants", [{"role": "committee", "scope_id": "1"}]),
            ("username", "名字"),
        ),
    ),
    Write(
        "grants",
        "prefecture",
        lambda w: f"/api/v1/staff/{w.target_staff}/grants",
        lambda w: {"role": "committee", "scope_id": w.community},
        (("role", 1), ("role", "mayor"), ("scope_id", "1"), ("scope_id", None)),
    ),
]
WRITE_IDS = [w.name for w in WRITES]


def _post(client, w: World, write: Write, **kwargs):
    return client.post(write.path(w), headers=w.headers[write.actor], **kwargs)


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_malformed_json_is_400(app, client, world, write):
    before = snapshot(app)
    for raw in ('{"name": "丙县"', "{'name': 1}", "\xff\xfe", "{} {}"):
        reply = _post(client, world, write, data=raw, content_type="application/json")
        error = refused(app, before, reply, 400, "malformed_request")
        assert error["details"] == {"reason": "invalid_json"}


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_wrong_types_are_422_naming_the_field(app, client, world, write):
    before = snapshot(app)
    for field, value in write.wrong:
        body = write.body(world)
        if value is str:  # a number sent as a string: "12" is not the id 12
            value = str(body[field])
        body[field] = value
        reply = _post(client, world, write, json=body)
        error = refused(app, before, reply, 422)
        assert field in error["details"].get("fields", {}), (field, value, error)


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_a_body_that_is_not_an_object_is_422(app, client, world, write):
    before = snapshot(app)
    for raw in ("[]", "null", '"丙县"', "42"):
        reply = _post(client, world, write, data=raw, content_type="application/json")
        refused(app, before, reply, 422, "invalid")


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_unknown_fields_are_422_naming_them(app, client, world, write):
    before = snapshot(app)
    body = {**write.body(world), "is_admin": True, "id": 1}
    error = refused(app, before, _post(client, world, write, json=body), 422, "invalid")
    assert {"is_admin", "id"} <= set(error["details"]["fields"])


@pytest.mark.parametrize("write", WRITES, ids=WRITE_IDS)
def test_a_body_over_1_MiB_is_413(app, client, world, write):
    before = snapshot(app)
    body = {**write.body(world), "padding": "x" * MiB}
    error = refused(app, before, _post(client, world, write, json=body), 413)
    assert error["code"] == "payload_too_large"
    assert error["details"]["limit_bytes"] == MiB


def test_the_accepted_bodies_are_accepted(app, client, world, wechat):
    """The bodies the refusals above start from are good ones: each bad variant is bad
    because of what was changed, not because the base was already wrong."""
    wechat.codes["bad-input-code"] = "openid-bad-input"
    for write in WRITES:
        reply = _post(client, world, write, json=write.body(world))
        assert reply.status_code in (200, 201), (write.name, reply.json)


def test_approve_takes_no_body_and_a_huge_one_is_413(app, client, world):
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/claims/{world.pending_claim}/approve",
        headers=world.headers["clerk"],
        data="x" * (MiB + 1),
        content_type="application/json",
    )
    refused(app, before, reply, 413, "payload_too_large")


# --- unknown ids and someone else's ids ---------------------------------------------------

UNKNOWN = 999_999
TOO_BIG = (2**31, 10**12, 10**30)  # not ids any table holds, beyond the integer columns


def test_unknown_ids_in_a_body_are_404(app, client, world):
    before = snapshot(app)
    h = world.headers
    cases = [
        (
            "/api/v1/communities",
            "county_officer",
            {"county_id": UNKNOWN, "name": "丙"},
            "county_not_found",
        ),
        (
            "/api/v1/estates",
            "clerk",
            {"community_id": UNKNOWN, "name": "丙"},
            "community_not_found",
        ),
        (
            "/api/v1/me/households",
            "resident_unverified",
            {
                "estate_id": UNKNOWN,
                "building": "1栋",
                "room": "101",
                "name": "张三",
                "phone_last4": "1234",
            },
            "estate_not_found",
        ),
        (
            "/api/v1/me/households",
            "resident_unverified",
            {
                "estate_id": world.estate,
                "building": "9栋",
                "room": "901",
                "name": "张三",
                "phone_last4": "1234",
            },
            "household_not_in_roster",
        ),
    ]
    for path, actor, body, code in cases:
        refused(app, before, client.post(path, headers=h[actor], json=body), 404, code)


def test_a_grant_to_an_unknown_scope_is_422(app, client, world):
    """The scope is a field of the body, so an unknown one is an invalid field (422)."""
    before = snapshot(app)
    reply = client.post(
        f"/api/v1/staff/{world.target_staff}/grants",
        headers=world.headers["prefecture"],
        json={"role": "committee", "scope_id": UNKNOWN},
    )
    refused(app, before, reply, 422, "unknown_scope")
    reply = client.post(
        "/api/v1/staff",
        headers=world.headers["prefecture"],
        json={
            "username": "new-clerk",
            "password": "a-long-password",
            "grants": [{"role": "county", "scope_id": UNKNOWN}],
        },
    )
    refused(app, before, reply, 422, "unknown_scope")


@pytest.mark.parametrize("bad_id", (UNKNOWN, *TOO_BIG), ids=str)
def test_unknown_ids_in_the_path_are_404(app, client, world, bad_id):
    before = snapshot(app)
    h = world.headers
    calls = [
        ("POST", f"/api/v1/claims/{bad_id}/approve", "clerk", {}),
        ("POST", f"/api/v1/claims/{bad_id}/reject", "clerk", {"json": {"reason": "不符"}}),
        (
            "POST",
            f"/api/v1/staff/{bad_id}/grants",
            "prefecture",
            {"json": {"role": "committee", "scope_id": world.community}},
        ),
        ("GET", f"/api/v1/communities/{bad_id}/claims", "clerk", {}),
        ("GET", f"/api/v1/estates/{bad_id}/households", "clerk", {}),
        (
            "POST",
            f"/api/v1/estates/{bad_id}/households:import",
            "clerk",
            {
                "data": {
                    "file": (
                        io.BytesIO(roster_csv([["1栋", "1", "1", "张", "1234", "9"]])),
                        "r.csv",
                    )
                },
                "content_type": "multipart/form-data",
            },
        ),
    ]
    for method, path, actor, kwargs in calls:
        reply = client.open(path, method=method, headers=h[actor], **kwargs)
        refused(app, before, reply, 404)


def test_someone_elses_ids_are_refused_and_write_nothing(app, client, world):
    h = world.headers
    with app.app_context():
        other_claim = HouseholdClaim(
            resident_id=world.callers["resident_member"],
            household_id=world.other_household,
            community_id=world.other_community,
            claimed_name="王伍",
            claimed_phone_last4="4321",
        )
        db.session.add(other_claim)
        db.session.commit()
        other_claim_id = other_claim.id
    before = snapshot(app)

    # A clerk cannot review another community's claim, nor learn that it exists.
    for action, kwargs in (("approve", {}), ("reject", {"json": {"reason": "不符"}})):
        reply = client.post(
            f"/api/v1/claims/{other_claim_id}/{action}", headers=h["clerk"], **kwargs
        )
        refused(app, before, reply, 404, "claim_not_found")
    # A clerk adds no estate to another community; a county officer no community elsewhere.
    reply = client.post(
        "/api/v1/estates",
        headers=h["clerk"],
        json={"community_id": world.other_community, "name": "丙"},
    )
    refused(app, before, reply, 403, "out_of_scope")
    reply = client.post(
        "/api/v1/communities",
        headers=h["county_officer"],
        json={"county_id": world.other_county, "name": "丙"},
    )
    refused(app, before, reply, 403, "out_of_scope")
    # A county officer grants no role over the other county's community.
    reply = client.post(
        f"/api/v1/staff/{world.target_staff}/grants",
        headers=h["county_officer"],
        json={"role": "committee", "scope_id": world.other_community},
    )
    refused(app, before, reply, 403, "out_of_scope")
    # ... not even as the second grant of a new account: no half-made account is left behind.
    reply = client.post(
        "/api/v1/staff",
        headers=h["county_officer"],
        json={
            "username": "half-made",
            "password": "a-long-password",
            "grants": [
                {"role": "committee", "scope_id": world.community},
                {"role": "committee", "scope_id": world.other_community},
            ],
        },
    )
    refused(app, before, reply, 403, "out_of_scope")
    # A clerk imports no roster into another community's estate.
    data = roster_csv([["1栋", "1单元", "109", "赵六", "2468", "70"]])
    reply = client.post(
        f"/api/v1/estates/{world.other_estate}/households:import",
        headers=h["clerk"],
        data={"file": (io.BytesIO(data), "roster.csv")},
        content_type="multipart/form-data",
    )
    refused(app, before, reply, 403, "out_of_scope")
    # A room of the other estate is not found through this estate's id.
    reply = client.post(
        "/api/v1/me/households",
        headers=h["resident_member"],
        json={
            "estate_id": world.other_estate,
            "building": "1栋",
            "unit": "1单元",
            "room": "102",
            "name": "李四",
            "phone_last4": "5678",
        },
    )
    refused(app, before, reply, 404, "household_not_in_roster")


def test_a_reviewed_claim_cannot_be_reviewed_again(app, client, world):
    path = f"/api/v1/claims/{world.pending_claim}"
    assert client.post(f"{path}/approve", headers=world.headers["clerk"]).status_code == 200
    before = snapshot(app)
    refused(
        app,
        before,
        client.post(f"{path}/approve", headers=world.headers["clerk"]),
        409,
        "claim_not_pending",
    )
    reply = client.post(f"{path}/reject", headers=world.headers["clerk"], json={"reason": "晚了"})
    refused(app, before, reply, 409, "claim_not_pending")


def test_a_taken_name_or_username_is_409(app, client, world):
    before = snapshot(app)
    h = world.headers
    reply = client.post("/api/v1/counties", headers=h["prefecture"], json={"name": "甲县"})
    refused(app, before, reply, 409, "name_taken")
    reply = client.post(
        "/api/v1/staff",
        headers=h["prefecture"],
        json={"username": "clerk-a", "password": "a-long-password"},
    )
    refused(app, before, reply, 409, "username_taken")
    reply = client.post(
        "/api/v1/staff",
        headers=h["prefecture"],
        json={
            "username": "twice",
            "password": "a-long-password",
            "grants": [{"role": "committee", "scope_id": world.community}] * 2,
        },
    )
    refused(app, before, reply, 409, "grant_exists")


def test_text_with_a_nul_character_is_422_not_a_server_error(app, client, world):
    """PostgreSQL cannot store NUL in text: it must be refused as invalid, on any database."""
    before = snapshot(app)
    h = world.headers
    cases = [
        ("/api/v1/counties", "prefecture", {"name": "丙\x00县"}, "name"),
        (
            "/api/v1/auth/staff-login",
            "anonymous",
            {"username": "clerk-a\x00", "password": PASSWORD},
            "username",
        ),
        ("/api/v1/auth/wechat-login", "anonymous", {"code": "c\x00de"}, "code"),
        (f"/api/v1/claims/{world.pending_claim}/reject", "clerk", {"reason": "不\x00符"}, "reason"),
    ]
    for path, actor, body, field in cases:
        error = refused(app, before, client.post(path, headers=h[actor], json=body), 422)
        assert field in error["details"]["fields"]


# --- the roster upload --------------------------------------------------------------------


def xlsx_bytes(rows, header=HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def damaged_xlsx() -> bytes:
    """A real workbook whose first sheet's XML was cut in half (a broken download)."""
    good = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["1栋", "1单元", "101", "张三", "1234", 80]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as damaged:
        for item in good.infolist():
            data = good.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            damaged.writestr(item, data)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "不是表格")
    return out.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def multipart(data: bytes, filename: str, field: str = "file") -> dict:
    """A multipart body built in memory (the test client would spool a big one to a temporary
    file it never closes)."""
    boundary, body = encode_multipart({field: FileStorage(io.BytesIO(data), filename=filename)})
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(client, w: World, data: bytes, filename="roster.xlsx", actor="clerk", estate=None):
    return client.post(
        f"/api/v1/estates/{estate or w.estate}/households:import",
        headers=w.headers[actor],
        **multipart(data, filename),
    )


BAD_FILES = {
    "png named xlsx": (PNG, "roster.xlsx", "file_type_unsupported"),
    "png named csv": (PNG, "roster.csv", "file_type_unsupported"),
    "zip that is no workbook": (plain_zip(), "roster.xlsx", "file_unreadable"),
    "damaged workbook": (damaged_xlsx(), "roster.xlsx", "file_unreadable"),
    "legacy xls": (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        "r.xls",
        "file_type_unsupported",
    ),
    "empty file": (b"", "roster.csv", "file_empty"),
    "no header": (roster_csv([], header=["姓名", "电话"]), "roster.csv", "roster_headers_missing"),
    "cell of 200 KB": (
        roster_csv([["1栋", "1单元", "101", "张" * 200_000, "1234", "80"]]),
        "roster.csv",
        "file_unreadable",
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_file_that_is_no_roster_is_422_and_imports_nothing(app, client, world, name):
    data, filename, code = BAD_FILES[name]
    before = snapshot(app)
    error = refused(app, before, upload(client, world, data, filename), 422, code)
    assert error["code"] in (
        "file_type_unsupported",
        "file_unreadable",
        "file_empty",
        "roster_headers_missing",
        "roster_invalid",
    )


def test_an_upload_without_a_file_is_422(app, client, world):
    before = snapshot(app)
    path = f"/api/v1/estates/{world.estate}/households:import"
    h = world.headers["clerk"]
    for kwargs in (
        {"json": {"file": "roster.csv"}},
        {"data": {"other": (io.BytesIO(b"x"), "r.csv")}, "content_type": "multipart/form-data"},
        {"data": {}, "content_type": "multipart/form-data"},
    ):
        error = refused(app, before, client.post(path, headers=h, **kwargs), 422)
        assert "file" in error["details"]["fields"]


def test_an_upload_over_10_MiB_is_413(app, client, world):
    before = snapshot(app)
    data = b"x" * (11 * MiB)
    error = refused(app, before, upload(client, world, data, "roster.csv"), 413)
    assert error["code"] == "payload_too_large"
    assert error["details"]["limit_bytes"] == app.config["UPLOAD_MAX_CONTENT_LENGTH"]


def test_an_upload_over_1_MiB_but_under_10_MiB_is_taken(app, client, world):
    """Uploads have their own limit: a 2 MiB roster is not refused by the 1 MiB JSON limit."""
    rows = [["3栋", "1单元", str(1000 + i), "张三", "1234", "80", "备" * 350] for i in range(2000)]
    data = roster_csv(rows, header=[*HEADER, "备注"])
    assert 2 * MiB < len(data) < 10 * MiB
    reply = upload(client, world, data, "roster.csv")
    assert reply.status_code == 200, reply.json
    assert reply.json["created"] == 2000


def test_a_roster_with_a_duplicate_room_imports_nothing_and_names_the_rows(app, client, world):
    rows = [
        ["2栋", "1单元", "101", "张三", "1234", "80"],
        ["2栋", "1单元", "102", "李四", "5678", "81"],
        ["2栋", "1单元", "101", "王五", "4321", "82"],
    ]
    for data, filename in ((roster_csv(rows), "roster.csv"), (xlsx_bytes(rows), "roster.xlsx")):
        before = snapshot(app)
        error = refused(app, before, upload(client, world, data, filename), 422, "roster_invalid")
        assert error["details"]["bad_rows"] == [{"row": 4, "errors": ["与第2行房号重复"]}]


def test_a_roster_with_several_bad_rows_lists_every_one(app, client, world):
    # A good roster first: the bad re-import below must leave it exactly as it is.
    good = [["2栋", "1单元", "101", "张三", "1234", "80"]]
    assert upload(client, world, roster_csv(good), "roster.csv").status_code == 200
    rows = [
        ["2栋", "1单元", "101", "张三丰", "1234", "80"],  # row 2: good (a change)
        ["", "1单元", "102", "李四", "5678", "81"],  # row 3: no building
        ["2栋", "1单元", "103", "", "12345", "abc"],  # row 4: three faults
        ["2栋", "1单元", "104", "赵六", "2468", "70"],  # row 5: good
        ["2栋", "1单元", "105", "名" * 101, "2468", "-5"],  # row 6: two faults
        ["2栋", "1单元", "101", "张三", "1234", "80"],  # row 7: repeats row 2
    ]
    for data, filename in ((roster_csv(rows), "roster.csv"), (xlsx_bytes(rows), "roster.xlsx")):
        before = snapshot(app)
        error = refused(app, before, upload(client, world, data, filename), 422, "roster_invalid")
        assert error["details"]["bad_rows"] == [
            {"row": 3, "errors": ["楼栋为空"]},
            {
                "row": 4,
                "errors": [
                    "业主姓名为空",
                    "手机后四位应为4位数字",
                    "建筑面积应为大于0的数字（平方米）",
                ],
            },
            {"row": 6, "errors": ["业主姓名超过100个字", "建筑面积应为大于0的数字（平方米）"]},
            {"row": 7, "errors": ["与第2行房号重复"]},
        ]
        assert "4" in error["message"]  # the message says how many rows are bad


# --- names that are hard to store ---------------------------------------------------------

LONG_NAME = "欧阳张王李赵刘陈杨黄周吴" * 8 + "徐孙马朱"  # 100 characters
EMOJI_NAME = "张🌸"
FAMILY_NAME = "李👨‍👩‍👧娜"  # a ZWJ sequence inside
ASTRAL_LONG = "王" + "🌸" * 98 + "芳"  # 100 characters, 98 of them outside the BMP
NAMES = {
    "101": (LONG_NAME, "欧" + "*" * 98 + "朱"),
    "102": (EMOJI_NAME, "张*"),
    "103": (FAMILY_NAME, "李" + "*" * 5 + "娜"),
    "104": (ASTRAL_LONG, "王" + "*" * 98 + "芳"),
}


def test_the_name_examples_are_what_they_claim():
    assert len(LONG_NAME) == 100 and len(ASTRAL_LONG) == 100
    for name, masked in NAMES.values():
        assert mask_name(name) == masked


@pytest.mark.parametrize("fmt", ("csv", "xlsx"))
def test_emoji_and_long_names_round_trip_through_the_roster_and_claims(
    app, client, world, wechat, fmt
):
    rows = [["5栋", "2单元", room, name, "1357", "66.6"] for room, (name, _) in NAMES.items()]
    data = roster_csv(rows) if fmt == "csv" else xlsx_bytes(rows)
    reply = upload(client, world, data, f"roster.{fmt}")
    assert reply.status_code == 200, reply.json
    assert reply.json["created"] == len(NAMES)

    with app.app_context():
        stored = dict(
            db.session.execute(
                select(Household.room, Household.owner_name).where(
                    Household.estate_id == world.estate, Household.unit == "2单元"
                )
            ).all()
        )
    assert stored == {room: name for room, (name, _) in NAMES.items()}

    # The clerk's view of the roster masks each name without breaking it.
    listed = client.get(
        f"/api/v1/estates/{world.estate}/households?per_page=100",
        headers=world.headers["clerk"],
    )
    masked = {h["room"]: h["owner_name"] for h in listed.json["items"] if h["unit"] == "2单元"}
    assert masked == {room: m for room, (_, m) in NAMES.items()}

    # The same file again changes nothing: what was stored compares equal to what was read.
    again = upload(client, world, data, f"roster.{fmt}")
    assert again.json["unchanged"] == len(NAMES) and again.json["updated"] == 0

    # Residents who type these names exactly are verified at once.
    for n, (room, (name, _)) in enumerate(NAMES.items()):
        code = f"names-{fmt}-{n}"
        wechat.codes[code] = f"openid-{code}"
        login = client.post("/api/v1/auth/wechat-login", json={"code": code, "nickname": name})
        assert login.status_code == 200, login.json
        assert login.json["user"]["nickname"] == name
        headers = consented_headers(client, login)
        claim = client.post(
            "/api/v1/me/households",
            headers=headers,
            json={
                "estate_id": world.estate,
                "building": "5栋",
                "unit": "2单元",
                "room": room,
                "name": name,
                "phone_last4": "1357",
            },
        )
        assert claim.status_code == 201, claim.json
        assert claim.json["status"] == "verified", name
        me = client.get("/api/v1/me", headers=headers).json
        assert me["nickname"] == name
        assert [h["address"]["room"] for h in me["households"]] == [room]


def test_a_claim_with_an_emoji_name_that_differs_is_shown_masked_to_the_clerk(app, client, world):
    with app.app_context():
        db.session.execute(
            Household.__table__.update()
            .where(Household.id == world.free_household)
            .values(owner_name=EMOJI_NAME)
        )
        db.session.commit()
    claim = client.post(
        "/api/v1/me/households",
        headers=world.headers["resident_member"],
        json={
            "estate_id": world.estate,
            "building": "1栋",
            "unit": "1单元",
            "room": "102",
            "name": ASTRAL_LONG,
            "phone_last4": "5678",
        },
    )
    assert claim.status_code == 201 and claim.json["status"] == "pending"
    listed = client.get(
        f"/api/v1/communities/{world.community}/claims?status=pending",
        headers=world.headers["clerk"],
    ).json["items"]
    row = next(c for c in listed if c["id"] == claim.json["id"])
    assert row["claimed_name"] == "王" + "*" * 98 + "芳"
    assert row["name_matches"] is False and row["phone_matches"] is True
    assert ASTRAL_LONG not in json.dumps(listed, ensure_ascii=False)
    with app.app_context():
        assert db.session.get(HouseholdClaim, claim.json["id"]).claimed_name == ASTRAL_LONG


def test_names_over_100_characters_are_refused_whole(app, client, world, wechat):
    before = snapshot(app)
    too_long = LONG_NAME + "华"
    wechat.codes["long-nick"] = "openid-long-nick"
    reply = client.post(
        "/api/v1/auth/wechat-login", json={"code": "long-nick", "nickname": too_long}
    )
    error = refused(app, before, reply, 422)
    assert "nickname" in error["details"]["fields"]
    reply = client.post(
        "/api/v1/me/households",
        headers=world.headers["resident_member"],
        json={
            "estate_id": world.estate,
            "building": "1栋",
            "unit": "1单元",
            "room": "102",
            "name": too_long,
            "phone_last4": "5678",
        },
    )
    error = refused(app, before, reply, 422)
    assert "name" in error["details"]["fields"]
    assert count_rows(app, Resident) == 3


def test_a_staff_display_name_with_emoji_is_stored_whole_and_shown_masked(app, client, world):
    reply = client.post(
        "/api/v1/staff",
        headers=world.headers["prefecture"],
        json={"username": "flower", "password": "a-long-password", "display_name": FAMILY_NAME},
    )
    assert reply.status_code == 201, reply.json
    assert reply.json["display_name"] == mask_name(FAMILY_NAME)
    with app.app_context():
        staff = db.session.scalar(select(Staff).where(Staff.username == "flower"))
        assert staff.display_name == FAMILY_NAME


# --- never HTML -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/nope", 404),
        ("GET", "/api/v1/nope", 404),
        ("GET", "/static/app.js", 404),
        ("GET", "/api/v1/counties/", 404),
        ("GET", "/api/v1//counties", 404),
        ("GET", "/api//v1/me", 404),
        ("POST", "/api/v1/claims/abc/approve", 404),
        ("POST", "/api/v1/claims/-1/approve", 404),
        ("DELETE", "/api/v1/counties", 405),
        ("PUT", "/api/v1/me", 405),
        ("GET", "/api/v1/auth/staff-login", 405),
        ("PATCH", "/api/v1/estates", 405),
    ],
)
def test_no_reply_is_html(app, client, world, method, path, status):
    headers = {**world.headers["prefecture"], "Accept": "text/html,application/xhtml+xml"}
    reply = client.open(path, method=method, headers=headers)
    error = assert_error_shape(reply, status)
    assert error["code"] in ("not_found", "method_not_allowed")
    if status == 405:
        assert reply.headers.get("Allow")


def test_an_error_echoing_the_callers_input_is_json_not_markup(app, client, world):
    body = {"name": "丙县", "<script>alert(1)</script>": 1}
    reply = client.post("/api/v1/counties", headers=world.headers["prefecture"], json=body)
    error = assert_error_shape(reply, 422)
    assert "<script>alert(1)</script>" in error["details"]["fields"]
